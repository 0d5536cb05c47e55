import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FileSshKeys, parsePublicKey } from './keys';

describe('local mode SSH keys: an authorized_keys file', () => {
  let dir: string;
  const pub = (name: string) => {
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path.join(dir, name)]);
    return readFileSync(path.join(dir, `${name}.pub`), 'utf8');
  };
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'ssh-keys-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adds, lists, finds and removes keys; the fingerprint is the one ssh-keygen prints', async () => {
    const file = path.join(dir, 'sub', 'authorized_keys');
    const store = new FileSshKeys(file);
    const a = await store.add('local', { name: 'laptop', publicKey: pub('a') });
    expect(a.fingerprint).toBe(spawnSync('ssh-keygen', ['-lf', path.join(dir, 'a.pub')], { encoding: 'utf8' }).stdout.split(' ')[1]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // A line added by hand counts too; comments and lines it cannot use are left alone.
    writeFileSync(file, `${readFileSync(file, 'utf8')}# a comment\nnot a key at all\n${pub('b').trim()}\n`);
    expect((await store.list()).map((k) => k.name)).toEqual(['laptop', 'b']);
    expect(await store.ownerOf(a.fingerprint)).toMatchObject({ userId: 'local' });
    await expect(store.add('local', { name: 'again', publicKey: readFileSync(path.join(dir, 'a.pub'), 'utf8') })).rejects.toMatchObject({ code: 'CONFLICT' });

    expect(await store.remove('local', a.id)).toBe(true);
    expect(await store.remove('local', a.id)).toBe(false);
    expect(await store.ownerOf(a.fingerprint)).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toContain('# a comment');
    expect((await store.list()).map((k) => k.name)).toEqual(['b']);
  });

  it('refuses what is not an OpenSSH public key line, a private key above all', () => {
    pub('c');
    expect(() => parsePublicKey('ssh-ed25519 AAAA-not-base64')).toThrow(/not an OpenSSH public key/);
    expect(() => parsePublicKey(readFileSync(path.join(dir, 'c'), 'utf8'))).toThrow(/not an OpenSSH public key/);
  });
});
