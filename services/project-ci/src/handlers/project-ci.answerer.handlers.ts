import type { CommandHandler } from '@codeagent/bus';
import type { Answerers } from '../answerer/answerers';
import type { CiChat } from '../registry/chat';

// Seed 004's "forward a CI to a terminal": the gateway's `codeagent project-chat --answer` stream drives these.

export const answererClaimHandler =
  (chat: CiChat): CommandHandler<'project-ci.answerer.claim'> =>
  async ({ project, user_id }) => {
    const { claimId, leaseMs, ci } = await chat.claimAnswerer(project, user_id);
    return { claim_id: claimId, project_id: ci.project_id, project_name: ci.project_name, ci_socket: ci.ci_socket, socket_port: ci.socket_port, lease_ms: leaseMs };
  };

export const answererNextHandler =
  (answerers: Answerers): CommandHandler<'project-ci.answerer.next'> =>
  async ({ claim_id, user_id, wait_ms }) => ({ questions: await answerers.next(claim_id, user_id, wait_ms) });

export const answerHandler =
  (answerers: Answerers): CommandHandler<'project-ci.answerer.answer'> =>
  async ({ claim_id, user_id, question_id, content }) => {
    answerers.answer(claim_id, user_id, question_id, content);
    return { delivered: true as const };
  };

export const answererReleaseHandler =
  (answerers: Answerers): CommandHandler<'project-ci.answerer.release'> =>
  async ({ claim_id, user_id }) => ({ released: answerers.release(claim_id, user_id, 'released by its holder') });
