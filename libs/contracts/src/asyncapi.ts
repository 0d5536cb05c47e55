import { z } from 'zod';
import { catalog } from './catalog';
import { Envelope } from './envelope';
import { ErrorPayload } from './errors';
import { ClientCommandPayloadV1, ResponsePayloadV1, SOCKET_EVENT, SOCKET_NAMESPACE, StatusPayloadV1, StreamPayloadV1 } from './socket';
import { Exchanges, Headers } from './topology';

// The AsyncAPI 3.0 description of the platform's two message protocols, generated from the same zod
// schemas the services parse with: the gateway's Socket.IO protocol (socket.ts) and the bus catalog
// (catalog.ts) on RabbitMQ. Every message is an envelope (envelope.ts) whose `payload` is the
// message's own schema. Requests a party accepts are described in their input form (defaults
// optional), what it sends in its output form.

type Json = Record<string, unknown>;
type Io = 'input' | 'output';

/** JSON Schema draft-07 (AsyncAPI's default schema format is a superset of it). */
function schemaOf(schema: z.ZodType, io: Io): Json {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { target: 'draft-7', io, unrepresentable: 'any' }) as Json;
  return json;
}

const envelopeOf = (payload: z.ZodType, type?: string) => (type ? Envelope.extend({ type: z.literal(type), payload }) : Envelope.extend({ payload }));

const AMQP_BINDING_VERSION = '0.3.0';
const exchangeBinding = (name: string, type: 'topic' | 'fanout') => ({
  amqp: { is: 'routingKey', exchange: { name, type, durable: true, autoDelete: false, vhost: '/' }, bindingVersion: AMQP_BINDING_VERSION },
});
const ref = (path: string) => ({ $ref: path });
/** Ids AsyncAPI accepts for components and channels. */
const idOf = (s: string) => s.replace(/[^a-zA-Z0-9.\-_]/g, '_');

const busHeaders = {
  type: 'object',
  description: 'AMQP headers the platform sets on every message (libs/contracts topology.ts)',
  properties: {
    [Headers.traceparent]: { type: 'string', description: 'W3C trace context' },
    [Headers.publisher]: { type: 'string', description: 'The platform service that published it' },
    [Headers.signature]: { type: 'string', description: 'v1=<base64 HMAC-SHA256> with CODEAGENT_BUS_SECRET over publisher, message id, type, correlation id and body' },
  },
};

