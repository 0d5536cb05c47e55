import { MAX_OUTPUT_PER_COMMAND, SessionModel } from './model';

const ev = (seq: number, kind: string, data: Record<string, unknown>) => ({ seq, kind, data, at: '2026-01-01T00:00:00Z' });

describe('SessionModel', () => {
  test('folds commands, their output in order and their result; a replayed seq is ignored', () => {
    const m = new SessionModel();
    const events = [
      ev(1, 'status', { from: 'creating', to: 'ready' }),
      ev(2, 'command.started', { commandId: 'c1', command: 'echo hi; echo err >&2', user: 'local' }),
      ev(3, 'output', { commandId: 'c1', stream: 'stdout', data: 'hi\n' }),
      ev(4, 'output', { commandId: 'c1', stream: 'stderr', data: 'err\n' }),
      ev(5, 'command.completed', { commandId: 'c1', command: 'echo hi; echo err >&2', exitCode: 3, durationMs: 12, timedOut: false }),
    ];
    for (const e of [...events, ...events]) m.apply(e);
    expect(m.status).toBe('ready');
    expect(m.commandList()).toEqual([
      expect.objectContaining({ commandId: 'c1', command: 'echo hi; echo err >&2', user: 'local', exitCode: 3, durationMs: 12, chunks: [{ stream: 'stdout', text: 'hi\n' }, { stream: 'stderr', text: 'err\n' }] }),
    ]);
  });

  test('decodes base64 output and caps what it keeps per command', () => {
    const m = new SessionModel();
    m.apply(ev(1, 'command.started', { commandId: 'c', command: 'yes' }));
    m.apply(ev(2, 'output', { commandId: 'c', stream: 'stdout', data: btoa('bin\n'), encoding: 'base64' }));
    m.apply(ev(3, 'output', { commandId: 'c', stream: 'stdout', data: 'x'.repeat(MAX_OUTPUT_PER_COMMAND) }));
    const c = m.commands.get('c')!;
    expect(c.chunks[0]!.text.startsWith('bin\nxxx')).toBe(true);
    expect(c.chunks[0]!.text.length).toBe(MAX_OUTPUT_PER_COMMAND);
    expect(c.cut).toBe(true);
  });

  test('a terminal that attaches late gets the kept bytes, then the live ones', () => {
    const m = new SessionModel();
    m.apply(ev(1, 'output', { stream: 'pty', data: '$ ' }));
    const seen: string[] = [];
    const detach = m.attachTerminal((s) => seen.push(s));
    m.apply(ev(2, 'output', { stream: 'pty', data: 'ls\r\n' }));
    detach();
    m.apply(ev(3, 'output', { stream: 'pty', data: 'gone' }));
    expect(seen).toEqual(['$ ', 'ls\r\n']);
  });

  test('agent runs: streamed text, steps with tool calls, completion', () => {
    const m = new SessionModel();
    m.apply(ev(1, 'agent', { type: 'started', runId: 'r', roles: ['coding'], prompt: 'do it' }));
    m.apply(ev(2, 'agent', { type: 'text', runId: 'r', role: 'coding', step: 0, delta: 'Hel' }));
    m.apply(ev(3, 'agent', { type: 'text', runId: 'r', role: 'coding', step: 0, delta: 'lo' }));
    m.apply(ev(4, 'agent', { type: 'step', runId: 'r', role: 'coding', index: 0, text: 'Hello', provider: 'openai', model: 'gpt', toolCalls: [{ tool: 'run_command', input: { command: 'ls' } }], usage: { inputTokens: 5, outputTokens: 2 }, costUsd: 0.01 }));
    m.apply(ev(5, 'agent', { type: 'completed', runId: 'r', status: 'completed', usage: { inputTokens: 5, outputTokens: 2 }, costUsd: 0.01 }));
    const run = m.runs.get('r')!;
    expect(run).toMatchObject({ roles: ['coding'], prompt: 'do it', status: 'completed', costUsd: 0.01 });
    expect(run.items).toEqual([
      { kind: 'text', step: 0, role: 'coding', text: 'Hello' },
      expect.objectContaining({ kind: 'step', index: 0, toolCalls: [{ tool: 'run_command', input: { command: 'ls' }, error: undefined }] }),
    ]);
  });
});
