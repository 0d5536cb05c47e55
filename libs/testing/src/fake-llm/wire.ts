import type { FakeAnswer, FakeFailure } from './script';

// The wire formats, byte for byte as the providers document them: OpenAI chat completions (and its
// SSE chunks), Anthropic messages (and its named SSE events), Ollama /api/chat (NDJSON).

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface ToolCallOut {
  id: string;
  name: string;
  args: Record<string, unknown>;
}

/** Splits text into a few chunks so that streaming is really exercised. */
function chunks(text: string): string[] {
  if (text.length < 8) return text ? [text] : [];
  const mid = Math.floor(text.length / 2);
  return [text.slice(0, mid), text.slice(mid)];
}

const sse = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
const namedSse = (name: string, data: unknown): string => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;

export function failureBody(format: 'openai' | 'anthropic' | 'ollama', failure: Exclude<FakeFailure, { fail: 'drop' }>): { status: number; body: unknown } {
  if (failure.fail === 'context-too-long') {
    if (format === 'anthropic') {
      return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } } };
    }
    return {
      status: 400,
      body: { error: { message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
    };
  }
  const message = failure.message ?? (failure.status === 529 ? 'Overloaded' : failure.status === 429 ? 'Rate limit reached' : 'Internal server error');
  if (format === 'anthropic') {
    const type = failure.status === 529 ? 'overloaded_error' : failure.status === 429 ? 'rate_limit_error' : 'api_error';
    return { status: failure.status, body: { type: 'error', error: { type, message } } };
  }
  return { status: failure.status, body: { error: { message, type: failure.status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null } } };
}

// ---- OpenAI chat completions ----

export function openaiJson(model: string, a: FakeAnswer, calls: ToolCallOut[], usage: Usage): unknown {
  return {
    id: `chatcmpl-${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: a.text ?? null,
          ...(calls.length ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } })) } : {}),
        },
        finish_reason: calls.length ? 'tool_calls' : 'stop',
      },
    ],
    usage: { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens },
  };
}

export function openaiSse(model: string, a: FakeAnswer, calls: ToolCallOut[], usage: Usage): string[] {
  const base = { id: `chatcmpl-${Date.now()}`, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model };
  const out: string[] = [sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] })];
  for (const c of chunks(a.text ?? '')) out.push(sse({ ...base, choices: [{ index: 0, delta: { content: c }, finish_reason: null }] }));
  calls.forEach((c, index) => {
    const args = JSON.stringify(c.args);
    out.push(sse({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }, finish_reason: null }] }));
    for (const part of chunks(args)) out.push(sse({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index, function: { arguments: part } }] }, finish_reason: null }] }));
  });
  out.push(sse({ ...base, choices: [{ index: 0, delta: {}, finish_reason: calls.length ? 'tool_calls' : 'stop' }] }));
  out.push(sse({ ...base, choices: [], usage: { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens } }));
  out.push('data: [DONE]\n\n');
  return out;
}

// ---- Anthropic messages ----

export function anthropicJson(model: string, a: FakeAnswer, calls: ToolCallOut[], usage: Usage): unknown {
  return {
    id: `msg_${Date.now()}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [...(a.text ? [{ type: 'text', text: a.text }] : []), ...calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: c.args }))],
    stop_reason: calls.length ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens },
  };
}

export function anthropicSse(model: string, a: FakeAnswer, calls: ToolCallOut[], usage: Usage): string[] {
  const out: string[] = [
    namedSse('message_start', {
      type: 'message_start',
      message: { id: `msg_${Date.now()}`, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: usage.inputTokens, output_tokens: 1 } },
    }),
  ];
  let index = 0;
  if (a.text) {
    out.push(namedSse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
    for (const c of chunks(a.text)) out.push(namedSse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: c } }));
    out.push(namedSse('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  }
  for (const c of calls) {
    out.push(namedSse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }));
    for (const part of chunks(JSON.stringify(c.args))) out.push(namedSse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: part } }));
    out.push(namedSse('content_block_stop', { type: 'content_block_stop', index }));
    index++;
  }
  out.push(namedSse('message_delta', { type: 'message_delta', delta: { stop_reason: calls.length ? 'tool_use' : 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.outputTokens } }));
  out.push(namedSse('message_stop', { type: 'message_stop' }));
  return out;
}

// ---- Ollama /api/chat ----

export function ollamaLines(model: string, a: FakeAnswer, calls: ToolCallOut[], usage: Usage, stream: boolean): string[] {
  const created_at = new Date().toISOString();
  const message = { role: 'assistant', content: a.text ?? '', ...(calls.length ? { tool_calls: calls.map((c) => ({ function: { name: c.name, arguments: c.args } })) } : {}) };
  const done = { model, created_at, message: stream ? { role: 'assistant', content: '' } : message, done: true, done_reason: 'stop', prompt_eval_count: usage.inputTokens, eval_count: usage.outputTokens };
  if (!stream) return [JSON.stringify(done)];
  const parts = chunks(a.text ?? '').map((c) => JSON.stringify({ model, created_at, message: { role: 'assistant', content: c }, done: false }));
  if (calls.length) parts.push(JSON.stringify({ model, created_at, message: { role: 'assistant', content: '', tool_calls: message.tool_calls }, done: false }));
  return [...parts, JSON.stringify(done)].map((l) => `${l}\n`);
}
