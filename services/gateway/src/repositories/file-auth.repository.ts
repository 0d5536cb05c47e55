import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '@codeagent/contracts';
import type { ApiKeyRecord, AuthRepository, UserRecord } from './auth.repository';

interface Store {
  users: UserRecord[];
  apiKeys: ApiKeyRecord[];
}

/**
 * A JSON file (mode 0600) holding users and hashed API keys. Re-read when its mtime changes, so users
 * and keys made by the admin CLI in another process are seen by a running gateway. Writes go through a
 * temporary file and a rename, so a reader never sees half a file. Stopgap until libs/db (Prisma).
 */
export class FileAuthRepository implements AuthRepository {
  private store: Store = { users: [], apiKeys: [] };
  private mtimeMs = -1;

  constructor(private readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  private load(): Store {
    let mtime: number;
    try {
      mtime = statSync(this.file).mtimeMs;
    } catch {
      return this.store; // no file yet: empty store
    }
    if (mtime !== this.mtimeMs) {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<Store>;
      this.store = { users: parsed.users ?? [], apiKeys: parsed.apiKeys ?? [] };
      this.mtimeMs = mtime;
    }
    return this.store;
  }

  private save(store: Store): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(store, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
    this.store = store;
    this.mtimeMs = statSync(this.file).mtimeMs;
  }

  async createUser(user: Omit<UserRecord, 'id' | 'createdAt'>): Promise<UserRecord> {
    const store = this.load();
    if (store.users.some((u) => u.name.toLowerCase() === user.name.toLowerCase())) {
      throw new AppError('CONFLICT', `a user named "${user.name}" already exists`);
    }
    const record: UserRecord = { ...user, id: `usr_${randomUUID().replace(/-/g, '').slice(0, 16)}`, createdAt: new Date().toISOString() };
    this.save({ ...store, users: [...store.users, record] });
    return record;
  }

  async findUserById(id: string) {
    return this.load().users.find((u) => u.id === id);
  }

  async findUserByName(name: string) {
    return this.load().users.find((u) => u.name.toLowerCase() === name.toLowerCase());
  }

  async listUsers() {
    return [...this.load().users];
  }

  async updateUser(id: string, patch: Pick<UserRecord, 'allowOpenNetwork'>): Promise<UserRecord | undefined> {
    const store = this.load();
    const user = store.users.find((u) => u.id === id);
    if (!user) return undefined;
    const next: UserRecord = { ...user, ...patch };
    if (!next.allowOpenNetwork) delete next.allowOpenNetwork;
    this.save({ ...store, users: store.users.map((u) => (u.id === id ? next : u)) });
    return next;
  }

  async createApiKey(key: Omit<ApiKeyRecord, 'createdAt'>): Promise<ApiKeyRecord> {
    const store = this.load();
    const record: ApiKeyRecord = { ...key, createdAt: new Date().toISOString() };
    this.save({ ...store, apiKeys: [...store.apiKeys, record] });
    return record;
  }

  async findApiKey(id: string) {
    return this.load().apiKeys.find((k) => k.id === id);
  }

  async listApiKeys(userId?: string) {
    return this.load().apiKeys.filter((k) => !userId || k.userId === userId);
  }

  async revokeApiKey(id: string) {
    const store = this.load();
    const key = store.apiKeys.find((k) => k.id === id && !k.revokedAt);
    if (!key) return false;
    this.save({ ...store, apiKeys: store.apiKeys.map((k) => (k.id === id ? { ...k, revokedAt: new Date().toISOString() } : k)) });
    return true;
  }
}
