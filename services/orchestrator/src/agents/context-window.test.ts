import type { ModelMessage } from 'ai';
import { CONTEXT_SHARES, capText, fitContext } from './context-window';
import { countTokens } from './tokens';

const turn = (i: number, size: number): ModelMessage[] => [
  { role: 'assistant', content: [{ type: 'tool-call', toolCallId: `c${i}`, toolName: 'read_file', input: { path: `f${i}.ts` } }] },
  { role: 'tool', content: [{ type: 'tool-result', toolCallId: `c${i}`, toolName: 'read_file', output: { type: 'text', value: `line ${i} `.repeat(size) } }] },
];

describe('fitContext', () => {
  it('keeps seed 003 shares that add up to the whole window', () => {
    expect(Object.values(CONTEXT_SHARES).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
  });

  it('leaves a context that fits untouched', () => {
    const history = [...turn(1, 10), ...turn(2, 10)];
    const f = fitContext({ system: 'sys', project: 'proj', task: 'do it', history }, 100_000);
    expect(f.droppedTurns).toBe(0);
    expect(f.messages).toHaveLength(5);
    expect(f.messages[0]).toEqual({ role: 'user', content: 'proj\n\ndo it' });
  });

  it('drops the oldest turns first, keeps tool calls with their results, and summarises what was dropped', () => {
    const history = Array.from({ length: 10 }, (_, i) => turn(i, 300)).flat();
    const f = fitContext({ system: 'sys', project: 'proj', task: 'do it', history }, 8000);
    expect(f.droppedTurns).toBeGreaterThan(0);
    expect(f.tokens).toBeLessThanOrEqual(8000 * 0.9);
    const kept = f.messages.slice(1);
    expect(kept[0]!.role).toBe('assistant');
    expect(kept.length % 2).toBe(0);
    // The newest turn survives; the summary names a dropped call.
    expect(JSON.stringify(kept.at(-1))).toContain('line 9');
    expect(f.messages[0]!.content).toContain('read_file({"path":"f0.ts"})');
  });

  it('halves the usable window per shrink level', () => {
    const history = Array.from({ length: 10 }, (_, i) => turn(i, 300)).flat();
    const a = fitContext({ system: '', project: '', task: 't', history }, 16_000, 0);
    const b = fitContext({ system: '', project: '', task: 't', history }, 16_000, 1);
    expect(b.tokens).toBeLessThan(a.tokens);
    expect(b.tokens).toBeLessThanOrEqual(8000);
  });

  it('caps the task at 40% and the system at 5% of the window', () => {
    const f = fitContext({ system: 'rule '.repeat(5000), project: '', task: 'word '.repeat(50_000), history: [] }, 10_000);
    expect(countTokens(f.system)).toBeLessThanOrEqual(10_000 * 0.05 + 20);
    expect(countTokens(f.messages[0]!.content as string)).toBeLessThanOrEqual(10_000 * 0.4 + 20);
  });

  it('cuts a single oversized tool result rather than sending it whole', () => {
    const f = fitContext({ system: '', project: '', task: 't', history: turn(1, 20_000) }, 4000);
    expect(f.tokens).toBeLessThan(4000);
    expect(JSON.stringify(f.messages)).toContain('cut to fit the context window');
  });
});

describe('capText', () => {
  it('keeps the start and the end', () => {
    const s = `START ${'x y '.repeat(5000)} END`;
    const c = capText(s, 100);
    expect(c.startsWith('START')).toBe(true);
    expect(c.endsWith('END')).toBe(true);
    expect(countTokens(c)).toBeLessThan(200);
  });
});
