/**
 * Admin CLI for team mode: users and API keys, written straight into the gateway's store (the same
 * file a running gateway reads, so no restart is needed).
 *
 *   tsx services/gateway/src/admin.ts create-user <name> [--role admin|member] [--password <pw>]
 *   tsx services/gateway/src/admin.ts create-key <user name or id> [--label <text>]
 *   tsx services/gateway/src/admin.ts list-users
 *   tsx services/gateway/src/admin.ts revoke-key <key id>
 */
import { parseArgs } from 'node:util';
import { AppError } from '@codeagent/contracts';
import { AuthService } from './auth/auth-service';
import { loadServiceEnv } from './env';
import { openAuthStore } from './repositories/auth-store';
import { authFile } from './service';

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { role: { type: 'string', default: 'member' }, password: { type: 'string' }, label: { type: 'string', default: 'cli' } },
  });
  const [cmd, arg] = positionals;
  // Neither secret is used: the CLI issues no tokens and never touches the bus.
  const env = loadServiceEnv({
    ...process.env,
    GATEWAY_JWT_SECRET: process.env.GATEWAY_JWT_SECRET ?? 'x'.repeat(32),
    CODEAGENT_BUS_SECRET: process.env.CODEAGENT_BUS_SECRET || 'x'.repeat(32),
    GATEWAY_AUTH_MODE: 'local',
  });
  const store = await openAuthStore({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR, authFile: authFile(env) });
  const repo = store.repo;
  // The secret only signs tokens, which the CLI never issues.
  const auth = new AuthService(repo, { jwtSecret: 'cli-does-not-sign-tokens-0000000000', accessTtlS: 60, refreshTtlS: 60 });
  try {
    switch (cmd) {
      case 'create-user': {
        if (!arg) throw new Error('usage: create-user <name> [--role admin|member] [--password <pw>]');
        if (values.role !== 'admin' && values.role !== 'member') throw new Error('--role must be admin or member');
        const u = await auth.createUser({ name: arg, role: values.role, password: values.password });
        const key = await auth.createApiKey(u.id, values.label ?? 'cli');
        console.log(JSON.stringify({ user: { id: u.id, name: u.name, role: u.role }, apiKey: key.key, note: 'the key is shown once; only its hash is stored' }, null, 2));
        return;
      }
      case 'create-key': {
        if (!arg) throw new Error('usage: create-key <user name or id> [--label <text>]');
        const u = (await repo.findUserById(arg)) ?? (await repo.findUserByName(arg));
        if (!u) throw new Error(`no user ${arg}`);
        const key = await auth.createApiKey(u.id, values.label ?? 'cli');
        console.log(JSON.stringify({ userId: u.id, keyId: key.id, apiKey: key.key }, null, 2));
        return;
      }
      case 'list-users': {
        const keys = await repo.listApiKeys();
        for (const u of await repo.listUsers()) {
          console.log(`${u.id}\t${u.name}\t${u.role}\tkeys: ${keys.filter((k) => k.userId === u.id && !k.revokedAt).map((k) => k.id).join(', ') || '-'}`);
        }
        return;
      }
      case 'revoke-key': {
        if (!arg) throw new Error('usage: revoke-key <key id>');
        console.log((await repo.revokeApiKey(arg)) ? `revoked ${arg}` : `no active key ${arg}`);
        return;
      }
      default:
        throw new Error('commands: create-user, create-key, list-users, revoke-key (see the top of services/gateway/src/admin.ts)');
    }
  } finally {
    await store.close();
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(err instanceof AppError ? `${err.code}: ${err.message}` : err.message);
  process.exit(1);
});
