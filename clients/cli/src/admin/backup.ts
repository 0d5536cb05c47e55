import { chmod, chown, copyFile, cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeTarget, dumpDatabase, dumpFileName, readMigrations, resolveTarget, restoreDatabase, type DatabaseTarget, type TableCounts } from '@codeagent/db';

// `codeagent admin backup` and `restore`, run on the machine (or in a container) that holds the data:
// the same DATA_DIR, DATABASE_URL and folders the services are given. Nothing goes through the
// gateway or the bus: a restore must work while no service runs (a service holding its database open
// cannot have it replaced), and a backup should not push gigabytes of rows and snapshot blobs through
// RabbitMQ. Consistency comes from the databases themselves: each is copied in one read transaction
// (libs/db backup) while the services go on writing.

/** Services that own a database, in the order they are copied (see the runbook, docs/operations.md). */
export const DATABASE_SERVICES = ['gateway', 'orchestrator', 'workspace', 'analytics', 'project-ci'] as const;
const REPO_ROOT = path.resolve(__dirname, '../../../..');
const prismaDir = (service: string) => path.join(REPO_ROOT, 'services', service, 'prisma');

export const BACKUP_FORMAT = 'codeagent-backup/1';

/** Where the platform keeps what a backup holds, from the same variables the services read. */
export interface DataLocation {
  dataDir: string;
  databaseUrl?: string;
  /** A service's own DATA_DIR where it differs from dataDir (compose: each service has its volume). */
  serviceDataDirs: Record<string, string>;
  /** Secrets given by the environment (their variables' names): not files, so not in a backup. */
  secretsFromEnv: string[];
  /** GATEWAY_SSH_HOST_KEY: where the gateway's SSH host key is, when not under its data folder. */
  sshHostKey?: string;
  /** The workspace service's snapshot store (WORKSPACE_SNAPSHOT_DIR, else <WORKSPACE_DATA_DIR or DATA_DIR/workspace>/snapshots). */
  snapshotDir: string;
}

/**
 * `CODEAGENT_DATA_DIRS=gateway=/volumes/gateway,shell=/volumes/shell`: services whose DATA_DIR is not
 * DATA_DIR here (the compose stack's backup tool sees each service's volume at its own path).
 */
function parseServiceDirs(spec: string | undefined): Record<string, string> {
  const dirs: Record<string, string> = {};
  for (const part of (spec ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z-]+)=(.+)$/.exec(part);
    if (!m) throw new Error(`CODEAGENT_DATA_DIRS: expected service=folder pairs separated by commas (got "${part}")`);
    dirs[m[1]!] = path.resolve(m[2]!);
  }
  return dirs;
}

export function locate(env: NodeJS.ProcessEnv, overrides: { dataDir?: string; databaseUrl?: string } = {}): DataLocation {
  const dataDir = path.resolve(overrides.dataDir ?? env.DATA_DIR ?? 'data');
  const workspaceRoot = path.resolve(env.WORKSPACE_DATA_DIR ?? path.join(dataDir, 'workspace'));
  return {
    dataDir,
    databaseUrl: overrides.databaseUrl ?? (env.DATABASE_URL || undefined),
    serviceDataDirs: parseServiceDirs(env.CODEAGENT_DATA_DIRS),
    secretsFromEnv: SECRETS.flatMap((s) => (s.env && env[s.env] ? [s.env] : [])),
    sshHostKey: env.GATEWAY_SSH_HOST_KEY || undefined,
    snapshotDir: path.resolve(env.WORKSPACE_SNAPSHOT_DIR ?? path.join(workspaceRoot, 'snapshots')),
  };
}

const dirOf = (l: DataLocation, service: string) => l.serviceDataDirs[service] ?? l.dataDir;

