import { egressResolver } from './drivers';
import { loadServiceEnv } from './env';

const base = { CODEAGENT_BUS_SECRET: 's'.repeat(32) };

describe('SHELL_EGRESS_HOSTS', () => {
  it('parses name=address pairs; a name given twice has both addresses; names are lowercased', () => {
    const env = loadServiceEnv({ ...base, SHELL_EGRESS_HOSTS: 'Mirror.Internal=10.1.2.3, mirror.internal=fd00::1,pypi.internal.=10.1.2.4' });
    expect(env.SHELL_EGRESS_HOSTS).toEqual({ 'mirror.internal': ['10.1.2.3', 'fd00::1'], 'pypi.internal': ['10.1.2.4'] });
    expect(env.SHELL_EGRESS_HOSTS_ONLY).toBe(false);
  });

  it.each(['mirror.internal', 'mirror.internal=not-an-address', '=10.1.2.3', 'a=b=10.1.2.3', '*.x=10.1.2.3'])('refuses %j naming it', (value) => {
    expect(() => loadServiceEnv({ ...base, SHELL_EGRESS_HOSTS: value })).toThrow(value);
  });

  it('is looked up before the host resolver; with SHELL_EGRESS_HOSTS_ONLY other names do not resolve', async () => {
    const only = egressResolver({ 'mirror.internal': ['10.1.2.3'] }, true)!;
    await expect(only('MIRROR.internal.')).resolves.toEqual(['10.1.2.3']);
    await expect(only('example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('leaves the driver its default resolver when nothing is configured', () => {
    expect(egressResolver({}, false)).toBeUndefined();
    expect(egressResolver({}, true)).toBeDefined();
  });
});
