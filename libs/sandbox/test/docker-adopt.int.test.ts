import { existsSync } from 'node:fs';
import { waitFor } from '@codeagent/testing';
import type { Sandbox, SandboxState } from '../src/types';
import { runHolder, tempWorkspaces } from './fixtures';
import { DockerDriver } from '../src/docker/driver';
import type { DockerState } from '../src/docker/sandbox';
import { importBusyboxImage, startTestEngine } from './docker-engine';

// A real engine: the host's if one answers, else a private dockerd started for this file.
const engine = startTestEngine();
if (engine.skipReason) console.warn(`docker adoption tests skipped: ${engine.skipReason}`);
const d = engine.skipReason ? describe.skip : describe;

const ws = tempWorkspaces('dock-adopt');
const containersDir = ws.make('containers');

/** Numbered lines, slowly enough that the holder lets go in the middle, then a status of 7. */
const COUNT = 400;
const STREAM = `for i in $(seq 1 ${COUNT}); do echo "line $i"; sleep 0.002; done; echo err-at-end >&2; sh -c "exit 7"`;
const EXPECTED = Array.from({ length: COUNT }, (_, i) => `line ${i + 1}\n`).join('');

d('a container outlives the process that started it (real dockerd, two processes)', () => {
  jest.setTimeout(60_000);
  let driver: DockerDriver;
  let image: string;
  const open: Sandbox[] = [];

  beforeAll(async () => {
    driver = new DockerDriver({ dockerHost: engine.host, pull: false, containersDir });
    image = await importBusyboxImage(driver.docker);
  });

  afterAll(async () => {
    await Promise.allSettled(open.map((s) => s.close()));
    await engine.stop();
    ws.cleanup();
  });

  /** Runs test/jail-holder.ts with a container until it lets go of it; what it printed, parsed. */
  const holder = (mode: 'detach' | 'die', workspace: string) =>
    runHolder<DockerState>(mode, { dir: containersDir, workspace, command: STREAM, afterBytes: 600, docker: { dockerHost: engine.host!, image } });

  async function adopt(state: SandboxState, sent?: unknown) {
    let out = '';
    const adopted = await driver.adopt(state, { sent, onOutput: (c) => void (out += c.data.toString()) });
    open.push(adopted.sandbox);
    return { ...adopted, output: () => out };
  }

  test('after a detach, the next process reads on where the first stopped: every line once, in order, and the exit status', async () => {
    const h = await holder('detach', ws.make('detach'));
    expect({ exit: h.exit, detached: h.detached }).toEqual({ exit: '0', detached: true });
    expect(h.out.length).toBeGreaterThan(0);
    expect(h.out.length).toBeLessThan(EXPECTED.length);
    const a = await adopt(h.state);
    expect(a.restored).toBeUndefined();
    expect((await a.resumed!).exitCode).toBe(7);
    expect(h.out + a.output()).toBe(EXPECTED + 'err-at-end\n');
    // The same shell in the same container: its working folder, exports and background job are there.
    expect((await a.sandbox.exec('pwd; echo "$FOO $GIVEN"; ps | grep -c "[s]leep 1000"')).stdout).toBe('/tmp\na b at-open\n1\n');
    expect(a.sandbox.container).toBe(h.state.spec.name);
  });

  test('after the holder is killed (no detach): the recovery sweep spares the kept container, and the state saved at open with what onSent gave is enough', async () => {
    const h = await holder('die', ws.make('die'));
    expect(h.exit).toBe('SIGKILL');
    expect(h.sent).toBeDefined();
    // Its process is dead, which makes it a leftover, unless a successor is to adopt it.
    expect(await driver.removeLeftovers([h.state])).not.toContain(h.state.spec.name);
    const a = await adopt(h.state, h.sent);
    expect(a.restored).toBeUndefined();
    expect((await a.resumed!).exitCode).toBe(7);
    // What the killed process had read is lost with it; what it had not is all here, in order.
    const rest = a.output().replace(/err-at-end\n$/, '');
    expect(EXPECTED.endsWith(rest)).toBe(true);
    expect(rest.length).toBeGreaterThan(0);
    // The adopted shell is no child of this process, yet its death is seen and a new one takes its place.
    const crashed = new Promise((resolve) => a.sandbox.on('crash', resolve));
    expect((await a.sandbox.exec('exit 3')).exitCode).toBe(3);
    expect(await crashed).toMatchObject({ restarted: true });
    expect((await a.sandbox.exec('echo new')).stdout).toBe('new\n');
    // Closing it leaves nothing: no container, no folder.
    await a.sandbox.close();
    expect(existsSync(h.state.dir)).toBe(false);
    expect(await driver.docker.getContainer(h.state.spec.name).inspect().then(() => 'there', () => 'gone')).toBe('gone');
  });

  test('a container the engine lost is started again from its image on its workspace, with its working folder and exports, and says what was lost', async () => {
    const sb = await driver.open({ workspaceDir: ws.make('lost'), image, env: { GIVEN: 'at-open' } });
    await sb.exec('mkdir -p sub && echo kept > sub/file; sleep 1000 &');
    await sb.exec("cd sub; export FOO='x \"y\"'");
    // The job's subshell may not have become the sleep yet: the state lists processes as they are.
    await waitFor('the background job running', () => (sb.state!() as DockerState).processes.join('\n').includes('sleep 1000'), { timeoutMs: 10_000 });
    const state = (await sb.detach!(new Error('restarting'))) as DockerState;
    expect(state.processes.join('\n')).toContain('sleep 1000');
    // What an engine restart without live-restore, or a reboot, does: the container is gone.
    await driver.docker.getContainer(state.spec.name).remove({ force: true });
    const a = await adopt(state);
    expect(a.restored).toMatchObject({ cwd: '/workspace/sub', lostCommand: false });
    expect(a.restored!.lostProcesses.join('\n')).toContain('sleep 1000');
    expect(a.restored!.exports).toBeGreaterThanOrEqual(1);
    expect((await a.sandbox.exec('pwd; echo "$FOO|$GIVEN"; cat file; ps | grep -c "[s]leep 1000" || true')).stdout).toBe('/workspace/sub\nx "y"|at-open\nkept\n0\n');
    expect(a.sandbox.container).not.toBe(state.spec.name);
  });
});