/** The secrets a backup holds when they are files: without them, what they sealed cannot be read back. */
const SECRETS: Array<{ name: string; service: string; env?: string; at: (l: DataLocation) => string }> = [
  // Opens the provider API keys the orchestrator stores.
  { name: 'orchestrator-secret.key', service: 'orchestrator', env: 'ORCHESTRATOR_SECRET_KEY', at: (l) => path.join(dirOf(l, 'orchestrator'), 'orchestrator', 'secret.key') },
  // Opens what the shell service seals at rest (outside agents' secrets).
  { name: 'shell-secret.key', service: 'shell', env: 'SHELL_SECRET_KEY', at: (l) => path.join(dirOf(l, 'shell'), 'shell', 'secret.key') },
  // The SSH server's identity: without it every client sees a changed host key.
  { name: 'gateway-ssh-host-key', service: 'gateway', at: (l) => l.sshHostKey ?? path.join(dirOf(l, 'gateway'), 'gateway', 'ssh_host_ed25519_key') },
  // The bus secret `npm start` made (scripts/bus-credentials.mjs); compose gives it from .env instead.
  { name: 'bus-secret', service: 'platform', at: (l) => path.join(l.dataDir, 'bus-secret') },
];

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  takenAt: string;
  database: 'sqlite' | 'postgres';
  /** Per service: its file under databases/ and rows per table; absent when the service has no database yet. */
  databases: Record<string, { file: string; tables: TableCounts } | { absent: string }>;
  secrets: string[];
  /** Said when the secret key is not in the backup because the environment gives it. */
  notes: string[];
  workspaceSnapshots?: { manifests: number; blobs: number };
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

async function isEmptyDir(dir: string): Promise<boolean> {
  return !(await exists(dir)) || (await readdir(dir)).length === 0;
}

/** The service's database, or why there is none to copy (a local-mode gateway keeps no database). */
async function presentTarget(service: string, where: DataLocation): Promise<DatabaseTarget | string> {
  const target = resolveTarget({ service, databaseUrl: where.databaseUrl, dataDir: dirOf(where, service) });
  if (target.kind === 'sqlite' && !(await exists(target.file))) return `no database at ${target.file}`;
  return target;
}

