import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { outputBytes } from '@codeagent/bus';
import { AppError, ExternalAgentNameV1, type CommandRequest, type SessionBusEventV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import { Server, utils, type AuthContext, type ServerChannel, type Session } from 'ssh2';
import type { SessionAccess } from '../auth/access';
import { actorOf } from '../auth/actor';
import type { Principal } from '../auth/principal';
import type { ServiceClient } from '../http/bus-call';
import type { SessionCommands } from '../sessions/commands';
import type { SessionHub } from '../sockets/session-hub';
import type { AttachOutputs } from './attach-outputs';
import { fingerprintOf, type SshKeyStore } from './keys';
import { endSftp, serveSftp } from './sftp';

export interface SshDeps {
  port: number;
  host: string;
  /** Where the server's host key is kept (made on first start). */
  hostKeyFile: string;
  keys: SshKeyStore;
  /** A user's principal (role) from their id; undefined when the user is gone. */
  principalOf(userId: string): Promise<Principal | undefined>;
  services: ServiceClient;
  access: SessionAccess;
  commands: SessionCommands;
  hub: SessionHub;
  /** Output of the agent attach terminals (shell.agent.attach.output), fed by the replica's subscription. */
  attachOutputs: AttachOutputs;
  log: Logger;
}

export interface RunningSsh {
  port: number;
  close(): Promise<void>;
}

/** How long a command's completion event may trail the shell's reply before the reply's output is used instead. */
const COMPLETION_GRACE_MS = 10_000;

/**
 * What `scp -O` (the legacy protocol) runs on the server: `scp [-v -r -p -d] -t|-f [--] <path>`. It is
 * not served: in the jail its stdin is /dev/null and the workspace is not its only reach, so it is
 * refused with the way that works (scp's default since OpenSSH 9 is the sftp protocol, served here).
 */
const LEGACY_SCP = /^\s*scp(\s+-[A-Za-z]+)*\s+-[tf](\s|$)/;
const LEGACY_SCP_REFUSAL = "scp's legacy protocol (scp -O) is not served: use scp without -O (OpenSSH 9 and later copy over sftp), or sftp\n";

/** `<sessionId>` or `<sessionId>+<agentName>`. */
function parseUser(username: string): { sessionId: string; agent?: string } | undefined {
  const [sessionId, agent, extra] = username.split('+');
  if (!sessionId || extra !== undefined) return undefined;
  if (agent !== undefined && !ExternalAgentNameV1.safeParse(agent).success) return undefined;
  return { sessionId, ...(agent ? { agent } : {}) };
}

/**
 * The gateway's SSH server (API.md "SSH"): public keys only; the user name says which session (and
 * which outside agent) to enter. A login shell is the session's terminal (the PTY `codeagent attach`
 * uses: shell.pty.* in, its `output` events of stream `pty` out); a command runs as exec does and
 * its exit code is the channel's; `sftp` serves the workspace; `<sessionId>+<agent>` gets a terminal
 * of its own in the jail running `tmux attach` to the agent (detaching ends the login, the agent keeps
 * running, the session's terminal is not touched).
 */
export async function startSshServer(d: SshDeps): Promise<RunningSsh> {
  const hostKey = await loadHostKey(d.hostKeyFile);
  const log = d.log.child({ component: 'ssh' });
  const server = new Server({ hostKeys: [hostKey] }, (client, info) => {
    let who: Principal | undefined;
    let target: { sessionId: string; agent?: string } | undefined;
    const refuse = (ctx: AuthContext, reason: string) => {
      log.warn({ user: ctx.username, ip: info.ip, method: ctx.method, reason }, 'ssh login refused');
      ctx.reject(['publickey']);
    };
    client.on('authentication', (ctx) => {
      void (async () => {
        if (ctx.method !== 'publickey') return ctx.method === 'none' ? ctx.reject(['publickey']) : refuse(ctx, `${ctx.method} authentication is not offered: public keys only`);
        const t = parseUser(ctx.username);
        if (!t) return refuse(ctx, 'the user name must be <sessionId> or <sessionId>+<agentName>');
        const owner = await d.keys.ownerOf(fingerprintOf(ctx.key.data));
        if (!owner || owner.key.type !== ctx.key.algo.replace(/^rsa-sha2-(256|512)$/, 'ssh-rsa')) return refuse(ctx, 'unknown key');
        // The client only asks whether the key would do; it signs in the next round.
        if (!ctx.signature) return ctx.accept();
        if (owner.key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return refuse(ctx, 'bad signature');
        const principal = await d.principalOf(owner.userId);
        if (!principal) return refuse(ctx, `user ${owner.userId} no longer exists`);
        try {
          await d.access.check(principal, t.sessionId);
        } catch (err) {
          return refuse(ctx, `session ${t.sessionId}: ${(err as Error).message}`);
        }
        who = principal;
        target = t;
        log.info({ user: principal.userId, sessionId: t.sessionId, agent: t.agent, ip: info.ip }, 'ssh login');
        ctx.accept();
      })().catch((err: Error) => refuse(ctx, err.message));
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        if (!who || !target) return;
        handleSession(accept(), who, target, d, log);
      });
    });
    client.on('error', (err) => log.debug({ err: err.message, ip: info.ip }, 'ssh connection error'));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(d.port, d.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: d.host, port }, 'ssh server listening');
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function handleSession(session: Session, who: Principal, target: { sessionId: string; agent?: string }, d: SshDeps, log: Logger): void {
  const { sessionId, agent } = target;
  let size = { cols: 80, rows: 24 };
  session.on('pty', (accept, _reject, info) => {
    size = { cols: info.cols || 80, rows: info.rows || 24 };
    accept?.();
  });
  let onResize = (cols: number, rows: number) => void d.commands.resize(who, sessionId, cols, rows).catch(() => undefined);
  session.on('window-change', (accept, _reject, info) => {
    size = { cols: info.cols || 80, rows: info.rows || 24 };
    accept?.();
    onResize(size.cols, size.rows);
  });
  session.on('env', (accept) => accept?.());
  session.on('exec', (accept, _reject, info) => {
    const ch = accept();
    if (agent) return endWith(ch, 'an outside agent takes no command: ssh <sessionId>+<agent>@host attaches to it\n', 2);
    if (LEGACY_SCP.test(info.command)) {
      log.warn({ sessionId, user: who.userId, command: info.command, reason: 'legacy scp protocol' }, 'ssh command refused');
      return endWith(ch, LEGACY_SCP_REFUSAL, 1);
    }
    void runCommand(ch, who, sessionId, info.command, d).catch((err: Error) => endWith(ch, `${err.message}\n`, 255));
  });
  session.on('shell', (accept) => {
    const ch = accept();
    if (agent) {
      const attached = agentTerminal(ch, who, sessionId, agent, size, d);
      onResize = (cols, rows) => void attached.resize(cols, rows);
      return void attached.ready.catch((err: Error) => endWith(ch, `${err.message}\n`, 255));
    }
    void terminal(ch, who, sessionId, size, d).catch((err: Error) => endWith(ch, `${err.message}\n`, 255));
  });
  // ssh2 turns a request for the `sftp` subsystem into this event (any other subsystem is refused).
  session.on('sftp', (accept) => {
    const root = d.services.call('orchestrator.session.get', { sessionId, actor: actorOf(who) }, who).then((s) => {
      if (!s.workspacePath || !existsSync(s.workspacePath)) throw new AppError('SERVICE_UNAVAILABLE', `session ${sessionId}'s workspace is not on this gateway's host`);
      return s.workspacePath;
    });
    const sftp = accept();
    root.catch((err: Error) => {
      log.warn({ sessionId, user: who.userId, reason: err.message }, 'sftp refused');
      endSftp(sftp, 1);
    });
    serveSftp(sftp, root, (op, p) => log.warn({ sessionId, user: who.userId, op, path: p, reason: 'outside the workspace' }, 'sftp request refused'));
  });
}

/**
 * A command as `ssh host 'cmd'` runs it: in the jail, in a subshell (`exit N` ends it with N, not the
 * session's persistent shell); its output streams to the channel from the session's live events as it
 * comes, and the channel exits with its code once both the shell's reply and its `command.completed`
 * (the last of its events) are here. Should the live path lose events (the bus reconnected), the rest
 * comes from the reply's output.
 */
async function runCommand(ch: ServerChannel, who: Principal, sessionId: string, command: string, d: SshDeps): Promise<void> {
  const commandId = `ssh_${randomBytes(8).toString('hex')}`;
  const written = { stdout: 0, stderr: 0 };
  let completed = false;
  let lost = false;
  let wake = () => {};
  const listener = {
    onEvent: (e: SessionBusEventV1) => {
      if (e.kind === 'command.completed' && e.data.commandId === commandId) {
        completed = true;
        wake();
      }
      if (e.kind !== 'output' || e.data.commandId !== commandId || e.data.stream === 'pty') return;
      const bytes = outputBytes(e.data);
      written[e.data.stream] += bytes.length;
      (e.data.stream === 'stdout' ? ch : ch.stderr).write(bytes);
    },
    resync: () => {
      lost = true;
      wake();
    },
  };
  try {
    await d.hub.add(sessionId, listener);
    const r = await d.commands.exec(who, sessionId, { command: `(\n${command}\n)`, commandId });
    await new Promise<void>((resolve) => {
      // The events were all published before the reply was sent; a completion this late was lost on the way.
      const late = setTimeout(() => {
        lost = true;
        d.log.warn({ sessionId, commandId }, 'ssh command: its completion event did not arrive; finishing from the reply');
        resolve();
      }, COMPLETION_GRACE_MS);
      wake = () => (clearTimeout(late), resolve());
      if (completed || lost) wake();
    });
    if (!completed) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const rest = Buffer.from(r[stream], 'utf8').subarray(written[stream]);
        if (rest.length) (stream === 'stdout' ? ch : ch.stderr).write(rest);
      }
    }
    ch.exit(r.exitCode < 0 ? 255 : r.exitCode);
    ch.end();
  } finally {
    d.hub.remove(sessionId, listener);
  }
}

