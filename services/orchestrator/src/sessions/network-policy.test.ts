import { AppError } from '@codeagent/contracts';
import { allowCovers, assertProjectSettingsAllowed, sessionSandbox } from './network-policy';

// The network rules of sessions and projects, as pure functions (the integration tests drive them
// through the real orchestrator over the bus).
const member = { userId: 'mia', role: 'member' as const };
const admin = { userId: 'ada', role: 'admin' as const };
const refusal = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected a refusal');
};

test('"open": admins, trusted callers, members an admin granted it to, and members of a project whose policy allows it', () => {
  const err = refusal(() => sessionSandbox({ network: 'open' }, undefined, member));
  expect(err).toMatchObject({ code: 'FORBIDDEN', details: { field: 'sandbox.network' } });
  expect(err.message).toMatch(/admins only.*ask an admin/);
  expect(sessionSandbox({ network: 'open' }, undefined, admin).network).toBe('open');
  expect(sessionSandbox({ network: 'open' }, undefined, undefined).network).toBe('open');
  expect(sessionSandbox({ network: 'open' }, undefined, { ...member, allowOpenNetwork: true }).network).toBe('open');
  expect(sessionSandbox({ network: 'open' }, { policy: { allowOpenNetwork: true } }, member).network).toBe('open');
  // A project's default of `open` is no grant by itself.
  expect(refusal(() => sessionSandbox({}, { name: 'p', sandbox: { network: 'open' } }, member)).message).toMatch(/project p's policy does not allow it/);
});

test("a project's allowlist is its sessions' default and a member's ceiling: narrowing is fine, widening is refused naming the entry", () => {
  const project = { name: 'web', sandbox: { network: { allow: ['*.npmjs.org', 'pypi.org', 'github.com:443'] }, memoryMb: 512 } };
  expect(sessionSandbox(undefined, project, member)).toEqual({ network: { allow: ['*.npmjs.org', 'pypi.org', 'github.com:443'] }, memoryMb: 512 });
  expect(sessionSandbox({ network: { allow: ['registry.npmjs.org', 'github.com:443'] } }, project, member).network).toEqual({ allow: ['registry.npmjs.org', 'github.com:443'] });
  expect(sessionSandbox({ network: 'none' }, project, member).network).toBe('none');
  const err = refusal(() => sessionSandbox({ network: { allow: ['pypi.org', 'github.com'] } }, project, member));
  expect(err).toMatchObject({ code: 'FORBIDDEN', details: { field: 'sandbox.network.allow[1]' } });
  expect(err.message).toContain('"github.com" is not within project web\'s allowlist');
  expect(sessionSandbox({ network: { allow: ['evil.example'] } }, project, admin).network).toEqual({ allow: ['evil.example'] });
  // Without a project allowlist a member's own allowlist is theirs to choose.
  expect(sessionSandbox({ network: { allow: ['evil.example'] } }, { sandbox: { network: 'none' } }, member).network).toEqual({ allow: ['evil.example'] });
});

test('credentials: with no network they mean {allow: []}; with an explicit "none" they are a 400 naming the field', () => {
  expect(sessionSandbox({ credentials: ['anthropic', 'anthropic'] }, undefined, member)).toEqual({ credentials: ['anthropic'], network: { allow: [] } });
  expect(sessionSandbox({ credentials: ['openai'], network: { allow: ['pypi.org'] } }, undefined, member).network).toEqual({ allow: ['pypi.org'] });
  const err = refusal(() => sessionSandbox({ credentials: ['anthropic'], network: 'none' }, undefined, member));
  expect(err).toMatchObject({ code: 'VALIDATION_FAILED', details: { fields: [{ path: 'sandbox.credentials' }] } });
  expect(refusal(() => sessionSandbox({ credentials: ['anthropic'] }, { sandbox: { network: 'none' } }, admin)).code).toBe('VALIDATION_FAILED');
});

test("only admins set a project's policy; a member may not make `open` a project's default", () => {
  expect(refusal(() => assertProjectSettingsAllowed(member, { policy: { allowOpenNetwork: true } }))).toMatchObject({ code: 'FORBIDDEN', details: { field: 'settings.policy' } });
  expect(refusal(() => assertProjectSettingsAllowed(member, {}, { policy: { allowOpenNetwork: true } }))).toMatchObject({ code: 'FORBIDDEN' });
  // Sending back the policy as it is changes nothing.
  expect(() => assertProjectSettingsAllowed(member, { policy: { allowOpenNetwork: true } }, { policy: { allowOpenNetwork: true } })).not.toThrow();
  expect(() => assertProjectSettingsAllowed(admin, { policy: { allowOpenNetwork: true } })).not.toThrow();
  expect(refusal(() => assertProjectSettingsAllowed(member, { sandbox: { network: 'open' } }))).toMatchObject({ code: 'FORBIDDEN', details: { field: 'settings.sandbox.network' } });
  expect(() => assertProjectSettingsAllowed(member, { sandbox: { network: 'open' }, policy: { allowOpenNetwork: true } }, { policy: { allowOpenNetwork: true } })).not.toThrow();
  expect(() => assertProjectSettingsAllowed(member, { sandbox: { network: { allow: ['pypi.org'] } } })).not.toThrow();
});

test.each([
  ['pypi.org', 'pypi.org', true],
  ['pypi.org', 'files.pypi.org', false],
  ['*.pypi.org', 'files.pypi.org', true],
  ['*.pypi.org', 'a.b.pypi.org', true],
  ['*.pypi.org', '*.pypi.org', true],
  ['*.pypi.org', '*.files.pypi.org', true],
  ['*.pypi.org', 'pypi.org', false],
  ['*.pypi.org', 'notpypi.org', false],
  ['pypi.org', '*.pypi.org', false],
  ['github.com', 'github.com:443', true],
  ['github.com:443', 'github.com', false],
  ['github.com:443', 'github.com:22', false],
  ['*.github.com:443', 'api.github.com:443', true],
])('%s covers %s: %s', (outer, inner, expected) => {
  expect(allowCovers(outer, inner)).toBe(expected);
});
