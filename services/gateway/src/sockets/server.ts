import type { Server as HttpServer } from 'node:http';
import { AppError, ClientMessageV1, SOCKET_EVENT, SOCKET_NAMESPACE } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import { Server } from 'socket.io';
import type { SessionAccess } from '../auth/access';
import type { AuthService } from '../auth/auth-service';
import { LOCAL_PRINCIPAL, type Principal } from '../auth/principal';
import type { GatewayEnv } from '../env';
import type { ServiceClient } from '../http/bus-call';
import type { SessionCommands } from '../sessions/commands';
import { localRequestRefusal } from '../http/local-origin';
import { gatewayMetrics } from '../http/metrics';
import { runCommand, type SocketContext } from './commands';
import type { SessionHub } from './session-hub';
import { SocketSink } from './sink';
import type { Subscription } from './subscription';
import { traceCommand } from './tracing';

export interface SocketDeps {
  env: GatewayEnv;
  log: Logger;
  services: ServiceClient;
  access: SessionAccess;
  commands: SessionCommands;
  hub: SessionHub;
  auth?: AuthService;
}

/**
 * Socket.IO namespace `/v1`: seed 003's envelope both ways as the event `message`. Heartbeats and
 * reconnection are Socket.IO's own (ping/pong); resuming a stream is by sequence number (/subscribe
 * with since), so a replica holds no per-client state beyond its open sockets.
 */
export function attachSockets(http: HttpServer, deps: SocketDeps): Server {
  const { env, log } = deps;
  const io = new Server(http, {
    serveClient: false,
    pingInterval: 10_000,
    pingTimeout: 10_000,
    maxHttpBufferSize: 2 * 1024 * 1024,
    perMessageDeflate: false,
    // Loopback pages on other ports (a local web UI) may use the polling transport too.
    cors: env.GATEWAY_AUTH_MODE === 'local' ? { origin: true } : undefined,
    // Local mode has no credentials: only programs and loopback pages may open a socket (local-origin.ts).
    allowRequest:
      env.GATEWAY_AUTH_MODE === 'local'
        ? (req, callback) => {
            const refusal = localRequestRefusal(req.headers);
            if (refusal) {
              gatewayMetrics.refusals().inc({ status: '403' });
              log.warn({ reason: refusal, address: req.socket.remoteAddress }, 'socket refused');
            }
            callback(refusal ?? null, refusal === undefined);
          }
        : undefined,
  });
  const nsp = io.of(SOCKET_NAMESPACE);
  const connected = gatewayMetrics.socketsConnected();

  nsp.use((socket, next) => {
    if (env.GATEWAY_AUTH_MODE === 'local') {
      socket.data.principal = LOCAL_PRINCIPAL;
      return next();
    }
    const token = typeof socket.handshake.auth?.token === 'string' ? `Bearer ${socket.handshake.auth.token}` : socket.handshake.headers.authorization;
    deps.auth!.authenticate(token).then(
      (p) => {
        socket.data.principal = p;
        socket.data.expiresAt = deps.auth!.expiresAt(token!);
        next();
      },
      (err: AppError) => {
        gatewayMetrics.refusals().inc({ status: '401' });
        log.warn({ reason: err.message, address: socket.handshake.address }, 'socket refused');
        next(Object.assign(new Error(err.message), { data: { code: 'UNAUTHENTICATED', message: err.message } }));
      },
    );
  });

  nsp.on('connection', (socket) => {
    connected.inc();
    const principal = socket.data.principal as Principal;
    const sink = new SocketSink(socket, env.GATEWAY_SOCKET_MAX_BUFFERED_BYTES);
    const subscriptions = new Map<string, Subscription>();
    const ctx: SocketContext = {
      principal,
      sink,
      services: deps.services,
      access: deps.access,
      commands: deps.commands,
      hub: deps.hub,
      subscriptions,
      sent: new Map(),
      opts: { pageSize: env.GATEWAY_REPLAY_PAGE_SIZE, maxHeld: 1_000, drainTimeoutMs: env.GATEWAY_SOCKET_DRAIN_TIMEOUT_MS, execTimeoutMs: env.GATEWAY_EXEC_TIMEOUT_MS },
      onFatal: (err, id) => fail(err, id),
    };
    const fail = (err: unknown, id?: string) => {
      const e = AppError.from(err);
      if (e.code === 'FORBIDDEN' || e.code === 'UNAUTHENTICATED') log.warn({ user: principal.userId, reason: e.message }, 'socket command refused');
      else if (e.fault === 'ours') log.warn({ err: e, code: e.code }, 'socket command failed');
      sink.error(e.toPayload(), id);
    };

    socket.on(SOCKET_EVENT, (raw: unknown) => {
      const parsed = ClientMessageV1.safeParse(raw);
      if (!parsed.success) {
        const id = typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined;
        return fail(AppError.validation(parsed.error, 'command message'), id);
      }
      traceCommand(parsed.data, principal, () => runCommand(ctx, parsed.data)).catch((err) => fail(err, parsed.data.id));
    });

    // A JWT is checked at the handshake only: the connection ends when the token does.
    const expiresAt = socket.data.expiresAt as number | undefined;
    const expiry =
      expiresAt === undefined
        ? undefined
        : setTimeout(() => {
            const lastSeqs = Object.fromEntries([...subscriptions].map(([id, sub]) => [id, sub.lastSeq]));
            sink.error({ code: 'UNAUTHENTICATED', message: 'your token expired: reconnect with a fresh one and /subscribe with since = the last seq you got', details: { lastSeqs } });
            socket.disconnect(true);
          }, Math.max(0, expiresAt - Date.now()));

    socket.on('disconnect', () => {
      clearTimeout(expiry);
      connected.dec();
      for (const [sessionId, sub] of subscriptions) {
        sub.stop();
        deps.hub.remove(sessionId, sub);
      }
      subscriptions.clear();
    });
  });
  return io;
}
