import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/** Thrown at start when the environment does not parse; names each bad variable. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** An env flag: "1", "true", "yes", "on" are true; "0", "false", "no", "off", "" are false. */
export const envBool = (fallback: boolean) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['1', 'true', 'yes', 'on', '0', 'false', 'no', 'off', ''].includes(v), 'expected true/false, 1/0, yes/no or on/off')
    .transform((v) => ['1', 'true', 'yes', 'on'].includes(v))
    .optional()
    .transform((v) => v ?? fallback);

/** An integer env variable with bounds. */
export const envInt = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** A JSON env variable checked against `schema` (an error names what is wrong inside it). */
export const envJson = <T extends z.ZodType>(schema: T, fallback: z.output<T>) =>
  z
    .string()
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema)
    .default(fallback as never);

/** What every service reads. Service-specific variables are prefixed with the service's name. */
export const CommonEnv = z.object({
  /** The broker. */
  RABBITMQ_URL: z.string().url().default('amqp://guest:guest@127.0.0.1:5672'),
  /**
   * The platform secret (32+ characters, the same on every service) that signs every bus message; a
   * message without its signature is never handled. Required: `npm start` creates one in DATA_DIR.
   */
  CODEAGENT_BUS_SECRET: z
    .string({ error: (i) => (i.input === undefined ? 'required: the same random value of 32+ characters on every service (`npm start` creates one; e.g. `openssl rand -hex 32`)' : undefined) })
    .min(32, 'at least 32 characters'),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Where services keep their files (SQLite databases, workspaces, snapshots). */
  DATA_DIR: z.string().default(path.resolve(process.cwd(), 'data')),
  /** A replica's name; defaults to host and pid, unique per process (the shell's to `<host>-shell`, one per host: its next start adopts the jails it kept). */
  INSTANCE_ID: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default(`${hostname()}-${process.pid}`),
  /** Address of each service's /health and /metrics server: loopback unless a scraper elsewhere needs it. */
  OPS_HOST: z.string().default('127.0.0.1'),
  /** OTLP/HTTP endpoint of a trace collector; spans are recorded and exported only when set (set it on every service: one without it passes its messages on unsampled). */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  /** Default time a bus request waits for its answer. */
  BUS_REQUEST_TIMEOUT_MS: envInt(10_000, 1, 600_000),
  /** Messages each consumer handles at once. */
  BUS_PREFETCH: envInt(64, 1, 10_000),
  /**
   * Type of every durable queue: `classic` (one broker) or `quorum` (replicated on a RabbitMQ cluster).
   * The same on every service, chosen before the first start: a queue's type cannot change in place
   * (switching means draining and deleting the platform's queues; README, Operations).
   */
  BUS_QUEUE_TYPE: z.enum(['classic', 'quorum']).default('classic'),
});
export type CommonEnv = z.infer<typeof CommonEnv>;

/**
 * Parses the environment once, at start. Fails with every bad variable named, never half-configured.
 * Empty strings count as unset so that `FOO=` in a .env file means "use the default".
 */
export function loadEnv<S extends z.ZodRawShape>(
  shape: S,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<z.ZodObject<typeof CommonEnv.shape & S>> {
  const schema = CommonEnv.extend(shape);
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const name = i.path.join('.');
        const given = env[name];
        return `${name}: ${i.message}${given === undefined ? ' (not set)' : ` (got ${JSON.stringify(redact(name, given))})`}`;
      }),
    );
  }
  return result.data as z.infer<z.ZodObject<typeof CommonEnv.shape & S>>;
}

const SECRET_NAME = /(SECRET|PASSWORD|TOKEN|KEY|CREDENTIAL)/i;
function redact(name: string, value: string): string {
  return SECRET_NAME.test(name) ? '[redacted]' : value;
}
export { createSecretBox, loadSecretKey, type SecretBox } from './secret-box';
// Free of the bus and the database, so the services' domain code may use it.
export { KeyedLock } from './keyed-lock';
