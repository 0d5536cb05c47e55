/**
 * Users and API keys: the only data the gateway owns. Domain code depends on this interface; the file
 * store below backs it until the Prisma pattern of libs/db is wired in (same interface).
 */
export type Role = 'admin' | 'member';

export interface UserRecord {
  id: string;
  /** Unique, case-insensitive login name. */
  name: string;
  role: Role;
  /** scrypt hash (`scrypt$N$salt$hash`), absent for users who sign in with API keys only. */
  passwordHash?: string;
  /** An admin let this member use network `open` in their sessions (admins need no grant). */
  allowOpenNetwork?: boolean;
  createdAt: string;
}

export interface ApiKeyRecord {
  /** Public part of the key (`ca_<id>_<secret>`), used to find it. */
  id: string;
  userId: string;
  /** What it is for, for people. */
  label: string;
  /** sha256 of the whole key; the key itself is never stored. */
  hash: string;
  createdAt: string;
  revokedAt?: string;
}

/** A refresh token as stored: only its id (`jti`) and the sha256 of the token. */
export interface RefreshTokenRecord {
  id: string;
  userId: string;
  hash: string;
  expiresAt: Date;
}

export interface AuthRepository {
  /** Throws AppError CONFLICT when the name is taken. */
  createUser(user: Omit<UserRecord, 'id' | 'createdAt'>): Promise<UserRecord>;
  findUserById(id: string): Promise<UserRecord | undefined>;
  findUserByName(name: string): Promise<UserRecord | undefined>;
  listUsers(): Promise<UserRecord[]>;
  /** Changes a user's grants; undefined when there is no such user. */
  updateUser(id: string, patch: Pick<UserRecord, 'allowOpenNetwork'>): Promise<UserRecord | undefined>;
  createApiKey(key: Omit<ApiKeyRecord, 'createdAt'>): Promise<ApiKeyRecord>;
  findApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(userId?: string): Promise<ApiKeyRecord[]>;
  /** Returns whether a key was revoked. */
  revokeApiKey(id: string): Promise<boolean>;
  /**
   * Refresh tokens, where the store keeps them (the database does; the old JSON file did not): each is
   * usable once (rotation), so a stolen one that was used is refused.
   */
  refreshTokens?: {
    save(t: RefreshTokenRecord): Promise<void>;
    /** Marks it used; true only for a stored, unused, unexpired token of that hash (atomically: one winner). */
    use(id: string, hash: string): Promise<boolean>;
  };
}
