import type { HistoryEntry, ModelMessage } from './types';

/** Seed 004's context injection: every user message reaches the model as `[Project: <name>] <message>`. */
export function withProjectPrefix(name: string, message: string): string {
  return `[Project: ${name}] ${message}`;
}

/**
 * Clients that follow seed 004's example already send the prefix; it is removed so that it is neither
 * doubled for the model nor kept in the history twice.
 */
export function stripProjectPrefix(name: string, message: string): string {
  const prefix = `[Project: ${name}]`;
  if (message.slice(0, prefix.length).toLowerCase() !== prefix.toLowerCase()) return message;
  const rest = message.slice(prefix.length).replace(/^ /, '');
  return rest.length > 0 ? rest : message;
}

export function systemPrompt(name: string, ciSocket: string): string {
  return (
    `You are ${ciSocket}, the companion intelligence of the project "${name}". ` +
    `Messages from people start with [Project: ${name}]; answer about this project.`
  );
}

const CUT_MARK = '\n[... earlier text cut to fit the context ...]\n';

/** The end of `content` in at most `n` characters, marked as cut when it had to be. */
function cutTo(content: string, n: number): string {
  if (content.length <= n) return content;
  return CUT_MARK + content.slice(content.length - Math.max(0, n - CUT_MARK.length));
}

/**
 * The messages sent to the model: the system prompt, as many recent turns (a user message and the
 * answers to it) as fit whole in `budgetChars`, newest first, then the new message. The newest turn
 * that does not fit whole is kept cut (its question up to a quarter of what is left, its answer's end
 * in the rest) so that a huge last answer does not empty the context; nothing older is taken after it.
 */
export function buildMessages(opts: {
  name: string;
  ciSocket: string;
  history: HistoryEntry[];
  message: string;
  budgetChars: number;
}): ModelMessage[] {
  const { name, ciSocket, history, message } = opts;
  const turns: ModelMessage[][] = [];
  for (const h of history) {
    const m: ModelMessage = { role: h.role, content: h.role === 'user' ? withProjectPrefix(name, h.content) : h.content };
    if (h.role === 'user' || turns.length === 0) turns.push([m]);
    else turns[turns.length - 1]!.push(m);
  }
  let left = opts.budgetChars;
  const context: ModelMessage[] = [];
  for (let i = turns.length - 1; i >= 0; i--) {
    const turn = turns[i]!;
    const size = turn.reduce((n, m) => n + m.content.length, 0);
    if (size <= left) {
      context.unshift(...turn);
      left -= size;
      continue;
    }
    if (left > 2 * CUT_MARK.length + 64) {
      const cut: ModelMessage[] = [];
      const [first, ...rest] = turn;
      let room = left;
      if (first!.role === 'user') {
        const q = cutTo(first!.content, Math.floor(left / 4));
        cut.push({ role: 'user', content: q });
        room -= q.length;
      } else {
        rest.unshift(first!);
      }
      const answers: ModelMessage[] = [];
      for (let j = rest.length - 1; j >= 0 && room > CUT_MARK.length; j--) {
        const a = cutTo(rest[j]!.content, room);
        answers.unshift({ role: rest[j]!.role, content: a });
        room -= a.length;
      }
      context.unshift(...cut, ...answers);
    }
    break;
  }
  // A conversation must not start with an assistant turn: providers such as Anthropic refuse it.
  while (context[0]?.role === 'assistant') context.shift();
  return [
    { role: 'system', content: systemPrompt(name, ciSocket) },
    ...context,
    { role: 'user', content: withProjectPrefix(name, message) },
  ];
}
