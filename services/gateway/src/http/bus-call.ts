import type { Bus } from '@codeagent/bus';
import { type CommandName, type CommandReply, type CommandRequest } from '@codeagent/contracts';
import type { Principal } from '../auth/principal';

/** How the gateway asks the services behind it: one bus request per route, on behalf of a user. */
export interface ServiceClient {
  /** A command of the catalog, typed. */
  /** `instanceId`: to that replica's own queue (a session's jail on its shell replica). */
  call<N extends CommandName>(name: N, payload: CommandRequest<N>, who: Principal, opts?: { timeoutMs?: number; instanceId?: string }): Promise<CommandReply<N>>;
}

export function serviceClient(bus: Bus, defaults: { timeoutMs: number; client?: string }): ServiceClient {
  const call = <N extends CommandName>(name: N, payload: CommandRequest<N>, who: Principal, opts: { timeoutMs?: number; instanceId?: string } = {}) =>
    bus.request(name, payload, { user: who.userId, timeoutMs: opts.timeoutMs ?? defaults.timeoutMs, client: defaults.client, ...(opts.instanceId ? { instanceId: opts.instanceId } : {}) });
  return { call };
}
