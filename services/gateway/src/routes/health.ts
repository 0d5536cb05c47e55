import { AppError, ServiceNames, type ServiceName } from '@codeagent/contracts';
import { prom } from '@codeagent/telemetry';
import { z } from 'zod';
import type { RouteDeps, ZApp } from './deps';
import { LOCAL_PRINCIPAL } from '../auth/principal';

const ServiceHealth = z.object({
  status: z.enum(['ok', 'degraded', 'down']),
  instanceId: z.string().optional(),
  latencyMs: z.number().optional(),
  error: z.string().optional(),
});
const HealthReply = z.object({ status: z.enum(['ok', 'degraded', 'down']), services: z.record(z.string(), ServiceHealth) });

/** `/health` asks each of the six services over the bus, in parallel; `/metrics` is Prometheus text. */
export function healthRoutes(app: ZApp, deps: RouteDeps): void {
  app.get('/health', { schema: { summary: 'every service, asked over the bus', tags: ['ops'], response: { 200: HealthReply, 503: HealthReply } } }, async (_req, reply) => {
    const timeoutMs = deps.env.GATEWAY_HEALTH_TIMEOUT_MS;
    const entries = await Promise.all(
      ServiceNames.map(async (s: ServiceName) => {
        const t0 = performance.now();
        try {
          const pong = await deps.services.call(`${s}.ping`, {}, LOCAL_PRINCIPAL, { timeoutMs });
          return [s, { status: pong.status, instanceId: pong.instanceId, latencyMs: Math.round((performance.now() - t0) * 100) / 100 }] as const;
        } catch (err) {
          return [s, { status: 'down' as const, error: AppError.from(err).message }] as const;
        }
      }),
    );
    const services = Object.fromEntries(entries);
    const down = entries.some(([, h]) => h.status === 'down');
    const degraded = entries.some(([, h]) => h.status === 'degraded');
    return reply.code(down ? 503 : 200).send({ status: down ? 'down' : degraded ? 'degraded' : 'ok', services });
  });

  app.get('/metrics', { schema: { summary: 'Prometheus text format', tags: ['ops'] } }, async (_req, reply) => {
    return reply.type(prom.register.contentType).send(await prom.register.metrics());
  });
}
