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
    const sub = new Subscription(sessionId, since, ctx.sink, fetchPage, { ...ctx.opts, onFatal: (err) => ctx.onFatal(err, msg.id) });
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
 * /exec: the command's output goes to the client as `stream` messages (unless a subscription to the
 * session already carries them), and the result follows as the `response` only after the command's
 * last output chunk has been sent, so the response really ends the stream.
 */
async function execStreaming(ctx: SocketContext, msg: ClientMessage, sessionId: string, line: string): Promise<unknown> {
  const commandId = msg.id;
  const subscribed = ctx.subscriptions.has(sessionId);
  let lastOutputSeq = 0;
  let completedSeq: number | undefined;
  let notify: (() => void) | undefined;
  const listener: SessionListener = {
    onEvent(e) {
      const d = (e.data ?? {}) as { commandId?: unknown; stream?: unknown };
      if (d.commandId !== commandId) return;
      if (typeof d.stream === 'string') {
        if (!subscribed && e.seq > lastOutputSeq && !ctx.sink.sendEvent(e, lastOutputSeq)) return;
        lastOutputSeq = Math.max(lastOutputSeq, e.seq);
      } else if (e.kind === 'command.completed') {
        completedSeq = e.seq;
      }
      notify?.();
    },
  };
  ctx.hub.add(sessionId, listener);
  try {
    const timeoutMs = msg.payload.timeoutMs ?? ctx.opts.execTimeoutMs;
    const result = await ctx.services.call(
      'orchestrator.session.exec',
      { sessionId, command: line, commandId, timeoutMs, actor: actorOf(ctx.principal) },
      ctx.principal,
      { timeoutMs: timeoutMs + 5_000 },
    );
    // The reply comes straight back while output travels through the events exchange: wait (briefly)
    // for the command's completion event, which the orchestrator publishes after its last output.
    if (completedSeq === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        notify = () => {
          if (completedSeq !== undefined) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
    }
    return { ...result, commandId, sessionId };
  } finally {
    ctx.hub.remove(sessionId, listener);
  }
}
