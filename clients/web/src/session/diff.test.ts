import { createTwoFilesPatch } from 'diff';
import { lineKind, splitDiff } from './diff';

describe('splitDiff', () => {
  test('gives each listed file its own part of the patch, in path order, with its line counts', () => {
    // The parts as the workspace service writes them (services/workspace/src/snapshots/diff.ts).
    const patch = [
      createTwoFilesPatch('a/README.md', 'b/README.md', '# t\n', '# t\n\nmore\n'),
      'Binary files a/logo.png and b/logo.png differ\n',
      createTwoFilesPatch('/dev/null', 'b/new file.txt', '', 'hi\n--- not a header\n'),
      createTwoFilesPatch('a/old.sh', '/dev/null', 'echo 1\n', ''),
      'diff a/run.sh b/run.sh\nmode 644 -> 755\n',
    ].join('');
    const files = splitDiff({ added: ['new file.txt'], changed: ['run.sh', 'README.md', 'logo.png'], removed: ['old.sh'], patch });
    expect(files.map((f) => [f.path, f.change, f.additions, f.deletions])).toEqual([
      ['README.md', 'changed', 2, 0],
      ['logo.png', 'changed', 0, 0],
      ['new file.txt', 'added', 2, 0],
      ['old.sh', 'removed', 0, 1],
      ['run.sh', 'changed', 0, 0],
    ]);
    expect(files[0]!.text).toContain('+more');
    expect(files[1]!.text).toBe('Binary files a/logo.png and b/logo.png differ\n');
    expect(files[2]!.text).toContain('+--- not a header');
    expect(files[4]!.text).toBe('diff a/run.sh b/run.sh\nmode 644 -> 755\n');
  });

  test('a cut patch leaves the last files without text; an empty diff is empty', () => {
    const patch = createTwoFilesPatch('a/a.txt', 'b/a.txt', '1\n', '2\n');
    const files = splitDiff({ added: ['b.txt'], changed: ['a.txt'], removed: [], patch });
    expect(files.map((f) => f.text === '')).toEqual([false, true]);
    expect(splitDiff({ added: [], changed: [], removed: [], patch: '' })).toEqual([]);
  });

  test('lineKind', () => {
    expect(['+++ b/x', '--- a/x', '@@ -1 +1 @@', '+a', '-b', ' c', '='.repeat(67)].map(lineKind)).toEqual(['meta', 'meta', 'hunk', 'add', 'del', 'context', 'meta']);
  });
});
