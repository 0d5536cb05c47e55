import type { Command } from 'commander';
import { bytesOf, chat, headSeq } from '../chat';
import { CliError, ExitCode } from '../errors';
import { SessionStream } from '../stream';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;

/** How far back `attach` replays, so a reattach shows the recent screen. */
const ATTACH_REPLAY_EVENTS = 200;
/** After a command's answer, how long `run` waits for its output while the stream brings nothing. */
const STREAM_STALL_MS = 10_000;
/** Ctrl-] (as telnet and docker attach use): detaches without touching the terminal's programs. */
const DETACH_BYTE = 0x1d;

export function liveCommands(program: Command, run: Run): void {
  program
    .command('run <session> <command...>')
    .description('run a command in a session; its stdout and stderr stream to yours and its exit code is ours (write `--` before the command)')
    .option('--timeout <ms>', "the command's timeout", (v) => Number(v))
    .action(run(async (ctx, sessionId: string, words: string[], o: { timeout?: number }) => runCommand(ctx, sessionId, words.join(' '), o.timeout)));

  program
    .command('attach <session>')
    .description('an interactive terminal in the session (detach with Ctrl-])')
    .action(run(async (ctx, sessionId: string) => attach(ctx, sessionId)));

  program
    .command('chat <session>')
    .description('talk to the agents: /plan /code /review /test /doc, /run, /tasks, /usage, /help; plain text goes to the coding agent')
    .action(run(async (ctx, sessionId: string) => chat(ctx, sessionId)));
}

/**
 * `run`: subscribes to the session from its newest event, then sends /exec. Output arrives as the
 * session's events, so after a dropped connection the stream resubscribes from the last sequence
 * number it saw and nothing is lost or shown twice; the result is the /exec response, or, when the
 * connection that would have carried it dropped, the `command.completed` event. A command that had
 * started when the platform went away (a restart, an upgrade) goes on in the session: its answer is
 * then an unavailable service, and `run` follows the log until the command completes.
 */
