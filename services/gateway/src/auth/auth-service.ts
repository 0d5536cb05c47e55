import { AppError } from '@codeagent/contracts';
import { createHash, randomBytes } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';
import type { AuthRepository, Role, UserRecord } from '../repositories/auth.repository';
import { apiKeyMatches, hashPassword, newApiKey, parseApiKey, verifyPassword } from './credentials';
import type { Principal } from './principal';

export interface TokenPair {
  tokenType: 'Bearer';
  accessToken: string;
  /** Seconds the access token lives. */
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

export type Grant =
  | { grantType: 'password'; username: string; password: string }
  | { grantType: 'api_key'; apiKey: string }
  | { grantType: 'refresh_token'; refreshToken: string };

interface Claims {
  sub: string;
  role: Role;
  /** The user's grant of network `open` (re-read from the store on refresh, like the role). */
  aon?: boolean;
  typ: 'access' | 'refresh';
  /** A refresh token's id, stored (hashed) where the store keeps refresh tokens: each is used once. */
  jti?: string;
  /** Expiry, seconds since the epoch (set by the signer). */
  exp?: number;
}

const refused = (why: string) => new AppError('UNAUTHENTICATED', why);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Who a bearer token belongs to (API key or JWT), and how tokens are issued. The role is re-read from
 * the store when a refresh token is used, so a demotion takes effect within one access-token lifetime.
 */
export class AuthService {
  private readonly signAccess: (claims: Claims) => string;
  private readonly signRefresh: (claims: Claims) => string;
  private readonly verify: (token: string) => Claims;

  constructor(
    private readonly repo: AuthRepository,
    private readonly opts: { jwtSecret: string; accessTtlS: number; refreshTtlS: number },
  ) {
    this.signAccess = createSigner({ key: opts.jwtSecret, algorithm: 'HS256', expiresIn: opts.accessTtlS * 1000, iss: 'codeagent-gateway' }) as never;
    this.signRefresh = createSigner({ key: opts.jwtSecret, algorithm: 'HS256', expiresIn: opts.refreshTtlS * 1000, iss: 'codeagent-gateway' }) as never;
    this.verify = createVerifier({ key: opts.jwtSecret, algorithms: ['HS256'], allowedIss: 'codeagent-gateway', cache: 1000 }) as never;
  }

  /** The principal of an `Authorization` header value; UNAUTHENTICATED with the reason otherwise. */
  async authenticate(header: string | undefined): Promise<Principal> {
    if (!header) throw refused('missing Authorization header: send "Authorization: Bearer <API key or token>"');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw refused('the Authorization header must be "Bearer <API key or token>"');
    return this.authenticateToken(m[1]!);
  }

  async authenticateToken(token: string): Promise<Principal> {
    if (token.startsWith('ca_')) {
      const user = await this.userOfApiKey(token);
      return { userId: user.id, role: user.role, via: 'api-key', ...(user.allowOpenNetwork ? { allowOpenNetwork: true } : {}) };
    }
    const claims = this.claims(token);
    if (claims.typ !== 'access') throw refused('a refresh token cannot be used as an access token; exchange it at POST /api/v1/auth/token');
    return { userId: claims.sub, role: claims.role, via: 'jwt', ...(claims.aon ? { allowOpenNetwork: true } : {}) };
  }

  /**
   * When the credentials of an `Authorization` header that authenticate() accepted stop being valid,
   * ms since the epoch: a JWT's expiry; undefined for API keys (valid until revoked).
   */
  expiresAt(header: string): number | undefined {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (!token || token.startsWith('ca_')) return undefined;
    const exp = this.claims(token).exp;
    return exp === undefined ? undefined : exp * 1000;
  }

