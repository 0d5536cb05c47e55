import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/**
 * `orchestrator.session.events`: what is stored after `since`, from the database, on whichever replica
 * takes the request (the log is stored from the bus, by no replica in particular). Live events may be
 * ahead of it: `lastSeq` is the last stored.
 */
export const sessionEventsHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.events'> =>
  async (req, ctx) => {
    const s = await d.sessions.visible(req.sessionId, callerOf(req, ctx).actor);
    const page = await d.events.since(s.id, req.since, req.limit, s.lastSeq);
    return { ...page, lastSeq: Math.max(s.lastSeq, page.events.at(-1)?.seq ?? 0) };
  };
