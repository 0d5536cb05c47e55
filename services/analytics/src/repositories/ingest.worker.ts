// The SQLite writer thread. better-sqlite3 is synchronous: in the main thread every commit would stop
// the bus consumer for its whole duration. Here commits run beside it, on the other core.
import { parentPort, workerData } from 'node:worker_threads';
import type { Facts } from '../ingest/facts';
import { openAnalyticsDatabase } from './database';
import { IngestRepository } from './ingest.repository';

interface Init {
  databaseUrl?: string;
  dataDir: string;
}
export type WorkerRequest = { seq: number; facts: Facts[] } | { seq: number; close: true };
export type WorkerReply = { seq: number; fresh?: string[]; writes?: unknown; error?: string } | { ready: true } | { fatal: string };

async function run(): Promise<void> {
  const port = parentPort!;
  const init = workerData as Init;
  let db: Awaited<ReturnType<typeof openAnalyticsDatabase>>;
  try {
    db = await openAnalyticsDatabase({ databaseUrl: init.databaseUrl, dataDir: init.dataDir });
  } catch (err) {
    port.postMessage({ fatal: (err as Error).message } satisfies WorkerReply);
    return;
  }
  const repo = new IngestRepository(db.driver, db.target.kind);
  // Requests are handled one at a time, in order: SQLite has one writer anyway.
  let chain = Promise.resolve();
  port.on('message', (req: WorkerRequest) => {
    chain = chain.then(async () => {
      if ('close' in req) {
        await db.close();
        port.postMessage({ seq: req.seq } satisfies WorkerReply);
        port.close();
        return;
      }
      try {
        const { fresh, writes } = await repo.commit(req.facts);
        port.postMessage({ seq: req.seq, fresh: [...fresh], writes } satisfies WorkerReply);
      } catch (err) {
        port.postMessage({ seq: req.seq, error: (err as Error)?.message ?? String(err) } satisfies WorkerReply);
      }
    });
  });
  port.postMessage({ ready: true } satisfies WorkerReply);
}

void run();
