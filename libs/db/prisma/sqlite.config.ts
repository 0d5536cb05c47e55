// Prisma CLI config for the SQLite variant of every service's schema (used by scripts/codeagent-db.ts).
// `engine: "js"` plus a driver adapter is what lets Prisma 6.19 generate and diff offline: without it
// the CLI downloads a Rust schema engine. The adapter is only a factory; diffing two datamodels never
// connects, so an in-memory database is enough.
import { PrismaBetterSQLite3 } from '@prisma/adapter-better-sqlite3';
import { defineConfig } from 'prisma/config';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  // The schema file, given by codeagent-db.ts: the CLI reads it before anything else to decide which
  // engines it needs (with engineType "client": none). A --schema flag alone is read too late for that.
  schema: process.env.CODEAGENT_DB_SCHEMA,
  adapter: async () => new PrismaBetterSQLite3({ url: ':memory:' }),
});
