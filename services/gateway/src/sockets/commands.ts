import { AppError, SOCKET_AGENT_COMMANDS, type ClientMessageV1, type SessionBusEventV1, type SocketExecResultV1 } from '@codeagent/contracts';
import type { SessionAccess } from '../auth/access';
import type { SessionCommands } from '../sessions/commands';
import { actorOf } from '../auth/actor';
import type { Principal } from '../auth/principal';
import type { ServiceClient } from '../http/bus-call';
import type { SessionHub, SessionListener } from './session-hub';
import type { SocketSink } from './sink';
import { Subscription } from './subscription';

export interface SocketContext {
  principal: Principal;
  sink: SocketSink;
  services: ServiceClient;
  access: SessionAccess;
  commands: SessionCommands;
  hub: SessionHub;
  /** This socket's subscriptions, by session. */
  subscriptions: Map<string, Subscription>;
  /** Seqs sent on this socket by /exec feeds, by session: a subscription skips them (each seq once per socket). */
  sent: Map<string, Set<number>>;
  opts: { pageSize: number; maxHeld: number; drainTimeoutMs: number; execTimeoutMs: number };
  onFatal(err: unknown, id: string): void;
}

/**
 * Runs one client command (parsed and typed by ClientMessageV1 in libs/contracts); its answer is a
 * `response` with the command's id, typed by the command (errors are the caller's to send).
 */
export async function runCommand(ctx: SocketContext, msg: ClientMessageV1): Promise<void> {
  const p = msg.payload;
  const who = ctx.principal;
  const sessionId = p.context.sessionId;
  await ctx.access.check(who, sessionId);

  switch (p.command) {
    case '/subscribe': {
      ctx.subscriptions.get(sessionId)?.stop();
      const fetchPage = async (after: number, limit: number) => {
        const page = await ctx.services.call('orchestrator.session.events', { sessionId, since: after, limit, actor: actorOf(who) }, who);
        return { events: page.events, hasMore: page.hasMore, lastSeq: page.lastSeq };
      };
      // Without `since` the client wants the live stream only: it starts after the session's last event.
      const asked = p.context.since ?? p.since;
      const since = asked ?? (await fetchPage(0, 1)).lastSeq;
      const sub = new Subscription(sessionId, since, ctx.sink, fetchPage, { ...ctx.opts, binary: p.binary, onFatal: (err) => ctx.onFatal(err, msg.id) }, sentSeqs(ctx, sessionId));
      const old = ctx.subscriptions.get(sessionId);
      if (old) ctx.hub.remove(sessionId, old);
      ctx.subscriptions.set(sessionId, sub);
      await ctx.hub.add(sessionId, sub);
      ctx.sink.respond(p.command, msg.id, { subscribed: sessionId, since });
      // Also covers events stored between reading lastSeq and joining the hub.
      await sub.start();
      return;
    }
    case '/unsubscribe': {
      const sub = ctx.subscriptions.get(sessionId);
      if (sub) {
        sub.stop();
        ctx.hub.remove(sessionId, sub);
        ctx.subscriptions.delete(sessionId);
      }
      ctx.sink.respond(p.command, msg.id, { unsubscribed: sessionId, lastSeq: sub?.lastSeq ?? null });
      return;
    }
    case '/exec':
      ctx.sink.respond(p.command, msg.id, await execStreaming(ctx, msg.id, sessionId, p.args[0], p.timeoutMs));
      return;
    case '/interrupt':
      ctx.sink.respond(p.command, msg.id, await ctx.commands.interrupt(who, sessionId));
      return;
    case '/input':
      ctx.sink.respond(p.command, msg.id, await ctx.commands.input(who, sessionId, p.args[0]));
      return;
    case '/resize': {
      const [cols, rows] = p.args;
      ctx.sink.respond(p.command, msg.id, await ctx.commands.resize(who, sessionId, cols, rows));
      return;
    }
    case '/agent-keys': {
      const [name, text] = p.args;
      if (text === undefined && !p.keys && !p.enter) throw new AppError('VALIDATION_FAILED', '/agent-keys needs text (args[1]), keys or enter');
      // Text first (literal), then the key names, then Enter: one tmux call each, in that order.
      if (text !== undefined) await ctx.commands.agent(who, sessionId, 'shell.agent.keys', { name, keys: text, enter: false });
      if (p.keys) await ctx.commands.agent(who, sessionId, 'shell.agent.keys', { name, keys: p.keys, enter: false });
      if (p.enter) await ctx.commands.agent(who, sessionId, 'shell.agent.keys', { name, keys: ['Enter'], enter: false });
      ctx.sink.respond(p.command, msg.id, { ok: true });
      return;
    }
    case '/agent-screen':
      ctx.sink.respond(p.command, msg.id, await ctx.commands.agent(who, sessionId, 'shell.agent.screen', { name: p.args[0], lines: p.lines ?? 50 }));
      return;
    case '/agent-status':
      ctx.sink.respond(p.command, msg.id, await ctx.commands.agent(who, sessionId, 'shell.agent.status', { name: p.args[0] }));
      return;
    default: {
      const prompt = p.args.map(String).join(' ').trim();
      const roles = [SOCKET_AGENT_COMMANDS[p.command]];
      ctx.sink.respond(p.command, msg.id, await ctx.services.call('orchestrator.agent.run', { sessionId, prompt, roles, user: who.userId }, who));
    }
  }
}

