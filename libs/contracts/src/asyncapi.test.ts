import { Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import { z } from 'zod';
import { asyncApiDocument } from './asyncapi';
import { catalog } from './catalog';
import { clientMessage, ClientMessageV1, ServerMessageV1 } from './socket';

// The AsyncAPI document, validated by the AsyncAPI parser, and held against the zod schemas the
// services parse with: for samples of each kind of message, the document's schema and zod agree on
// what is accepted and what is refused.
const doc = asyncApiDocument() as any;
const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: false });
const messageSchema = (id: string) => ajv.compile(doc.components.messages[id].payload);
const meta = { version: '1', client: 'test' };
const at = '2026-12-04T21:00:00.000Z';

test('the document is valid AsyncAPI 3.0 for the AsyncAPI parser', async () => {
  const { document, diagnostics } = await new Parser().parse(JSON.stringify(doc));
  expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
  expect(document?.version()).toBe('3.0.0');
  expect(document?.channels().get('socket')?.address()).toBe('/v1');
}, 60_000);

test('every command and event of the catalog has its channel, operation and messages; the socket has its five', () => {
  for (const key of Object.keys(catalog.commands)) {
    expect(doc.channels[`commands.${key}`]).toMatchObject({ address: key, bindings: { amqp: { exchange: { name: 'codeagent.commands' } } } });
    expect(doc.operations[`commands.${key}`]).toMatchObject({ action: 'receive', reply: { address: { location: '$message.header#/replyTo' } } });
    expect(doc.components.messages).toHaveProperty([`${key}.request`]);
    expect(doc.components.messages).toHaveProperty([`${key}.reply`]);
  }
  for (const key of Object.keys(catalog.events)) {
    const address = catalog.events[key as keyof typeof catalog.events].perSession ? `${key}.{sessionId}` : key;
    expect(doc.channels[`events.${key}`]).toMatchObject({ address, bindings: { amqp: { exchange: { name: 'codeagent.events' } } } });
    expect(doc.operations[`events.${key}`]).toMatchObject({ action: 'send' });
  }
  expect(Object.keys(doc.channels.socket.messages).sort()).toEqual(['socket.command', 'socket.error', 'socket.response', 'socket.status', 'socket.stream']);
});

test('socket messages: the document accepts what the gateway accepts and refuses what it refuses', () => {
  const command = messageSchema('socket.command');
  const samples = [
    clientMessage({ command: '/subscribe', args: [], context: { sessionId: 'ses_1', since: 4 } } as never, meta),
    clientMessage({ command: '/exec', args: ['ls -la'], context: { sessionId: 'ses_1' }, timeoutMs: 5000 } as never, meta),
    clientMessage({ command: '/resize', args: [120, 40], context: { sessionId: 'ses_1' } } as never, meta),
    clientMessage({ command: '/exec', args: [], context: { sessionId: 'ses_1' } } as never, meta),
    clientMessage({ command: '/exec', args: ['ls'], context: {} } as never, meta),
    clientMessage({ command: '/teleport', args: [], context: { sessionId: 'ses_1' } } as never, meta),
    { ...clientMessage({ command: '/interrupt', args: [], context: { sessionId: 'ses_1' } } as never, meta), timestamp: 'yesterday' },
  ];
  const verdicts = samples.map((s) => [ClientMessageV1.safeParse(s).success, command(s)]);
  expect(verdicts.map(([zod]) => zod)).toEqual([true, true, true, false, false, false, false]);
  for (const [zod, json] of verdicts) expect(json).toBe(zod);

  const stream = messageSchema('socket.stream');
  const out = { id: 'm1', type: 'stream', timestamp: at, metadata: meta, payload: { sessionId: 'ses_1', seq: 7, stream: 'stdout', data: 'hi\n' } };
  expect([ServerMessageV1.safeParse(out).success, stream(out)]).toEqual([true, true]);
  const bad = { ...out, payload: { ...out.payload, seq: -1 } };
  expect([ServerMessageV1.safeParse(bad).success, stream(bad)]).toEqual([false, false]);
});

test('bus messages: for every command, an empty request and a request of the wrong type get the same verdict from the document as from zod', () => {
  const differ: string[] = [];
  for (const [key, def] of Object.entries(catalog.commands)) {
    const validate = messageSchema(`${key}.request`);
    for (const payload of [{}, { unexpected: true }, 'not an object', null]) {
      const envelope = { id: 'm1', type: 'command', timestamp: at, metadata: meta, payload };
      const zod = (def.request as z.ZodType).safeParse(payload).success;
      if (validate(envelope) !== zod) differ.push(`${key} ${JSON.stringify(payload)}: zod ${zod}`);
    }
  }
  expect(differ).toEqual([]);
  for (const [key, def] of Object.entries(catalog.events)) {
    const validate = messageSchema(key);
    const envelope = { id: 'm1', type: 'event', timestamp: at, metadata: meta, payload: {} };
    if (validate(envelope) !== (def.schema as z.ZodType).safeParse({}).success) differ.push(`${key} {}`);
  }
  expect(differ).toEqual([]);
});
