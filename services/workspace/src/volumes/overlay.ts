import { runHostTool } from '@codeagent/sandbox/src/host/tools';

/**
 * Mounts an overlay: `lowers` top first, immutable; `upper` takes every write. redirect_dir, metacopy
 * and index are off so that an upper folder can later be frozen into a plain lower layer of another
 * overlay (a fork) without carrying references to the layers it was made over.
 */
export async function mountOverlay(opts: { lowers: string[]; upper: string; work: string; merged: string }): Promise<void> {
  const options = [
    `lowerdir=${opts.lowers.map(escape).join(':')}`,
    `upperdir=${escape(opts.upper)}`,
    `workdir=${escape(opts.work)}`,
    'redirect_dir=off',
    'metacopy=off',
    'index=off',
  ].join(',');
  await runHostTool('mount', ['-t', 'overlay', 'overlay', '-o', options, opts.merged]);
}

// The option string separates with ',' and lowerdir with ':'; both may be escaped with '\'.
const escape = (p: string) => p.replace(/[\\,:]/g, (c) => `\\${c}`);

/**
 * Mounts `lowers` (top first) alone, read-only: the state a workspace started from, whiteouts and
 * opaque folders of frozen uppers applied by the kernel. Needs two or more lowers (one is its own view).
 */
export async function mountLowersReadOnly(lowers: string[], target: string): Promise<void> {
  await runHostTool('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowers.map(escape).join(':')}`, target]);
}
