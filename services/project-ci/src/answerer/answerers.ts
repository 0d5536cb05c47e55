import { randomUUID } from 'node:crypto';
import { AppError, type ProjectCiQuestionV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';

export interface AnswerersOptions {
  /** A claim ends this long after its holder last asked for questions. */
  leaseMs: number;
  /** How long a question waits for the holder before the model answers it instead. */
  answerTimeoutMs: number;
  /** This replica's id: claim ids name it, so the gateway sends a claim's later calls here. */
  instanceId: string;
  log: Logger;
}

interface Question extends ProjectCiQuestionV1 {
  /** Settles the asker: the holder's text, or undefined when the model must answer instead. */
  settle(text: string | undefined): void;
  handedOut: boolean;
}

interface Claim {
  id: string;
  projectId: string;
  userId: string;
  questions: Map<string, Question>;
  /** A `next` waiting for a question. */
  wake?: () => void;
  lease: NodeJS.Timeout;
}

/**
 * Seed 004's "forward a CI to a terminal": who answers a project's chat instead of its model. One claim
 * per project. A claim is a lease: every `next` of its holder renews it, and one not renewed in time
 * ends, so a crashed holder (or a gateway gone with its stream) never leaves a project unanswered.
 * When a claim ends, every question still waiting for it goes to the model.
 */
export class Answerers {
  private readonly byProject = new Map<string, Claim>();
  private readonly byId = new Map<string, Claim>();

  constructor(private readonly opts: AnswerersOptions) {}

  get leaseMs(): number {
    return this.opts.leaseMs;
  }

  claim(projectId: string, projectName: string, userId: string): string {
    const held = this.byProject.get(projectId);
    if (held) {
      throw new AppError('CONFLICT', `project "${projectName}" is already answered by someone else (user ${held.userId}) until they release it; their claim ends ${this.opts.leaseMs} ms after their client is gone`, {
        details: { heldBy: held.userId },
      });
    }
    const id = `${randomUUID()}.${this.opts.instanceId}`;
    const claim: Claim = { id, projectId, userId, questions: new Map(), lease: this.leaseTimer(id) };
    this.byProject.set(projectId, claim);
    this.byId.set(claim.id, claim);
    this.opts.log.info({ projectId, userId, claimId: claim.id }, 'project chat claimed: questions go to a person instead of the model');
    return claim.id;
  }

  /**
   * A question for the project's holder, if one holds it: resolves with their answer, or undefined when
   * the model must answer (no claim, the claim ended, or nobody answered within answerTimeoutMs).
   */
  ask(projectId: string, content: string, via: 'socket' | 'bus'): Promise<{ text: string; userId: string } | undefined> {
    const claim = this.byProject.get(projectId);
    if (!claim) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const id = randomUUID();
      const timer = setTimeout(() => {
        this.opts.log.warn({ projectId, questionId: id }, 'the project chat holder did not answer in time; the model answers');
        question.settle(undefined);
      }, this.opts.answerTimeoutMs);
      const question: Question = {
        question_id: id,
        content,
        via,
        asked_at: new Date().toISOString(),
        handedOut: false,
        settle: (text) => {
          clearTimeout(timer);
          claim.questions.delete(id);
          resolve(text === undefined ? undefined : { text, userId: claim.userId });
        },
      };
      claim.questions.set(id, question);
      claim.wake?.();
    });
  }

  /** The claim's questions not handed out yet, waiting up to waitMs for one; renews the lease. */
  async next(claimId: string, userId: string, waitMs: number): Promise<ProjectCiQuestionV1[]> {
    const claim = this.held(claimId, userId);
    // Renewed for the whole wait and again after it: a holder that stops asking loses the claim one lease later.
    claim.lease.refresh();
    if (!this.fresh(claim).length && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(waitMs, this.opts.leaseMs / 2));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        claim.wake = done;
      });
      claim.wake = undefined;
    }
    if (this.byId.get(claimId) !== claim) return [];
    claim.lease.refresh();
    return this.fresh(claim).map((q) => {
      q.handedOut = true;
      return { question_id: q.question_id, content: q.content, via: q.via, asked_at: q.asked_at };
    });
  }

  answer(claimId: string, userId: string, questionId: string, text: string): void {
    const question = this.held(claimId, userId).questions.get(questionId);
    if (!question) throw new AppError('NOT_FOUND', `question ${questionId} is not waiting for an answer (answered, timed out, or never asked)`);
    question.settle(text);
  }

  /** Ends the claim (its holder's, or every claim of a deleted project); waiting questions go to the model. */
  release(claimId: string, userId: string | undefined, reason: string): boolean {
    const claim = this.byId.get(claimId);
    if (!claim) return false;
    if (userId !== undefined && claim.userId !== userId) throw new AppError('FORBIDDEN', 'only the user holding this claim may release it');
    this.end(claim, reason);
    return true;
  }

  releaseProject(projectId: string, reason: string): void {
    const claim = this.byProject.get(projectId);
    if (claim) this.end(claim, reason);
  }

  releaseAll(reason: string): void {
    for (const claim of [...this.byId.values()]) this.end(claim, reason);
  }

  private end(claim: Claim, reason: string): void {
    clearTimeout(claim.lease);
    this.byId.delete(claim.id);
    if (this.byProject.get(claim.projectId) === claim) this.byProject.delete(claim.projectId);
    claim.wake?.();
    for (const q of [...claim.questions.values()]) q.settle(undefined);
    this.opts.log.info({ projectId: claim.projectId, userId: claim.userId, claimId: claim.id, reason }, 'project chat released: the model answers again');
  }

  private held(claimId: string, userId: string): Claim {
    const claim = this.byId.get(claimId);
    if (!claim) throw new AppError('NOT_FOUND', `claim ${claimId} has ended (released, its lease ran out, or its project was deleted)`);
    if (claim.userId !== userId) throw new AppError('FORBIDDEN', 'this claim belongs to another user');
    return claim;
  }

  private fresh(claim: Claim): Question[] {
    return [...claim.questions.values()].filter((q) => !q.handedOut);
  }

  private leaseTimer(claimId: string): NodeJS.Timeout {
    return setTimeout(() => {
      const claim = this.byId.get(claimId);
      if (claim) this.end(claim, `no word from its holder for ${this.opts.leaseMs} ms (lease ran out)`);
    }, this.opts.leaseMs);
  }
}
