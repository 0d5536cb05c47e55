import { access, constants } from 'node:fs/promises';
import path from 'node:path';

/**
 * The commands each language tier's suggested setup and test commands need. A Bubblewrap jail sees the
 * host's /usr, so a tool missing here is missing in the jail too: discovery reports it as `missing`
 * rather than letting the first `npm ci` fail with "command not found".
 */
const TOOLS: Record<string, (details: Record<string, unknown>) => string[]> = {
  node: (d) => ['node', d.packageManager === 'pnpm' ? 'pnpm' : d.packageManager === 'yarn' ? 'yarn' : 'npm'],
  rust: () => ['cargo', 'rustc'],
  go: () => ['go'],
  python: (d) => [d.poetry ? 'poetry' : 'pip3', 'python3', 'pytest'],
  java: (d) => ['java', d.buildTool === 'gradle' ? 'gradle' : 'mvn'],
  ruby: () => ['ruby', 'bundle'],
  php: () => ['php', 'composer'],
  elixir: () => ['elixir', 'mix'],
  'c/c++': () => ['cmake', 'cc'],
  make: () => ['make'],
};

/** The jail's PATH (libs/sandbox's bubblewrap shell), not the service's own. */
const JAIL_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

async function onPath(cmd: string): Promise<boolean> {
  for (const dir of JAIL_PATH) {
    if (await access(path.join(dir, cmd), constants.X_OK).then(() => true, () => false)) return true;
  }
  return false;
}

/** The tools `toolchain` needs that no folder of the jail's PATH holds (a project's own `./gradlew` counts as present). */
export async function missingTools(toolchain: string, details: Record<string, unknown>): Promise<string[]> {
  const needed = TOOLS[toolchain]?.(details) ?? [];
  const missing: string[] = [];
  for (const t of needed) {
    if (t === 'gradle' && details.wrapper === true) continue;
    if (!(await onPath(t))) missing.push(t);
  }
  return missing;
}
