import { existsSync, readFileSync, rmSync } from 'node:fs';
import { waitFor } from '@codeagent/testing';
import type { Sandbox, SandboxState } from '../src/types';
import { hostProcessesMatching, runHolder, tempWorkspaces, terminalLines } from './fixtures';
import { BubblewrapDriver } from '../src/bubblewrap/driver';
import type { BubblewrapState } from '../src/bubblewrap/sandbox';

const ws = tempWorkspaces('adopt');
const jailsDir = ws.make('jails');
const driver = new BubblewrapDriver({ jailsDir });
const open: Sandbox[] = [];
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  ws.cleanup();
});

/** Numbered lines, slowly enough that the holder lets go in the middle, then a status of 7. */
const COUNT = 400;
const STREAM = `for i in $(seq 1 ${COUNT}); do echo "line $i"; sleep 0.002; done; echo err-at-end >&2; bash -c "exit 7"`;
const EXPECTED = Array.from({ length: COUNT }, (_, i) => `line ${i + 1}\n`).join('');

/** Runs test/jail-holder.ts until it lets go of its jail; what it printed, parsed. */
const holder = (mode: 'detach' | 'die', workspace: string) => runHolder<BubblewrapState>(mode, { dir: jailsDir, workspace, command: STREAM, afterBytes: 600 });

/** Adopts with a collector for the resumed command's output and one for the kept terminal's. */
async function adopt(state: SandboxState, sent?: unknown) {
  let out = '';
  let pty = '';
  const adopted = await driver.adopt(state, { sent, onOutput: (c) => void (out += c.data.toString()) });
  open.push(adopted.sandbox);
  adopted.terminal?.onData((d) => void (pty += d.toString()));
  return { ...adopted, output: () => out, ptyOutput: () => pty };
}

/**
 * The kept terminal of jail-holder.ts goes on in the adopting process: the rest of its lines, then
 * a line typed here read by the same program, which exits with its status. Answers the lines seen here.
 */
async function terminalGoesOn(a: Awaited<ReturnType<typeof adopt>>): Promise<number[]> {
  expect(a.terminal).toBeDefined();
  await waitFor('the terminal\'s last line', () => terminalLines(a.ptyOutput()).includes(300), { timeoutMs: 20_000 });
  const exit = new Promise<number>((resolve) => a.terminal!.onExit(resolve));
  a.terminal!.write('typed-after\r');
  expect(await exit).toBe(5);
  expect(a.ptyOutput()).toContain('got typed-after\r\n');
  return terminalLines(a.ptyOutput());
}

const ALL_LINES = Array.from({ length: 300 }, (_, i) => i + 1);