/**
 * /exec: the command's output goes to the client as `stream` messages, each seq once on this socket
 * (a subscription to the session carries them, else this command's own feed does, and `sent` makes
 * sure a subscription started meanwhile skips what the feed already sent). The `response` carries the
 * result without the output (the stream did) and is sent only once the command's `command.completed`
 * has been seen (live from the hub, or, when the live path lost it, read from the durable log) and,
 * when a subscription on this socket carries the output, once it has sent it there.
 * No timer joins the two paths.
 */
async function execStreaming(ctx: SocketContext, commandId: string, sessionId: string, line: string, timeoutMs = ctx.opts.execTimeoutMs): Promise<SocketExecResultV1> {
  const sent = sentSeqs(ctx, sessionId);
  let lastSeen = 0;
  let completed = 0;
  let onCompleted: (() => void) | undefined;
  /** Resolves when the command's completion has been seen, or after `ms`. */
  const completion = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      onCompleted = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const take = (e: SessionBusEventV1) => {
    if ((e.kind !== 'output' && e.kind !== 'command.completed') || e.data.commandId !== commandId) return;
    lastSeen = Math.max(lastSeen, e.seq);
    if (e.kind === 'output') {
      // A subscription on this socket carries it (or already did): never a second copy.
      if (!ctx.subscriptions.has(sessionId) && !sent.has(e.seq) && ctx.sink.sendEvent(e, e.seq - 1)) sent.add(e.seq);
    } else {
      completed = e.seq;
      onCompleted?.();
    }
  };
  const listener: SessionListener = { onEvent: take };
  try {
    // Followed before the command is sent: every event it makes reaches this replica live.
    await ctx.hub.add(sessionId, listener);
    const result = await ctx.commands.exec(ctx.principal, sessionId, { command: line, commandId, timeoutMs });
    // The shell answers once the command's events are on their way to the broker, so the live
    // completion normally arrives right behind the answer. If it has not come within a grace (or
    // never will: the live path lost it), read the log from the last of this command's events seen:
    // what the stream missed is sent from there, in order. The log is stored a batch behind the live
    // stream, so until the completion is seen (live or stored) it is read again after a pause, a
    // bounded number of times.
    if (!completed) await completion(LIVE_COMPLETION_GRACE_MS);
    let after = lastSeen;
    for (let waited = 0; !completed; ) {
      const page = await ctx.services.call('orchestrator.session.events', { sessionId, since: after, limit: ctx.opts.pageSize, actor: actorOf(ctx.principal) }, ctx.principal);
      for (const e of page.events) take(e);
      const last = page.events[page.events.length - 1];
      if (last) after = last.seq;
      if (completed || (page.hasMore && last)) continue;
      if (waited >= COMPLETION_WAITS) break;
      await completion(Math.min(1000, 20 * 2 ** waited++));
    }
    // A subscription on this socket carrying the output may be behind (a slow reader is served from
    // the log): the response goes after the command's events, never ahead of them.
    if (completed) await ctx.subscriptions.get(sessionId)?.sentThrough(completed);
    return { commandId, sessionId, exitCode: result.exitCode, durationMs: result.durationMs, timedOut: result.timedOut };
  } finally {
    ctx.hub.remove(sessionId, listener);
  }
}

/** The seqs of a session an /exec feed has sent on this socket (bounded: the newest are kept). */
function sentSeqs(ctx: SocketContext, sessionId: string): Set<number> {
  let set = ctx.sent.get(sessionId);
  if (!set) ctx.sent.set(sessionId, (set = new Set()));
  if (set.size > MAX_SENT_REMEMBERED) {
    const keep = [...set].slice(-MAX_SENT_REMEMBERED / 2);
    set.clear();
    for (const s of keep) set.add(s);
  }
  return set;
}

const MAX_SENT_REMEMBERED = 100_000;
/** How long an /exec waits for its completion on the live stream, once the shell has answered, before reading the log. */
const LIVE_COMPLETION_GRACE_MS = 250;
/** Reads of the log (after 20 ms doubling to 1 s: about half a minute) before an /exec answers without having seen its completion. */
const COMPLETION_WAITS = 35;