  async issue(grant: Grant): Promise<TokenPair> {
    let user: UserRecord | undefined;
    if (grant.grantType === 'password') {
      user = await this.repo.findUserByName(grant.username);
      // Same answer for an unknown user and a wrong password: no user enumeration.
      if (!user?.passwordHash || !(await verifyPassword(grant.password, user.passwordHash))) throw refused('wrong user name or password');
    } else if (grant.grantType === 'api_key') {
      user = await this.userOfApiKey(grant.apiKey);
    } else {
      const claims = this.claims(grant.refreshToken);
      if (claims.typ !== 'refresh') throw refused('not a refresh token');
      // Tokens signed before the store kept them carry no jti: accepted until they expire, as they were.
      if (claims.jti && this.repo.refreshTokens && !(await this.repo.refreshTokens.use(claims.jti, sha256(grant.refreshToken)))) {
        throw refused('this refresh token was already used or revoked: sign in again');
      }
      user = await this.repo.findUserById(claims.sub);
      if (!user) throw refused('the user of this refresh token no longer exists');
    }
    const claims = { sub: user.id, role: user.role, ...(user.allowOpenNetwork ? { aon: true } : {}) };
    const jti = this.repo.refreshTokens ? randomBytes(16).toString('hex') : undefined;
    const refreshToken = this.signRefresh({ ...claims, typ: 'refresh', ...(jti ? { jti } : {}) });
    if (jti) await this.repo.refreshTokens!.save({ id: jti, userId: user.id, hash: sha256(refreshToken), expiresAt: new Date(Date.now() + this.opts.refreshTtlS * 1000) });
    return {
      tokenType: 'Bearer',
      accessToken: this.signAccess({ ...claims, typ: 'access' }),
      expiresIn: this.opts.accessTtlS,
      refreshToken,
      refreshExpiresIn: this.opts.refreshTtlS,
    };
  }

  async createUser(input: { name: string; role: Role; password?: string }): Promise<UserRecord> {
    const passwordHash = input.password ? await hashPassword(input.password) : undefined;
    return this.repo.createUser({ name: input.name, role: input.role, ...(passwordHash ? { passwordHash } : {}) });
  }

  /** Returns the key itself once; only its hash is kept. */
  async createApiKey(userId: string, label: string): Promise<{ id: string; key: string; userId: string; label: string; createdAt: string }> {
    if (!(await this.repo.findUserById(userId))) throw new AppError('NOT_FOUND', `no user ${userId}`);
    const k = newApiKey();
    const rec = await this.repo.createApiKey({ id: k.id, userId, label, hash: k.hash });
    return { id: rec.id, key: k.key, userId, label, createdAt: rec.createdAt };
  }

  /** An admin's per-user grants; a change reaches JWTs at their next refresh, API keys at once. */
  async setGrants(userId: string, grants: { allowOpenNetwork: boolean }): Promise<UserRecord> {
    const user = await this.repo.updateUser(userId, { allowOpenNetwork: grants.allowOpenNetwork });
    if (!user) throw new AppError('NOT_FOUND', `no user ${userId}`);
    return user;
  }

  listUsers(): Promise<UserRecord[]> {
    return this.repo.listUsers();
  }

  listApiKeys(userId: string) {
    return this.repo.listApiKeys(userId);
  }

  /** Revokes a key of `who` (any key for an admin); NOT_FOUND for another member's key, so ids are not probed. */
  async revokeApiKey(keyId: string, who: Principal): Promise<boolean> {
    const key = await this.repo.findApiKey(keyId);
    if (!key || (key.userId !== who.userId && who.role !== 'admin')) throw new AppError('NOT_FOUND', `no API key ${keyId}`);
    return this.repo.revokeApiKey(keyId);
  }

  private async userOfApiKey(key: string): Promise<UserRecord> {
    const parsed = parseApiKey(key);
    if (!parsed) throw refused('malformed API key');
    const rec = await this.repo.findApiKey(parsed.id);
    if (!rec || !apiKeyMatches(key, rec.hash)) throw refused('unknown API key');
    if (rec.revokedAt) throw refused('this API key was revoked');
    const user = await this.repo.findUserById(rec.userId);
    if (!user) throw refused('the user of this API key no longer exists');
    return user;
  }

  private claims(token: string): Claims {
    try {
      return this.verify(token);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw refused(code === 'FAST_JWT_EXPIRED' ? 'the token has expired; refresh it at POST /api/v1/auth/token' : 'invalid token');
    }
  }
}
