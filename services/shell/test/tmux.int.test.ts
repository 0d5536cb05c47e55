import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BubblewrapDriver, type Sandbox } from '@codeagent/sandbox';
import { waitFor } from '@codeagent/testing';
import { JailTmux, newSessionArgs, respawnArgs } from '../src/agents/tmux';

/**
 * The channel an agent's supervisor waits on, with the real tmux in a real jail. tmux remembers one
 * signal nobody waits for and a second one cancels it: a death signalled twice (the pane's wrapper and
 * the pane-died hook) while the supervisor was between two waits was seen only at its 10 s safety read
 * (services/shell/test/agents.int.test.ts "sees every end promptly" failed so in a CI run).
 */
describe("an agent's death signals its tmux channel `died` exactly once (real tmux in a real jail)", () => {
  const STATE = '/workspace/.codeagent/agents/probe';
  let workspace: string;
  let sb: Sandbox;
  let tmux: JailTmux;

  beforeAll(async () => {
    workspace = mkdtempSync(path.join(os.tmpdir(), 'tmux-channel-ws-'));
    sb = await new BubblewrapDriver().open({ workspaceDir: workspace });
    tmux = new JailTmux(sb, 'probe');
    await tmux.prepare(STATE);
  });

  afterAll(async () => {
    await sb?.close();
    rmSync(workspace, { recursive: true, force: true });
  });

  /** The pane's state once it reads dead: whether tmux reaped it (a status or signal: the hook ran). */
  const deadPane = async (): Promise<{ reaped: boolean; status: string }> => {
    let pane = '';
    await waitFor('the pane dead', async () => (pane = (await tmux.must(['display-message', '-p', '-t', 'probe', '#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}'])).trim()).startsWith('1|'), { timeoutMs: 10_000 });
    const [, status, signal] = pane.split('|');
    return { reaped: Boolean(status || signal), status: status ?? '' };
  };

  /** Starts a run of `command` with its own channel, with the supervisor's arguments: the first in a new session, later ones in its pane. */
  const startRun = async (run: number, command: string[]): Promise<string> => {
    const agentRun = { name: 'probe', env: { CODEAGENT_AGENT_STATE: STATE }, command: command[0]!, args: command.slice(1), channel: `died-test-${run}` };
    await tmux.must(run === 1 ? newSessionArgs(agentRun, `${STATE}/tmux.conf`) : respawnArgs(agentRun));
    return agentRun.channel;
  };

  /** Whether a `wait-for` on `channel` started now returns within `ms` (a signal was remembered for it). */
  const signalWaiting = async (channel: string, ms: number): Promise<boolean> => {
    const waiter = await tmux.start(['wait-for', channel]);
    waiter.stdin.end();
    let timer: NodeJS.Timeout | undefined;
    const woken = await Promise.race([waiter.exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
    clearTimeout(timer);
    await waiter.kill();
    return woken;
  };

  /** One signal remembered: the first wait returns at once, a second one is not woken. */
  const expectOneSignal = async (run: number, channel: string) => {
    expect({ run, first: await signalWaiting(channel, 5_000) }).toEqual({ run, first: true });
    expect({ run, second: await signalWaiting(channel, 500) }).toEqual({ run, second: false });
  };

  it('an agent that exits: the wrapper signals and the hook does not, also when tmux reaped the pane (where both did)', async () => {
    // tmux 3.3a reaps some panes and not others; a double signal needs a reaped one, so this runs
    // until three were (each respawn also takes the wrapper's mark off for the next run).
    let reaped = 0;
    for (let run = 1; reaped < 3 && run <= 40; run++) {
      const channel = await startRun(run, ['sh', '-c', 'exit 3']);
      const pane = await deadPane();
      if (pane.reaped) {
        reaped += 1;
        expect(pane.status).toBe('3');
      }
      await expectOneSignal(run, channel);
    }
    expect(reaped).toBe(3);
  }, 120_000);

  it('an agent killed with its wrapper before it could signal: the hook signals once, the mark of the last run taken off by the respawn', async () => {
    // Killed outright in a pane tmux does not reap (3.3a's lost SIGCHLD), nothing signals at all: the
    // supervisor sees that death at its safety read. Only the reaped ones can be checked.
    let reaped = 0;
    for (let run = 41; reaped < 2 && run <= 80; run++) {
      const channel = await startRun(run, ['sleep', '1000']);
      const group = (await tmux.must(['display-message', '-p', '-t', 'probe', '#{pane_pid}'])).trim();
      expect(await sb.exec(`kill -9 -- -${group}`)).toMatchObject({ exitCode: 0 });
      if (!(await deadPane()).reaped) continue;
      reaped += 1;
      await expectOneSignal(run, channel);
    }
    expect(reaped).toBe(2);
  }, 120_000);
});
