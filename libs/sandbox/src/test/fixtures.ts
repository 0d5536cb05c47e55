import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
export { hostProcessesMatching } from '@codeagent/testing';
import { detectCgroups } from '../bubblewrap/cgroups';
import os from 'node:os';
import path from 'node:path';

/** A fresh workspace folder per test file, removed by the returned cleanup. */
export function tempWorkspaces(label: string): { make(name: string): string; cleanup(): void } {
  const root = mkdtempSync(path.join(os.tmpdir(), `sandbox-${label}-`));
  let n = 0;
  return {
    make: (name) => {
      const dir = path.join(root, `${name}-${n++}`);
      mkdirSync(dir);
      return dir;
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** The host cgroup folder of a sandbox (named `<id>-<random>` under the library's own group). */
export function sandboxCgroup(controller: 'pids' | 'memory' | 'cpu', id: string): string {
  const mode = detectCgroups();
  if (mode.kind !== 'v1' || !mode[controller]) throw new Error(`this test expects cgroup v1 ${controller}`);
  const base = mode[controller]!;
  const name = readdirSync(base).find((n) => n.startsWith(`${id}-`));
  if (!name) throw new Error(`no ${controller} cgroup for ${id}`);
  return path.join(base, name);
}
