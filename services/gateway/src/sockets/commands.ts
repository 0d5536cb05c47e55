import { AppError } from '@codeagent/contracts';
import type { SessionAccess } from '../auth/access';
import { actorOf } from '../auth/actor';
import type { Principal } from '../auth/principal';
import type { ServiceClient } from '../http/bus-call';
import type { ClientMessage, SessionEvent } from './protocol';
import { serverMessage } from './protocol';
import type { SessionHub, SessionListener } from './session-hub';
import type { SocketSink } from './sink';
import { Subscription } from './subscription';

export interface SocketContext {
  principal: Principal;
  sink: SocketSink;
  services: ServiceClient;
  access: SessionAccess;
  hub: SessionHub;
  /** This socket's subscriptions, by session. */
  subscriptions: Map<string, Subscription>;
  /** Seqs sent on this socket by /exec feeds, by session: a subscription skips them (each seq once per socket). */
  sent: Map<string, Set<number>>;
  opts: { pageSize: number; maxHeld: number; drainTimeoutMs: number; execTimeoutMs: number };
  onFatal(err: unknown, id: string): void;
}

const AGENT_ROLES: Record<string, 'planning' | 'coding' | 'review' | 'testing' | 'documentation'> = {
  '/plan': 'planning',
  '/code': 'coding',
  '/review': 'review',
  '/test': 'testing',
  '/doc': 'documentation',
};

function needSession(msg: ClientMessage): string {
  const id = msg.payload.context.sessionId;
  if (!id) throw new AppError('VALIDATION_FAILED', `${msg.payload.command} needs context.sessionId`, { details: { fields: [{ path: 'payload.context.sessionId', message: 'required' }] } });
  return id;
}

function arg(msg: ClientMessage, i: number, what: string): string {
  const v = msg.payload.args[i];
  if (v === undefined) throw new AppError('VALIDATION_FAILED', `${msg.payload.command} needs args[${i}]: ${what}`, { details: { fields: [{ path: `payload.args.${i}`, message: `required: ${what}` }] } });
  return String(v);
}

/** Runs one client command; its answer is a `response` with the command's id (errors are the caller's). */
export async function runCommand(ctx: SocketContext, msg: ClientMessage): Promise<void> {
  const { command } = msg.payload;
  const who = ctx.principal;
  const respond = (payload: unknown) => ctx.sink.send(serverMessage('response', payload, msg.id));

  if (command === '/subscribe') {
    const sessionId = needSession(msg);
    await ctx.access.check(who, sessionId);
    ctx.subscriptions.get(sessionId)?.stop();
    const fetchPage = async (after: number, limit: number) => {
      const page = await ctx.services.call('orchestrator.session.events', { sessionId, since: after, limit, actor: actorOf(who) }, who);
      return { events: page.events as SessionEvent[], hasMore: page.hasMore, lastSeq: page.lastSeq };
    };
    // Without `since` the client wants the live stream only: it starts after the session's last event.
    const asked = msg.payload.context.since ?? msg.payload.since;
    const since = asked ?? (await fetchPage(0, 1)).lastSeq;
    const sub = new Subscription(sessionId, since, ctx.sink, fetchPage, { ...ctx.opts, onFatal: (err) => ctx.onFatal(err, msg.id) }, sentSeqs(ctx, sessionId));
    const old = ctx.subscriptions.get(sessionId);
    if (old) ctx.hub.remove(sessionId, old);
    ctx.subscriptions.set(sessionId, sub);
    ctx.hub.add(sessionId, sub);
    respond({ subscribed: sessionId, since });
    // Also covers events stored between reading lastSeq and joining the hub.
    await sub.start();
    return;
  }
  if (command === '/unsubscribe') {
    const sessionId = needSession(msg);
    const sub = ctx.subscriptions.get(sessionId);
    if (sub) {
      sub.stop();
      ctx.hub.remove(sessionId, sub);
      ctx.subscriptions.delete(sessionId);
    }
    respond({ unsubscribed: sessionId, lastSeq: sub?.lastSeq ?? null });
    return;
  }
  if (command === '/exec') {
    const sessionId = needSession(msg);
    const line = arg(msg, 0, 'the command line');
    await ctx.access.check(who, sessionId);
    respond(await execStreaming(ctx, msg, sessionId, line));
    return;
  }
  if (command === '/interrupt') {
    const sessionId = needSession(msg);
    await ctx.access.check(who, sessionId);
    respond(await ctx.services.call('orchestrator.session.interrupt', { sessionId, actor: actorOf(who) }, who));
    return;
  }
  if (command === '/input') {
    const sessionId = needSession(msg);
    const data = arg(msg, 0, 'the keystrokes');
    await ctx.access.check(who, sessionId);
    respond(await ctx.services.call('orchestrator.session.input', { sessionId, data, actor: actorOf(who) }, who));
    return;
  }
  if (command === '/resize') {
    const sessionId = needSession(msg);
    const cols = Number(arg(msg, 0, 'columns'));
    const rows = Number(arg(msg, 1, 'rows'));
    if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols < 1 || rows < 1 || cols > 1000 || rows > 1000) {
      throw new AppError('VALIDATION_FAILED', '/resize needs args [cols, rows], whole numbers from 1 to 1000');
    }
    await ctx.access.check(who, sessionId);
    respond(await ctx.services.call('orchestrator.session.resize', { sessionId, cols, rows, actor: actorOf(who) }, who));
    return;
  }
  const role = AGENT_ROLES[command];
  if (role) {
    const sessionId = needSession(msg);
    const prompt = msg.payload.args.map(String).join(' ').trim();
    if (!prompt) throw new AppError('VALIDATION_FAILED', `${command} needs a prompt: ${command} [args] <prompt>`);
    await ctx.access.check(who, sessionId);
    respond(await ctx.services.call('orchestrator.agent.run', { sessionId, prompt, roles: [role], user: who.userId }, who));
    return;
  }
  throw new AppError('VALIDATION_FAILED', `unknown command ${command}: use /subscribe, /unsubscribe, /exec, /input, /resize, /interrupt, /plan, /code, /review, /test or /doc`);
}

