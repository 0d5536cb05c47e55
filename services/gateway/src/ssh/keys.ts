import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@codeagent/contracts';
import { utils, type ParsedKey } from 'ssh2';
import type { Db } from '../repositories/database';

/** A user's SSH public key as the API shows it. */
export interface SshKeyRecord {
  id: string;
  name: string;
  publicKey: string;
  /** `SHA256:...`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  createdAt: string;
}

/** Where SSH public keys live: the database in team mode, `~/.codeagent/authorized_keys` in local mode. */
export interface SshKeyStore {
  add(userId: string, key: { name: string; publicKey: string }): Promise<SshKeyRecord>;
  list(userId: string): Promise<SshKeyRecord[]>;
  /** false when the user has no such key. */
  remove(userId: string, keyId: string): Promise<boolean>;
  /** The owner of a key offered by a client, found by its fingerprint. */
  ownerOf(fingerprint: string): Promise<{ userId: string; key: ParsedKey } | undefined>;
}

/** Parses one OpenSSH public key line; a private key, a certificate or garbage is a VALIDATION_FAILED. */
export function parsePublicKey(line: string): { key: ParsedKey; fingerprint: string; normalized: string } {
  const parsed = utils.parseKey(line.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || key.isPrivateKey()) {
    throw new AppError('VALIDATION_FAILED', `publicKey is not an OpenSSH public key line (e.g. "ssh-ed25519 AAAA... name")${key instanceof Error ? `: ${key.message}` : ''}`);
  }
  const blob = key.getPublicSSH();
  return { key, fingerprint: fingerprintOf(blob), normalized: `${key.type} ${blob.toString('base64')}` };
}

/** `SHA256:<base64 without padding>` of the key's wire form. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Local mode: an authorized_keys file (one key a line, its comment is the key's name), read on every
 * connection so a key added by hand counts at once. Every key is the local user's.
 */
export class FileSshKeys implements SshKeyStore {
  constructor(private readonly file: string) {}

  async add(_userId: string, k: { name: string; publicKey: string }): Promise<SshKeyRecord> {
    const p = parsePublicKey(k.publicKey);
    const all = await this.read();
    if (all.some((r) => r.fingerprint === p.fingerprint)) throw new AppError('CONFLICT', `this key (${p.fingerprint}) is already registered`);
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const lines = (await readFile(this.file, 'utf8').catch(() => '')).replace(/\n*$/, '\n').replace(/^\n$/, '');
    await writeFile(this.file, `${lines}${p.normalized} ${k.name}\n`, { mode: 0o600 });
    return (await this.read()).find((r) => r.fingerprint === p.fingerprint)!;
  }

  async list(): Promise<SshKeyRecord[]> {
    return (await this.read()).map(({ key: _k, ...r }) => r);
  }

  async remove(_userId: string, keyId: string): Promise<boolean> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    const kept = text.split('\n').filter((line) => line.trim() === '' || line.trim().startsWith('#') || idOf(line) !== keyId);
    if (kept.length === text.split('\n').length) return false;
    await writeFile(this.file, kept.join('\n'), { mode: 0o600 });
    return true;
  }

  async ownerOf(fingerprint: string) {
    const found = (await this.read()).find((r) => r.fingerprint === fingerprint);
    return found ? { userId: 'local', key: found.key } : undefined;
  }

  private async read(): Promise<(SshKeyRecord & { key: ParsedKey })[]> {
    const text = await readFile(this.file, 'utf8').catch(() => '');
    const out: (SshKeyRecord & { key: ParsedKey })[] = [];
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      try {
        const p = parsePublicKey(t);
        const name = t.split(/\s+/).slice(2).join(' ') || p.fingerprint;
        out.push({ id: idOf(t), name, publicKey: p.normalized, fingerprint: p.fingerprint, createdAt: new Date(0).toISOString(), key: p.key });
      } catch {
        // Options before the key type (from="...") or other key kinds are not ours to use: skipped.
      }
    }
    return out;
  }
}

/** A file key's id: from its fingerprint, so it is stable across reads. */
function idOf(line: string): string {
  try {
    return `key_${createHash('sha256').update(parsePublicKey(line).fingerprint).digest('hex').slice(0, 16)}`;
  } catch {
    return '';
  }
}

/** Team mode: the gateway database's ssh_keys table (one key, by fingerprint, belongs to one user). */
export class DbSshKeys implements SshKeyStore {
  constructor(private readonly db: Db) {}

  async add(userId: string, k: { name: string; publicKey: string }): Promise<SshKeyRecord> {
    const p = parsePublicKey(k.publicKey);
    if (await this.db.sshKey.findUnique({ where: { fingerprint: p.fingerprint } })) throw new AppError('CONFLICT', `this key (${p.fingerprint}) is already registered`);
    const row = await this.db.sshKey.create({ data: { id: `key_${randomBytes(8).toString('hex')}`, userId, name: k.name, publicKey: p.normalized, fingerprint: p.fingerprint } });
    return view(row);
  }

  async list(userId: string): Promise<SshKeyRecord[]> {
    return (await this.db.sshKey.findMany({ where: { userId }, orderBy: { createdAt: 'asc' } })).map(view);
  }

  async remove(userId: string, keyId: string): Promise<boolean> {
    return (await this.db.sshKey.deleteMany({ where: { id: keyId, userId } })).count > 0;
  }

  async ownerOf(fingerprint: string) {
    const row = await this.db.sshKey.findUnique({ where: { fingerprint } });
    return row ? { userId: row.userId, key: parsePublicKey(row.publicKey).key } : undefined;
  }
}

function view(r: { id: string; name: string; publicKey: string; fingerprint: string; createdAt: Date }): SshKeyRecord {
  return { id: r.id, name: r.name, publicKey: r.publicKey, fingerprint: r.fingerprint, createdAt: r.createdAt.toISOString() };
}
