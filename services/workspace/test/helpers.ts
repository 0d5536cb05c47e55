import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventName } from '@codeagent/contracts';
import { testLogger } from '@codeagent/testing';
import { JsonFileWorkspaceRepository } from './json-file.repository';
import { createWorkspaceApp, type WorkspaceApp } from '../src/workspaces/app';
import type { WorkspaceConfig } from '../src/workspaces/types';
import { loopDevicesUnder, mountsUnder, unmount, detachLoop } from '../src/volumes/mounts';

export interface Harness {
  app: WorkspaceApp;
  root: string;
  tmp: string;
  events: { name: EventName; payload: unknown }[];
  /** Unmounts and removes everything under the temp folder, even after a failure. */
  dispose(): Promise<void>;
}

/** A workspace domain on its own temp DATA_DIR, with real mounts; events recorded. */
export async function harness(opts: { cow?: 'auto' | 'overlay' | 'copy'; quota?: 'auto' | 'loop' | 'none'; config?: Partial<WorkspaceConfig>; tmp?: string } = {}): Promise<Harness> {
  const tmp = opts.tmp ?? mkdtempSync(path.join(os.tmpdir(), 'ws-test-'));
  const root = path.join(tmp, 'data', 'workspace');
  const events: Harness['events'] = [];
  const repo = await JsonFileWorkspaceRepository.open(path.join(root, 'records.json'));
  const app = await createWorkspaceApp({
    root,
    cow: opts.cow ?? 'auto',
    quota: opts.quota ?? 'auto',
    repo,
    log: testLogger('workspace'),
    publish: async (name, payload) => {
      events.push({ name, payload });
    },
    config: { defaultQuotaMb: 64, globalCapMb: 0, idleTimeoutMs: 0, allowedRoots: [], maxFileBytes: 5 * 1024 * 1024, maxListEntries: 10_000, maxLayerDepth: 24, ...opts.config },
  });
  return {
    app,
    root,
    tmp,
    events,
    dispose: async () => {
      await app.stop().catch(() => undefined);
      await cleanupTree(tmp);
    },
  };
}

export async function cleanupTree(tmp: string): Promise<void> {
  for (const m of await mountsUnder(tmp)) await unmount(m.mountPoint).catch(() => undefined);
  for (const l of await loopDevicesUnder(tmp)) await detachLoop(l.device);
  rmSync(tmp, { recursive: true, force: true });
}

/** Writes a tree of files: { 'a/b.txt': 'content' }. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd, encoding: 'utf8' });
}

/** A git repository with one commit of `files`. */
export function makeRepo(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeTree(dir, files);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'init');
  return dir;
}