describe('a jail outlives the process that started it (real bwrap, two processes)', () => {
  it('after a detach, the next process reads on where the first stopped: every line once, in order, and the exit status', async () => {
    const h = await holder('detach', ws.make('detach'));
    expect({ exit: h.exit, detached: h.detached }).toEqual({ exit: '0', detached: true });
    // The holder saw part of the output, not all of it: the command was running when it let go.
    expect(h.out.length).toBeGreaterThan(0);
    expect(h.out.length).toBeLessThan(EXPECTED.length);
    const a = await adopt(h.state);
    expect(a.restored).toBeUndefined();
    const result = await a.resumed!;
    expect(result.exitCode).toBe(7);
    expect(h.out + a.output()).toBe(EXPECTED + 'err-at-end\n');
    // The shell is the same one: its working folder, exports and background job are still there.
    expect((await a.sandbox.exec('pwd; echo "$FOO $GIVEN"; jobs -p | wc -l')).stdout).toBe('/tmp\na b at-open\n1\n');
    // The terminal was printing when the holder let go: each of its lines reached one of the two, once, in order.
    const before = terminalLines(h.pty);
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(300);
    expect([...before, ...(await terminalGoesOn(a))]).toEqual(ALL_LINES);
  });

  it('after the holder is killed (no detach), the state it saved at open and what onSent gave are enough', async () => {
    const h = await holder('die', ws.make('die'));
    expect(h.exit).toBe('SIGKILL');
    expect(h.sent).toBeDefined();
    const a = await adopt(h.state, h.sent);
    expect(a.restored).toBeUndefined();
    expect((await a.resumed!).exitCode).toBe(7);
    // What the killed process had read is lost with it; what it had not is all here, in order.
    const rest = a.output().replace(/err-at-end\n$/, '');
    expect(EXPECTED.endsWith(rest)).toBe(true);
    expect(rest.length).toBeGreaterThan(0);
    expect((await a.sandbox.exec('pwd; echo "$FOO"')).stdout).toBe('/tmp\na b\n');
    // The terminal went on too; what the killed process had read of it is lost, the rest is here.
    const lines = await terminalGoesOn(a);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines).toEqual(ALL_LINES.slice(300 - lines.length));
    // The adopted shell is no child of this process, yet its death is seen (its background job keeps
    // the jail's output open), with its exit status (bwrap's status file), and a new one takes its place.
    const crashed = new Promise((resolve) => a.sandbox.on('crash', resolve));
    expect((await a.sandbox.exec('exit 3')).exitCode).toBe(3);
    expect(await crashed).toMatchObject({ reason: expect.stringMatching(/^the shell ended \(exit status 3\); a new shell runs in \/tmp/), restarted: true, restoredCwd: '/tmp' });
    // In the dead shell's folder, with its exports; its jobs went with the old jail.
    expect((await a.sandbox.exec('echo "new $PWD $FOO"; jobs -p | wc -l')).stdout).toBe('new /tmp a b\n0\n');
  });

  it('a kept terminal that ended while no process held it is answered ended, with its exit status', async () => {
    const sb = await driver.open({ workspaceDir: ws.make('ended-terminal') });
    const pty = await sb.openPty({ kept: true });
    let text = '';
    pty.onData((d) => void (text += d.toString()));
    pty.write('echo ready-$((40+2))\r');
    await waitFor('the terminal answering', () => text.includes('ready-42'), { timeoutMs: 10_000 });
    // Its program exits while nobody holds the terminal (between the two processes of a restart).
    pty.write('sleep 0.3; exit 3\r');
    const state = (await sb.detach!(new Error('restarting'))) as BubblewrapState;
    expect(state.terminal).toBeDefined();
    await waitFor('the terminal gone', () => !existsSync(`/proc/${state.terminal!.holderPid}`) || readFileSync(`/proc/${state.terminal!.holderPid}/stat`, 'utf8').includes(') Z'), { timeoutMs: 10_000 });
    const a = await adopt(state);
    expect(a.restored).toBeUndefined();
    expect(await new Promise((resolve) => a.terminal!.onExit(resolve))).toBe(3);
    // Its folder went with it; the jail and its shell are there.
    expect(existsSync(state.terminal!.dir)).toBe(false);
    expect((await a.sandbox.exec('echo still')).stdout).toBe('still\n');
  });

  it('a jail that is gone is started again on its workspace, with its working folder and exports, and says what was lost', async () => {
    const dir = ws.make('lost');
    const sb = await driver.open({ workspaceDir: dir, env: { GIVEN: 'at-open' } });
    const tag = `lost${process.pid}`;
    await sb.exec(`mkdir -p sub && echo kept > sub/file; (exec -a ${tag} sleep 1000) &`);
    await sb.exec("cd sub; export FOO='x \"y\"' MULTI=$'one\\ntwo'");
    // The job's subshell may not have become the sleep yet: the state lists processes as they are.
    await waitFor('the background job running', () => hostProcessesMatching(tag).length === 1, { timeoutMs: 10_000 });
    const state = (await sb.detach!(new Error('restarting'))) as BubblewrapState;
    expect(state.processes.join('\n')).toContain(tag);
    // What a reboot does to a jail: every process of it gone.
    process.kill(state.jail.initPid, 'SIGKILL');
    await waitFor('the jail gone', () => hostProcessesMatching(tag).length === 0, { timeoutMs: 10_000 });
    const a = await adopt(state);
    expect(a.restored).toMatchObject({ cwd: '/workspace/sub', lostCommand: false });
    expect(a.restored!.lostProcesses.join('\n')).toContain(tag);
    expect(a.restored!.exports).toBeGreaterThanOrEqual(2);
    const r = await a.sandbox.exec('pwd; echo "$FOO|$GIVEN"; printf "%s" "$MULTI" | wc -l; cat file; pgrep -c sleep || true');
    expect(r.stdout).toBe('/workspace/sub\nx "y"|at-open\n1\nkept\n0\n');
  });

  it("a jail gone with its folder (a reboot emptied the memory it was in) is restored from the state's own copy of its shell", async () => {
    const sb = await driver.open({ workspaceDir: ws.make('wiped') });
    await sb.exec("mkdir -p deep/er && cd deep/er && export KEPT='copy'");
    const state = (await sb.detach!(new Error('restarting'))) as BubblewrapState;
    expect(state.shell).toMatchObject({ cwd: '/workspace/deep/er' });
    process.kill(state.jail.initPid, 'SIGKILL');
    await waitFor('the jail gone', () => !existsSync(`/proc/${state.jail.initPid}`) || readFileSync(`/proc/${state.jail.initPid}/stat`, 'utf8').includes(') Z'), { timeoutMs: 10_000 });
    rmSync(state.dir, { recursive: true, force: true });
    const a = await adopt(state);
    expect(a.restored).toMatchObject({ cwd: '/workspace/deep/er' });
    expect((await a.sandbox.exec('pwd; echo "$KEPT"')).stdout).toBe('/workspace/deep/er\ncopy\n');
  });
});