export function asyncApiDocument(): Json {
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};

  // ---- Socket.IO (gateway) ----
  const socketMessages = {
    'socket.command': { payload: envelopeOf(ClientCommandPayloadV1, 'command'), io: 'input' as Io, summary: 'A command from a client: /subscribe, /exec, /input, /resize, /interrupt, the agent commands and the outside-agent ones' },
    'socket.stream': { payload: envelopeOf(StreamPayloadV1, 'stream'), io: 'output' as Io, summary: "A session's output, numbered by seq" },
    'socket.status': { payload: envelopeOf(StatusPayloadV1, 'status'), io: 'output' as Io, summary: "Every other session event (state changes, commands, agents), numbered by seq" },
    'socket.response': { payload: envelopeOf(ResponsePayloadV1, 'response'), io: 'output' as Io, summary: "A command's answer, with the command's envelope id" },
    'socket.error': { payload: envelopeOf(ErrorPayload, 'error'), io: 'output' as Io, summary: 'A refused command (same id) or an error about the connection' },
  };
  for (const [id, m] of Object.entries(socketMessages)) messages[id] = { name: id, title: id, summary: m.summary, contentType: 'application/json', payload: schemaOf(m.payload, m.io) };
  channels.socket = {
    address: SOCKET_NAMESPACE,
    title: 'Socket.IO namespace /v1',
    description: `Every message, both ways, is the Socket.IO event \`${SOCKET_EVENT}\` carrying one envelope. In team mode the client sends its token as \`auth: {token}\`.`,
    servers: [ref('#/servers/gateway')],
    messages: Object.fromEntries(Object.keys(socketMessages).map((id) => [id, ref(`#/components/messages/${id}`)])),
  };
  operations['socket.sendCommand'] = {
    action: 'send',
    title: 'A client sends a command',
    channel: ref('#/channels/socket'),
    messages: [ref('#/channels/socket/messages/socket.command')],
    reply: { channel: ref('#/channels/socket'), messages: [ref('#/channels/socket/messages/socket.response'), ref('#/channels/socket/messages/socket.error')] },
  };
  operations['socket.receiveEvents'] = {
    action: 'receive',
    title: "A client receives a subscribed session's events",
    channel: ref('#/channels/socket'),
    messages: ['socket.stream', 'socket.status', 'socket.error'].map((id) => ref(`#/channels/socket/messages/${id}`)),
  };

  // ---- The bus (RabbitMQ) ----
  for (const [key, def] of Object.entries(catalog.commands)) {
    const channelId = idOf(`commands.${key}`);
    const request = idOf(`${key}.request`);
    const reply = idOf(`${key}.reply`);
    messages[request] = { name: request, title: `${key} (request)`, summary: def.summary, contentType: 'application/json', headers: busHeaders, payload: schemaOf(envelopeOf(def.request), 'input'), 'x-version': def.version };
    messages[reply] = { name: reply, title: `${key} (reply)`, summary: `The reply to ${key}: the result, or an error payload`, contentType: 'application/json', headers: busHeaders, payload: schemaOf(envelopeOf(z.union([def.reply, ErrorPayload])), 'output') };
    channels[channelId] = {
      address: key,
      title: key,
      description: `A command for ${def.service}, routed by key \`${key}\` on the topic exchange \`${Exchanges.commands}\` to its competing-consumer queue; the reply goes to the message's replyTo with its correlationId.`,
      servers: [ref('#/servers/broker')],
      messages: { [request]: ref(`#/components/messages/${request}`), [reply]: ref(`#/components/messages/${reply}`) },
      bindings: exchangeBinding(Exchanges.commands, 'topic'),
    };
    operations[channelId] = {
      action: 'receive',
      title: `${def.service} answers ${key}`,
      summary: def.summary,
      channel: ref(`#/channels/${channelId}`),
      messages: [ref(`#/channels/${channelId}/messages/${request}`)],
      reply: { address: { location: '$message.header#/replyTo' }, channel: ref(`#/channels/${channelId}`), messages: [ref(`#/channels/${channelId}/messages/${reply}`)] },
    };
  }
  for (const [key, def] of Object.entries(catalog.events)) {
    const channelId = idOf(`events.${key}`);
    const id = idOf(key);
    messages[id] = { name: id, title: key, summary: def.summary, contentType: 'application/json', headers: busHeaders, payload: schemaOf(envelopeOf(def.schema, 'event'), 'output'), 'x-version': def.version };
    const address = def.perSession ? `${key}.{sessionId}` : key;
    channels[channelId] = {
      address,
      title: key,
      description:
        `A fact, published with routing key \`${address}\` on the topic exchange \`${Exchanges.events}\`; each consumer reads it from its own durable queue` +
        (def.perSession ? ` (binding \`${key}.*\` for every session, or \`${key}.<id>\` for the sessions it follows).` : '.'),
      ...(def.perSession ? { parameters: { sessionId: { description: "The payload's sessionId, dots replaced by underscores." } } } : {}),
      servers: [ref('#/servers/broker')],
      messages: { [id]: ref(`#/components/messages/${id}`) },
      bindings: exchangeBinding(Exchanges.events, 'topic'),
    };
    operations[channelId] = { action: 'send', title: `${key} is published`, summary: def.summary, channel: ref(`#/channels/${channelId}`), messages: [ref(`#/channels/${channelId}/messages/${id}`)] };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'codeagent: Socket.IO protocol and message bus',
      version: '1.0.0',
      description:
        "The gateway's Socket.IO protocol (namespace /v1, event `message`) and every command and event of the platform's RabbitMQ bus, generated from libs/contracts. Every message is seed 003's envelope (`id`, `type`, `timestamp`, `payload`, `metadata`).",
    },
    defaultContentType: 'application/json',
    servers: {
      gateway: { host: '127.0.0.1:8080', protocol: 'ws', pathname: '/socket.io/', description: 'Socket.IO over WebSocket (engine.io) on the gateway; the namespace is the channel address' },
      broker: { host: '127.0.0.1:5672', protocol: 'amqp', protocolVersion: '0.9.1', description: 'RabbitMQ; the platform services only (messages are signed)' },
    },
    channels,
    operations,
    components: { messages },
  };
}
