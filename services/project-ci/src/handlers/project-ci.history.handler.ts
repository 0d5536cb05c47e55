import type { CommandHandler } from '@codeagent/bus';
import type { CiChat } from '../registry/chat';

/** A project's kept conversation, from both doors. */
export const historyHandler =
  (chat: CiChat): CommandHandler<'project-ci.history'> =>
  async ({ project, limit }) => {
    const h = await chat.history(project, limit);
    return { project_name: h.name, messages: h.messages };
  };
