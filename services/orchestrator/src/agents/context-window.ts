import type { ModelMessage } from 'ai';
import { countTokens } from './tokens';

/** Seed 003's segmentation of a model's context window. */
export const CONTEXT_SHARES = { system: 0.05, project: 0.15, history: 0.3, task: 0.4, reserve: 0.1 } as const;

/** Per-message framing the providers add (role markers, separators): a small constant per message. */
const PER_MESSAGE_OVERHEAD = 4;

export interface ContextParts {
  /** Critical instructions. */
  system: string;
  /** Project context: the session's project, earlier roles' results handed over. */
  project: string;
  /** The current task: the user's prompt for this role. */
  task: string;
  /** This role's conversation so far: assistant turns and tool results, oldest first. */
  history: ModelMessage[];
}

export interface FittedContext {
  system: string;
  messages: ModelMessage[];
  /** History turns left out (summarised in one line each) to fit. */
  droppedTurns: number;
  /** Estimated prompt tokens of the result. */
  tokens: number;
}

const msgTokens = new WeakMap<object, number>();

export function messageTokens(m: ModelMessage): number {
  const cached = msgTokens.get(m);
  if (cached !== undefined) return cached;
  const n = PER_MESSAGE_OVERHEAD + countTokens(typeof m.content === 'string' ? m.content : JSON.stringify(m.content));
  msgTokens.set(m, n);
  return n;
}

/**
 * Fits a role's context into a model's window. System, project and task are each capped at their
 * share (cut in the middle when over); history gets what the others leave, never less than its 30%,
 * minus the reserve; when over, the oldest turns are dropped and replaced by a one-line summary each
 * (so the model still knows what it already did). `shrink` > 0 halves the usable window per level:
 * the answer to a provider that still says "too long" (our count is an estimate).
 */
export function fitContext(parts: ContextParts, windowTokens: number, shrink = 0, fixedOverhead = 0): FittedContext {
  const usable = Math.max(256, Math.floor((windowTokens - fixedOverhead) / 2 ** shrink));
  const system = capText(parts.system, Math.floor(usable * CONTEXT_SHARES.system));
  const project = capText(parts.project, Math.floor(usable * CONTEXT_SHARES.project));
  const task = capText(parts.task, Math.floor(usable * CONTEXT_SHARES.task));
  const fixed = countTokens(system) + countTokens(project) + countTokens(task) + PER_MESSAGE_OVERHEAD;
  const historyBudget = Math.max(Math.floor(usable * CONTEXT_SHARES.history), Math.floor(usable * (1 - CONTEXT_SHARES.reserve)) - fixed);

  const turns = groupTurns(parts.history);
  let kept = turns;
  let historyTokens = sum(turns.map(turnTokens));
  const dropped: ModelMessage[][] = [];
  while (historyTokens > historyBudget && kept.length > 1) {
    const first = kept[0]!;
    dropped.push(first);
    historyTokens -= turnTokens(first);
    kept = kept.slice(1);
  }
  // One turn alone can still be too large (a huge tool output): cut its tool results.
  if (historyTokens > historyBudget && kept.length === 1) {
    kept = [cutToolResults(kept[0]!, Math.max(200, historyBudget - 50))];
    historyTokens = turnTokens(kept[0]!);
  }
  const summary = dropped.length ? `\n\n[Earlier steps of this task, dropped to fit the context window:\n${dropped.map(summariseTurn).join('\n').slice(0, 2000)}]` : '';
  const head = [project, task].filter(Boolean).join('\n\n') + summary;
  const messages: ModelMessage[] = [{ role: 'user', content: head }, ...kept.flat()];
  return { system, messages, droppedTurns: dropped.length, tokens: fixed + countTokens(summary) + historyTokens };
}

/** Turns start at an assistant message and include the tool results that answer it. */
function groupTurns(history: ModelMessage[]): ModelMessage[][] {
  const turns: ModelMessage[][] = [];
  for (const m of history) {
    if (m.role === 'assistant' || turns.length === 0) turns.push([m]);
    else turns[turns.length - 1]!.push(m);
  }
  return turns;
}

const turnTokens = (t: ModelMessage[]): number => sum(t.map(messageTokens));
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

function summariseTurn(turn: ModelMessage[]): string {
  const out: string[] = [];
  for (const m of turn) {
    if (m.role !== 'assistant' || typeof m.content === 'string') continue;
    for (const p of m.content) {
      if (p.type === 'tool-call') out.push(`${p.toolName}(${JSON.stringify(p.input).slice(0, 120)})`);
      else if (p.type === 'text' && p.text) out.push(`said: ${p.text.slice(0, 120)}`);
    }
  }
  return `- ${out.join('; ') || 'a step'}`;
}

function cutToolResults(turn: ModelMessage[], maxTokens: number): ModelMessage[] {
  // Share the budget among the turn's results, in characters scaled by each text's own density.
  const results = turn.filter((m) => m.role === 'tool').flatMap((m) => (m.role === 'tool' ? m.content : [])).length || 1;
  const perResult = Math.max(50, Math.floor((maxTokens - turnTokens(turn.filter((m) => m.role !== 'tool'))) / results));
  return turn.map((m) => {
    if (m.role !== 'tool') return m;
    return {
      ...m,
      content: m.content.map((p) => {
        if (p.type !== 'tool-result') return p;
        const text = p.output.type === 'text' ? p.output.value : JSON.stringify(p.output);
        const tokens = countTokens(text);
        if (tokens <= perResult) return p;
        const maxChars = Math.floor((text.length * perResult * 0.9) / tokens);
        return { ...p, output: { type: 'text' as const, value: `${text.slice(0, maxChars)}…[cut to fit the context window]` } };
      }),
    };
  });
}

/** Cuts text to about `maxTokens`, keeping its start and end (where instructions and the latest lines are). */
export function capText(text: string, maxTokens: number): string {
  if (countTokens(text) <= maxTokens) return text;
  // Characters to keep, scaled by this text's own characters-per-token, with a 10% margin.
  const keep = Math.max(0, Math.floor((text.length * maxTokens * 0.9) / countTokens(text)) - 40);
  return `${text.slice(0, Math.ceil(keep / 2))}\n…[cut to fit the context window]…\n${text.slice(text.length - Math.floor(keep / 2))}`;
}
