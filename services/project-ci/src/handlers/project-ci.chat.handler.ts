import type { CommandHandler } from '@codeagent/bus';
import type { CiChat } from '../registry/chat';

/** Seed 004's `POST /api/projects/chat`: the bus door to the same conversation as the project's socket. */
export const chatHandler =
  (chat: CiChat): CommandHandler<'project-ci.chat'> =>
  async ({ project_name, message }) => {
    const answer = await chat.send(project_name, message, 'bus');
    return {
      response: answer.text,
      project_name: answer.ci.project_name,
      ci_socket: answer.ci.ci_socket,
      socket_port: answer.ci.socket_port,
      provider: answer.provider,
      model: answer.model,
    };
  };
