// shell.open through the bus with an allowlist (the jail's egress proxy attached) against network
// "none", interleaved in the same run: what a session's sandbox costs at the shell service, from the
// request to the reply that carries networkInForce, and shell.close after it (not timed).
// `npm run bench -- shell-open`; BENCH_SHELL_OPENS sets the opens per mode (default 30).
// No traffic leaves the jails: opening makes none, and names resolve only from SHELL_EGRESS_HOSTS.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus } from '@codeagent/bus';
import type { SandboxNetworkV1 } from '@codeagent/contracts';
import { runService } from '@codeagent/service';
import { createTestBroker, TEST_BUS_SECRET, testLogger } from '@codeagent/testing';
import { msSince, percentile, report, type Figure } from '../../../bench/lib';
import { bubblewrapDriver } from '../src/drivers';
import { loadServiceEnv } from '../src/env';
import { shellService } from '../src/service';

async function main(): Promise<void> {
  const opens = Number(process.env.BENCH_SHELL_OPENS ?? 30);
  const broker = await createTestBroker('shellopenbench');
  const workspace = mkdtempSync(path.join(os.tmpdir(), 'shell-open-bench-'));
  const instanceId = `shell-open-bench-${process.pid}`;
  const env = loadServiceEnv({
    RABBITMQ_URL: broker.url,
    CODEAGENT_BUS_SECRET: TEST_BUS_SECRET,
    INSTANCE_ID: instanceId,
    SHELL_PORT: '0',
    SHELL_DOCKER_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    DATA_DIR: workspace,
    SHELL_EGRESS_HOSTS_ONLY: 'true',
  });
  const service = await runService({ ...shellService(env, { bubblewrap: bubblewrapDriver(env) }), opsPort: 0 }, { exitOnSignal: false });
  const client = await Bus.connect({ url: broker.url, service: 'shell-open-bench', instanceId: 'client', logger: testLogger() });
  const modes: Array<[string, SandboxNetworkV1]> = [
    ['none', 'none'],
    ['allowlist', { allow: ['allowed.test', '*.allowed.test'] }],
  ];
  const times: Record<string, number[]> = { none: [], allowlist: [] };
  try {
    let n = 0;
    const once = async (label: string, network: SandboxNetworkV1, record: boolean) => {
      const sessionId = `b-${n++}`;
      const t = process.hrtime.bigint();
      const opened = await client.request('shell.open', { sessionId, workspaceDir: workspace, network, limits: {}, env: {}, driver: 'bubblewrap' }, { timeoutMs: 60_000 });
      if (record) times[label]!.push(msSince(t));
      if (label === 'allowlist' && opened.networkInForce?.proxy === undefined) throw new Error(`no proxy in force: ${JSON.stringify(opened.networkInForce)}`);
      await client.request('shell.close', { sessionId }, { instanceId, timeoutMs: 60_000 });
    };
    for (const [label, network] of modes) await once(label, network, false);
    for (let i = 0; i < opens; i++) for (const [label, network] of modes) await once(label, network, true);
    const figures: Figure[] = [
      { name: 'shell.open, network none, p50', value: percentile(times.none!, 50), unit: 'ms' },
      { name: 'shell.open, network none, p95', value: percentile(times.none!, 95), unit: 'ms' },
      { name: 'shell.open, allowlist, p50', value: percentile(times.allowlist!, 50), unit: 'ms' },
      { name: 'shell.open, allowlist, p95', value: percentile(times.allowlist!, 95), unit: 'ms' },
      { name: 'shell.open: what the allowlist adds, p50', value: percentile(times.allowlist!, 50) - percentile(times.none!, 50), unit: 'ms' },
    ];
    report('shell-open', figures, `${opens} shell.open requests per mode, interleaved, each closed before the next; timed from the request to its reply.`);
  } finally {
    await client.close();
    await service.stop();
    await broker.dispose();
    rmSync(workspace, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
