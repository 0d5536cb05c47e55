import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import { TEST_BUS_SECRET, testLogger } from '@codeagent/testing';
import { loadServiceEnv } from '../src/env';
import { startGateway, type RunningGateway } from '../src/service';

export interface TestGateway extends RunningGateway {
  url: string;
  bus: Bus;
  dataDir: string;
  stop(): Promise<void>;
}

/** A real gateway on a real port (127.0.0.1, port 0) on the test's own vhost. */
export async function startTestGateway(brokerUrl: string, env: Record<string, string> = {}): Promise<TestGateway> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gw-test-'));
  const parsed = loadServiceEnv({ RABBITMQ_URL: brokerUrl, CODEAGENT_BUS_SECRET: TEST_BUS_SECRET, DATA_DIR: dataDir, GATEWAY_PORT: '0', GATEWAY_SSH_PORT: '0', LOG_LEVEL: 'silent', ...env });
  const log = testLogger('gateway');
  const bus = await Bus.connect({ url: brokerUrl, service: 'gateway', instanceId: `gw-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, logger: log });
  const gw = await startGateway({ env: parsed, bus, log });
  await gw.subscribe();
  return {
    ...gw,
    bus,
    dataDir,
    url: `http://127.0.0.1:${gw.port}`,
    async stop() {
      await gw.close();
      await bus.close(1_000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function http(base: string, method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(base + url, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}
