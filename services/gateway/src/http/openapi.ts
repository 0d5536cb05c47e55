import * as contracts from '@codeagent/contracts';
import { ErrorCodes } from '@codeagent/contracts';
import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { IDEMPOTENT_ROUTES } from './idempotency';
import { z } from 'zod';

// The OpenAPI document at /docs, generated from the zod schemas the routes validate with:
// - every schema libs/contracts exports by name (`SessionV1`, `TaskV1`, ...) is a named component,
//   referenced wherever a route uses it; components no operation reaches are left out;
// - every operation has an operationId (its own `schema.operationId`, or one made from its method
//   and path: `GET /api/v1/sessions/:id/files` -> `getSessionsByIdFiles`, unique as routes are);
// - every operation lists the error responses the platform's error table (libs/contracts errors.ts)
//   can give, each an application/problem+json `Problem`.

/** An RFC 9457 problem, as every error of the gateway is sent (http/problem.ts). */
export const Problem = z
  .object({
    type: z.string().describe('A URI naming the kind of problem'),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().describe('What went wrong, for a person'),
    code: z.enum(Object.keys(ErrorCodes) as [keyof typeof ErrorCodes, ...Array<keyof typeof ErrorCodes>]).describe('The platform error code, for programs'),
    errors: z.array(z.object({ in: z.string().optional(), path: z.string(), message: z.string() })).optional().describe('Validation errors: each failing field'),
    retryable: z.boolean().optional().describe('The same request may succeed later'),
  })
  .catchall(z.unknown());

/** The named schemas: the contracts' exports and the Problem; filled when /docs is first asked for (it takes a while). */
const apiSchemas = z.registry<z.GlobalMeta>();
function registerSchemas(): void {
  if (apiSchemas.has(Problem)) return;
  apiSchemas.add(Problem, { id: 'Problem' });
  for (const [name, value] of Object.entries(contracts)) {
    if (!(value instanceof z.ZodType) || !/^[A-Z]/.test(name) || apiSchemas.has(value)) continue;
    // Only what JSON Schema can say both ways (a few socket payloads carry bytes).
    try {
      z.toJSONSchema(value, { io: 'input' });
      z.toJSONSchema(value, { io: 'output' });
    } catch {
      continue;
    }
    // With the schema's own metadata (description, examples): a registry emits only what it holds.
    apiSchemas.add(value, { ...z.globalRegistry.get(value), id: name });
  }
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
/** Routes outside the JSON API (ops endpoints with their own answers): no problem responses added. */
const NOT_API = /^\/(health|metrics|docs|dashboard)\b/;

const pascal = (s: string) => s.replace(/(^|[-_.])(\w)/g, (_m, _sep: string, c: string) => c.toUpperCase());

/** `post` + `/api/v1/sessions/{id}/exec` -> `postSessionsByIdExec`. */
export function operationIdOf(method: string, path: string): string {
  const parts = path
    .replace(/^\/api\/v1(?=\/|$)/, '')
    .split('/')
    .filter(Boolean)
    .map((seg) => (/^[{:]/.test(seg) ? `By${pascal(seg.replace(/[{}:]/g, ''))}` : pascal(seg.replace(/\*/g, 'Any'))));
  return method.toLowerCase() + parts.join('');
}

/** Each HTTP status of the error table, with the codes that give it. */
const ERROR_STATUSES = new Map<number, string[]>();
for (const [code, spec] of Object.entries(ErrorCodes)) ERROR_STATUSES.set(spec.status, [...(ERROR_STATUSES.get(spec.status) ?? []), code]);
// Fastify's own refusals outside the table: a body of the wrong media type.
ERROR_STATUSES.set(415, ['VALIDATION_FAILED (unsupported media type)']);

const baseTransform = createJsonSchemaTransform({ schemaRegistry: apiSchemas, skipList: ['/docs', '/docs/*', '/docs/json', '/docs/yaml', '/docs/static/*'] }) as SwaggerTransform;

/** Parameters (path, query, headers) stay inline: @fastify/swagger spreads their properties into parameters. */
function inlineSchema(schema: unknown): unknown {
  if (!(schema instanceof z.ZodType)) return schema;
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

export const openapiTransform: SwaggerTransform = (input) => {
  registerSchemas();
  const { params, querystring, headers, ...rest } = (input.schema ?? {}) as Record<string, unknown>;
  const out = baseTransform({ ...input, schema: rest as never });
  if (!input.schema || (out.schema as { hide?: boolean } | undefined)?.hide) return out;
  const inline = Object.fromEntries(Object.entries({ params, querystring, headers }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, inlineSchema(v)]));
  return { ...out, schema: { ...(out.schema as object), ...inline } };
};

const baseTransformObject = createJsonSchemaTransformObject({ schemaRegistry: apiSchemas });

type Json = Record<string, any>;

export const openapiTransformObject: SwaggerTransformObject = (input) => {
  registerSchemas();
  const doc = baseTransformObject(input) as Json;
  for (const [path, item] of Object.entries(doc.paths ?? {}) as Array<[string, Json]>) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      op.operationId ??= operationIdOf(method, path);
      if (IDEMPOTENT_ROUTES.has(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)) documentIdempotency(op);
      if (NOT_API.test(path)) continue;
      op.responses ??= {};
      for (const [status, codes] of ERROR_STATUSES) {
        op.responses[status] ??= { description: codes.join(', '), content: { 'application/problem+json': { schema: PROBLEM_REF } } };
      }
    }
  }
  prune(doc);
  return doc;
};

function documentIdempotency(op: Json): void {
  op.parameters = [
    ...(op.parameters ?? []),
    {
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description: 'Any unique string (a UUID): a retry with the same key, by the same user, with the same request gets the first answer (header Idempotency-Replayed: true) instead of doing it again; kept GATEWAY_IDEMPOTENCY_TTL_MS',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
    },
  ];
  op.responses['422'] = { description: 'IDEMPOTENCY_KEY_REUSED: the key was used with a different request', content: { 'application/problem+json': { schema: PROBLEM_REF } } };
}

/** Drops the component schemas no operation reaches, directly or through another component. */
function prune(doc: Json): void {
  const schemas = (doc.components?.schemas ?? {}) as Json;
  const reached = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string' && x.startsWith('#/components/schemas/')) {
        const name = decodeURIComponent(x.slice('#/components/schemas/'.length));
        if (!reached.has(name)) {
          reached.add(name);
          walk(schemas[name]);
        }
      } else walk(x);
    }
  };
  walk(doc.paths);
  for (const name of Object.keys(schemas)) if (!reached.has(name)) delete schemas[name];
}
