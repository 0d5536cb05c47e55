import { Bus, outputText, sessionLogHandlers } from '@codeagent/bus';
import type { SessionEventV1 } from '@codeagent/contracts';
import { spawnTs, testLogger, waitFor, type ServiceProcess } from '@codeagent/testing';

/** Starts the real orchestrator (its main.ts, as a process) and waits until it consumes. */
export async function startOrchestrator(env: Record<string, string>): Promise<ServiceProcess> {
  // No warm pool unless a test asks for one: its sessions would be jails and rows the tests do not expect.
  const proc = spawnTs('services/orchestrator/src/main.ts', { ORCHESTRATOR_PORT: '0', ORCHESTRATOR_POOL_SIZE: '0', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info', ...env });
  await waitFor(
    'the orchestrator to start',
    () => {
      if (proc.child.exitCode !== null) throw new Error(`exited ${proc.child.exitCode}: ${proc.output().slice(-3000)}`);
      return proc.output().includes('"service started"');
    },
    { timeoutMs: 45_000, intervalMs: 100 },
  );
  return proc;
}

/** A client on the bus, as the gateway is: requests, plus the live `session.event` stream. */
export async function connectClient(url: string) {
  const bus = await Bus.connect({ url, service: 'test-client', instanceId: `client-${process.pid}-${Date.now()}`, logger: testLogger() });
  const live: SessionEventV1[] = [];
  const facts: Array<{ name: string; payload: any }> = [];
  await bus.subscribe(`test-live-${Date.now()}`, sessionLogHandlers(async (e) => void live.push((e.kind === 'output' ? { ...e, data: outputText(e.data) } : e) as SessionEventV1)), { durable: false, ordered: true });
  await bus.subscribeAll(`test-facts-${Date.now()}`, async (name, payload) => {
    if (/^(session|project|task)\.(created|ready|closed|failed|updated|deleted|conflict)$/.test(name)) facts.push({ name, payload });
  }, { durable: false });
  return { bus, live, facts };
}