async function runCommand(ctx: Ctx, sessionId: string, command: string, timeoutMs?: number): Promise<void> {
  const since = await headSeq(ctx, sessionId);
  let commandId: string | undefined;
  let started = false;
  type Outcome = { exitCode: number; durationMs: number; timedOut: boolean } | { error: Error };
  let completed: Outcome | undefined;
  let settle!: (r: Outcome) => void;
  const done = new Promise<Outcome>((r) => (settle = r));
  const stream = new SessionStream({
    baseUrl: ctx.baseUrl,
    token: ctx.token,
    sessionId,
    since,
    // Said on stderr, once per reconnect, so a person (or a test) knows the link dropped and resumed.
    onReconnect: (seq) => process.stderr.write(`codeagent: reconnected; resuming after event ${seq}\n`),
    onEvent: (m) => {
      if (m.type === 'stream') {
        const p = m.payload;
        if (p.commandId !== commandId || p.stream === 'pty') return;
        // --json: one JSON line per chunk on stdout, so a script gets both streams in order.
        if (ctx.out.json) ctx.out.line(JSON.stringify({ seq: p.seq, stream: p.stream, data: bytesOf(m).toString('utf8') }));
        else (p.stream === 'stderr' ? process.stderr : process.stdout).write(bytesOf(m));
      } else if (m.type === 'status' && m.payload.kind === 'command.started' && m.payload.data.commandId === commandId) {
        started = true;
      } else if (m.type === 'status' && m.payload.kind === 'command.completed' && m.payload.data.commandId === commandId) {
        completed = m.payload.data;
        settle(m.payload.data);
      } else if (m.type === 'error') {
        process.stderr.write(`codeagent: ${m.payload.message}\n`);
      }
    },
  });
  await stream.connect();
  const req = stream.request('/exec', [command], timeoutMs ? { timeoutMs } : {});
  commandId = req.id;
  req.done.then(settle, (err: Error) => {
    if (started && err instanceof CliError && err.exitCode === ExitCode.unavailable) {
      process.stderr.write(`codeagent: ${err.message}; the command goes on in the session: following it until it completes (Ctrl-C twice leaves it running)\n`);
      return;
    }
    settle({ error: err });
  });

  // Ctrl-C interrupts the command, not us: we still print the rest of its output and exit with its status.
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) {
      stream.close();
      process.exit(ExitCode.interrupted);
    }
    process.stderr.write('\ncodeagent: interrupting the command (Ctrl-C again to quit and leave it running)\n');
    stream.fire('/interrupt', []);
  };
  process.on('SIGINT', onSigint);
  const dropAfter = Number(process.env.CODEAGENT_TEST_DROP_AFTER_MS);
  const dropTimer = dropAfter > 0 ? setTimeout(() => stream.dropConnection(), dropAfter) : undefined;

  const result = await done;
  clearTimeout(dropTimer);
  process.off('SIGINT', onSigint);
  // The answer can overtake the output: a client that fell behind is served from the log at its own
  // pace, and a resubscribed stream replays. The completion event comes after the command's last
  // output, so wait for it while the stream still brings events (exiting on the answer alone printed
  // part of a large output and exited 0).
  let lastProgress = { seq: stream.seq, at: Date.now() };
  while (!completed && !('error' in result)) {
    if (stream.seq !== lastProgress.seq) lastProgress = { seq: stream.seq, at: Date.now() };
    else if (Date.now() - lastProgress.at > STREAM_STALL_MS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  stream.close();
  if ('error' in result) throw result.error;
  const final = result;
  if (ctx.out.json) ctx.out.line(JSON.stringify({ done: true, commandId, exitCode: final.exitCode, durationMs: final.durationMs, timedOut: final.timedOut ?? false }));
  if (final.timedOut) process.stderr.write(`codeagent: the command timed out after ${final.durationMs} ms\n`);
  process.exitCode = typeof final.exitCode === 'number' ? final.exitCode : ExitCode.error;
  if (!completed) {
    // Never a silent exit 0 on a cut output.
    process.stderr.write(`codeagent: the command ended (exit ${final.exitCode}) but its output stopped arriving after event ${stream.seq}; read the rest with: codeagent events ${sessionId} --since ${stream.seq}\n`);
    process.exitCode = ExitCode.unavailable;
  }
}

/** `attach`: the session's terminal in raw mode; resizes follow ours; Ctrl-] detaches. */
async function attach(ctx: Ctx, sessionId: string): Promise<void> {
  if (!process.stdin.isTTY) throw new CliError('attach needs a terminal', ExitCode.usage, 'use `codeagent run` from scripts');
  const head = await headSeq(ctx, sessionId);
  const stream = new SessionStream({
    baseUrl: ctx.baseUrl,
    token: ctx.token,
    sessionId,
    since: Math.max(0, head - ATTACH_REPLAY_EVENTS),
    onEvent: (m) => {
      if (m.type === 'stream' && m.payload.stream === 'pty') process.stdout.write(bytesOf(m));
      // The terminal is in raw mode: a line needs its carriage return.
      else if (m.type === 'error') process.stderr.write(`\r\ncodeagent: ${m.payload.message}\r\n`);
    },
  });
  process.stderr.write(`[attached to ${sessionId}; Ctrl-] detaches]\r\n`);
  // Keystrokes typed while the stream connects and the terminal is sized wait here, in order.
  let typedEarly: string[] | undefined = [];
  const send = (keys: string) => (typedEarly ? typedEarly.push(keys) : stream.fire('/input', [keys]));
  const detached = new Promise<void>((resolve) => {
    process.stdin.on('data', (d: Buffer) => {
      const at = d.indexOf(DETACH_BYTE);
      if (at >= 0) {
        if (at > 0) send(d.subarray(0, at).toString('utf8'));
        return resolve();
      }
      send(d.toString('utf8'));
    });
  });
  process.stdin.setRawMode(true);
  process.stdin.resume();
  const size = (): [number, number] => [process.stdout.columns || 80, process.stdout.rows || 24];
  const resize = () => stream.fire('/resize', size());
  try {
    await stream.connect();
    // Sized before the first keystroke, so the shell's first prompt has the right width.
    await stream.request('/resize', size()).done;
    process.stdout.on('resize', resize);
    for (const keys of typedEarly) stream.fire('/input', [keys]);
    typedEarly = undefined;
    await detached;
  } finally {
    // The terminal is given back as it was, whatever happened.
    process.stdout.off('resize', resize);
    process.stdin.setRawMode(false);
    process.stdin.pause();
    stream.close();
  }
  process.stderr.write(`\r\n[detached from ${sessionId}]\n`);
}