async function countFiles(dir: string): Promise<number> {
  if (!(await exists(dir))) return 0;
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

/**
 * Takes a backup into `dir` (which must be empty or new): every service's database, the secrets, and
 * the workspace snapshots. Databases first, then snapshot manifests, then blobs: every snapshot the
 * copied index names has its manifest, and every manifest its blobs (blobs are written before their
 * manifest and never change).
 */
export async function takeBackup(dir: string, where: DataLocation, opts: { workspaceSnapshots: boolean }): Promise<BackupManifest> {
  if (!(await isEmptyDir(dir))) throw new Error(`${dir} is not empty: back up into a new folder`);
  await mkdir(path.join(dir, 'databases'), { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    takenAt: new Date().toISOString(),
    database: resolveTarget({ service: 'gateway', databaseUrl: where.databaseUrl, dataDir: where.dataDir }).kind,
    databases: {},
    secrets: [],
    notes: [],
  };
  for (const service of DATABASE_SERVICES) {
    const target = await presentTarget(service, where);
    if (typeof target === 'string') {
      manifest.databases[service] = { absent: target };
      continue;
    }
    const file = path.join('databases', dumpFileName(service, target.kind));
    try {
      manifest.databases[service] = { file, tables: await dumpDatabase(target, path.join(dir, file)) };
    } catch (err) {
      throw new Error(`${service}'s database (${describeTarget(target)}): ${(err as Error).message}`);
    }
  }
  await mkdir(path.join(dir, 'secrets'), { mode: 0o700 });
  for (const s of SECRETS) {
    if (!(await exists(s.at(where)))) continue;
    await copyFile(s.at(where), path.join(dir, 'secrets', s.name));
    await chmod(path.join(dir, 'secrets', s.name), 0o600);
    manifest.secrets.push(s.name);
  }
  for (const name of where.secretsFromEnv) manifest.notes.push(`${name} is set: that key is its value, not a file, so it is not in this backup; keep it with your .env`);
  if (!where.secretsFromEnv.includes('ORCHESTRATOR_SECRET_KEY') && !manifest.secrets.includes('orchestrator-secret.key') && 'file' in (manifest.databases.orchestrator ?? {})) {
    manifest.notes.push('no orchestrator/secret.key found: stored provider keys cannot be opened after a restore unless you have the key');
  }
  if (opts.workspaceSnapshots && (await exists(where.snapshotDir))) {
    const to = path.join(dir, 'workspace-snapshots');
    for (const part of ['manifests', 'blobs']) {
      const from = path.join(where.snapshotDir, part);
      if (await exists(from)) await cp(from, path.join(to, part), { recursive: true, filter: (src) => !src.includes(`${path.sep}.tmp`) });
    }
    manifest.workspaceSnapshots = { manifests: await countFiles(path.join(to, 'manifests')), blobs: await countFiles(path.join(to, 'blobs')) };
  }
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  return manifest;
}

/**
 * Run as root (the compose stack's backup tool), restored files would be root's 0600 and unreadable by
 * services running as another user: they get the data folder's owner instead.
 */
async function ownLikeDataDir(dataDir: string, paths: string[]): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const owner = await stat(dataDir);
  for (const p of paths) await chown(p, owner.uid, owner.gid);
}

export interface RestoreReport {
  databases: Record<string, TableCounts>;
  secrets: string[];
  workspaceSnapshots?: { manifests: number; blobs: number };
  notes: string[];
}

/** The database files of a backup folder, or of a daily snapshot folder (`<DB_SNAPSHOT_DIR>/<period>`, no manifest). */
async function databaseFiles(dir: string): Promise<Array<{ service: string; file: string }>> {
  const manifestFile = path.join(dir, 'manifest.json');
  if (await exists(manifestFile)) {
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as BackupManifest;
    if (manifest.format !== BACKUP_FORMAT) throw new Error(`${manifestFile} is not a codeagent backup (format ${String(manifest.format)})`);
    return Object.entries(manifest.databases).flatMap(([service, d]) => ('file' in d ? [{ service, file: path.join(dir, d.file) }] : []));
  }
  const found: Array<{ service: string; file: string }> = [];
  for (const service of DATABASE_SERVICES) {
    for (const kind of ['sqlite', 'postgres'] as const) {
      const file = path.join(dir, dumpFileName(service, kind));
      if (await exists(file)) found.push({ service, file });
    }
  }
  if (!found.length) throw new Error(`${dir} holds neither a backup (manifest.json) nor a daily snapshot (<service>.db or .pgdump.gz)`);
  return found;
}

/**
 * Restores a backup (or a daily database snapshot) into the data folder and database the services
 * will be started on. Run it with the platform stopped. A database, secret or folder that already
 * holds something is refused unless `force`: a replaced SQLite file is kept beside the new one, a
 * replaced PostgreSQL schema is dropped.
 */
export async function restoreBackup(dir: string, where: DataLocation, opts: { force: boolean }): Promise<RestoreReport> {
  const report: RestoreReport = { databases: {}, secrets: [], notes: [] };
  for (const { service, file } of await databaseFiles(dir)) {
    const target = resolveTarget({ service, databaseUrl: where.databaseUrl, dataDir: dirOf(where, service) });
    try {
      report.databases[service] = await restoreDatabase(target, file, readMigrations(prismaDir(service), target.kind), { replace: opts.force });
    } catch (err) {
      throw new Error(`${service}'s database (${describeTarget(target)}): ${(err as Error).message}`);
    }
  }
  for (const s of SECRETS) {
    const from = path.join(dir, 'secrets', s.name);
    if (!(await exists(from))) continue;
    const to = s.at(where);
    if (await exists(to)) {
      const same = (await readFile(to)).equals(await readFile(from));
      if (!same && !opts.force) throw new Error(`${to} exists and differs from the backup's ${s.name}: pass --force to replace it (the stored provider keys open only with the key they were sealed with)`);
      if (same) continue;
    }
    await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
    await copyFile(from, to);
    await chmod(to, 0o600);
    await ownLikeDataDir(s.service === 'platform' ? where.dataDir : dirOf(where, s.service), [path.dirname(to), to]);
    report.secrets.push(s.name);
  }
  for (const secret of SECRETS) {
    if (secret.env && report.secrets.includes(secret.name) && where.secretsFromEnv.includes(secret.env)) {
      report.notes.push(`${secret.env} is set here, so the service uses it, not the restored ${secret.name}: unset it if the backup was sealed with the file`);
    }
  }
  const snapshots = path.join(dir, 'workspace-snapshots');
  if (await exists(snapshots)) {
    // Content-addressed and never changed: files already there are the same bytes, so nothing is overwritten.
    await cp(snapshots, where.snapshotDir, { recursive: true, force: false, errorOnExist: false });
    report.workspaceSnapshots = { manifests: await countFiles(path.join(snapshots, 'manifests')), blobs: await countFiles(path.join(snapshots, 'blobs')) };
  }
  return report;
}
