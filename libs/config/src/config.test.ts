import { z } from 'zod';
import { ConfigError, envBool, envInt, loadEnv } from './index';

/** The one variable every service requires; tests about other variables pass it. */
const base = { CODEAGENT_BUS_SECRET: 'b'.repeat(32) };

test('defaults apply and empty strings count as unset', () => {
  const env = loadEnv({ SHELL_MAX_SESSIONS: envInt(100, 1) }, { ...base, SHELL_MAX_SESSIONS: '', RABBITMQ_URL: 'amqp://h:5672' });
  expect(env.SHELL_MAX_SESSIONS).toBe(100);
  expect(env.RABBITMQ_URL).toBe('amqp://h:5672');
  expect(env.LOG_LEVEL).toBe('info');
});

test('a bad variable fails at start with its name, the problem and the value given', () => {
  const load = () => loadEnv({ SHELL_MAX_SESSIONS: envInt(100, 1), SHELL_DEBUG: envBool(false) }, { ...base, SHELL_MAX_SESSIONS: 'many', SHELL_DEBUG: 'perhaps' });
  expect(load).toThrow(ConfigError);
  try {
    load();
  } catch (err) {
    const e = err as ConfigError;
    expect(e.problems).toHaveLength(2);
    expect(e.message).toMatch(/SHELL_MAX_SESSIONS: .*\(got "many"\)/);
    expect(e.message).toMatch(/SHELL_DEBUG: expected true\/false/);
  }
});

test('secrets are not echoed in the error', () => {
  expect(() => loadEnv({ GATEWAY_JWT_SECRET: z.string().min(32) }, { ...base, GATEWAY_JWT_SECRET: 'short-secret' })).toThrow(/GATEWAY_JWT_SECRET: .*\(got "\[redacted\]"\)/);
});

test('booleans parse the usual spellings', () => {
  expect(loadEnv({ X: envBool(false) }, { ...base, X: 'yes' }).X).toBe(true);
  expect(loadEnv({ X: envBool(true) }, { ...base, X: 'off' }).X).toBe(false);
  expect(loadEnv({ X: envBool(true) }, base).X).toBe(true);
});

test('a service without the bus secret, or with a short one, refuses to start and says what to do, never echoing it', () => {
  expect(() => loadEnv({}, {})).toThrow(/CODEAGENT_BUS_SECRET: required: the same random value of 32\+ characters on every service .*\(not set\)/);
  expect(() => loadEnv({}, { CODEAGENT_BUS_SECRET: 'short-bus-secret' })).toThrow(/CODEAGENT_BUS_SECRET: at least 32 characters \(got "\[redacted\]"\)/);
  expect(() => loadEnv({}, { CODEAGENT_BUS_SECRET: 'short-bus-secret' })).not.toThrow(/short-bus-secret/);
  expect(loadEnv({}, base).CODEAGENT_BUS_SECRET).toBe(base.CODEAGENT_BUS_SECRET);
});

test('durable queues are classic unless BUS_QUEUE_TYPE says quorum (the bus declares them so: libs/bus quorum.int.test.ts)', () => {
  expect(loadEnv({}, base).BUS_QUEUE_TYPE).toBe('classic');
  expect(loadEnv({}, { ...base, BUS_QUEUE_TYPE: 'quorum' }).BUS_QUEUE_TYPE).toBe('quorum');
  expect(() => loadEnv({}, { ...base, BUS_QUEUE_TYPE: 'stream' })).toThrow(/BUS_QUEUE_TYPE/);
});
