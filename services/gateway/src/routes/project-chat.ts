import { Readable } from 'node:stream';
import { AppError, ProjectCiAnswerReplyV1, ProjectCiAnswererReleaseReplyV1, ProjectCiChatReplyV1, ProjectCiChatV1 } from '@codeagent/contracts';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { isAdmin } from '../auth/principal';
import { visibleProjectId } from '../auth/project-access';

/**
 * Seed 004's projects chat, forwarded to the project's CI (services/project-ci) over the bus. A member
 * talks only to the CI of a project they may see: the orchestrator answers NOT_FOUND (404) for another
 * member's private project, exactly as for a name no project has.
 */
export function projectChatRoutes(app: ZApp, deps: RouteDeps): void {
  app.post(
    '/api/projects/chat',
    {
      schema: {
        summary: "one message to a project's CI: the model sees `[Project: <name>] <message>`",
        tags: ['projects'],
        body: ProjectCiChatV1,
        response: { 200: ProjectCiChatReplyV1 },
      },
    },
    // project-ci itself waits up to its PROJECT_CI_LLM_TIMEOUT_MS for the model.
    async (req) => {
      // project-ci matches names case-insensitively: a member's message goes to the id that was checked.
      const body = isAdmin(req.principal) ? req.body : { ...req.body, project_name: await visibleProjectId(deps.services, req.principal, req.body.project_name) };
      return deps.services.call('project-ci.chat', body, req.principal, { timeoutMs: deps.env.GATEWAY_CHAT_TIMEOUT_MS });
    },
  );
}

const ProjectParams = z.object({ project: z.string().trim().min(1).max(200) });
const ClaimParams = ProjectParams.extend({ claimId: z.string().trim().min(1).max(300) });
const AnswerBody = z.object({ question_id: z.string().min(1).max(200), content: z.string().min(1).max(1_000_000) });
/** How long one poll of project-ci waits for a question; each poll also renews the claim's lease. */
const QUESTION_WAIT_MS = 5_000;

/** Claim ids name the project-ci replica holding them after their first dot: later calls go to its own queue. */
function holderOf(claimId: string): { instanceId: string } {
  const dot = claimId.indexOf('.');
  if (dot < 1 || dot === claimId.length - 1) throw new AppError('NOT_FOUND', `"${claimId}" is no claim: use the claim_id of the answerer stream's "claimed" line`);
  return { instanceId: claimId.slice(dot + 1) };
}

/**
 * Seed 004's "forward a CI to a terminal" (`codeagent project-chat <project> --answer`): a person takes
 * over answering a project's chat for as long as the response streams. Questions arrive as NDJSON lines,
 * answers go back by POST; closing the stream releases the claim, and project-ci ends a claim whose
 * stream stopped asking (this replica died) one lease later. Only someone who may see the project may
 * claim it: the same check as project chat and the team-mode socket auth.
 */
export function projectChatAnswererRoutes(app: ZApp, deps: RouteDeps): void {
  app.post(
    '/api/v1/projects/:project/chat/answerer',
    {
      schema: {
        summary: "answer a project's chat (its CI socket and projects chat) instead of its model while this response streams (NDJSON: claimed, question, waiting, released); 409 while someone else answers it",
        tags: ['projects'],
        params: ProjectParams,
      },
    },
    async (req, reply) => {
      const who = req.principal;
      const project = await visibleProjectId(deps.services, who, req.params.project);
      // A claim held by someone else is a 409 problem+json before anything streams.
      const claimed = await deps.services.call('project-ci.answerer.claim', { project, user_id: who.userId }, who);
      const claim = holderOf(claimed.claim_id);
      let gone = false;
      const release = () =>
        deps.services.call('project-ci.answerer.release', { claim_id: claimed.claim_id, user_id: who.userId }, who, claim).catch((err: Error) => {
          req.log.warn({ err: err.message, claimId: claimed.claim_id }, 'could not release a project chat claim; its lease ends it');
        });
      reply.raw.on('close', () => {
        if (gone) return;
        gone = true;
        void release();
      });
      const lines = async function* () {
        yield `${JSON.stringify({ type: 'claimed', ...claimed })}\n`;
        while (!gone) {
          let questions;
          try {
            ({ questions } = await deps.services.call('project-ci.answerer.next', { claim_id: claimed.claim_id, user_id: who.userId, wait_ms: QUESTION_WAIT_MS }, who, {
              ...claim,
              timeoutMs: QUESTION_WAIT_MS + 10_000,
            }));
          } catch (err) {
            if (!gone) yield `${JSON.stringify({ type: 'released', reason: (err as Error).message })}\n`;
            return;
          }
          if (gone) return;
          // An empty poll still writes a line: a client gone without a word is noticed by the failed write.
          if (!questions.length) yield `${JSON.stringify({ type: 'waiting' })}\n`;
          for (const q of questions) yield `${JSON.stringify({ type: 'question', ...q })}\n`;
        }
      };
      reply.header('content-type', 'application/x-ndjson').header('x-claim-id', claimed.claim_id);
      return reply.send(Readable.from(lines()));
    },
  );
  app.post(
    '/api/v1/projects/:project/chat/answerer/:claimId/answers',
    {
      schema: {
        summary: 'the answer to one question of a claimed project chat, delivered to whoever asked it (404 when it no longer waits)',
        tags: ['projects'],
        params: ClaimParams,
        body: AnswerBody,
        response: { 200: ProjectCiAnswerReplyV1 },
      },
    },
    async (req) =>
      deps.services.call('project-ci.answerer.answer', { claim_id: req.params.claimId, user_id: req.principal.userId, ...req.body }, req.principal, holderOf(req.params.claimId)),
  );
  app.delete(
    '/api/v1/projects/:project/chat/answerer/:claimId',
    {
      schema: {
        summary: 'give a claimed project chat back to its model (questions still waiting are answered by it)',
        tags: ['projects'],
        params: ClaimParams,
        response: { 200: ProjectCiAnswererReleaseReplyV1 },
      },
    },
    async (req) => deps.services.call('project-ci.answerer.release', { claim_id: req.params.claimId, user_id: req.principal.userId }, req.principal, holderOf(req.params.claimId)),
  );
}
