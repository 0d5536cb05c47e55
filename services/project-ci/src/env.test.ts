import { loadServiceEnv as load } from './env';

/** Every service requires the bus secret; these tests are about the other variables. */
const loadServiceEnv = (env: NodeJS.ProcessEnv) => load({ CODEAGENT_BUS_SECRET: 'b'.repeat(32), ...env });

test('defaults: seed 004 port base, loopback only, Ollama', () => {
  const env = loadServiceEnv({});
  expect([env.PROJECT_CI_PORT_BASE, env.PROJECT_CI_HOST, env.PROJECT_CI_DEFAULT_PROVIDER]).toEqual([42100, '127.0.0.1', 'ollama']);
});

test('CI sockets are never exposed beyond loopback without authentication', () => {
  expect(() => loadServiceEnv({ PROJECT_CI_HOST: '0.0.0.0' })).toThrow(/PROJECT_CI_HOST: must be a loopback address/);
  expect(() => loadServiceEnv({ PROJECT_CI_HOST: '192.168.1.5' })).toThrow(/loopback/);
  expect(loadServiceEnv({ PROJECT_CI_HOST: '::1' }).PROJECT_CI_HOST).toBe('::1');
  expect(() => loadServiceEnv({ PROJECT_CI_PORT_BASE: '70000' })).toThrow(/PROJECT_CI_PORT_BASE/);
  // Team mode authenticates every connection: a container may then listen on all its interfaces.
  expect(loadServiceEnv({ PROJECT_CI_HOST: '0.0.0.0', PROJECT_CI_AUTH: 'team' }).PROJECT_CI_HOST).toBe('0.0.0.0');
  expect(() => loadServiceEnv({ PROJECT_CI_AUTH: 'open' })).toThrow(/PROJECT_CI_AUTH/);
});

test("socket auth follows the gateway's mode unless set: a team platform's sockets never default to open", () => {
  expect(loadServiceEnv({}).PROJECT_CI_AUTH).toBe('none');
  expect(loadServiceEnv({ GATEWAY_AUTH_MODE: 'local' }).PROJECT_CI_AUTH).toBe('none');
  // `npm start` (scripts/start.mjs) hands every service the same environment, so team mode reaches project-ci.
  expect(loadServiceEnv({ GATEWAY_AUTH_MODE: 'team' }).PROJECT_CI_AUTH).toBe('team');
  expect(loadServiceEnv({ GATEWAY_AUTH_MODE: 'team', PROJECT_CI_HOST: '0.0.0.0' }).PROJECT_CI_HOST).toBe('0.0.0.0');
  // An explicit choice wins, either way.
  expect(loadServiceEnv({ GATEWAY_AUTH_MODE: 'team', PROJECT_CI_AUTH: 'none' }).PROJECT_CI_AUTH).toBe('none');
  expect(loadServiceEnv({ PROJECT_CI_AUTH: 'team' }).PROJECT_CI_AUTH).toBe('team');
});
