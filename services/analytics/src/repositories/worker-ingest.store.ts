import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Facts } from '../ingest/facts';
import type { IngestStore } from '../ingest/ports';
import type { Writes } from '../ingest/rollup';
import type { WorkerReply } from './ingest.worker';

interface Pending {
  resolve: (v: { fresh: ReadonlySet<string>; writes: Writes }) => void;
  reject: (err: Error) => void;
}

/**
 * An IngestStore whose commits run in a worker thread (ingest.worker.ts) on their own database
 * connection. Used for SQLite, whose driver blocks the thread that calls it; PostgreSQL's driver is
 * asynchronous and needs none.
 */
export class WorkerIngestStore implements IngestStore {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private failed?: Error;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: WorkerReply) => {
      if (!('seq' in m)) return;
      const p = this.pending.get(m.seq);
      if (!p) return;
      this.pending.delete(m.seq);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve({ fresh: new Set(m.fresh ?? []), writes: m.writes as Writes });
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`the SQLite writer thread failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  static async start(opts: { databaseUrl?: string; dataDir: string }): Promise<WorkerIngestStore> {
    const worker = new Worker(path.join(__dirname, 'ingest-worker.cjs'), { workerData: opts });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (m: WorkerReply) => {
        if ('ready' in m) resolve();
        else if ('fatal' in m) reject(new Error(`the SQLite writer thread could not open the database: ${m.fatal}`));
        else return;
        worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    return new WorkerIngestStore(worker);
  }

  commit(facts: readonly Facts[]): Promise<{ fresh: ReadonlySet<string>; writes: Writes }> {
    if (this.failed) return Promise.reject(this.failed);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ seq, facts });
    });
  }

  /** Throws when the thread is gone (crashed or out of memory): commits fail until the service restarts, so /health says so. */
  check(): void {
    if (this.failed) throw this.failed;
  }

  /** Closes the thread's database and ends it; call after the last commit. */
  async close(): Promise<void> {
    if (this.failed) return;
    const seq = ++this.seq;
    await new Promise<void>((resolve) => {
      this.pending.set(seq, { resolve: () => resolve(), reject: () => resolve() });
      this.worker.postMessage({ seq, close: true });
    });
    await this.worker.terminate();
  }
}
