import type { Logger } from '@codeagent/telemetry';
import type { RefusalReason } from './signing';

/** At most one line per interval: a flood of forged messages must not become a flood of logs. */
const LOG_INTERVAL_MS = 5_000;

/**
 * Logs a refused message once, with where it came in and never its body; refusals during the next
 * few seconds are counted and reported with the next line instead of logged each.
 */
export class RefusalLog {
  private lastAt = 0;
  private suppressed = 0;

  constructor(private readonly log: Logger) {}

  refused(fields: { queue: string; exchange: string; routingKey: string; claimedPublisher?: string; reason: RefusalReason }): void {
    const now = Date.now();
    if (now - this.lastAt < LOG_INTERVAL_MS) {
      this.suppressed++;
      return;
    }
    this.lastAt = now;
    const hint = fields.reason === 'bad-signature' ? 'if it came from a platform service, CODEAGENT_BUS_SECRET differs between services' : 'not published by a platform service';
    this.log.warn(
      { ...fields, claimedPublisher: fields.claimedPublisher?.slice(0, 100), routingKey: fields.routingKey.slice(0, 255), suppressedSinceLast: this.suppressed, hint },
      'unauthenticated message dead-lettered',
    );
    this.suppressed = 0;
  }
}
