import { createServer, type Server, type Socket } from 'node:net';
import { CiConnection, type CiLineHandler } from './connection';
import { errorLine } from './protocol';

export interface CiServerOptions {
  host: string;
  port: number;
  maxLineBytes: number;
  /** Clients connected at once; one more is told so in an error line and disconnected. */
  maxClients: number;
  handler: CiLineHandler;
  /** The listening server failed after it started (the CI must be restarted). */
  onFailure?: (err: Error) => void;
}

/** Why a CI could not bind its port. */
export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`${host}:${port} is in use by another process`);
    this.name = 'PortInUseError';
  }
}

/** One project's CI socket: a TCP server on one port, speaking newline-delimited JSON. */
export class CiSocketServer {
  private server?: Server;
  private readonly connections = new Set<CiConnection>();
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: CiServerOptions) {}

  get port(): number {
    return this.opts.port;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  /** Number of connected clients. */
  get clients(): number {
    return this.sockets.size;
  }

  /** Binds the port; rejects with PortInUseError when something else holds it (it never moves to another). */
  listen(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      const onStartError = (err: NodeJS.ErrnoException) => {
        server.close();
        reject(err.code === 'EADDRINUSE' ? new PortInUseError(this.opts.host, this.opts.port) : err);
      };
      server.once('error', onStartError);
      // exclusive: a second replica (cluster mode) must fail to bind rather than share the port.
      server.listen({ host: this.opts.host, port: this.opts.port, exclusive: true }, () => {
        server.off('error', onStartError);
        server.on('error', (err) => this.opts.onFailure?.(err));
        resolve();
      });
    });
  }

  /**
   * Graceful close: no new clients; answers being computed finish and are sent, queued lines get an
   * error, then every connection ends. After `graceMs` whatever is left is destroyed.
   */
  async close(reason: string, graceMs: number): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const ended = Promise.all([...this.connections].map((c) => c.shutdown(reason)));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const c of this.connections) c.destroy();
        resolve();
      }, graceMs);
    });
    await Promise.race([ended, timeout]);
    await Promise.race([closed, timeout]);
    clearTimeout(timer);
  }

  private accept(socket: Socket): void {
    if (this.sockets.size >= this.opts.maxClients) {
      socket.on('error', () => undefined);
      socket.end(JSON.stringify(errorLine('LIMIT_REACHED', `this CI already has ${this.opts.maxClients} clients; try again later`)) + '\n');
      return;
    }
    const conn = new CiConnection(socket, this.opts.handler, this.opts.maxLineBytes);
    this.connections.add(conn);
    this.sockets.add(socket);
    socket.once('close', () => {
      this.connections.delete(conn);
      this.sockets.delete(socket);
    });
  }
}
