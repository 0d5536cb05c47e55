import type { Facts } from './facts';
import type { Writes } from './rollup';

/** Where ingestion writes (implemented in repositories/). */
export interface IngestStore {
  /**
   * In one transaction: records the ids of `facts` never recorded before, writes the facts of those
   * fresh events only (folded by `buildWrites`), and commits. Either all of it is committed or none
   * of it is, so a redelivered event is counted exactly once. Returns the fresh ids and what was
   * written. `facts` holds each event id once.
   */
  commit(facts: readonly Facts[]): Promise<{ fresh: ReadonlySet<string>; writes: Writes }>;
}
