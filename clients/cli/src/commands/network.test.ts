import { CliError } from '../errors';
import { describeNetwork, parseNetwork } from './resources';

// `sessions new --network ...` builds the API's sandbox.network; `sessions show` says what the jail can reach.
test('--network none|open|allow:hosts', () => {
  expect(parseNetwork('none')).toBe('none');
  expect(parseNetwork('open')).toBe('open');
  expect(parseNetwork('allow:pypi.org, *.npmjs.org,github.com:443')).toEqual({ allow: ['pypi.org', '*.npmjs.org', 'github.com:443'] });
  expect(parseNetwork('allow:')).toEqual({ allow: [] });
  expect(() => parseNetwork('wifi')).toThrow(CliError);
});

test('networkInForce for people', () => {
  expect(describeNetwork({ mode: 'none', interfaces: ['lo'], routes: 0 })).toBe('none; interfaces lo, 0 routes out');
  expect(describeNetwork({ mode: 'allow', interfaces: ['lo'], routes: 0, proxy: 'http://127.0.0.1:3128', allow: ['pypi.org'], credentials: ['anthropic'] })).toBe(
    'allow; only pypi.org; keys added for anthropic; through http://127.0.0.1:3128; interfaces lo, 0 routes out',
  );
  expect(describeNetwork(undefined)).toBeUndefined();
});
