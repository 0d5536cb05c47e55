import os from 'node:os';
import { Bus } from '@codeagent/bus';
import type { AgentRunV1, EventName, EventPayload } from '@codeagent/contracts';
import { createTestBroker, spawnTs, testLogger, waitFor } from '@codeagent/testing';
import { streamText } from 'ai';
import { msSince, percentile, report } from '../../../bench/lib';
import type { AgentEventSink } from '../src/agents/events';
import { runRole } from '../src/agents/loop';
import { RunControl } from '../src/agents/run-control';
import { type ToolHost, aiSdkTools } from '../src/agents/tools';
import { CircuitBreakers } from '../src/providers/circuit-breaker';
import { createLanguageModel } from '../src/providers/kinds';
import type { ChainLink } from '../src/providers/registry';

// Platform overhead per agent step: the fake LLM (real HTTP on localhost) answers every request at
// once with a tool call; the tool host answers at once. What is left is ours: the AI SDK's request
// building and SSE parsing, context fitting and token counting, tool dispatch and validation, step
// records, llm.usage / agent.run.step events. Measured with an in-memory event sink and with the real
// broker (publisher confirms), and against a bare streamText call to the same server (the floor).

const STEPS = 60;

const host: ToolHost = {
  readFile: async (path) => ({ content: `contents of ${path}\n`.repeat(20), binary: false }),
  writeFile: async (path, content) => ({ path, size: content.length }),
  deleteFile: async () => undefined,
  listFiles: async () => ({ entries: [{ path: 'src/a.ts', type: 'file', size: 10 }], truncated: false }),
  searchFiles: async () => ({ matches: [], truncated: false }),
  runCommand: async () => ({ exitCode: 0, stdout: 'ok\n', stderr: '', timedOut: false, durationMs: 0 }),
};

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function measureRun(link: ChainLink, sink: AgentEventSink): Promise<Sample[]> {
  const run: AgentRunV1 = {
    runId: 'bench',
    sessionId: 'bench',
    prompt: 'bench',
    roles: ['coding'],
    status: 'running',
    steps: [],
    results: [],
    usage: { inputTokens: 0, outputTokens: 0 },
    costUsd: 0,
    budgetUsd: 1000,
    providers: [],
    startedAt: new Date().toISOString(),
  };
  const ctl = new RunControl(run, { maxSteps: STEPS, budgetUsd: 1000, deadline: Date.now() + 600_000 });
  const times: Sample[] = [];
  let t = process.hrtime.bigint();
  let cpu = process.cpuUsage();
  await runRole({
    role: 'coding',
    system: 'You are the coding agent.',
    project: 'Session bench.',
    task: 'Task: read every file.',
    links: [link],
    skipped: [],
    breakers: new CircuitBreakers(),
    tools: aiSdkTools(),
    host,
    sink,
    ctl,
    onStep: async () => {
      const c = process.cpuUsage(cpu);
      times.push({ wallMs: msSince(t), cpuMs: (c.user + c.system) / 1000 });
      t = process.hrtime.bigint();
      cpu = process.cpuUsage();
    },
  });
  ctl.dispose();
  if (run.steps.length !== STEPS) throw new Error(`expected ${STEPS} steps, got ${run.steps.length}`);
  return times.slice(5); // warm-up: JIT, first connection, tokenizer load
}

async function main(): Promise<void> {
  const fake = spawnTs('services/orchestrator/bench/fake-llm-process.ts', {});
  const baseURL = await waitFor('fake LLM up', () => /FAKE_LLM_URL=(\S+)/.exec(fake.output())?.[1], { timeoutMs: 30_000 });
  const link: ChainLink = {
    provider: 'openai',
    kind: 'openai',
    model: 'gpt-4.1',
    contextWindow: 1_000_000,
    languageModel: createLanguageModel({ name: 'openai', kind: 'openai', model: 'gpt-4.1', baseURL, apiKey: 'k' }),
  };

  // Floor: a bare AI SDK call to the same server with a small prompt.
  const bare: Sample[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const r = streamText({ model: link.languageModel, messages: [{ role: 'user', content: 'hi' }], tools: aiSdkTools(), maxRetries: 0 });
    for await (const _ of r.fullStream) void _;
    const c = process.cpuUsage(cpu);
    bare.push({ wallMs: msSince(t), cpuMs: (c.user + c.system) / 1000 });
  }

  let published = 0;
  const memorySink: AgentEventSink = { publish: async () => void published++ };
  const mem = await measureRun(link, memorySink);

  const broker = await createTestBroker('agent-bench');
  const bus = await Bus.connect({ url: broker.url, service: 'orchestrator', instanceId: 'bench', logger: testLogger() });
  const busSink: AgentEventSink = { publish: <N extends EventName>(n: N, p: EventPayload<N>) => bus.publish(n, p) };
  const viaBus = await measureRun(link, busSink);
  await bus.close(1000);
  await broker.dispose();
  await fake.stop();

  const p = (xs: Sample[], k: keyof Sample, q: number) => percentile(xs.map((x) => x[k]), q);
  const floorCpu = p(bare.slice(5), 'cpuMs', 50);
  report(
    'agent-step',
    [
      { name: 'CPU per step, events on RabbitMQ, p50', value: p(viaBus, 'cpuMs', 50), unit: 'ms', goal: '<= 5' },
      { name: 'CPU per step, events on RabbitMQ, p95', value: p(viaBus, 'cpuMs', 95), unit: 'ms' },
      { name: 'CPU per step, in-memory events, p50', value: p(mem, 'cpuMs', 50), unit: 'ms', goal: '<= 5' },
      { name: 'CPU of a bare AI SDK call (the floor), p50', value: floorCpu, unit: 'ms' },
      { name: 'CPU above the bare AI SDK call, p50', value: p(viaBus, 'cpuMs', 50) - floorCpu, unit: 'ms', goal: '<= 5' },
      { name: 'wall per step, events on RabbitMQ, p50', value: p(viaBus, 'wallMs', 50), unit: 'ms' },
      { name: 'wall per step, in-memory events, p50', value: p(mem, 'wallMs', 50), unit: 'ms' },
      { name: 'wall of a bare AI SDK call, p50', value: p(bare.slice(5), 'wallMs', 50), unit: 'ms' },
      { name: 'host load average (1 min) during the run', value: os.loadavg()[0]!, unit: '' },
    ],
    `${STEPS} steps per run (first 5 dropped), each a read_file tool call over a growing history; the fake LLM runs in its own process, so CPU figures are this process's (the platform's) alone. Wall times include HTTP to the fake server and scheduling on a shared host; ${published} events published in memory.`,
  );
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
