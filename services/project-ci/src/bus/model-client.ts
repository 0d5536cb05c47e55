import type { Bus } from '@codeagent/bus';
import type { ModelAnswer, ModelClient, ModelRequest } from '../conversation/types';

/**
 * The project's model through the orchestrator's provider registry (`orchestrator.llm.complete`):
 * this service holds no provider keys. A project without its own provider gets the service default
 * (seed 004: Ollama); `auto` leaves the choice to the orchestrator.
 */
export class BusModelClient implements ModelClient {
  constructor(
    private readonly bus: Bus,
    private readonly opts: { timeoutMs: number; defaultProvider: string; defaultModel?: string },
  ) {}

  async complete(req: ModelRequest): Promise<ModelAnswer> {
    const provider = req.provider ?? (this.opts.defaultProvider === 'auto' ? undefined : this.opts.defaultProvider);
    // A project's model only makes sense with its provider; the default model goes with the default provider.
    const model = req.model ?? (req.provider ? undefined : this.opts.defaultModel);
    const reply = await this.bus.request(
      'orchestrator.llm.complete',
      {
        projectId: req.projectId,
        ...(provider ? { provider } : {}),
        ...(model ? { model } : {}),
        messages: req.messages,
      },
      { timeoutMs: this.opts.timeoutMs },
    );
    return { text: reply.text, provider: reply.provider, model: reply.model };
  }
}
