import { fieldPath } from '../errors';
import { AppError } from '../errors';
import { SandboxSpecV1 } from './session';
import { EgressCredentialV1, SandboxNetworkV1 } from './network';

// The one allowlist schema the gateway, the orchestrator and the shell share: what it accepts, and
// that every refusal names the entry and says what is wrong with it.

test.each(['pypi.org', '*.npmjs.org', 'github.com:443', 'a.b.c.d.example.com:65535', 'localhost', 'x-1.example.org', '10.1.2.3', '10.1.2.3:8080', 'xn--bcher-kva.example'])(
  'accepts %s',
  (entry) => {
    expect(SandboxNetworkV1.safeParse({ allow: [entry] }).success).toBe(true);
  },
);

test.each([
  ['', /empty/],
  ['https://pypi.org', /scheme/],
  ['pypi.org/simple', /path/],
  ['PyPI.org', /lower case/],
  ['*.10.0.0.1', /wildcard cannot cover an IP/],
  ['pypi..org', /empty label/],
  ['.pypi.org', /empty label/],
  ['pypi.org.', /empty label/],
  ['github.com:0', /port "0"/],
  ['github.com:65536', /port "65536"/],
  ['github.com:443x', /port/],
  ['github.com:', /port ""/],
  ['*', /bare "\*"/],
  ['*.com', /top-level/],
  ['a.*.example.com', /only start/],
  ['**.example.com', /only start/],
  ['-bad.example.com', /label "-bad"/],
  ['under_score.example.com', /label "under_score"/],
  ['[::1]:443', /IPv6/],
  ['::1', /IPv6/],
  ['user@example.com', /user/],
  ['a b.com', /white space/],
  ['1.2.3', /IPv4/],
  ['example.123', /all digits/],
  [`${'a'.repeat(64)}.com`, /at most 63/],
  [`${'a.'.repeat(126)}com`, /253/],
])('refuses %j', (entry, why) => {
  const r = SandboxSpecV1.safeParse({ network: { allow: ['ok.example.com', entry] } });
  expect(r.success).toBe(false);
  const err = AppError.validation(r.error!, 'sandbox');
  expect((err.details as { fields: Array<{ path: string; message: string }> }).fields).toEqual([{ path: 'network.allow[1]', message: expect.stringMatching(why) }]);
});

test('a policy that is none of the three shapes says what the shapes are; extra keys and too many entries are refused', () => {
  for (const bad of ['wifi', 5, { allow: 'pypi.org' }, {}]) {
    const r = SandboxNetworkV1.safeParse(bad);
    expect(r.success).toBe(false);
  }
  expect(SandboxNetworkV1.safeParse('wifi').error!.issues[0]!.message).toMatch(/"none", "open" or \{"allow"/);
  expect(SandboxNetworkV1.safeParse({ allow: [], deny: [] }).error!.issues[0]!.message).toMatch(/deny/);
  const many = SandboxNetworkV1.safeParse({ allow: Array.from({ length: 257 }, (_, i) => `h${i}.example.com`) });
  expect(many.error!.issues[0]).toMatchObject({ path: ['allow'], message: 'at most 256 entries (got 257)' });
});

test('credentials are provider names usable as host labels', () => {
  expect(SandboxSpecV1.safeParse({ credentials: ['anthropic', 'my-openai'] }).success).toBe(true);
  const r = SandboxSpecV1.safeParse({ credentials: ['anthropic', 'My.Provider'] });
  expect(r.error!.issues[0]!.path).toEqual(['credentials', 1]);
});

test('an egress credential marks its headers secret; paths print with array indexes in brackets', () => {
  expect(EgressCredentialV1.shape.headers.meta()).toMatchObject({ secret: true });
  expect(fieldPath(['sandbox', 'network', 'allow', 1])).toBe('sandbox.network.allow[1]');
  expect(fieldPath([0, 'a', '2'])).toBe('[0].a[2]');
});
