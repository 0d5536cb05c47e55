/**
 * For launcher.int.test.ts: launches one wrapper (ready, then `exec sleep`) from this process, which
 * the test starts with an extra fd 3 it did not open, and prints what this process and the wrapper's
 * program hold, as JSON `{ own, launched }`. argv: <dir> <fd3File> <stderrFile>
 */
import { readFileSync } from 'node:fs';
import { JailLauncher } from '../src/bubblewrap/launcher';
import { openFds } from './fixtures';

async function main(): Promise<void> {
  const [dir, fd3File, stderrFile] = process.argv.slice(2) as [string, string, string];
  const own = openFds('self');
  const l = await JailLauncher.shared().launch('ready; exec sleep 600', [dir], { fd3File, stderrFile, orphan: false });
  while (readFileSync(`/proc/${l.pid}/comm`, 'utf8') !== 'sleep\n') await new Promise((r) => setTimeout(r, 10));
  process.stdout.write(JSON.stringify({ own, launched: openFds(l.pid) }));
  process.kill(l.pid, 'SIGKILL');
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  },
);
