import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

/** Host pids of live (non-zombie) processes whose command line contains `needle`. */
export function hostProcessesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (!cmd.includes(needle)) continue;
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      out.push(Number(p));
    } catch {
      /* exited while we looked */
    }
  }
  return out;
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
