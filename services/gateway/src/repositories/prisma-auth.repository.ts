import { isUniqueViolation } from '@codeagent/db';
import { randomUUID } from 'node:crypto';
import { AppError } from '@codeagent/contracts';
import type { ApiKeyRecord, AuthRepository, RefreshTokenRecord, Role, UserRecord } from './auth.repository';
import { type Db } from './database';

type UserRow = Awaited<ReturnType<Db['user']['findUniqueOrThrow']>>;
type KeyRow = Awaited<ReturnType<Db['apiKey']['findUniqueOrThrow']>>;

const toUser = (r: UserRow): UserRecord => ({
  id: r.id,
  name: r.name,
  role: r.role as Role,
  ...(r.passwordHash ? { passwordHash: r.passwordHash } : {}),
  ...(r.allowOpenNetwork ? { allowOpenNetwork: true } : {}),
  createdAt: r.createdAt.toISOString(),
});

const toKey = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  userId: r.userId,
  label: r.label,
  hash: r.hash,
  createdAt: r.createdAt.toISOString(),
  ...(r.revokedAt ? { revokedAt: r.revokedAt.toISOString() } : {}),
});

const nameTaken = (name: string) => new AppError('CONFLICT', `a user named "${name}" already exists`);

/** Users and API keys in the gateway's database (SQLite or PostgreSQL, libs/db). */
export class PrismaAuthRepository implements AuthRepository {
  constructor(private readonly db: Db) {}

  async createUser(user: Omit<UserRecord, 'id' | 'createdAt'>): Promise<UserRecord> {
    return this.insertUser({ ...user, id: `usr_${randomUUID().replace(/-/g, '').slice(0, 16)}`, createdAt: new Date().toISOString() });
  }

  /** A user with its id and creation time kept (the import from the JSON file). */
  async insertUser(u: UserRecord): Promise<UserRecord> {
    try {
      const row = await this.db.user.create({
        data: { id: u.id, name: u.name, nameKey: u.name.toLowerCase(), role: u.role, passwordHash: u.passwordHash ?? null, allowOpenNetwork: u.allowOpenNetwork ?? false, createdAt: new Date(u.createdAt) },
      });
      return toUser(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(u.name);
      throw err;
    }
  }

  async findUserById(id: string) {
    const row = await this.db.user.findUnique({ where: { id } });
    return row ? toUser(row) : undefined;
  }

  async findUserByName(name: string) {
    const row = await this.db.user.findUnique({ where: { nameKey: name.toLowerCase() } });
    return row ? toUser(row) : undefined;
  }

  async listUsers() {
    return (await this.db.user.findMany({ orderBy: { createdAt: 'asc' } })).map(toUser);
  }

  async updateUser(id: string, patch: Pick<UserRecord, 'allowOpenNetwork'>): Promise<UserRecord | undefined> {
    const { count } = await this.db.user.updateMany({ where: { id }, data: { allowOpenNetwork: patch.allowOpenNetwork ?? false } });
    return count ? this.findUserById(id) : undefined;
  }

  async createApiKey(key: Omit<ApiKeyRecord, 'createdAt'> & { createdAt?: string }): Promise<ApiKeyRecord> {
    const row = await this.db.apiKey.create({
      data: { id: key.id, userId: key.userId, label: key.label, hash: key.hash, createdAt: key.createdAt ? new Date(key.createdAt) : new Date(), revokedAt: key.revokedAt ? new Date(key.revokedAt) : null },
    });
    return toKey(row);
  }

  async findApiKey(id: string) {
    const row = await this.db.apiKey.findUnique({ where: { id } });
    return row ? toKey(row) : undefined;
  }

  async listApiKeys(userId?: string) {
    return (await this.db.apiKey.findMany({ where: userId ? { userId } : {}, orderBy: { createdAt: 'asc' } })).map(toKey);
  }

  async revokeApiKey(id: string) {
    const { count } = await this.db.apiKey.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: new Date() } });
    return count > 0;
  }

  readonly refreshTokens = {
    save: async (t: RefreshTokenRecord): Promise<void> => {
      await this.db.refreshToken.create({ data: { id: t.id, userId: t.userId, hash: t.hash, expiresAt: t.expiresAt } });
      // Expired ones are of no use to anyone: dropped as new ones come (bounded work, no timer).
      await this.db.refreshToken.deleteMany({ where: { userId: t.userId, expiresAt: { lt: new Date() } } });
    },
    use: async (id: string, hash: string): Promise<boolean> => {
      const { count } = await this.db.refreshToken.updateMany({ where: { id, hash, revokedAt: null, expiresAt: { gt: new Date() } }, data: { revokedAt: new Date() } });
      return count === 1;
    },
  };

  /** How many users there are (the import runs only into an empty store). */
  countUsers(): Promise<number> {
    return this.db.user.count();
  }
}
