import { AppError, type SandboxSpecV1 } from '@codeagent/contracts';
import { counter, gauge, type Logger } from '@codeagent/telemetry';
import type { CreateSpec, SessionManager } from './manager';
import { sessionSandbox } from './network-policy';
import type { SessionsRepository } from './ports';
import { POOL_OWNER, type SessionRecord } from './session';

const metrics = {
  ready: () => gauge('orchestrator_session_pool_ready', 'Ready sessions the warm pool holds on this replica'),
  takes: () => counter('orchestrator_session_pool_takes_total', 'Creates the warm pool could serve, by outcome (hit: given a pooled session; miss: the pool was empty)', ['outcome']),
};

/** After a failed refill, the next try waits this long (the shell or workspace service may be restarting). */
const RETRY_MS = 5_000;

/** How many ready sessions of one sandbox to hold (a create's sandbox as `sessionSandbox` makes it of this). */
export interface PoolShape {
  size: number;
  sandbox: SandboxSpecV1;
}

interface Shape extends PoolShape {
  /** This replica's pooled sessions of the shape, oldest first. */
  ready: string[];
}

/** A create as the pool sees it: the session asked for, and the driver the request named. */
export type PoolRequest = CreateSpec & { driver?: 'bubblewrap' | 'docker' };

/** What the pool holds: an empty workspace removed at close, in a jail with nothing of the request's own. */
function poolable(r: PoolRequest): boolean {
  return (
    r.source.kind === 'empty' &&
    !r.projectId &&
    !r.workspace &&
    !r.forkedFrom &&
    r.workspacePolicy === 'remove' &&
    !Object.keys(r.env ?? {}).length &&
    !r.credentials?.length &&
    (r.driver ?? 'bubblewrap') === 'bubblewrap'
  );
}

/** A sandbox as a key: the same limits and network whatever order the request gave them in. */
function shapeKey(sandbox: SandboxSpecV1): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, sorted(x)])) : v;
  return JSON.stringify(sorted(sandbox));
}

/**
 * The warm pool: whole sessions (workspace prepared, jail open, ready) made ahead for an empty source
 * and a configured sandbox shape, held by this replica under POOL_OWNER. A create that asks for exactly
 * such a session is an assignment (SessionManager.assign: one compare-and-set), not a setup. Each was
 * made for nobody and never ran a command, so it shares nothing with any other session: its own
 * namespaces, workspace and /tmp, no processes, its limits applied when its jail opened.
 *
 * Refilled in the background one session at a time, so a burst of creates does not also pay for a
 * burst of refills. The pool lives in the database like any session: a restarted replica finds its own
 * again (sync), and the reconciler fails those whose jail is gone, like any other.
 */
export class SessionPool {
  private readonly shapes = new Map<string, Shape>();
  /** The fill or sync under way: they run one at a time, never alongside each other. */
  private work: Promise<void> = Promise.resolve();
  private filling = false;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  /** A refill asked for by a take, started once the take's reply is out. */
  private refillSoon?: NodeJS.Immediate;

  constructor(
    private readonly deps: {
      manager: SessionManager;
      repo: SessionsRepository;
      log: Logger;
      shapes: PoolShape[];
    },
  ) {
    for (const s of deps.shapes) {
      const sandbox = sessionSandbox(s.sandbox, undefined, undefined);
      if (s.size > 0) this.shapes.set(shapeKey(sandbox), { size: s.size, sandbox, ready: [] });
    }
  }

  /** How many ready sessions the pool holds now, all shapes together. */
  get size(): number {
    let n = 0;
    for (const s of this.shapes.values()) n += s.ready.length;
    return n;
  }

