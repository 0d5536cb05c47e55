import { buildMessages, stripProjectPrefix } from './prompt';
import type { HistoryRepository, ModelAnswer, ModelClient } from './types';

export interface ConversationOptions {
  history: HistoryRepository;
  model: ModelClient;
  /** Messages kept per project (user and assistant each count one). */
  keepMessages: number;
  /** Characters of history sent to the model with each new message. */
  contextChars: number;
}

export interface ChatTarget {
  projectId: string;
  name: string;
  ciSocket: string;
  provider?: string;
  model?: string;
}

/**
 * A project's conversation, shared by its two doors (the socket and `project-ci.chat`): both read the
 * same history and append to it, so either sees what was said through the other.
 */
export class Conversation {
  constructor(private readonly opts: ConversationOptions) {}

  /** `person`: who answers instead of the model while someone holds the project's chat (undefined: the model). */
  async chat(target: ChatTarget, rawMessage: string, via: 'socket' | 'bus', person?: (message: string) => Promise<ModelAnswer | undefined>): Promise<ModelAnswer> {
    const message = stripProjectPrefix(target.name, rawMessage);
    const history = await this.opts.history.recent(target.projectId, this.opts.keepMessages);
    const messages = buildMessages({
      name: target.name,
      ciSocket: target.ciSocket,
      history,
      message,
      budgetChars: this.opts.contextChars,
    });
    const answer = (await person?.(message)) ?? await this.opts.model.complete({
      projectId: target.projectId,
      provider: target.provider,
      model: target.model,
      messages,
    });
    const at = new Date().toISOString();
    // The turn is kept only once it is answered: a failed call leaves no orphan question in the context.
    await this.opts.history.append(
      target.projectId,
      [
        { role: 'user', content: message, via, at },
        { role: 'assistant', content: answer.text, via, at },
      ],
      this.opts.keepMessages,
    );
    return answer;
  }

  history(projectId: string, limit: number) {
    return this.opts.history.recent(projectId, limit);
  }

  count(projectId: string) {
    return this.opts.history.count(projectId);
  }

  forget(projectId: string) {
    return this.opts.history.clear(projectId);
  }
}
