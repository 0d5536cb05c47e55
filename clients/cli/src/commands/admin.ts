import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors';
import { withSpinner } from '../output';
import type { Ctx } from '../context';

type Run = (fn: (ctx: Ctx, ...args: any[]) => Promise<void>) => (...args: any[]) => Promise<void>;

/** Loaded when an admin command runs: the database drivers would slow every other command's start. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily on purpose
const backups = () => require('../admin/backup') as typeof import('../admin/backup');

interface DataOptions {
  dataDir?: string;
  databaseUrl?: string;
}

const dataOptions = (c: Command) =>
  c
    .option('--data-dir <dir>', "the services' DATA_DIR (default: DATA_DIR, else ./data)")
    .option('--database-url <url>', "the services' DATABASE_URL (default: DATABASE_URL; unset: the SQLite files under the data folder)");

/**
 * `codeagent admin ...`: operations on the platform's data, run where the data is (the machine or the
 * container with the services' DATA_DIR and DATABASE_URL), not through the gateway. See
 * docs/operations.md for the runbook.
 */
export function adminCommands(program: Command, run: Run): void {
  const admin = program.command('admin').description("operate the platform's data where it lives (backups); see docs/operations.md");

  dataOptions(
    admin
      .command('backup <dir>')
      .description("copy every service's database (consistent while the platform runs), the secrets and the workspace snapshots into a new folder")
      .option('--no-workspace-snapshots', "leave the workspace snapshots' contents out (their index, in the workspace database, is always in)"),
  ).action(
    run(async (ctx, dir: string, o: DataOptions & { workspaceSnapshots: boolean }) => {
      const { locate, takeBackup } = backups();
      const where = locate(process.env, o);
      const manifest = await withSpinner(ctx.out, 'backing up', () => takeBackup(dir, where, { workspaceSnapshots: o.workspaceSnapshots })).catch((err: Error) => {
        throw new CliError(`backup failed: ${err.message}`, ExitCode.error);
      });
      ctx.out.result(manifest, () => {
        ctx.out.line(`Backup in ${dir} (${manifest.database}, ${manifest.takenAt}):`);
        ctx.out.table(
          ['service', 'rows', 'file'],
          Object.entries(manifest.databases).map(([s, d]) => ('file' in d ? [s, Object.values(d.tables).reduce((a, b) => a + b, 0), d.file] : [s, '', d.absent])),
        );
        ctx.out.line(`secrets: ${manifest.secrets.join(', ') || '(none found)'}`);
        if (manifest.workspaceSnapshots) ctx.out.line(`workspace snapshots: ${manifest.workspaceSnapshots.manifests} manifests, ${manifest.workspaceSnapshots.blobs} blobs`);
        for (const n of manifest.notes) ctx.out.line(`note: ${n}`);
      });
    }),
  );

  dataOptions(
    admin
      .command('restore <dir>')
      .description('restore a backup (or a daily database snapshot folder) into the data folder and database; stop the platform first')
      .option('--force', 'replace databases and secrets that already hold something (a replaced SQLite file is kept beside the new one)'),
  ).action(
    run(async (ctx, dir: string, o: DataOptions & { force?: boolean }) => {
      const { locate, restoreBackup } = backups();
      const where = locate(process.env, o);
      const report = await withSpinner(ctx.out, 'restoring', () => restoreBackup(dir, where, { force: Boolean(o.force) })).catch((err: Error) => {
        // Refused because something is already there (the message says how to replace it): a conflict.
        throw new CliError(`restore failed: ${err.message}`, /--force/.test(err.message) ? ExitCode.conflict : ExitCode.error);
      });
      ctx.out.result(report, () => {
        ctx.out.line(`Restored ${dir} into ${where.dataDir}${where.databaseUrl ? ' and DATABASE_URL' : ''}:`);
        ctx.out.table(
          ['service', 'rows'],
          Object.entries(report.databases).map(([s, t]) => [s, Object.values(t).reduce((a, b) => a + b, 0)]),
        );
        ctx.out.line(`secrets: ${report.secrets.join(', ') || '(none restored)'}`);
        if (report.workspaceSnapshots) ctx.out.line(`workspace snapshots: ${report.workspaceSnapshots.manifests} manifests, ${report.workspaceSnapshots.blobs} blobs`);
        for (const n of report.notes) ctx.out.line(`note: ${n}`);
        ctx.out.line('Start the platform: each service applies any newer migrations at start.');
      });
    }),
  );
}
