import { type AgentRoleV1, AppError, type AgentRunStatusV1, type ToolCallRecordV1, priceUsage } from '@codeagent/contracts';
import type { ModelMessage, ToolSet } from 'ai';
import { ContextTooLongError, type ModelStepResult, callWithFallback } from '../providers/call-model';
import type { CircuitBreakers } from '../providers/circuit-breaker';
import type { ChainLink } from '../providers/registry';
import { fitContext } from './context-window';
import type { AgentEventSink } from './events';
import type { RunControl } from './run-control';
import { countTokens } from './tokens';
import { type ToolHost, executeAgentTool, isAgentTool } from './tools';

/** Give up shrinking after this many halvings (1/32 of the window): the task itself is too big. */
const MAX_SHRINKS = 5;
/** Streamed text is batched into agent.run.text events at most this often. */
const TEXT_FLUSH_MS = 50;

export interface RoleInput {
  role: AgentRoleV1;
  system: string;
  project: string;
  task: string;
  links: ChainLink[];
  skipped: { provider: string; model: string; reason: string }[];
  breakers: CircuitBreakers;
  tools: ToolSet;
  host: ToolHost;
  /** Runs a tool call that is not a built-in tool (a project's MCP server tool); absent: unknown tool. */
  callOther?: (name: string, input: unknown) => Promise<{ output?: unknown; error?: string }>;
  sink: AgentEventSink;
  ctl: RunControl;
  projectId?: string;
  /** Called after each step so the run record can be saved. */
  onStep?: () => Promise<void>;
}

export interface RoleOutcome {
  status: AgentRunStatusV1;
  output: string;
  error?: string;
  provider?: string;
  model?: string;
  steps: number;
}

/**
 * The agent loop of one role: fit the context, ask the chain for one step, run the tools it called
 * over the session's workspace and jail, record and publish the step, repeat until the model answers
 * without a tool call or a limit (steps, time, dollars, interrupt) stops it.
 */
