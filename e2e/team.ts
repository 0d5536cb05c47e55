import { connect, type Socket } from 'node:net';
import type { Rec } from './bench/client';

// What the team-mode e2e tests share: calls made as one user, and a project's CI socket.

/** A call to the gateway as a user (their API key as bearer); anything but 2xx throws, naming the user. */
export async function callAs(base: string, who: string, key: string | undefined, method: string, url: string, body?: unknown): Promise<Rec> {
  const res = await fetch(base + url, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json().catch(() => ({}))) as Rec;
  if (res.status >= 300) throw new Error(`${method} ${url} as ${who}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** A newline-delimited JSON client of one project CI socket (API.md "project sockets"). */
export async function ciSocket(port: number) {
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
  let buffered = '';
  const lines: Rec[] = [];
  const waiting: Array<{ resolve: (l: Rec) => void; reject: (err: Error) => void }> = [];
  let closed = false;
  const ended = new Promise<true>((resolve) =>
    socket.on('close', () => {
      closed = true;
      for (const w of waiting.splice(0)) w.reject(new Error(`the CI socket on port ${port} closed before answering`));
      resolve(true);
    }),
  );
  socket.on('data', (b: Buffer) => {
    buffered += b.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = JSON.parse(buffered.slice(0, i)) as Rec;
      buffered = buffered.slice(i + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
      else lines.push(line);
    }
  });
  socket.on('error', () => undefined);
  /** The next line the server sent; rejects when it closes without one. */
  const next = (): Promise<Rec> =>
    lines.length ? Promise.resolve(lines.shift()!) : closed ? Promise.reject(new Error(`the CI socket on port ${port} is closed`)) : new Promise((resolve, reject) => waiting.push({ resolve, reject }));
  return {
    /** Sends a line; its answer arrives with next() (a person may take a while). */
    send: (obj: unknown) => void socket.write(JSON.stringify(obj) + '\n'),
    next,
    ask: (obj: unknown): Promise<Rec> => {
      socket.write(JSON.stringify(obj) + '\n');
      return next();
    },
    /** Resolves when the server has closed the connection. */
    closed: () => ended,
    close: () => socket.destroy(),
  };
}
