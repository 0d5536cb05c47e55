// Prisma CLI config for the PostgreSQL variant (see sqlite.config.ts for why `engine: "js"`).
// `prisma generate` never connects. `prisma migrate diff` between two datamodels asks the server one
// read-only question (its version) before diffing, so authoring a PostgreSQL migration needs a
// reachable server: CODEAGENT_DB_CLI_URL, by default the local one the tests use. Nothing is written.
import { PrismaPg } from '@prisma/adapter-pg';
import { defineConfig } from 'prisma/config';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  // The schema file, given by codeagent-db.ts: the CLI reads it before anything else to decide which
  // engines it needs (with engineType "client": none). A --schema flag alone is read too late for that.
  schema: process.env.CODEAGENT_DB_SCHEMA,
  adapter: async () => new PrismaPg({ connectionString: process.env.CODEAGENT_DB_CLI_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres' }),
});
