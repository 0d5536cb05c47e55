/**
 * Names of exchanges and queues. They are persistent state on the broker: renaming one needs a
 * migration plan (declare the new one, move bindings, drain the old one), so never rename casually.
 */
export const Exchanges = {
  /** Topic exchange for work addressed to a service; routing key `<service>.<verb>`. */
  commands: 'codeagent.commands',
  /** Topic exchange for facts that happened; routing key `<domain>.<event>`. */
  events: 'codeagent.events',
  /** Fanout exchange that receives every rejected message, with the reason in `x-death-reason`. */
  deadLetter: 'codeagent.dead-letter',
} as const;

export const Queues = {
  /** Where every dead-lettered message ends up, for inspection and replay. */
  deadLetter: 'codeagent.dead-letter',
  /** A service's competing-consumer command queue: every replica consumes from it. */
  commands: (service: string) => `codeagent.${service}.commands`,
  /** One replica's own command queue, for work that must reach the process holding some state. */
  instance: (service: string, instanceId: string) => `codeagent.${service}.instance.${instanceId}`,
  /** A durable per-consumer subscription to events (e.g. `codeagent.analytics.events`). */
  events: (consumer: string) => `codeagent.${consumer}.events`,
} as const;

/** AMQP headers the platform sets on every message. */
export const Headers = {
  traceparent: 'traceparent',
  tracestate: 'tracestate',
  /** Why a message was dead-lettered (validation error, handler error, retries exhausted). */
  deathReason: 'x-death-reason',
  /** How many times the bus has retried this message. */
  retryCount: 'x-retry-count',
  /** The service that rejected a message. */
  deathService: 'x-death-service',
  /**
   * The platform service that published a message (or reply), as it claims under `signature`.
   * Consumers refuse a message whose signature does not verify; handlers see it as `ctx.publisher`.
   */
  publisher: 'x-codeagent-publisher',
  /**
   * `v1=<base64 HMAC-SHA256>` with the platform secret (CODEAGENT_BUS_SECRET) over the publisher, the
   * message id, type and correlation id properties and the exact body bytes (libs/bus, signing.ts).
   */
  signature: 'x-codeagent-signature',
} as const;

/** `x-death-reason` of a message refused because its signature is missing or wrong: never retried. */
export const UNAUTHENTICATED_REASON = 'unauthenticated';

/** The six services; each has a command queue and answers `<service>.ping`. */
export const ServiceNames = ['gateway', 'orchestrator', 'workspace', 'shell', 'analytics', 'project-ci'] as const;
export type ServiceName = (typeof ServiceNames)[number];
