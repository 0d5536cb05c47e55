import { randomUUID } from 'node:crypto';
import { AppError, type ModelPullProgressV1 } from '@codeagent/contracts';
import type { Logger } from '@codeagent/telemetry';
import type { AgentEventSink } from '../agents/events';
import { baseUrlOf, providerJson, upstreamMessage } from './model-catalog';
import type { ProviderConnection } from './registry';

/** A step of an install as the server reports it, before it is numbered and published. */
/** Steps of one pull kept for readers; a reader further behind sees the gap in `seq`. */
const MAX_STEPS = 1000;

type Step = Pick<ModelPullProgressV1, 'status' | 'digest' | 'total' | 'completed'>;

export interface ModelPullOptions {
  /** Same-status progress is published at most this often (Ollama reports every few KB). */
  progressEveryMs?: number;
  /** How often LM Studio's download job is asked where it stands. */
  pollEveryMs?: number;
  /** Finished pulls stay answerable this long. */
  keepMs?: number;
}

/**
 * Seed 003's InstallModelAsync with its IProgress: installs a model on a local server and publishes
 * each step as `provider.model.pull` (ordered by `seq`, ending in `succeeded` or `failed`). Ollama
 * streams its pull as NDJSON; LM Studio (0.4+, an `openai-compatible` provider) starts a download job
 * that is polled. Pulls run in the background of this replica; their steps are kept (the last
 * MAX_STEPS of each) for `orchestrator.provider.pull.status`.
 */
export class ModelPulls {
  private readonly history = new Map<string, ModelPullProgressV1[]>();
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly progressEveryMs: number;
  private readonly pollEveryMs: number;
  private readonly keepMs: number;

  constructor(
    private readonly sink: AgentEventSink,
    private readonly log: Logger,
    opts: ModelPullOptions = {},
  ) {
    this.progressEveryMs = opts.progressEveryMs ?? 250;
    this.pollEveryMs = opts.pollEveryMs ?? 1000;
    this.keepMs = opts.keepMs ?? 10 * 60_000;
  }

  /** Starts the install and returns its id at once; a cloud provider or a pull id in use is refused here. */
  start(c: ProviderConnection, model: string, opts: { pullId?: string; projectId?: string } = {}): string {
    if (c.kind !== 'ollama' && c.kind !== 'openai-compatible') {
      throw new AppError('VALIDATION_FAILED', `provider "${c.name}" (${c.kind}) is a cloud API: its models need no install`, { details: { provider: c.name } });
    }
    const pullId = opts.pullId ?? randomUUID();
    if (this.history.has(pullId)) throw new AppError('CONFLICT', `pull ${pullId} already exists`);
    let seq = 0;
    const steps: ModelPullProgressV1[] = [];
    this.history.set(pullId, steps);
    let last: { status: string; digest?: string; at: number } | undefined;
    const emit = async (state: ModelPullProgressV1['state'], step: Step & { error?: string }): Promise<void> => {
      const now = Date.now();
      const sameStep = last && last.status === step.status && last.digest === step.digest;
      if (state === 'running' && sameStep && now - last!.at < this.progressEveryMs) return;
      last = { status: step.status, digest: step.digest, at: now };
      const progress: ModelPullProgressV1 = { pullId, projectId: opts.projectId, provider: c.name, model, seq: ++seq, state, ...step, at: new Date(now).toISOString() };
      steps.push(progress);
      if (steps.length > MAX_STEPS) steps.shift();
      await this.sink.publish('provider.model.pull', progress);
    };
    const run = (async () => {
      try {
        await emit('running', { status: 'starting' });
        const final = c.kind === 'ollama' ? await this.ollama(c, model, (s) => emit('running', s)) : await this.lmStudio(c, model, (s) => emit('running', s));
        await emit('succeeded', final);
        this.log.info({ provider: c.name, model, pullId }, 'model installed');
      } catch (err) {
        const message = err instanceof AppError ? err.message : (err as Error).message;
        this.log.warn({ provider: c.name, model, pullId, err: message }, 'model install failed');
        await emit('failed', { status: 'failed', error: message }).catch(() => undefined);
      } finally {
        setTimeout(() => this.history.delete(pullId), this.keepMs).unref();
      }
    })();
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return pullId;
  }

  steps(pullId: string, afterSeq = 0): ModelPullProgressV1[] {
    const steps = this.history.get(pullId);
    if (!steps) throw new AppError('NOT_FOUND', `no model pull ${pullId} on this replica (finished pulls are kept ${Math.round(this.keepMs / 60_000)} min)`);
    return steps.filter((s) => s.seq > afterSeq);
  }

  /** Stops the pulls in progress (shutdown); each ends with a `failed` event. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('the orchestrator is shutting down'));
    await Promise.allSettled([...this.running]);
  }

  /** Ollama's `POST /api/pull`: NDJSON lines of {status, digest, total, completed}, or {error}. */
  private async ollama(c: ProviderConnection, model: string, progress: (s: Step) => Promise<void>): Promise<Step> {
    const url = `${baseUrlOf(c)}/pull`;
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, stream: true }), signal: this.abort.signal });
    } catch (err) {
      throw new Error(`provider "${c.name}" did not answer at ${url}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    if (!res.ok || !res.body) throw new Error(`provider "${c.name}" could not pull "${model}": ${upstreamMessage(await res.text()) || `HTTP ${res.status}`}`);
    let final: Step | undefined;
    let buffered = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const step = JSON.parse(line) as Step & { error?: string };
        if (step.error) throw new Error(`provider "${c.name}" could not pull "${model}": ${step.error}`);
        const s: Step = { status: step.status, digest: step.digest, total: step.total, completed: step.completed };
        if (step.status === 'success') final = s;
        else await progress(s);
      }
    }
    if (!final) throw new Error(`provider "${c.name}" ended the pull of "${model}" without reporting success`);
    return final;
  }

  /** LM Studio's `POST /api/v1/models/download`, then its job polled until it completes or fails. */
  private async lmStudio(c: ProviderConnection, model: string, progress: (s: Step) => Promise<void>): Promise<Step> {
    // The provider's base URL is its OpenAI-compatible one (…/v1); the native API is beside it.
    const root = baseUrlOf(c).replace(/\/v1$/, '');
    type Job = { job_id?: string; status: string; total_size_bytes?: number; downloaded_bytes?: number };
    let job: Job;
    try {
      job = await providerJson<Job>(c, `${root}/api/v1/models/download`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model }), signal: this.abort.signal });
    } catch (err) {
      if (err instanceof AppError && (err.details?.status === 404 || err.details?.status === 405)) {
        throw new Error(`provider "${c.name}" has no model download API (LM Studio 0.4+ answers POST /api/v1/models/download; other OpenAI-compatible servers install models their own way)`);
      }
      throw err;
    }
    const step = (j: Job): Step => ({ status: j.status, total: j.total_size_bytes, completed: j.downloaded_bytes });
    while (job.status === 'downloading' || job.status === 'paused') {
      await progress(step(job));
      await new Promise((resolve) => setTimeout(resolve, this.pollEveryMs));
      if (this.abort.signal.aborted) throw this.abort.signal.reason as Error;
      job = await providerJson<Job>(c, `${root}/api/v1/models/download/status/${encodeURIComponent(job.job_id ?? '')}`, { signal: this.abort.signal });
    }
    if (job.status === 'completed' || job.status === 'already_downloaded') return step(job);
    throw new Error(`provider "${c.name}" could not download "${model}": the job ended ${job.status}`);
  }
}