/**
 * The session's terminal over the channel: keystrokes go straight to the jail's shell replica, its
 * `pty` output comes back from the session's live events. Closing the connection leaves it running.
 */
async function terminal(ch: ServerChannel, who: Principal, sessionId: string, size: { cols: number; rows: number }, d: SshDeps): Promise<void> {
  const listener = {
    onEvent: (e: SessionBusEventV1) => {
      const ended = e.kind === 'note' ? (e.data.terminal as { exitCode?: number } | undefined) : undefined;
      if (ended) {
        // The terminal's shell exited (`exit`, Ctrl-D): so does the login.
        ch.exit(ended.exitCode ?? 0);
        ch.end();
        return;
      }
      if (e.kind !== 'output' || e.data.stream !== 'pty') return;
      ch.write(outputBytes(e.data));
    },
  };
  await d.hub.add(sessionId, listener);
  const input = (data: string) => d.commands.input(who, sessionId, data);
  let chain = Promise.resolve();
  const send = (data: string) => (chain = chain.then(() => input(data).then(() => undefined)).catch(() => undefined));
  const done = () => d.hub.remove(sessionId, listener);
  ch.on('close', done);
  ch.on('end', () => {
    done();
    ch.end();
  });
  ch.on('data', (b: Buffer) => send(b.toString('utf8')));
  await d.commands.resize(who, sessionId, size.cols, size.rows);
  send('\r');
}

