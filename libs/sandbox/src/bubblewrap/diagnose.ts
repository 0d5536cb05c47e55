import { AppError } from '@codeagent/contracts';

const USERNS_HELP =
  'bubblewrap cannot create namespaces on this host. Fix one of: ' +
  '(1) Ubuntu 23.10+ restricts user namespaces through AppArmor: `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` ' +
  'or install an AppArmor profile that allows userns for /usr/bin/bwrap; ' +
  '(2) inside a container, run it with user namespaces allowed (e.g. `--security-opt seccomp=unconfined --security-opt apparmor=unconfined`, or --privileged); ' +
  '(3) the kernel needs CONFIG_USER_NS and `sysctl user.max_user_namespaces` above 0. ' +
  'Or use the Docker driver instead (SANDBOX_DRIVER=docker).';

/** Turns bwrap's complaint into an AppError that says what is wrong and what to do. */
export function diagnose(stderr: string, exitCode?: number): AppError {
  const msg = stderr.trim().split('\n').slice(-3).join(' ').slice(0, 500);
  if (exitCode === 97) {
    return new AppError('SANDBOX_UNAVAILABLE', `the sandbox could not join its cgroups (is /sys/fs/cgroup writable by this user?): ${msg || 'no message'}`, { details: { stderr: msg } });
  }
  if (/No such file or directory.*bwrap|bwrap: not found|ENOENT/.test(msg)) {
    return new AppError('SANDBOX_UNAVAILABLE', 'bubblewrap is not installed: `apt-get install bubblewrap` (or your distribution\'s package), or use the Docker driver.', { details: { bwrap: msg } });
  }
  if (/namespace|uid map|setting up uid|Operation not permitted|Permission denied|clone/i.test(msg)) {
    return new AppError('SANDBOX_UNAVAILABLE', `${USERNS_HELP} (bwrap said: ${msg})`, { details: { bwrap: msg } });
  }
  return new AppError('SANDBOX_UNAVAILABLE', `the sandbox did not start: ${msg || 'no message from bwrap'}`, { details: { bwrap: msg } });
}
