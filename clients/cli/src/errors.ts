/**
 * Exit codes scripts can rely on. `run` exits with the command's own exit code instead; these are
 * for the client's own outcome.
 */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  notFound: 3,
  auth: 4,
  unavailable: 5,
  conflict: 6,
  interrupted: 130,
} as const;

/** The exit codes, as `codeagent --help` ends with them (and the README's table). */
export const EXIT_CODES_HELP = `
Exit codes:
  0    done
  1    the platform answered with an error the CLI does not classify (or an agent run did not complete)
  2    usage: a bad argument or a request the gateway refused as invalid
  3    not found
  4    authentication: no token, an expired one, or someone else's resource
  5    the platform is unreachable or a service did not answer
  6    conflict or rate limit
  130  interrupted (Ctrl-C)
  \`run\` exits with the command's own exit code instead.

Every command takes --json (one JSON document; one JSON line per chunk, event or step for run, events -f, runs start --wait and providers pull).
Shell completion: source <(codeagent completion bash)   (or zsh; fish: codeagent completion fish | source)
`;

/** An error the CLI reports as one line (plus a hint) and an exit code, never a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.error,
    readonly hint?: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Maps a problem+json answer of the gateway to the CLI's exit codes and a hint of what to do. */
export function fromProblem(status: number, problem: { title?: string; detail?: string; code?: string; errors?: unknown }, url: string): CliError {
  const msg = problem.detail ?? problem.title ?? `HTTP ${status}`;
  if (status === 401) return new CliError(msg, ExitCode.auth, 'run `codeagent login` (team mode needs a token)', problem.code);
  if (status === 403) return new CliError(msg, ExitCode.auth, 'this belongs to another user; ask an admin', problem.code);
  if (status === 404) return new CliError(msg, ExitCode.notFound, undefined, problem.code);
  if (status === 400) {
    const fields = Array.isArray(problem.errors) ? (problem.errors as Array<{ path?: string; message?: string }>).map((e) => `${e.path}: ${e.message}`).join('; ') : '';
    return new CliError(fields ? `${msg} (${fields})` : msg, ExitCode.usage, undefined, problem.code);
  }
  if (status === 409 || status === 429) return new CliError(msg, ExitCode.conflict, status === 429 ? 'wait a moment and try again' : undefined, problem.code);
  if (status >= 502 && status <= 504) return new CliError(msg, ExitCode.unavailable, `check the platform with \`codeagent status\` (${url})`, problem.code);
  return new CliError(msg, ExitCode.error, undefined, problem.code);
}
