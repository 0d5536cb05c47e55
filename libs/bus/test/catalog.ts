import { z } from 'zod';
import { command, event, type Catalog } from '@codeagent/contracts';

/** A catalog of the bus's tests alone, so they do not depend on the platform's messages. */
export const TestCatalog = {
  commands: {
    'analytics.echo': command('analytics', {
      request: z.object({ text: z.string() }),
      reply: z.object({ text: z.string(), by: z.string() }),
      summary: 'echoes text, naming the replica',
    }),
    'analytics.fail': command('analytics', {
      request: z.object({ code: z.string() }),
      reply: z.object({}),
      summary: 'always fails with the given code',
    }),
    'workspace.relay': command('workspace', {
      request: z.object({ text: z.string() }),
      reply: z.object({ text: z.string(), by: z.string() }),
      summary: 'asks analytics.echo: a two-hop request',
    }),
  },
  events: {
    'test.happened': event({ schema: z.object({ n: z.number().int() }), summary: 'a numbered fact' }),
    'test.logged': event({ schema: z.object({ text: z.string() }), summary: 'a high-volume log line (what a consumer may leave out)' }),
    'test.session': event({ schema: z.object({ sessionId: z.string(), n: z.number().int() }), perSession: true, summary: "a session's event, routed by its sessionId" }),
    'test.bytes': event({ schema: z.object({ n: z.number().int(), data: z.custom<Uint8Array>((v) => v instanceof Uint8Array) }), summary: 'bytes as they were read' }),
  },
} satisfies Catalog;
