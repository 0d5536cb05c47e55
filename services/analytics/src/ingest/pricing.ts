import { findPrice, LOCAL_PROVIDER_KINDS, type ModelPrice } from '@codeagent/contracts';
import { dayOf } from './time';

/** findPrice scans the whole table; at thousands of events a second, remember its answer per model and day. */
const cache = new Map<string, ModelPrice | null>();
const CACHE_MAX = 10_000;

function priceOn(provider: string, model: string, atMs: number): ModelPrice | undefined {
  const key = `${provider}\u0000${model}\u0000${dayOf(atMs)}`;
  let p = cache.get(key);
  if (p === undefined) {
    if (cache.size >= CACHE_MAX) cache.clear();
    p = findPrice(provider, model, new Date(atMs)) ?? null;
    cache.set(key, p);
  }
  return p ?? undefined;
}

/**
 * The cost of one model call. A cost the event carries wins (the orchestrator priced it when it
 * happened, maybe with a negotiated price we do not know); a missing or zero cost is priced from the
 * shared table at the date of the call. `priced` is false when a paid provider's model has no price.
 */
export function costOf(
  u: { provider: string; model: string; inputTokens: number; outputTokens: number; costUsd?: number },
  atMs: number,
): { costUsd: number; priced: boolean } {
  if (u.costUsd !== undefined && u.costUsd > 0) return { costUsd: u.costUsd, priced: true };
  if (LOCAL_PROVIDER_KINDS.includes(u.provider)) return { costUsd: 0, priced: true };
  const price = priceOn(u.provider, u.model, atMs);
  if (!price) return { costUsd: 0, priced: u.inputTokens + u.outputTokens === 0 };
  return { costUsd: (u.inputTokens * price.inputUsdPerMTok + u.outputTokens * price.outputUsdPerMTok) / 1_000_000, priced: true };
}
