import { outputBytes, outputText } from '@codeagent/bus';
import type { SessionBusEventV1, SessionBusOutputDataV1, SessionEventV1 } from '@codeagent/contracts';
import type { EventsPage, EventsRepository } from '../sessions/ports';
import type { SqlRunner } from '@codeagent/db';
import type { Db } from './database';

/** Rows per INSERT: 6 values each, well under SQLite's 32,766 bound parameters. */
const ROWS_PER_INSERT = 500;

export class PrismaEventsRepository implements EventsRepository {
  /** `driver` writes the log (plain SQL: output text through Prisma's query compiler costs ~8x); Prisma reads it. */
  constructor(
    private readonly db: Db,
    private readonly driver: SqlRunner,
  ) {}

  async append(events: SessionBusEventV1[]): Promise<Array<{ sessionId: string; seq: number }>> {
    if (events.length === 0) return [];
    const rows = events.map((e) => ({ sessionId: e.sessionId, seq: e.seq, kind: e.kind, ...columns(e), at: new Date(e.at) }));
    const top = new Map<string, number>();
    for (const e of events) top.set(e.sessionId, Math.max(top.get(e.sessionId) ?? 0, e.seq));
    return this.driver.transaction(async (run) => {
      // A row stored already (a redelivery) is skipped; one stored with other content is reported
      // (a seq given twice), the first stored wins.
      const stored = new Set<string>();
      for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
        const part = rows.slice(i, i + ROWS_PER_INSERT);
        const inserted = await run(
          `INSERT INTO session_events ("sessionId", seq, kind, data, bytes, at) VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')} ` +
            'ON CONFLICT ("sessionId", seq) DO NOTHING RETURNING "sessionId", seq',
          part.flatMap((r) => [r.sessionId, r.seq, r.kind, r.data, r.bytes, r.at]),
        );
        for (const r of inserted) stored.add(`${r.sessionId}:${r.seq}`);
      }
      const clashes: Array<{ sessionId: string; seq: number }> = [];
      for (const r of rows) {
        if (stored.has(`${r.sessionId}:${r.seq}`)) continue;
        const [there] = await run('SELECT kind, data, bytes FROM session_events WHERE "sessionId" = ? AND seq = ?', [r.sessionId, r.seq]);
        if (there && (there.kind !== r.kind || there.data !== r.data || !sameBytes(there.bytes, r.bytes))) clashes.push({ sessionId: r.sessionId, seq: r.seq });
      }
      for (const [id, seq] of top) await run('UPDATE sessions SET "lastSeq" = ? WHERE id = ? AND "lastSeq" < ?', [seq, id, seq]);
      return clashes;
    });
  }

  async since(sessionId: string, since: number, limit: number, maxBytes = Number.MAX_SAFE_INTEGER): Promise<EventsPage> {
    // The page's sizes first (lengths, which neither engine reads the data for), so that a page of
    // large output events is cut at maxBytes before any of it is loaded.
    const sizes = await this.driver.run(
      'SELECT seq, LENGTH(data) + COALESCE(LENGTH(bytes), 0) AS size FROM session_events WHERE "sessionId" = ? AND seq > ? ORDER BY seq LIMIT ?',
      [sessionId, since, limit + 1],
    );
    let n = 0;
    for (let total = 0; n < Math.min(limit, sizes.length) && total < maxBytes; n++) total += Number(sizes[n]!.size);
    if (n === 0) return { events: [], hasMore: false };
    const rows = await this.db.sessionEvent.findMany({ where: { sessionId, seq: { gt: since, lte: Number(sizes[n - 1]!.seq) } }, orderBy: { seq: 'asc' } });
    // Rows are written only by append() from typed events (validated again when published or
    // replied), so they are read back as such rather than parsed once more on every replay.
    const events = rows.map((r) => ({ sessionId: r.sessionId, seq: r.seq, kind: r.kind, data: dataOf(r.data, r.bytes), at: r.at.toISOString() }) as SessionEventV1);
    return { events, hasMore: sizes.length > n };
  }

  async prune(opts: { olderThan?: Date; maxBytesPerSession?: number }): Promise<number> {
    let gone = 0;
    if (opts.olderThan) gone += (await this.db.sessionEvent.deleteMany({ where: { at: { lt: opts.olderThan } } })).count;
    const cap = opts.maxBytesPerSession ?? 0;
    if (cap > 0) {
      // Sessions over the cap, then for each the newest seq whose running total (newest first) passes
      // it: everything up to that seq goes. Plain SQL that SQLite and PostgreSQL both take.
      // `cap` is a whole number from the env (validated), inlined so both engines read the same text.
      const over = await this.db.$queryRawUnsafe<Array<{ sessionId: string }>>(
        `SELECT "sessionId" FROM session_events GROUP BY "sessionId" HAVING SUM(LENGTH(data) + COALESCE(LENGTH(bytes), 0)) > ${Math.floor(cap)}`,
      );
      for (const { sessionId } of over) {
        const rows = await this.db.sessionEvent.findMany({ where: { sessionId }, orderBy: { seq: 'desc' }, select: { seq: true, data: true, bytes: true } });
        let total = 0;
        const cut = rows.find((r) => (total += r.data.length + (r.bytes?.length ?? 0)) > cap);
        if (cut) gone += (await this.db.sessionEvent.deleteMany({ where: { sessionId, seq: { lte: cut.seq } } })).count;
      }
    }
    return gone;
  }

  async maxSeq(sessionId: string): Promise<number> {
    const r = await this.db.sessionEvent.aggregate({ where: { sessionId }, _max: { seq: true } });
    return r._max.seq ?? 0;
  }
}

/**
 * An event's columns: its data as JSON text, and an output event's bytes beside it (the bus brings
 * them as the jail read them): stored as they are, neither decoded nor escaped.
 */
function columns(e: SessionBusEventV1): { data: string; bytes: Buffer | null } {
  if (e.kind !== 'output' || typeof e.data.data === 'string') return { data: JSON.stringify(e.data ?? null), bytes: null };
  const { data: _bytes, encoding: _none, ...rest } = e.data;
  return { data: JSON.stringify(rest), bytes: outputBytes(e.data) };
}

/** A row's event data: an output event's bytes as text again (UTF-8, or base64 for bytes that are not), as replies carry it. */
function dataOf(json: string, bytes: Uint8Array | null): unknown {
  const data = JSON.parse(json) as unknown;
  return bytes ? outputText({ ...(data as SessionBusOutputDataV1), data: bytes }) : data;
}

function sameBytes(a: unknown, b: Buffer | null): boolean {
  if (a === null || a === undefined || b === null) return (a ?? null) === b;
  return a instanceof Uint8Array && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}
