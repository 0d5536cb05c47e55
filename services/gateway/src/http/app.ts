import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { SessionAccess } from '../auth/access';
import { SessionCommands } from '../sessions/commands';
import { SessionPlacements } from '../sessions/placement';
import { registerAuth } from '../auth/hooks';
import { serviceClient, type ServiceClient } from './bus-call';
import { gatewayMetrics } from './metrics';
import { MemoryIdempotencyStore, registerIdempotency } from './idempotency';
import { openapiTransform, openapiTransformObject } from './openapi';
import { errorHandler, makeProblem, sendProblem } from './problem';
import { adminRoutes } from '../routes/admin';
import { agentRoutes } from '../routes/agents';
import { analyticsRoutes } from '../routes/analytics';
import { authRoutes } from '../routes/auth';
import { docsRoutes } from '../routes/docs';
import { externalAgentRoutes } from '../routes/external-agents';
import { dashboardRoutes } from '../dashboard';
import { mcpRoutes } from '../mcp/routes';
import { fastifyStoreOf, MemoryRateLimitCounter } from './rate-limit';
import { registerHttpSpans } from './tracing';
import { healthRoutes } from '../routes/health';
import { projectChatAnswererRoutes, projectChatRoutes } from '../routes/project-chat';
import { projectRoutes } from '../routes/projects';
import { providerRoutes } from '../routes/providers';
import { sessionRoutes } from '../routes/sessions';
import { sshKeyRoutes } from '../routes/ssh-keys';
import { taskRoutes } from '../routes/tasks';
import type { GatewayDeps, RouteDeps } from '../routes/deps';

/** The REST API: validation, problem+json errors, OpenAPI at /docs, auth, rate limits, metrics, routes. */
export async function buildApp(deps: GatewayDeps): Promise<{ app: FastifyInstance; services: ServiceClient; access: SessionAccess; commands: SessionCommands }> {
  const { env, log } = deps;
  const app: FastifyInstance = Fastify({
    loggerInstance: log.child({ component: 'http' }),
    // Requests are counted and timed in /metrics; a log line each would only be noise.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: env.GATEWAY_BODY_LIMIT,
    // Behind a reverse proxy the client's address is in X-Forwarded-For; only trusted when told so.
    trustProxy: env.GATEWAY_TRUST_PROXY,
  }) as unknown as FastifyInstance;
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err, req, reply) => {
    const r = errorHandler(err, req, reply);
    if (reply.statusCode === 401 || reply.statusCode === 403) gatewayMetrics.refusals().inc({ status: String(reply.statusCode) });
    return r;
  });
  app.setNotFoundHandler((req, reply) => sendProblem(reply, makeProblem('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}; the API is described at /docs`)));

  // First of the onRequest hooks: auth, rate limits and the route all run inside the request's span.
  registerHttpSpans(app);
  const requests = gatewayMetrics.requests();
  const duration = gatewayMetrics.duration();
  app.addHook('onResponse', async (req, reply) => {
    const labels = { route: req.routeOptions.url ?? 'unmatched', method: req.method, status: String(reply.statusCode) };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'codeagent gateway',
        description:
          'Run AI coding agents on your own code. Errors are application/problem+json (RFC 9457). In team mode send `Authorization: Bearer <API key or JWT>`. Live streams: Socket.IO namespace `/v1`, event `message`, seed 003 envelopes.',
        version: '1.0.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: env.GATEWAY_AUTH_MODE === 'team' ? [{ bearer: [] }] : [],
    },
    transform: openapiTransform,
    transformObject: openapiTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerAuth(app, env.GATEWAY_AUTH_MODE, deps.auth);
  await app.register(rateLimit, {
    max: env.GATEWAY_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    // The same counter as socket commands' (http/socket-rate-limit.ts); in team mode the database's.
    store: fastifyStoreOf(deps.rateLimits ?? new MemoryRateLimitCounter()),
    // Before the body is read; the auth hook has already run (see auth/hooks.ts).
    hook: 'onRequest',
    // Per user once authenticated (so one user cannot hide behind many addresses), per address otherwise
    // (unauthenticated calls and refused tokens).
    keyGenerator: (req) => (req.principal && req.principal.via !== 'local' ? `user:${req.principal.userId}` : `ip:${req.ip}`),
    allowList: (req) => req.url === '/health' || req.url === '/metrics',
    errorResponseBuilder: (_req, ctx) => {
      const err = Object.assign(new Error(`rate limit of ${ctx.max} requests per minute reached; retry in ${Math.ceil(ctx.ttl / 1000)} s`), { statusCode: 429 });
      return err;
    },
  });

  // After auth and validation, before the handlers (http/idempotency.ts names the routes it covers).
  registerIdempotency(app, deps.idempotency ?? new MemoryIdempotencyStore(), { ttlMs: env.GATEWAY_IDEMPOTENCY_TTL_MS });

  const services = serviceClient(deps.bus, { timeoutMs: env.GATEWAY_REQUEST_TIMEOUT_MS });
  const access = new SessionAccess(new SessionPlacements(services, { ttlMs: env.GATEWAY_PLACEMENT_TTL_MS, maxEntries: env.GATEWAY_PLACEMENT_MAX_SESSIONS }));
  const commands = new SessionCommands(services, access, { execTimeoutMs: env.GATEWAY_EXEC_TIMEOUT_MS });
  const routeDeps: RouteDeps = { ...deps, services, access, commands };
  const z = app.withTypeProvider<ZodTypeProvider>();
  healthRoutes(z, routeDeps);
  docsRoutes(z);
  authRoutes(z, routeDeps);
  adminRoutes(z, routeDeps);
  projectRoutes(z, routeDeps);
  projectChatRoutes(z, routeDeps);
  projectChatAnswererRoutes(z, routeDeps);
  sessionRoutes(z, routeDeps);
  externalAgentRoutes(z, routeDeps);
  sshKeyRoutes(z, routeDeps);
  agentRoutes(z, routeDeps);
  taskRoutes(z, routeDeps);
  providerRoutes(z, routeDeps);
  analyticsRoutes(z, routeDeps);
  dashboardRoutes(app);
  mcpRoutes(z, routeDeps);
  return { app, services, access, commands };
}