/**
 * `<sessionId>+<agent>`: a terminal of its own in the jail running `tmux attach` to the agent
 * (shell.agent.attach), as seed 001's ForceCommand: detaching (Ctrl-b d) ends the tmux client, hence
 * the login, with its code; the agent keeps running and the session's terminal is never involved.
 * Its output comes as shell.agent.attach.output events, in order; the connection closing ends it.
 */
function agentTerminal(ch: ServerChannel, who: Principal, sessionId: string, agent: string, size: { cols: number; rows: number }, d: SshDeps) {
  const attachId = `ssh_${randomBytes(12).toString('hex')}`;
  let ended = false;
  // Listening before asking: the first output may come before the reply.
  d.attachOutputs.add(attachId, (e) => {
    if (e.data) ch.write(Buffer.from(e.data, 'base64'));
    if (e.ended) {
      ended = true;
      d.attachOutputs.remove(attachId);
      ch.exit(e.ended.exitCode);
      ch.end();
    }
  });
  const call = <N extends 'shell.agent.attach.input' | 'shell.agent.attach.close'>(name: N, payload: Omit<CommandRequest<N>, 'sessionId'>) => d.commands.agent(who, sessionId, name, payload);
  const ready = d.commands.agent(who, sessionId, 'shell.agent.attach', { name: agent, attachId, cols: size.cols, rows: size.rows });
  // Keystrokes in the order they came, after the terminal exists.
  let chain: Promise<unknown> = ready;
  const send = (payload: { data?: string; cols?: number; rows?: number }) => (chain = chain.then(() => call('shell.agent.attach.input', { attachId, ...payload })).catch(() => undefined));
  ch.on('data', (b: Buffer) => send({ data: b.toString('utf8') }));
  const leave = () => {
    d.attachOutputs.remove(attachId);
    if (ended) return;
    ended = true;
    void chain.then(() => call('shell.agent.attach.close', { attachId })).catch(() => undefined);
  };
  ch.on('close', leave);
  ch.on('end', () => {
    leave();
    ch.end();
  });
  ready.catch(() => d.attachOutputs.remove(attachId));
  return { ready, resize: (cols: number, rows: number) => send({ cols, rows }) };
}

function endWith(ch: ServerChannel, message: string, code: number): void {
  ch.stderr.write(message);
  ch.exit(code);
  ch.end();
}

/** The host key: read, or made (ed25519, 0600) on first start so clients see the same key after restarts. */
async function loadHostKey(file: string): Promise<string> {
  if (existsSync(file)) return readFile(file, 'utf8');
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const pair = utils.generateKeyPairSync('ed25519');
  await writeFile(file, pair.private, { mode: 0o600, flag: 'wx' }).catch(() => undefined);
  await chmod(file, 0o600).catch(() => undefined);
  return readFile(file, 'utf8');
}
