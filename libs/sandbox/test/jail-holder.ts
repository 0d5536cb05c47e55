/**
 * A process that holds a jail for the adoption tests, then lets go of it the way a shell service does:
 * `detach` (a graceful stop) or `die` (SIGKILL to itself). It prints JSON lines: `state` (the saved
 * state), `sent` (what onSent gave), `out` (output it received), `pty` (what the kept terminal
 * printed, a jail's only: TERMINAL_PROGRAM runs in it), `detached`.
 * argv: <detach|die> <jailsDir> <workspace> <command> <bytes of output before letting go> [docker]
 * where `docker` is JSON `{ dockerHost, image }`: a container of the docker driver instead of a jail,
 * its folder in jailsDir.
 */
import { BubblewrapDriver } from '../src/bubblewrap/driver';
import { DockerDriver } from '../src/docker/driver';
import { TERMINAL_PROGRAM } from './fixtures';

async function main(): Promise<void> {
  const [mode, jailsDir, workspaceDir, command, after, docker] = process.argv.slice(2) as [string, string, string, string, string, string | undefined];
  const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const engine = docker ? (JSON.parse(docker) as { dockerHost: string; image: string }) : undefined;
  const sb = engine
    ? await new DockerDriver({ dockerHost: engine.dockerHost, pull: false, containersDir: jailsDir }).open({ workspaceDir, image: engine.image, env: { GIVEN: 'at-open' } })
    : await new BubblewrapDriver({ jailsDir }).open({ workspaceDir, env: { GIVEN: 'at-open' } });
  await sb.exec('cd /tmp && export FOO="a b" && sleep 1000 &');
  await sb.exec('cd /tmp; export FOO="a b"');
  if (!engine) {
    // The session's terminal, printing as the command will: the holder lets go in the middle of both.
    const pty = await sb.openPty({ kept: true });
    const printing = new Promise((resolve) => pty.onData((d) => (say({ pty: d.toString('latin1') }), resolve(undefined))));
    pty.write(`${TERMINAL_PROGRAM}\r`);
    await printing;
  }
  // What a service saves when it opens a jail: all a successor has if this process dies.
  say({ state: sb.state!() });
  let seen = 0;
  let letGo: Promise<void> | undefined;
  const run = sb.exec(command, {
    onSent: (sent) => say({ sent }),
    onOutput: (c) => {
      say({ out: c.data.toString() });
      seen += c.data.length;
      if (seen < Number(after) || letGo) return;
      letGo =
        mode === 'die'
          ? Promise.resolve(void process.kill(process.pid, 'SIGKILL'))
          : sb.detach!(new Error('restarting')).then((state) => (say({ state }), say({ detached: true }), process.exit(0)));
    },
  });
  run.catch(() => undefined);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
