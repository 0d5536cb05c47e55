import type { Logger } from '@codeagent/telemetry';
import type { SessionManager } from './manager';
import type { PeersPort, SessionsRepository, ShellPort, WorkspacePort } from './ports';
import type { SessionRecord } from './session';

export interface ReconcileReport {
  adopted: string[];
  failed: Array<{ sessionId: string; reason: string }>;
  closed: string[];
  kept: string[];
}

/**
 * Brings the database and the world back in line, at start and then periodically: sessions whose
 * replica is gone are adopted (compare-and-set on the owner, so two survivors never both take one),
 * and every session this replica owns is checked against its jail and workspace. A session whose
 * jail is gone becomes failed with the reason; one caught half-created is failed and undone; one
 * caught half-closed is closed.
 */
export class Reconciler {
  constructor(
    private readonly deps: {
      repo: SessionsRepository;
      manager: SessionManager;
      shell: ShellPort;
      workspace: WorkspacePort;
      peers: PeersPort;
      log: Logger;
      /** How long a shell replica that is gone may take to come back (it restarts) before its sessions fail. */
      shellRestartGraceMs: number;
    },
  ) {}

  async run(): Promise<ReconcileReport> {
    const report: ReconcileReport = { adopted: [], failed: [], closed: [], kept: [] };
    const alive = new Map<string, boolean>();
    const isAlive = async (instance: string) => {
      if (instance === this.deps.peers.self) return true;
      if (!alive.has(instance)) alive.set(instance, await this.deps.peers.isAlive(instance));
      return alive.get(instance)!;
    };
    const jails = new Map<string, Set<string> | 'gone'>();
    const jailsOf = async (instance: string) => {
      if (!jails.has(instance)) {
        const list = await this.deps.shell.list(instance).catch(() => undefined);
        if (list !== 'gone') this.missingSince.delete(instance);
        // An answer we could not get (timeout) is not proof of loss: treat as alive until next time.
        jails.set(instance, list === undefined ? new Set(['*']) : list === 'gone' ? 'gone' : new Set(list));
      }
      return jails.get(instance)!;
    };

    for (const s of await this.deps.repo.listLive()) {
      try {
        let mine = s;
        if (s.ownerInstance !== this.deps.peers.self) {
          if (await isAlive(s.ownerInstance)) continue;
          const taken = await this.deps.repo.update(s.id, { ownerInstance: this.deps.peers.self }, { ownerInstance: s.ownerInstance });
          if (!taken) continue; // another replica adopted it first
          mine = taken;
          report.adopted.push(s.id);
          this.deps.log.info({ sessionId: s.id, from: s.ownerInstance }, 'session adopted from a replica that is gone');
        }
        await this.check(mine, report, jailsOf, s.ownerInstance !== this.deps.peers.self);
      } catch (err) {
        this.deps.log.error({ err, sessionId: s.id }, 'session not reconciled; will retry');
      }
    }
    return report;
  }

  private async check(s: SessionRecord, report: ReconcileReport, jailsOf: (i: string) => Promise<Set<string> | 'gone'>, adopted: boolean): Promise<void> {
    const { manager } = this.deps;
    if (s.status === 'creating') {
      // Only a setup whose replica died is abandoned; our own in-flight creations are not touched.
      if (!adopted && !this.startedBeforeUs(s)) return report.kept.push(s.id), undefined;
      if (s.shellInstanceId) await this.deps.shell.close(s.shellInstanceId, s.id).catch(() => undefined);
      if (s.workspaceId) await this.deps.workspace.remove(s.workspaceId).catch(() => undefined);
      const reason = 'the orchestrator stopped while the session was being set up; what was set up was undone';
      await manager.fail(s.id, reason);
      report.failed.push({ sessionId: s.id, reason });
      return;
    }
    if (s.status === 'closing') {
      await manager.close(s.id, s.closeReason ?? 'closed');
      report.closed.push(s.id);
      return;
    }
    const jails = s.shellInstanceId ? await jailsOf(s.shellInstanceId) : 'gone';
    const jailAlive = jails !== 'gone' && (jails.has('*') || jails.has(s.id));
    if (jails === 'gone' && s.shellInstanceId && this.mayBeRestarting(s.shellInstanceId)) return report.kept.push(s.id), undefined;
    if (!jailAlive) {
      const reason = s.shellInstanceId
        ? jails === 'gone'
          ? `the jail is gone: shell replica ${s.shellInstanceId} no longer exists`
          : `the jail is gone: shell replica ${s.shellInstanceId} no longer holds it`
        : 'the session has no jail on record';
      // The jail was missed after `s` was read: a close that began meanwhile removes it too. Only a
      // session still in the state that was checked has lost its jail.
      const failed = await manager.fail(s.id, reason, [s.status]);
      if (failed?.status !== 'failed' || failed.failureReason !== reason) return report.kept.push(s.id), undefined;
      if (s.workspaceId && s.workspacePolicy === 'remove') await this.deps.workspace.remove(s.workspaceId).catch(() => undefined);
      report.failed.push({ sessionId: s.id, reason });
      return;
    }
    // A busy session stays busy: its command runs in the jail whatever happened to the replica that
    // sent it, and the shell's completion makes it idle (CommandStatus.completed).
    report.kept.push(s.id);
  }

  /** When each shell replica was first found gone, while it may still come back. */
  private readonly missingSince = new Map<string, number>();

  /**
   * A shell replica restarting keeps its jails for its next start, which adopts them; until it is back
   * it is gone from the bus. Its sessions wait shellRestartGraceMs for it before they are failed.
   */
  private mayBeRestarting(instanceId: string): boolean {
    const since = this.missingSince.get(instanceId) ?? Date.now();
    this.missingSince.set(instanceId, since);
    return Date.now() - since < this.deps.shellRestartGraceMs;
  }

  private readonly startedAt = Date.now();
  private startedBeforeUs(s: SessionRecord): boolean {
    return Date.parse(s.updatedAt) < this.startedAt;
  }
}
