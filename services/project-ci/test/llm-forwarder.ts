import { Bus } from '@codeagent/bus';
import { AppError, Commands, type Catalog } from '@codeagent/contracts';
import { testLogger } from '@codeagent/testing';

/**
 * Stands in for the orchestrator's provider registry in integration tests, until its handler is
 * there: a real bus consumer of `orchestrator.llm.complete` that forwards the messages to an
 * Ollama-format server (the fake LLM of libs/testing) over HTTP, as the orchestrator's Ollama
 * provider would. It brings a catalog with only that command, so it need not answer the rest.
 */
export async function startLlmForwarder(brokerUrl: string, ollamaUrl: string): Promise<{ bus: Bus; requests: unknown[] }> {
  const catalog: Catalog = { commands: { 'orchestrator.llm.complete': Commands['orchestrator.llm.complete'] }, events: {} };
  const bus = await Bus.connect({ url: brokerUrl, service: 'orchestrator', instanceId: `forwarder-${process.pid}`, logger: testLogger(), catalog });
  const requests: unknown[] = [];
  const handlers = {
    'orchestrator.llm.complete': async (req: { provider?: string; model?: string; messages: Array<{ role: string; content: string }> }) => {
      requests.push(req);
      const res = await fetch(`${ollamaUrl}/api/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: req.model ?? 'llama3.3:70b', messages: req.messages, stream: false }),
      });
      if (!res.ok) throw new AppError('PROVIDER_FAILED', `ollama answered ${res.status}: ${await res.text()}`);
      const body = (await res.json()) as { model: string; message: { content: string }; prompt_eval_count: number; eval_count: number; done_reason: string };
      return {
        text: body.message.content,
        provider: req.provider ?? 'ollama',
        model: body.model,
        usage: { inputTokens: body.prompt_eval_count, outputTokens: body.eval_count },
        costUsd: 0,
        finishReason: body.done_reason,
      };
    },
  };
  await bus.handleCommands('orchestrator', handlers as never);
  return { bus, requests };
}
