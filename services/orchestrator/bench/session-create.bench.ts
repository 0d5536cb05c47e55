import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Bus } from '@codeagent/bus';
import type { SessionV1 } from '@codeagent/contracts';
import { createTestBroker, createTestDatabase, spawnTs, testLogger, waitFor, type TestDatabaseKind } from '@codeagent/testing';
import { msSince, percentile, report } from '../../../bench/lib';
import { TestShell, TestWorkspace } from '../test/fake-services';

// Session create → ready through the bus, as the gateway asks for it, against the real orchestrator
// process and its database. The workspace and shell services are stand-ins that answer at once (the
// tests' ones: real consumers on the same broker), so the figures are the orchestrator's own path:
// two stored rows and the limit count, workspace.prepare and shell.open round trips, the state
// moves, the first events and the lifecycle facts. The real services add their own times (their
// benchmarks: services/workspace/bench, services/shell/bench). It also times a command through the
// orchestrator against the same stand-in shell asked directly.

/** CPU seconds used so far by a process (utime + stime from /proc; Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const SEQUENTIAL = 300;
const SUSTAINED = 1000;
const CONCURRENCY = 16;

async function main(): Promise<void> {
  const kind = (process.env.BENCH_DB ?? 'sqlite') as TestDatabaseKind;
  const broker = await createTestBroker('orch-bench');
  const db = await createTestDatabase(kind, 'orch-bench');
  const ws = await TestWorkspace.start(broker.url);
  const shell = await TestShell.start(broker.url);
  const orch = spawnTs('services/orchestrator/src/main.ts', {
    RABBITMQ_URL: broker.url,
    ...db.env,
    ORCHESTRATOR_PORT: '0',
    // The create path itself is measured: no session is taken from a pool.
    ORCHESTRATOR_POOL_SIZE: '0',
    INSTANCE_ID: 'orch-bench',
    LOG_LEVEL: 'warn',
    ORCHESTRATOR_MAX_SESSIONS: '100000',
    ORCHESTRATOR_MAX_SESSIONS_PER_USER: '100',
    ORCHESTRATOR_RECONCILE_MS: '0',
    ORCHESTRATOR_TASKS_SYNC_MS: '0',
  });
  const client = await Bus.connect({ url: broker.url, service: 'bench-client', instanceId: `bench-${process.pid}`, logger: testLogger() });
  // 50 users, so both limits are counted on every create, as on a shared deployment.
  let n = 0;
  const create = () => client.request('orchestrator.session.create', { source: { kind: 'empty' }, owner: `user${n++ % 50}` }, { timeoutMs: 30_000 }) as Promise<SessionV1>;
  // Started once it answers a create (LOG_LEVEL=warn hides the "service started" line).
  await waitFor('the orchestrator to answer', () => create().then(() => true, () => false), { timeoutMs: 60_000, intervalMs: 500 });

  for (let i = 0; i < 30; i++) await create(); // warm-up: JIT, prepared statements, channels
  const latencies: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = process.hrtime.bigint();
    const s = await create();
    latencies.push(msSince(t));
    if (s.status !== 'ready') throw new Error(`session ${s.id} is ${s.status}`);
  }

  // The floor: a request the orchestrator answers from one indexed read (a session that does not exist).
  const floor: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t = process.hrtime.bigint();
    await client.request('orchestrator.session.get', { sessionId: 'ses_missing' }).catch(() => undefined);
    floor.push(msSince(t));
  }

  // A command through the orchestrator (the gateway's path) against the stand-in shell asked directly:
  // the difference is the orchestrator's own exec work (routing, busy/idle, the bus hop).
  const execSession = await create();
  const viaOrch: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < 230; i++) {
    let t = process.hrtime.bigint();
    await client.request('orchestrator.session.exec', { sessionId: execSession.id, command: 'true' }, { timeoutMs: 30_000 });
    if (i >= 30) viaOrch.push(msSince(t));
    t = process.hrtime.bigint();
    await client.request('shell.exec', { sessionId: execSession.id, command: 'true', commandId: `direct-${i}` }, { instanceId: shell.instanceId, timeoutMs: 30_000 });
    if (i >= 30) direct.push(msSince(t));
  }

  // spawnTs runs the service in the spawned process itself (node --import tsx), so its pid is the one to measure.
  const orchPid = orch.child.pid!;
  const cpu0 = cpuSeconds(orchPid);
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < SUSTAINED) {
        const s = await create();
        if (s.status !== 'ready') throw new Error(`session ${s.id} is ${s.status}`);
      }
    }),
  );
  const perSecond = SUSTAINED / (msSince(t0) / 1000);
  const cpuPerCreate = ((cpuSeconds(orchPid) - cpu0) * 1000) / SUSTAINED;
  const load = os.loadavg()[0]!;

  await client.close(1000);
  await orch.stop();
  await shell.stop();
  await ws.stop();
  await broker.dispose();
  await db.dispose();

  report(
    'session-create',
    [
      { name: 'create → ready, one at a time, p50', value: percentile(latencies, 50), unit: 'ms', goal: '<= 20' },
      { name: 'create → ready, one at a time, p99', value: percentile(latencies, 99), unit: 'ms' },
      { name: 'a one-read request through the bus (the floor), p50', value: percentile(floor, 50), unit: 'ms' },
      { name: 'exec through the orchestrator (stand-in shell), p50', value: percentile(viaOrch, 50), unit: 'ms' },
      { name: 'exec through the orchestrator (stand-in shell), p99', value: percentile(viaOrch, 99), unit: 'ms' },
      { name: 'the same stand-in shell.exec asked directly, p50', value: percentile(direct, 50), unit: 'ms' },
      { name: `sustained creates, ${CONCURRENCY} in flight`, value: perSecond, unit: 'sessions/s', goal: '>= 100' },
      { name: 'orchestrator CPU per create (sustained phase)', value: cpuPerCreate, unit: 'ms' },
      { name: 'host load average (1 min) during the run', value: load, unit: '' },
    ],
    `${kind} database; ${SEQUENTIAL} sequential creates after 30 warm-up ones, then ${SUSTAINED} with ${CONCURRENCY} in flight; every session stays live (limits raised to 100000 overall, 100 per user; 50 users). Workspace and shell are instant stand-ins on the same broker (see the file's header).`,
  );
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
