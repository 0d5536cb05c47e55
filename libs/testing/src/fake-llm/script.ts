/**
 * What the fake LLM server answers, one turn per request, in order. A turn is either an answer (text,
 * tool calls, usage) or a failure the real providers produce, so that retries, fallbacks and context
 * shrinking are tested against the same bytes a real provider would send.
 */
export interface FakeToolCall {
  name: string;
  args: Record<string, unknown>;
  /** Generated when absent. */
  id?: string;
}

export interface FakeAnswer {
  text?: string;
  toolCalls?: FakeToolCall[];
  /** Reported usage; defaults to a rough count of the request and the answer. */
  usage?: { inputTokens: number; outputTokens: number };
}

export type FakeFailure =
  /** An HTTP error with the provider's own error body (529 overloaded, 500, 429 rate limited). */
  | { fail: 'http'; status: number; message?: string }
  /** The TCP connection is destroyed before any byte of the answer. */
  | { fail: 'drop' }
  /** The provider's "context too long" answer (HTTP 400 in each wire format). */
  | { fail: 'context-too-long' };

export type FakeTurn = FakeAnswer | FakeFailure;

export function isFailure(turn: FakeTurn): turn is FakeFailure {
  return 'fail' in turn;
}

/** A request the server received, for assertions (e.g. that a retried prompt was shorter). */
export interface RecordedRequest {
  format: 'openai' | 'anthropic' | 'ollama';
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  /** Length of the raw JSON body, a cheap proxy for prompt size. */
  bytes: number;
  /** The turn played for it (undefined when the script was exhausted). */
  turn?: FakeTurn;
}
