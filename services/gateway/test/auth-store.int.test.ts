import { existsSync } from 'node:fs';
import path from 'node:path';
import { createTestDatabase, TEST_DATABASE_KINDS, type TestDatabase } from '@codeagent/testing';
import { AuthService } from '../src/auth/auth-service';
import { openAuthStore } from '../src/repositories/auth-store';
import { FileAuthRepository } from '../src/repositories/file-auth.repository';

// Users and API keys move from the JSON file to the gateway's database on the first start, field by
// field (ids, hashes, grants, revocations, times), so keys handed out before keep working; the file is
// kept beside as <file>.imported and never imported twice. On SQLite and PostgreSQL.
describe.each(TEST_DATABASE_KINDS)('the gateway auth store on %s', (kind) => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase(kind, `gw-auth-${kind}`);
  });
  afterAll(() => tdb.dispose());

  test('imports every user and key from the JSON file once, and the old keys still authenticate', async () => {
    const file = path.join(tdb.dataDir, 'gateway', 'auth.json');
    const fileAuth = new AuthService(new FileAuthRepository(file), { jwtSecret: 'j'.repeat(40), accessTtlS: 60, refreshTtlS: 600 });
    const root = await fileAuth.createUser({ name: 'Root', role: 'admin' });
    const mia = await fileAuth.createUser({ name: 'mia', role: 'member', password: 'correct horse battery' });
    const key = await fileAuth.createApiKey(mia.id, 'laptop');
    const old = await fileAuth.createApiKey(mia.id, 'old');
    const fileRepo = new FileAuthRepository(file);
    await fileRepo.updateUser(mia.id, { allowOpenNetwork: true });
    await fileRepo.revokeApiKey(old.id);
    const before = { users: await fileRepo.listUsers(), keys: await fileRepo.listApiKeys() };

    const store = await openAuthStore({ databaseUrl: tdb.url, dataDir: tdb.dataDir, authFile: file });
    try {
      expect(await store.repo.listUsers()).toEqual(before.users);
      expect(await store.repo.listApiKeys()).toEqual(before.keys);
      expect(before.users.find((u) => u.id === mia.id)).toMatchObject({ allowOpenNetwork: true, passwordHash: expect.stringMatching(/^scrypt\$/) });
      expect(existsSync(file)).toBe(false);
      expect(existsSync(`${file}.imported`)).toBe(true);

      const auth = new AuthService(store.repo, { jwtSecret: 'j'.repeat(40), accessTtlS: 60, refreshTtlS: 600 });
      expect(await auth.authenticate(`Bearer ${key.key}`)).toMatchObject({ userId: mia.id, role: 'member', allowOpenNetwork: true });
      await expect(auth.authenticate(`Bearer ${old.key}`)).rejects.toThrow();
      expect((await store.repo.findUserByName('ROOT'))?.id).toBe(root.id);
      await expect(store.repo.createUser({ name: 'MIA', role: 'member' })).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await store.repo.updateUser(mia.id, { allowOpenNetwork: false })).not.toHaveProperty('allowOpenNetwork');
      expect(await store.repo.revokeApiKey(key.id)).toBe(true);
      expect(await store.repo.revokeApiKey(key.id)).toBe(false);
    } finally {
      await store.close();
    }

    // A second start finds no file (and, were one put back, a store with users): nothing imported twice.
    const again = await openAuthStore({ databaseUrl: tdb.url, dataDir: tdb.dataDir, authFile: file });
    try {
      expect((await again.repo.listUsers()).map((u) => u.id)).toEqual(before.users.map((u) => u.id));
    } finally {
      await again.close();
    }
  });
});
