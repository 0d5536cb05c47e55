import type { Bus } from '@codeagent/bus';
import { isReplicaGone } from '@codeagent/contracts';
import type { PeersPort } from '../sessions/ports';

/**
 * Other orchestrator replicas, asked through their own queues: a replica that is gone has no queue,
 * so the broker returns the ping at once (SERVICE_UNAVAILABLE). A slow answer counts as alive.
 */
export class BusPeers implements PeersPort {
  constructor(
    private readonly bus: Bus,
    readonly self: string,
    private readonly timeoutMs = 3000,
  ) {}

  async isAlive(instanceId: string): Promise<boolean> {
    if (instanceId === this.self) return true;
    try {
      await this.bus.request('orchestrator.ping', {}, { instanceId, timeoutMs: this.timeoutMs });
      return true;
    } catch (err) {
      // Only a missing queue means gone: a broker outage says nothing about the replica.
      return !isReplicaGone(err);
    }
  }
}