export async function runRole(input: RoleInput): Promise<RoleOutcome> {
  const { ctl, role } = input;
  const run = ctl.run;
  const history: ModelMessage[] = [];
  const toolsOverhead = countTokens(JSON.stringify(Object.keys(input.tools))) + 150 * Object.keys(input.tools).length;
  let shrink = 0;
  let steps = 0;
  let last: ModelStepResult | undefined;

  for (;;) {
    const limit = ctl.limitReached();
    if (limit) return { status: limit, output: last?.text ?? '', steps, provider: last?.link.provider, model: last?.link.model };
    if (input.links.length === 0) {
      return { status: 'failed', output: '', steps, error: `no provider configured for ${role}: ${input.skipped.map((s) => `${s.provider} (${s.reason})`).join(', ')}` };
    }
    const window = input.links[0]!.contextWindow;
    const fitted = fitContext({ system: input.system, project: input.project, task: input.task, history }, window, shrink, toolsOverhead);
    const stepIndex = run.steps.length;
    const text = textBatcher(input, stepIndex);
    let r: ModelStepResult;
    try {
      r = await callWithFallback(input.links, input.breakers, {
        system: fitted.system,
        messages: fitted.messages,
        tools: input.tools,
        abortSignal: ctl.abort.signal,
        onTextDelta: text.push,
      });
    } catch (err) {
      await text.flush();
      if (err instanceof ContextTooLongError) {
        if (++shrink > MAX_SHRINKS) return { status: 'failed', output: '', steps, error: `context still too long after ${MAX_SHRINKS} shrinks: ${err.message}` };
        continue;
      }
      if (ctl.stopped) return { status: ctl.stopped, output: last?.text ?? '', steps };
      return { status: 'failed', output: last?.text ?? '', steps, error: err instanceof AppError || err instanceof Error ? err.message : String(err) };
    }
    await text.flush();
    last = r;
    steps++;
    const costUsd = priceUsage(r.link.kind, r.link.model, r.usage);
    run.usage = { inputTokens: run.usage.inputTokens + r.usage.inputTokens, outputTokens: run.usage.outputTokens + r.usage.outputTokens };
    run.costUsd += costUsd;
    if (!run.providers.includes(r.link.provider)) run.providers.push(r.link.provider);
    await input.sink.publish('llm.usage', {
      provider: r.link.provider,
      providerKind: r.link.kind,
      model: r.link.model,
      role,
      sessionId: run.sessionId,
      runId: run.runId,
      projectId: input.projectId,
      user: run.user,
      inputTokens: r.usage.inputTokens,
      outputTokens: r.usage.outputTokens,
      costUsd,
      at: new Date().toISOString(),
      durationMs: r.timing.durationMs,
      firstTokenMs: r.timing.firstTokenMs,
    });

    // Over budget after this answer: record it, but run none of the tools it asked for.
    const overBudget = run.costUsd >= ctl.limits.budgetUsd;
    const records: ToolCallRecordV1[] = [];
    const results: { toolCallId: string; toolName: string; output: unknown; error?: string }[] = [];
    if (!overBudget) {
      for (const call of r.toolCalls) {
        if (ctl.stopped) break;
        const started = performance.now();
        // Built-in and MCP tools are recorded alike: the step shows every call, refused ones included.
        const res = isAgentTool(call.toolName) || !input.callOther ? await executeAgentTool(input.host, call.toolName, call.input) : await input.callOther(call.toolName, call.input);
        records.push({ toolCallId: call.toolCallId, tool: call.toolName, input: call.input, output: res.output, error: res.error, durationMs: performance.now() - started });
        results.push({ toolCallId: call.toolCallId, toolName: call.toolName, output: res.output, error: res.error });
      }
    }
    const step = {
      index: stepIndex,
      role,
      provider: r.link.provider,
      model: r.link.model,
      text: r.text,
      toolCalls: records,
      usage: r.usage,
      costUsd,
      // Links left out of the chain (no key, disabled) are reported once, on the role's first step.
      failovers: [...(steps === 1 ? input.skipped : []), ...r.failovers],
      contextShrinks: shrink,
      finishReason: r.finishReason,
      at: new Date().toISOString(),
    };
    run.steps.push(step);
    await input.sink.publish('agent.run.step', { ...step, runId: run.runId, sessionId: run.sessionId });
    await input.onStep?.();

    if (r.toolCalls.length === 0) return { status: 'completed', output: r.text, steps, provider: r.link.provider, model: r.link.model };
    if (overBudget) return { status: 'budget_exceeded', output: r.text, steps, provider: r.link.provider, model: r.link.model };
    history.push(...r.responseMessages);
    history.push({
      role: 'tool',
      content: r.toolCalls.map((c) => {
        const res = results.find((x) => x.toolCallId === c.toolCallId);
        const output = !res
          ? { type: 'error-text' as const, value: 'not run: the run was stopped' }
          : res.error !== undefined
            ? { type: 'error-text' as const, value: res.error }
            : { type: 'json' as const, value: (res.output ?? null) as never };
        return { type: 'tool-result' as const, toolCallId: c.toolCallId, toolName: c.toolName, output };
      }),
    });
  }
}

/** Batches streamed deltas into agent.run.text events (one per ~50 ms) so a fast model does not flood the log. */
function textBatcher(input: RoleInput, step: number): { push: (d: string) => void; flush: () => Promise<void> } {
  let buf = '';
  let timer: NodeJS.Timeout | undefined;
  let pending: Promise<void> = Promise.resolve();
  const send = (): void => {
    timer = undefined;
    if (!buf) return;
    const delta = buf;
    buf = '';
    const run = input.ctl.run;
    pending = pending.then(() => input.sink.publish('agent.run.text', { runId: run.runId, sessionId: run.sessionId, role: input.role, step, delta }).catch(() => undefined));
  };
  return {
    push: (d) => {
      buf += d;
      timer ??= setTimeout(send, TEXT_FLUSH_MS);
    },
    flush: async () => {
      if (timer) clearTimeout(timer);
      send();
      await pending;
    },
  };
}
