import { Tiktoken } from 'js-tiktoken/lite';
import o200k from 'js-tiktoken/ranks/o200k_base';

/**
 * Token counts with OpenAI's o200k_base encoding. Exact for current OpenAI models; for Anthropic,
 * Gemini, Mistral, Grok and local models (whose tokenizers are not public or not in JS) it is an
 * estimate, usually within ±20% — which is why the budget keeps a 10% reserve and the loop shrinks
 * and retries when a provider still says "too long". Texts are counted once and cached.
 */
let encoder: Tiktoken | undefined;
const cache = new Map<string, number>();
const CACHE_MAX = 5_000;

export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  // Short strings are cheap to encode and too many to cache.
  if (text.length < 64) return enc().encode(text).length;
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const n = enc().encode(text).length;
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(text, n);
  return n;
}

function enc(): Tiktoken {
  encoder ??= new Tiktoken(o200k);
  return encoder;
}
