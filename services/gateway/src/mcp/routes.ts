import { randomUUID } from 'node:crypto';
import { AppError } from '@codeagent/contracts';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RouteDeps, ZApp } from '../routes/deps';
import { forbidden } from '../auth/access';
import { buildMcpServer } from './server';

/** An MCP session nobody used for this long is closed. */
const IDLE_MS = 30 * 60_000;
/** MCP sessions held at once by this replica; the least recently used goes first beyond it. */
const MAX_SESSIONS = 2000;

interface Entry {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  /** The user who opened it: only they may use it. */
  userId: string;
  lastUsed: number;
}

/**
 * MCP over Streamable HTTP at `/mcp` (API.md "MCP"): POST for JSON-RPC (initialize opens an MCP
 * session, answered with its `mcp-session-id`), GET for the server's stream, DELETE to end it. Auth is
 * the REST API's (the same onRequest hook: 401 without a valid token in team mode), and an MCP session
 * belongs to the user who opened it. MCP sessions live in this replica's memory: behind several
 * gateway replicas a load balancer must keep a client on one (sticky on `mcp-session-id`).
 */
export function mcpRoutes(app: ZApp, deps: RouteDeps): void {
  const sessions = new Map<string, Entry>();
  const log = deps.log.child({ component: 'mcp' });

  const end = async (id: string) => {
    const e = sessions.get(id);
    if (!e) return;
    sessions.delete(id);
    await e.server.close().catch(() => undefined);
  };
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, e] of sessions) if (now - e.lastUsed > IDLE_MS) void end(id);
  }, 60_000);
  sweep.unref();

  /** The caller's MCP session, or why not (404 unknown, 403 someone else's). */
  const existing = (req: FastifyRequest): Entry | undefined => {
    const id = req.headers['mcp-session-id'];
    if (typeof id !== 'string') return undefined;
    const e = sessions.get(id);
    if (!e) throw new AppError('NOT_FOUND', `no MCP session ${id} on this gateway (it ended or expired); initialize a new one`);
    if (e.userId !== req.principal.userId) throw forbidden(`MCP session ${id}`);
    e.lastUsed = Date.now();
    // LRU order: the most recently used last.
    sessions.delete(id);
    sessions.set(id, e);
    return e;
  };

  const handle = async (req: FastifyRequest, reply: FastifyReply, e: Entry) => {
    reply.hijack();
    try {
      await e.transport.handleRequest(req.raw, reply.raw, req.body);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'MCP request failed');
      if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: (err as Error).message }, id: null }));
    }
  };

  const schema = { hide: true } as const;
  app.post('/mcp', { schema }, async (req, reply) => {
    const e = existing(req);
    if (e) return handle(req, reply, e);
    if (!isInitializeRequest(req.body)) {
      throw new AppError('VALIDATION_FAILED', 'no mcp-session-id header: start an MCP session with an initialize request');
    }
    if (sessions.size >= MAX_SESSIONS) {
      const oldest = sessions.keys().next().value;
      if (oldest !== undefined) await end(oldest);
    }
    const who = req.principal;
    const server = buildMcpServer(deps, who);
    const entry: Entry = { server, userId: who.userId, lastUsed: Date.now(), transport: undefined as unknown as StreamableHTTPServerTransport };
    entry.transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, entry);
        log.info({ mcpSessionId: id, user: who.userId }, 'MCP session opened');
      },
      onsessionclosed: (id) => void end(id),
    });
    entry.transport.onclose = () => {
      const id = entry.transport.sessionId;
      if (id) sessions.delete(id);
    };
    await server.connect(entry.transport);
    return handle(req, reply, entry);
  });
  app.get('/mcp', { schema }, async (req, reply) => {
    const e = existing(req);
    if (!e) throw new AppError('VALIDATION_FAILED', 'GET /mcp needs the mcp-session-id header of an MCP session');
    return handle(req, reply, e);
  });
  app.delete('/mcp', { schema }, async (req, reply) => {
    const e = existing(req);
    if (!e) throw new AppError('VALIDATION_FAILED', 'DELETE /mcp needs the mcp-session-id header of an MCP session');
    return handle(req, reply, e);
  });

  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await Promise.all([...sessions.keys()].map(end));
  });
}
