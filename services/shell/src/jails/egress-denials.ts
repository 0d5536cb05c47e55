import type { EventPayload } from '@codeagent/contracts';
import type { EgressDecision } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import { shellMetrics } from './metrics';

export interface EgressDenialOptions {
  /** Length of a coalescing window per session. */
  windowMs: number;
  /** Distinct (host, port, way) events published at once per session and window; more are summed up. */
  maxEventsPerWindow: number;
}

interface Pending {
  host: string;
  port: number;
  via: EgressDecision['via'];
  reason: string;
  /** Attempts since the last event published for this key. */
  count: number;
  at: string;
}

interface Window {
  timer: NodeJS.Timeout;
  published: number;
  keys: Map<string, Pending>;
  overflow: { count: number; hosts: Set<string>; via: EgressDecision['via']; at: string } | undefined;
}

/**
 * Publishes `shell.egress.denied` for refused egress, bounded: a loop in a jail hammering one host
 * (or thousands of hosts) must not flood the bus. Per session and window, the first refusal of each
 * host, port and way goes out at once (up to `maxEventsPerWindow` of them); repeats are counted and
 * go out as one event with `count` when the window ends; refusals beyond the cap are summed up in one
 * event (host `*`). So a session publishes at most 2 × max + 1 events per window, whatever the jail does.
 * Every refusal counts in `shell_egress_denied_total{via}`.
 */
export class EgressDenials {
  private readonly windows = new Map<string, Window>();

  constructor(
    /** Where a denial goes (the session's stream, so it takes its place in the session's order). */
    private readonly deliver: (payload: EventPayload<'shell.egress.denied'>) => Promise<unknown>,
    private readonly opts: EgressDenialOptions,
    private readonly log: Logger,
  ) {}

  record(sessionId: string, d: EgressDecision): void {
    if (d.allowed) return;
    shellMetrics.egressDenied().inc({ via: d.via });
    const w = this.window(sessionId);
    const key = `${d.via} ${d.host} ${d.port}`;
    const seen = w.keys.get(key);
    const at = new Date().toISOString();
    if (seen) {
      if (seen.count === 0) seen.at = at;
      seen.count += 1;
      return;
    }
    const reason = d.reason ?? 'refused by the network policy';
    if (w.published < this.opts.maxEventsPerWindow) {
      w.published += 1;
      w.keys.set(key, { host: d.host, port: d.port, via: d.via, reason, count: 0, at });
      this.publish({ sessionId, host: d.host, port: d.port, via: d.via, reason, count: 1, at });
      return;
    }
    w.overflow ??= { count: 0, hosts: new Set(), via: d.via, at };
    w.overflow.count += 1;
    if (w.overflow.hosts.size < 1000) w.overflow.hosts.add(d.host);
  }

  /** Forgets a session (its jail is closing), first publishing what its window holds unless `publish` is false. */
  close(sessionId: string, opts: { publish: boolean } = { publish: true }): void {
    const w = this.windows.get(sessionId);
    if (!w) return;
    clearTimeout(w.timer);
    if (opts.publish) this.flush(sessionId, w);
    else this.windows.delete(sessionId);
  }

  private window(sessionId: string): Window {
    let w = this.windows.get(sessionId);
    if (!w) {
      const timer = setTimeout(() => {
        const cur = this.windows.get(sessionId);
        if (cur) this.flush(sessionId, cur);
      }, this.opts.windowMs);
      timer.unref();
      w = { timer, published: 0, keys: new Map(), overflow: undefined };
      this.windows.set(sessionId, w);
    }
    return w;
  }

  private flush(sessionId: string, w: Window): void {
    this.windows.delete(sessionId);
    for (const p of w.keys.values()) {
      if (p.count > 0) this.publish({ sessionId, host: p.host, port: p.port, via: p.via, reason: `${p.reason} (repeated)`, count: p.count, at: p.at });
    }
    const o = w.overflow;
    if (o) {
      const seconds = Math.round(this.opts.windowMs / 1000);
      const hosts = o.hosts.size >= 1000 ? '1000 or more' : String(o.hosts.size);
      this.publish({ sessionId, host: '*', port: 0, via: o.via, reason: `${o.count} more refused attempts to ${hosts} other hosts within ${seconds} s (too many to report one by one)`, count: o.count, at: o.at });
    }
  }

  private publish(payload: { sessionId: string; host: string; port: number; via: EgressDecision['via']; reason: string; count: number; at: string }): void {
    // The jail chooses the name: cut it to what the contract carries.
    const clean = { ...payload, host: payload.host.slice(0, 300), reason: payload.reason.slice(0, 500), port: Math.min(Math.max(payload.port, 0), 65535) };
    this.deliver(clean).catch((err: Error) => this.log.warn({ sessionId: payload.sessionId, err: err.message }, 'shell.egress.denied not published'));
  }
}
