import type { McpContext, ToolExtra } from './context';
import { actorOf } from '../auth/actor';

/** How often a running command's progress is reported. */
const PROGRESS_MS = 1000;

/**
 * Progress notifications for a running command: every second, the output the session's log holds for
 * it so far (bytes and the last line), read from the same events a Socket.IO subscriber gets.
 */
export function commandProgress(ctx: McpContext, sessionId: string, commandId: string, token: string | number, extra: ToolExtra): { stop(): void } {
  const { services } = ctx.deps;
  const who = ctx.who;
  const started = Date.now();
  let since: number | undefined;
  let bytes = 0;
  let lastLine = '';
  let tick = 0;
  let busy = false;
  let stopped = false;
  const poll = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      if (since === undefined) since = (await services.call('orchestrator.session.get', { sessionId, actor: actorOf(who) }, who)).lastSeq;
      for (;;) {
        const page: { events: { seq: number; kind: string; data: unknown }[]; hasMore: boolean } = await services.call('orchestrator.session.events', { sessionId, since: since ?? 0, limit: 1000, actor: actorOf(who) }, who);
        for (const e of page.events) {
          since = e.seq;
          const d = e.data as { commandId?: string; data?: string } | undefined;
          if (e.kind !== 'output' || d?.commandId !== commandId || typeof d.data !== 'string') continue;
          bytes += Buffer.byteLength(d.data);
          const lines = d.data.split('\n').filter((l) => l.trim());
          if (lines.length) lastLine = lines[lines.length - 1]!.slice(0, 200);
        }
        if (!page.hasMore) break;
      }
      if (stopped) return;
      const secs = Math.round((Date.now() - started) / 1000);
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress: ++tick, message: `running for ${secs} s, ${bytes} bytes of output${lastLine ? `; last line: ${lastLine}` : ''}` },
      });
    } catch {
      // Progress is best effort: the command's result is what counts.
    } finally {
      busy = false;
    }
  };
  // At once (the starting point, and a first report), then every second.
  void poll();
  const timer = setInterval(() => void poll(), PROGRESS_MS);
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
