import { diagnose } from './diagnose';

describe('diagnose', () => {
  it('says what to do when user namespaces are refused (AppArmor, containers, kernel)', () => {
    const e = diagnose('bwrap: setting up uid map: Permission denied\n');
    expect(e.code).toBe('SANDBOX_UNAVAILABLE');
    expect(e.message).toMatch(/apparmor_restrict_unprivileged_userns/);
    expect(e.message).toMatch(/max_user_namespaces/);
    expect(e.message).toMatch(/setting up uid map/);
    expect(diagnose('bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.').message).toMatch(/AppArmor/);
    expect(diagnose('bwrap: Creating new namespace failed: Operation not permitted').message).toMatch(/Docker driver/);
  });

  it('says how to install bubblewrap when it is missing', () => {
    expect(diagnose('bwrap: not found').message).toMatch(/apt-get install bubblewrap/);
  });

  it('passes on anything else with bwrap\'s words', () => {
    const e = diagnose('bwrap: Can\'t mount tmpfs on /newroot/x: Invalid argument');
    expect(e.code).toBe('SANDBOX_UNAVAILABLE');
    expect(e.message).toMatch(/Invalid argument/);
  });
});
