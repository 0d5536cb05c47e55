import { AppError } from '@codeagent/contracts';
import { runHostTool } from '@codeagent/sandbox/src/host/tools';

// Never let a user's git config, hooks, fsmonitor or credential prompts run as the service, nor the
// `ext::` transport (it runs a command). The service is root and the user's repositories are not, so
// git's "dubious ownership" check would refuse them: the caller has already been checked against
// WORKSPACE_ALLOWED_ROOTS, which is the decision that check stands for.
const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1', GIT_ASKPASS: 'true' };
const SAFE = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', '-c', 'protocol.ext.allow=never', '-c', 'safe.directory=*'];
const git = (args: string[], cwd?: string, timeoutMs = 300_000) => runHostTool('git', [...SAFE, ...args], { cwd, env: GIT_ENV, timeoutMs });

/** The top of the repository containing `dir`, or a VALIDATION_FAILED error if it is not one. */
export async function repoTop(dir: string): Promise<string> {
  try {
    return (await git(['-C', dir, 'rev-parse', '--show-toplevel'])).stdout.trim();
  } catch {
    throw new AppError('VALIDATION_FAILED', `${dir} is not a git repository`);
  }
}

export async function headCommit(repo: string): Promise<string> {
  try {
    return (await git(['-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();
  } catch {
    throw new AppError('INVALID_STATE', `${repo} has no commit yet: a worktree needs one`);
  }
}

async function branchExists(repo: string, branch: string): Promise<boolean> {
  return git(['-C', repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).then(
    () => true,
    () => false,
  );
}

/** Adds a worktree at `dir` on `branch`, created from HEAD unless it exists. */
export async function addWorktree(repo: string, dir: string, branch: string): Promise<{ createdBranch: boolean }> {
  if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.startsWith('-') || branch.includes('..')) throw new AppError('VALIDATION_FAILED', `invalid branch name ${branch}`);
  const exists = await branchExists(repo, branch);
  try {
    await git(['-C', repo, 'worktree', 'add', ...(exists ? [dir, branch] : ['-b', branch, dir, 'HEAD'])]);
  } catch (err) {
    if (/already (checked out|used by worktree)/.test((err as Error).message)) throw new AppError('CONFLICT', `branch ${branch} is checked out elsewhere`);
    throw err;
  }
  return { createdBranch: !exists };
}

/**
 * Removes a worktree and, when the service created its branch and nothing was committed on it, the
 * branch too. A branch with commits is the agent's work: it stays in the user's repository.
 */
export async function removeWorktree(wt: { repo: string; branch: string; baseCommit: string; createdBranch: boolean }, dir: string): Promise<void> {
  await git(['-C', wt.repo, 'worktree', 'remove', '--force', dir]).catch(() => undefined);
  await git(['-C', wt.repo, 'worktree', 'prune']).catch(() => undefined);
  if (!wt.createdBranch) return;
  const tip = await git(['-C', wt.repo, 'rev-parse', '--verify', '--quiet', `refs/heads/${wt.branch}`]).then(
    (r) => r.stdout.trim(),
    () => undefined,
  );
  if (tip === wt.baseCommit) await git(['-C', wt.repo, 'branch', '-D', wt.branch]).catch(() => undefined);
}

/**
 * A git URL's local folder (an absolute path or a file:// URL), undefined for a remote URL (a scheme
 * git speaks over the network, or scp-like `host:path`). Anything else is refused: relative paths
 * would depend on the service's folder, and `transport::address` runs helper programs.
 */
export function localRepoPath(url: string): string | undefined {
  if (url.startsWith('/')) return url;
  if (/^file:/i.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new AppError('VALIDATION_FAILED', `invalid git URL ${url}`);
    }
    if (u.host && u.host !== 'localhost') throw new AppError('VALIDATION_FAILED', `a file:// URL names a local folder, not host ${u.host}`);
    return decodeURIComponent(u.pathname);
  }
  if (/^(https?|ssh|git):\/\/[^/]/i.test(url)) return undefined;
  if (/^([A-Za-z0-9._-]+@)?[A-Za-z0-9.-]+:[^:]/.test(url) && !url.includes('::')) return undefined;
  throw new AppError('VALIDATION_FAILED', `unsupported git URL ${url}: use https://, ssh://, git://, user@host:path, file:// or an absolute path`);
}

/**
 * Clones `url` into `dir` (which must be empty), optionally at `ref` (a branch, tag or commit).
 * `local` says the URL is a folder on this host (already checked against the allowed roots).
 */
export async function cloneInto(url: string, dir: string, ref?: string, local = false): Promise<void> {
  if (url.startsWith('-')) throw new AppError('VALIDATION_FAILED', `invalid git URL ${url}`);
  try {
    // A local clone runs upload-pack on the source repository: it needs the same ownership exception.
    await git(['clone', '--quiet', '--no-hardlinks', ...(local ? ['-u', 'git -c safe.directory=* upload-pack'] : []), '--', url, dir]);
  } catch (err) {
    throw new AppError('VALIDATION_FAILED', `cannot clone ${url}: ${(err as Error).message.split('\n').pop()}`);
  }
  if (ref) {
    if (ref.startsWith('-')) throw new AppError('VALIDATION_FAILED', `invalid ref ${ref}`);
    await git(['-C', dir, 'checkout', '--quiet', ref]).catch(() => {
      throw new AppError('VALIDATION_FAILED', `${url} has no ref ${ref}`);
    });
  }
}