/**
 * /exec: the command's output goes to the client as `stream` messages, each seq once on this socket
 * (a subscription to the session carries them, else this command's own feed does, and `sent` makes
 * sure a subscription started meanwhile skips what the feed already sent). The `response` carries the
 * result without the output (the stream did) and is sent only once the command's `command.completed`
 * has been seen: live from the hub, or, when the live path lost it, read from the durable log.
 * No timer joins the two paths.
 */
async function execStreaming(ctx: SocketContext, msg: ClientMessage, sessionId: string, line: string): Promise<unknown> {
  const commandId = msg.id;
  const sent = sentSeqs(ctx, sessionId);
  let lastSeen = 0;
  let completed = false;
  const take = (e: SessionEvent) => {
    const d = (e.data ?? {}) as { commandId?: unknown; stream?: unknown };
    if (d.commandId !== commandId) return;
    lastSeen = Math.max(lastSeen, e.seq);
    if (typeof d.stream === 'string') {
      // A subscription on this socket carries it (or already did): never a second copy.
      if (!ctx.subscriptions.has(sessionId) && !sent.has(e.seq) && ctx.sink.sendEvent(e, e.seq - 1)) sent.add(e.seq);
    } else if (e.kind === 'command.completed') {
      completed = true;
    }
  };
  const listener: SessionListener = { onEvent: take };
  ctx.hub.add(sessionId, listener);
  try {
    const timeoutMs = msg.payload.timeoutMs ?? ctx.opts.execTimeoutMs;
    const result = await ctx.services.call(
      'orchestrator.session.exec',
      { sessionId, command: line, commandId, timeoutMs, actor: actorOf(ctx.principal) },
      ctx.principal,
      { timeoutMs: timeoutMs + 5_000 },
    );
    // The orchestrator answers once the completion is in the session log. If its live event has not
    // reached this replica yet (or never will: the live path lost it), read the log from the last of
    // this command's events seen: what the stream missed is sent from there, in order.
    let after = lastSeen;
    while (!completed) {
      const page = await ctx.services.call('orchestrator.session.events', { sessionId, since: after, limit: ctx.opts.pageSize, actor: actorOf(ctx.principal) }, ctx.principal);
      for (const e of page.events as SessionEvent[]) take(e);
      const last = page.events[page.events.length - 1];
      if (!page.hasMore || !last) break;
      after = last.seq;
    }
    const { stdout: _o, stderr: _e, ...rest } = result;
    return { ...rest, commandId, sessionId };
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
