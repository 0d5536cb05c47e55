import { empty, join, raw, sqltag as sql, type Sql } from '@prisma/client/runtime/client';

export { empty, join, raw, sql, type Sql };

/**
 * The part of a generated PrismaClient the repository uses. Analytics writes and reads with raw SQL
 * on purpose: a batch is a few multi-row `INSERT ... ON CONFLICT` statements (one per table) instead of
 * thousands of upserts, and the same SQL runs on SQLite and PostgreSQL (both know ON CONFLICT,
 * RETURNING and `excluded`). The tables themselves are Prisma's (prisma/models, migrations).
 */
export interface SqlRunner {
  $queryRaw<T = unknown>(query: Sql): Promise<T>;
  $executeRaw(query: Sql): Promise<number>;
}
export interface SqlClient extends SqlRunner {
  $transaction<R>(fn: (tx: SqlRunner) => Promise<R>, options?: { maxWait?: number; timeout?: number }): Promise<R>;
}

/** A number from what a driver returns for SUM/COUNT: number, bigint, or a Decimal (PostgreSQL numeric). */
export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return Number(String(v));
}

/** Rows per statement: under SQLite's and PostgreSQL's limits on bound parameters. */
export const CHUNK = 400;

export function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
