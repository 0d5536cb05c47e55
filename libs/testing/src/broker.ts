import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The broker the tests use; CI and the README start it on 127.0.0.1:5672. */
export const BROKER = {
  host: process.env.TEST_RABBITMQ_HOST ?? '127.0.0.1',
  port: Number(process.env.TEST_RABBITMQ_PORT ?? 5672),
  managementUrl: process.env.TEST_RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672',
  user: process.env.TEST_RABBITMQ_USER ?? 'guest',
  password: process.env.TEST_RABBITMQ_PASSWORD ?? 'guest',
};

/**
 * The platform secret test buses and test stacks sign their messages with: the run's own
 * CODEAGENT_BUS_SECRET if it brings one, else a random one per test process. It is put in this
 * process's environment as the module loads, so a test's `Bus.connect` (which falls back to it) and
 * every process `spawnTs` starts (which inherits the environment) share it, like a platform's services.
 */
export const TEST_BUS_SECRET = (process.env.CODEAGENT_BUS_SECRET ||= `test-bus-secret-${randomBytes(24).toString('hex')}`);

const auth = () => 'Basic ' + Buffer.from(`${BROKER.user}:${BROKER.password}`).toString('base64');

/** Calls the management API (enabled by .ci/run and the start script). */
export async function management(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${BROKER.managementUrl}/api${path}`, {
    method,
    headers: { authorization: auth(), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok && res.status !== 404) throw new Error(`management ${method} ${path}: ${res.status} ${await res.text()}`);
  const text = await res.text();
  return text ? JSON.parse(text) : undefined;
}

export interface TestBroker {
  vhost: string;
  /** amqp URL of the test's own vhost. */
  url: string;
  /** Messages currently in a queue of this vhost (peeked, then requeued). */
  peek(queue: string, count?: number): Promise<Array<{ payload: string; properties: { headers?: Record<string, unknown>; type?: string } }>>;
  queueDepth(queue: string): Promise<number>;
  dispose(): Promise<void>;
}

/**
 * A vhost of its own for one test file, so files run in parallel without seeing each other's
 * messages; deleted (with everything in it) by dispose().
 */
export async function createTestBroker(label = 'test'): Promise<TestBroker> {
  const vhost = `${label}-${randomBytes(4).toString('hex')}`;
  const v = encodeURIComponent(vhost);
  try {
    await management('PUT', `/vhosts/${v}`);
    await management('PUT', `/permissions/${v}/${encodeURIComponent(BROKER.user)}`, { configure: '.*', write: '.*', read: '.*' });
  } catch (err) {
    // Without the management plugin, fall back to rabbitmqctl (needs root on the broker's host).
    await run('rabbitmqctl', ['add_vhost', vhost]).catch(() => {
      throw new Error(`cannot create a test vhost: ${(err as Error).message}. Enable it with: rabbitmq-plugins enable rabbitmq_management`);
    });
    await run('rabbitmqctl', ['set_permissions', '-p', vhost, BROKER.user, '.*', '.*', '.*']);
  }
  const url = `amqp://${BROKER.user}:${BROKER.password}@${BROKER.host}:${BROKER.port}/${v}`;
  return {
    vhost,
    url,
    async peek(queue, count = 100) {
      const res = (await management('POST', `/queues/${v}/${encodeURIComponent(queue)}/get`, {
        count,
        ackmode: 'ack_requeue_true',
        encoding: 'auto',
      })) as Array<{ payload: string; properties: { headers?: Record<string, unknown>; type?: string } }> | undefined;
      return res ?? [];
    },
    async queueDepth(queue) {
      const q = (await management('GET', `/queues/${v}/${encodeURIComponent(queue)}`)) as { messages?: number } | undefined;
      return q?.messages ?? 0;
    },
    async dispose() {
      await management('DELETE', `/vhosts/${v}`).catch(() => run('rabbitmqctl', ['delete_vhost', vhost]));
    },
  };
}
