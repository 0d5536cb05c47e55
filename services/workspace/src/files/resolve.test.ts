import { normalizeRel } from './resolve';

describe('normalizeRel', () => {
  it.each([
    ['.', ''],
    ['/', ''],
    ['/workspace', ''],
    ['/workspace/src/a.ts', 'src/a.ts'],
    ['src/./b/../a.ts', 'src/a.ts'],
    ['a//b', 'a/b'],
  ])('%s → %s', (input, out) => expect(normalizeRel(input)).toBe(out));

  it.each(['..', '../x', 'a/../../x', '/workspace/..', 'x\0y'])('refuses %s', (p) => {
    expect(() => normalizeRel(p)).toThrow(expect.objectContaining({ code: 'PATH_OUTSIDE_WORKSPACE' }));
  });
});
