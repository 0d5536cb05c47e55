import { AppError, type ProjectCiV1 } from '@codeagent/contracts';
import type { Answerers } from '../answerer/answerers';
import type { Conversation } from '../conversation/conversation';
import type { ModelAnswer } from '../conversation/types';
import { describeCi, type CiRuntime } from './ci-runtime';
import { ciMetrics } from './metrics';
import { ciSocketName } from './naming';

/** How the chat finds a project's CI in the registry. */
export interface CiLookup {
  /** By project id, else by name (case-insensitive); NOT_FOUND, or CONFLICT for a name two projects share. */
  find(nameOrId: string): CiRuntime;
  /** Whether the project still has its CI (it may be deleted while its model thinks). */
  has(projectId: string): boolean;
}

/**
 * A project's chat, through either door (its socket, or `project-ci.chat` on the bus): one
 * conversation either way, answered by whoever holds the project's answerer claim, else its model.
 */
export class CiChat {
  constructor(
    private readonly cis: CiLookup,
    private readonly conversation: Conversation,
    private readonly answerers: Answerers | undefined,
  ) {}

  /** One message to a project's CI, and its answer. */
  async send(nameOrId: string, message: string, via: 'socket' | 'bus'): Promise<ModelAnswer & { ci: ProjectCiV1 }> {
    const ci = this.cis.find(nameOrId);
    const target = {
      projectId: ci.record.projectId,
      name: ci.record.name,
      ciSocket: ciSocketName(ci.record.name),
      provider: ci.record.provider,
      model: ci.record.model,
    };
    const stopTimer = ciMetrics.replySeconds().startTimer({ door: via });
    let answer: ModelAnswer;
    try {
      const answerers = this.answerers;
      answer = await this.conversation.chat(
        target,
        message,
        via,
        answerers &&
          (async (asked) => {
            const by = await answerers.ask(target.projectId, asked, via);
            return by && { text: by.text, provider: 'answerer', model: by.userId };
          }),
      );
    } catch (err) {
      ciMetrics.messages().inc({ door: via, outcome: 'failed' });
      throw err;
    }
    stopTimer();
    ciMetrics.messages().inc({ door: via, outcome: 'answered' });
    ci.lastResponseAt = new Date();
    // Deleted while the model was thinking: the turn just kept must not outlive the project.
    if (!this.cis.has(ci.record.projectId)) await this.conversation.forget(ci.record.projectId);
    return { ...answer, ci: await describeCi(ci, this.conversation) };
  }

  async history(nameOrId: string, limit?: number) {
    const ci = this.cis.find(nameOrId);
    return { name: ci.record.name, messages: await this.conversation.history(ci.record.projectId, limit ?? 10_000) };
  }

  /** Someone takes over answering the project's chat (CONFLICT while another claim holds it). */
  async claimAnswerer(nameOrId: string, userId: string) {
    if (!this.answerers) throw new AppError('SERVICE_UNAVAILABLE', 'this project-ci has no answerer desk');
    const ci = this.cis.find(nameOrId);
    const claimId = this.answerers.claim(ci.record.projectId, ci.record.name, userId);
    return { claimId, leaseMs: this.answerers.leaseMs, ci: await describeCi(ci, this.conversation) };
  }
}
