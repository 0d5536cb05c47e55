import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { actorOf } from '../auth/actor';
import { isAdmin } from '../auth/principal';
import { type McpContext, resourceError } from './context';

/** Events per read of a session's log resource; the text says when more follow. */
const EVENTS_PER_READ = 1000;

const one = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));

/**
 * A session's event log and its files, as MCP resources:
 * - `codeagent://sessions/{sessionId}/events` (listed for each of the caller's live sessions), and
 *   `…/events?since=N` for the events after N;
 * - `codeagent://sessions/{sessionId}/files/{path}`: a file's text, or a folder's listing.
 */
export function registerResources(server: McpServer, ctx: McpContext): void {
  const { services, access } = ctx.deps;
  const who = ctx.who;
  const readEvents = async (uri: URL, vars: Record<string, string | string[]>) => {
    try {
      const sessionId = one(vars.sessionId);
      await access.check(who, sessionId);
      const since = Number(one(vars.since) || 0) || 0;
      const page = await services.call('orchestrator.session.events', { sessionId, since, limit: EVENTS_PER_READ, actor: actorOf(who) }, who);
      const next = page.hasMore ? `codeagent://sessions/${sessionId}/events?since=${page.events[page.events.length - 1]?.seq ?? since}` : undefined;
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ ...page, ...(next ? { next } : {}) }) }] };
    } catch (err) {
      throw resourceError(err);
    }
  };
  const eventsMeta = { description: "A session's event log: commands, output, agent steps, progress reports and signals, in order (seq).", mimeType: 'application/json' };
  server.registerResource(
    'session-events',
    new ResourceTemplate('codeagent://sessions/{sessionId}/events', {
      list: async () => {
        const out = await services.call('orchestrator.session.list', { limit: 100, owner: isAdmin(who) ? undefined : who.userId, actor: actorOf(who) }, who);
        return {
          resources: out.sessions
            .filter((s) => isAdmin(who) || s.owner === who.userId)
            .map((s) => ({ uri: `codeagent://sessions/${s.id}/events`, name: `${s.id} events`, description: `the event log of session ${s.id} (${s.status})`, mimeType: 'application/json' })),
        };
      },
    }),
    eventsMeta,
    readEvents,
  );
  // The same log from a sequence number on (a page's `next`).
  server.registerResource('session-events-since', new ResourceTemplate('codeagent://sessions/{sessionId}/events{?since}', { list: undefined }), eventsMeta, readEvents);
  server.registerResource(
    'session-file',
    new ResourceTemplate('codeagent://sessions/{sessionId}/files/{+path}', { list: undefined }),
    { description: "A file of a session's workspace (its text), or a folder's listing." },
    async (uri, vars) => {
      try {
        const sessionId = one(vars.sessionId);
        await access.check(who, sessionId);
        const f = await services.call('orchestrator.session.file.read', { sessionId, path: decodeURIComponent(one(vars.path)) || '.', actor: actorOf(who) }, who);
        if (f.type === 'file') {
          return { contents: [f.encoding === 'base64' ? { uri: uri.href, mimeType: 'application/octet-stream', blob: f.content } : { uri: uri.href, mimeType: 'text/plain', text: f.content }] };
        }
        return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(f) }] };
      } catch (err) {
        throw resourceError(err);
      }
    },
  );
}
