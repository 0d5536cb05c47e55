import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;
type Rec = Record<string, any>;

/** A user named by id or by name (names need the admin's user list); absent: whoever the token is. */
async function userId(ctx: Ctx, idOrName?: string): Promise<string> {
  if (!idOrName) return String((await ctx.api.get<Rec>('/api/v1/auth/me')).userId);
  const { users } = await ctx.api.get<{ users: Rec[] }>('/api/v1/users');
  const u = users.find((x) => x.id === idOrName || x.name === idOrName);
  if (!u) throw new CliError(`no user "${idOrName}"`, ExitCode.notFound, 'see `codeagent users list`');
  return String(u.id);
}

const bool = (v: string) => {
  if (v !== 'true' && v !== 'false') throw new CliError(`"${v}" is not true or false`, ExitCode.usage);
  return v === 'true';
};

/** Users and API keys (team mode): admins manage everyone; a member manages their own keys. */
export function accountCommands(program: Command, run: Run): void {
  const users = program.command('users').description('users of a team-mode platform (admins)');
  users
    .command('list', { isDefault: true })
    .description('every user')
    .action(
      run(async (ctx) => {
        const { users: all } = await ctx.api.get<{ users: Rec[] }>('/api/v1/users');
        ctx.out.result(all, () => ctx.out.table(['id', 'name', 'role', 'open network', 'created'], all.map((u) => [u.id, u.name, u.role, u.allowOpenNetwork ? 'yes' : '', u.createdAt])));
      }),
    );
  users
    .command('add <name>')
    .description('create a user (sign-in by API key, or also by password)')
    .option('--role <role>', 'admin or member', 'member')
    .option('--password <password>', 'let them sign in with a password too (or set CODEAGENT_NEW_PASSWORD)')
    .action(
      run(async (ctx, name: string, o: { role: string; password?: string }) => {
        const password = o.password ?? process.env.CODEAGENT_NEW_PASSWORD;
        const u = await ctx.api.post<Rec>('/api/v1/users', { name, role: o.role, ...(password ? { password } : {}) });
        ctx.out.result(u, () => ctx.out.line(`User ${ctx.out.bold(String(u.name))} (${u.id}, ${u.role}) created. Give them a key: codeagent keys create --user ${u.name}`));
      }),
    );
  users
    .command('grant <user>')
    .description("change a member's grants")
    .requiredOption('--allow-open-network <true|false>', 'may ask for network "open" in their sessions', bool)
    .action(
      run(async (ctx, who: string, o: { allowOpenNetwork: boolean }) => {
        const u = await ctx.api.patch<Rec>(`/api/v1/users/${encodeURIComponent(await userId(ctx, who))}`, { allowOpenNetwork: o.allowOpenNetwork });
        ctx.out.result(u, () => ctx.out.line(`${u.name}: open network ${u.allowOpenNetwork ? 'allowed' : 'not allowed'}.`));
      }),
    );

  const keys = program.command('keys').description('API keys (yours; an admin: anyone’s)');
  keys
    .command('list', { isDefault: true })
    .description('API keys, without the keys themselves')
    .option('--user <user>', "another user's (admins)")
    .action(
      run(async (ctx, o: { user?: string }) => {
        const { apiKeys } = await ctx.api.get<{ apiKeys: Rec[] }>(`/api/v1/users/${encodeURIComponent(await userId(ctx, o.user))}/api-keys`);
        ctx.out.result(apiKeys, () => ctx.out.table(['id', 'label', 'created', 'revoked'], apiKeys.map((k) => [k.id, k.label, k.createdAt, k.revokedAt ?? ''])));
      }),
    );
  keys
    .command('create')
    .description('a new API key; it is shown once')
    .option('--user <user>', 'for another user (admins)')
    .option('--label <label>', 'what it is for')
    .action(
      run(async (ctx, o: { user?: string; label?: string }) => {
        const k = await ctx.api.post<Rec>(`/api/v1/users/${encodeURIComponent(await userId(ctx, o.user))}/api-keys`, o.label ? { label: o.label } : {});
        ctx.out.result(k, () => {
          ctx.out.line(String(k.key));
          ctx.out.err.write(`codeagent: key ${k.id} for ${k.userId}; it is not shown again\n`);
        });
      }),
    );
  keys
    .command('revoke <keyId>')
    .description('revoke an API key (its id: the 16 hex digits after ca_)')
    .action(
      run(async (ctx, keyId: string) => {
        const r = await ctx.api.delete<{ revoked: boolean }>(`/api/v1/api-keys/${encodeURIComponent(keyId)}`);
        if (!r.revoked) throw new CliError(`key ${keyId} was already revoked`, ExitCode.conflict);
        ctx.out.result(r, () => ctx.out.line(`Key ${keyId} revoked.`));
      }),
    );
}
