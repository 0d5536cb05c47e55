import type { Bus } from '@codeagent/bus';
import { AppError, isReplicaGone, type EgressCredentialV1, type ExecResultV1, type SandboxSpecV1, type ShellSessionAppendV1 } from '@codeagent/contracts';
import type { ShellPlacement } from '../sessions/placement';
import type { ShellOpenResult, ShellPort } from '../sessions/ports';

/** The shell service over the bus: open on any replica, everything after on the replica holding the jail. */
export class BusShell implements ShellPort {
  constructor(
    private readonly bus: Bus,
    /** dockerOpenMs: a docker open may build the project's image first. */
    private readonly timeouts: { openMs: number; dockerOpenMs: number; requestMs: number },
  ) {}

  async open(req: { sessionId: string; workspaceDir: string; sandbox: SandboxSpecV1; credentials?: EgressCredentialV1[]; placement?: ShellPlacement; env?: Record<string, string>; firstSeq: number }): Promise<ShellOpenResult> {
    const { network, credentials: _names, ...limits } = req.sandbox;
    const p = req.placement;
    const ask = (driver: 'bubblewrap' | 'docker') =>
      this.bus.request(
        'shell.open',
        {
          sessionId: req.sessionId,
          workspaceDir: req.workspaceDir,
          network: network ?? 'none',
          ...(req.credentials?.length ? { credentials: req.credentials } : {}),
          limits,
          env: { ...p?.env, ...req.env },
          firstSeq: req.firstSeq,
          ...(driver === 'docker' ? dockerFields(p) : { driver }),
        },
        { timeoutMs: driver === 'docker' ? this.timeouts.dockerOpenMs : this.timeouts.openMs },
      );
    let note: string | undefined;
    const r = await ask(p?.driver ?? 'bubblewrap').catch(async (err: unknown) => {
      if (!p || p.driver !== 'docker' || !(err instanceof AppError) || err.code !== 'SANDBOX_UNAVAILABLE') throw err;
      if (!p.fallbackToBubblewrap) {
        throw new AppError('SANDBOX_UNAVAILABLE', `This session runs in Docker (chosen by ${p.why}), but ${err.message}. Ask for driver "bubblewrap" (or fallbackToBubblewrap: true) to run it in a jail instead`, {
          details: { ...err.details, driver: 'docker', alternatives: ['driver: "bubblewrap"', 'fallbackToBubblewrap: true'] },
        });
      }
      note = `Docker (chosen by ${p.why}) was unavailable, so it fell back to a bubblewrap jail: ${err.message}`;
      return ask('bubblewrap');
    });
    return {
      instanceId: r.instanceId,
      limitsInForce: r.limitsInForce,
      ...(r.networkInForce ? { networkInForce: r.networkInForce } : {}),
      driver: r.driver,
      ...(r.container ? { container: r.container } : {}),
      ...(note ? { driverNote: note } : {}),
    };
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

/** What shell.open carries for a docker sandbox: the image (or the Dockerfile to build it from) and a devcontainer's settings. */
function dockerFields(p: ShellPlacement | undefined) {
  return {
    driver: 'docker' as const,
    ...(p?.image ? { image: p.image } : {}),
    ...(p?.dockerfile ? { dockerfile: p.dockerfile } : {}),
    ...(p?.user ? { user: p.user } : {}),
    ...(p?.postCreateCommand ? { postCreateCommand: p.postCreateCommand } : {}),
  };
}