  /**
   * A pooled session given to the request's owner, or undefined when the pool holds no such session
   * (the caller makes one). LIMIT_REACHED when the owner or the platform is at its limit; the session
   * stays pooled.
   */
  async take(req: PoolRequest, requestedAt: Date): Promise<SessionRecord | undefined> {
    const shape = poolable(req) ? this.shapes.get(shapeKey(req.sandbox)) : undefined;
    if (!shape || this.stopped) return undefined;
    const { owner } = req;
    try {
      while (shape.ready.length > 0) {
        const id = shape.ready.shift()!;
        let taken: SessionRecord | undefined;
        try {
          taken = await this.deps.manager.assign(id, owner, requestedAt);
        } catch (err) {
          if (err instanceof AppError && err.code === 'LIMIT_REACHED') shape.ready.unshift(id);
          throw err;
        }
        // Undefined: it failed (its jail went) or another replica took it after adopting it; try the next.
        if (taken) {
          metrics.takes().inc({ outcome: 'hit' });
          return taken;
        }
      }
      metrics.takes().inc({ outcome: 'miss' });
      return undefined;
    } finally {
      this.counted();
      // After the reply to this take has gone out: the refill's first database write would hold it up.
      this.refillSoon ??= setImmediate(() => {
        this.refillSoon = undefined;
        this.fill();
      });
    }
  }

  /**
   * Reads this replica's pooled sessions from the database (at start, and after each reconciliation:
   * adopted ones join, failed ones leave), closes what is beyond a shape's size or of a shape no longer
   * configured, and refills.
   */
  sync(): Promise<void> {
    return this.serially(async () => {
      const held = new Map<string, string[]>();
      const surplus: string[] = [];
      for (const s of await this.deps.repo.listPooled(this.deps.manager.self)) {
        const key = shapeKey(s.sandbox);
        const shape = this.shapes.get(key);
        const ids = held.get(key) ?? [];
        if (!shape || ids.length >= shape.size) surplus.push(s.id);
        else held.set(key, [...ids, s.id]);
      }
      for (const [key, shape] of this.shapes) shape.ready = held.get(key) ?? [];
      this.counted();
      for (const id of surplus) {
        // A take may be giving it out right now (it read the pool before this did): only a session still the pool's is closed.
        await this.deps.manager.closePooled(id, 'the warm pool holds fewer sessions of this shape').catch((err: Error) => this.deps.log.warn({ err, sessionId: id }, 'surplus pooled session not closed'));
      }
    }).then(() => this.fill());
  }

  /** Makes sessions until every shape is full; at most one fill at a time, none after stop. */
  private fill(): void {
    if (this.filling || this.stopped || this.retry) return;
    this.filling = true;
    void this.serially(async () => {
      for (const shape of this.shapes.values()) {
        while (!this.stopped && shape.ready.length < shape.size) {
          const s = await this.deps.manager.create({ owner: POOL_OWNER, source: { kind: 'empty' }, sandbox: shape.sandbox, workspacePolicy: 'remove' });
          shape.ready.push(s.id);
          this.counted();
        }
      }
    })
      .catch((err: Error) => {
        this.deps.log.warn({ err }, 'the warm pool could not make a session; trying again later');
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.fill();
        }, RETRY_MS);
        this.retry.unref();
      })
      .finally(() => {
        this.filling = false;
        // A take that came as the last session was made found the fill still running: fill again.
        if ([...this.shapes.values()].some((s) => s.ready.length < s.size)) this.fill();
      });
  }

  private counted(): void {
    metrics.ready().set(this.size);
  }

  private serially(fn: () => Promise<void>): Promise<void> {
    const run = this.work.then(fn);
    this.work = run.catch(() => undefined);
    return run;
  }

  /** Resolves once the fill or sync under way (and any queued behind it) is done. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.refillSoon) await new Promise((r) => setImmediate(r));
      const seen = this.work;
      await seen;
      if (seen === this.work && !this.refillSoon) return;
    }
  }

  /**
   * Stops refilling and waits a little for a session being made; the pooled sessions stay for the next
   * start. One still being made after that (the shell stopping too) is undone by the next start's
   * reconciliation, as any create an orchestrator left half done.
   */
  async stop(waitMs = 2_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearImmediate(this.refillSoon);
    this.refillSoon = undefined;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }
}
