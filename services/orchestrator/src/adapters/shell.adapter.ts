import type { Bus } from '@codeagent/bus';
import { isReplicaGone, type EgressCredentialV1, type ExecResultV1, type SandboxSpecV1, type ShellSessionAppendV1 } from '@codeagent/contracts';
import type { ShellOpenResult, ShellPort } from '../sessions/ports';

/** The shell service over the bus: open on any replica, everything after on the replica holding the jail. */
export class BusShell implements ShellPort {
  constructor(
    private readonly bus: Bus,
    private readonly timeouts: { openMs: number; requestMs: number },
  ) {}

  async open(req: { sessionId: string; workspaceDir: string; sandbox: SandboxSpecV1; credentials?: EgressCredentialV1[]; env?: Record<string, string>; firstSeq: number }): Promise<ShellOpenResult> {
    const { network, credentials: _names, ...limits } = req.sandbox;
    const r = await this.bus.request(
      'shell.open',
      {
        sessionId: req.sessionId,
        workspaceDir: req.workspaceDir,
        network: network ?? 'none',
        ...(req.credentials?.length ? { credentials: req.credentials } : {}),
        limits,
        env: req.env ?? {},
        firstSeq: req.firstSeq,
        driver: 'bubblewrap',
      },
      { timeoutMs: this.timeouts.openMs },
    );
    return { instanceId: r.instanceId, limitsInForce: r.limitsInForce, ...(r.networkInForce ? { networkInForce: r.networkInForce } : {}) };
  }

  async close(instanceId: string, sessionId: string): Promise<number | undefined> {
    return (await this.bus.request('shell.close', { sessionId }, { instanceId, timeoutMs: this.timeouts.openMs })).lastSeq;
  }

  async append(instanceId: string, req: ShellSessionAppendV1): Promise<number> {
    return (await this.bus.request('shell.session.append', req, { instanceId, timeoutMs: this.timeouts.requestMs })).seq;
  }

  exec(instanceId: string, req: { sessionId: string; command: string; commandId: string; timeoutMs?: number; user?: string }): Promise<ExecResultV1> {
    // The bus waits a little longer than the command may run, so the shell's own timeout answers first.
    return this.bus.request('shell.exec', req, { instanceId, timeoutMs: (req.timeoutMs ?? this.timeouts.requestMs) + 10_000, user: req.user });
  }

  async interrupt(instanceId: string, sessionId: string): Promise<boolean> {
    return (await this.bus.request('shell.interrupt', { sessionId }, { instanceId, timeoutMs: this.timeouts.requestMs })).interrupted;
  }

  async list(instanceId: string): Promise<string[] | 'gone'> {
    try {
      const r = await this.bus.request('shell.list', {}, { instanceId, timeoutMs: this.timeouts.requestMs });
      return r.sessions.map((s) => s.sessionId);
    } catch (err) {
      if (isReplicaGone(err)) return 'gone';
      throw err;
    }
  }
}
