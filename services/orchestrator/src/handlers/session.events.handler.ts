import type { CommandHandler } from '@codeagent/bus';
import { callerOf, type CoreDeps } from './context';

/** `orchestrator.session.events`: everything after `since`, from the owner's ring or the database. */
export const sessionEventsHandler =
  (d: CoreDeps): CommandHandler<'orchestrator.session.events'> =>
  (req, ctx) =>
    d.sessions.routed('orchestrator.session.events', req, callerOf(req, ctx), async (s) => {
      const page = await d.events.since(s.id, req.since, req.limit, s.lastSeq);
      return { ...page, lastSeq: Math.max(s.lastSeq, d.events.lastSeq(s.id) ?? 0) };
    });
