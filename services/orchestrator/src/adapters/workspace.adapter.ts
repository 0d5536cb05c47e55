import type { Bus } from '@codeagent/bus';
import type { DiscoveryV1, WorkspaceSourceV1 } from '@codeagent/contracts';
import type { DiscoveryPort } from '../projects/discovery';
import type { PreparedWorkspace, WorkspacePort } from '../sessions/ports';

/** The workspace service over the bus. */
export class BusWorkspace implements WorkspacePort, DiscoveryPort {
  constructor(
    private readonly bus: Bus,
    private readonly timeouts: { prepareMs: number; requestMs: number },
  ) {}

  async prepare(source: WorkspaceSourceV1, opts: { quotaMb?: number; owner?: string }): Promise<PreparedWorkspace> {
    const w = await this.bus.request('workspace.prepare', { source, ...(opts.quotaMb ? { quotaMb: opts.quotaMb } : {}), ...(opts.owner ? { owner: opts.owner } : {}) }, { timeoutMs: this.timeouts.prepareMs, ...(opts.owner ? { user: opts.owner } : {}) });
    return { workspaceId: w.workspaceId, path: w.path };
  }

  async fork(from: { workspaceId?: string; snapshotId?: string }, owner: string): Promise<PreparedWorkspace> {
    const w = await this.bus.request('workspace.fork', { ...from, owner }, { timeoutMs: this.timeouts.prepareMs, user: owner });
    return { workspaceId: w.workspaceId, path: w.path };
  }

  async remove(workspaceId: string): Promise<void> {
    await this.bus.request('workspace.remove', { workspaceId }, { timeoutMs: this.timeouts.prepareMs });
  }

  async snapshotIds(workspaceId: string): Promise<string[]> {
    const r = await this.bus.request('workspace.snapshots', { workspaceId }, { timeoutMs: this.timeouts.requestMs });
    return r.snapshots.map((x) => x.snapshotId);
  }

  discover(target: { source: Record<string, unknown> } | { workspaceId: string }): Promise<DiscoveryV1> {
    const payload = 'source' in target ? { source: target.source as WorkspaceSourceV1 } : target;
    return this.bus.request('workspace.discover', payload, { timeoutMs: this.timeouts.requestMs });
  }
}
