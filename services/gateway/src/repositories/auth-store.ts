import { isUniqueViolation } from '@codeagent/db';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { DatabaseSnapshotPolicy } from '@codeagent/db';
import type { Logger } from '@codeagent/telemetry';
import type { ApiKeyRecord, UserRecord } from './auth.repository';
import { openGatewayDatabase, type Db, type GatewayDatabase } from './database';
import { PrismaAuthRepository } from './prisma-auth.repository';

export interface AuthStore {
  repo: PrismaAuthRepository;
  db: GatewayDatabase;
  close(): Promise<void>;
}

/**
 * Opens the gateway's database (migrated) and, on the first start after the upgrade, imports the JSON
 * file that held users and API keys before (every field, ids and hashes as they were, so existing API
 * keys and JWTs keep working). The file is then renamed `<file>.imported` and kept, never deleted.
 */
export async function openAuthStore(opts: { databaseUrl?: string; dataDir: string; authFile: string; log?: Logger; snapshots?: DatabaseSnapshotPolicy }): Promise<AuthStore> {
  const db = await openGatewayDatabase(opts);
  const repo = new PrismaAuthRepository(db.client);
  try {
    await importAuthFile(db.client, repo, opts.authFile, opts.log);
  } catch (err) {
    await db.close();
    throw err;
  }
  return { repo, db, close: () => db.close() };
}

export interface ImportResult {
  users: number;
  apiKeys: number;
  /** Keys whose user is not in the file: nothing can use them; logged and left in the kept file. */
  orphanKeys: string[];
}

/** The import itself: into an empty store only, in one transaction, so a crash half-way leaves nothing. */
export async function importAuthFile(db: Db, repo: PrismaAuthRepository, file: string, log?: Logger): Promise<ImportResult | undefined> {
  if (!existsSync(file)) return undefined;
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { users?: UserRecord[]; apiKeys?: ApiKeyRecord[] };
  const users = parsed.users ?? [];
  const userIds = new Set(users.map((u) => u.id));
  const keys = (parsed.apiKeys ?? []).filter((k) => userIds.has(k.userId));
  const orphanKeys = (parsed.apiKeys ?? []).filter((k) => !userIds.has(k.userId)).map((k) => k.id);
  if ((await repo.countUsers()) > 0) {
    log?.warn({ file }, 'auth file left alone: the database already has users (imported before, or by another replica)');
    return undefined;
  }
  try {
    await db.$transaction(async (tx) => {
      const inTx = new PrismaAuthRepository(tx as Db);
      for (const u of users) await inTx.insertUser(u);
      for (const k of keys) await inTx.createApiKey(k);
    });
  } catch (err) {
    // Another replica imported the same file at the same moment: its copy stands.
    if (isUniqueViolation(err) && (await repo.countUsers()) > 0) return undefined;
    throw err;
  }
  renameSync(file, `${file}.imported`);
  const result = { users: users.length, apiKeys: keys.length, orphanKeys };
  log?.info({ file, ...result }, 'users and API keys imported from the auth file');
  return result;
}
