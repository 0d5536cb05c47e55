import { testLogger, waitFor } from '@codeagent/testing';
import { AgentSupervisor, type AgentChangeSink } from './supervisor';
import type { JailTmux, JailRunResult } from './tmux';

/**
 * A tmux whose answers about the pane are scripted: each `display-message` takes the next answer, and
 * `cat` of the exit file the next of its own. A `wait-for` returns at once (the channel was signalled).
 * Everything else (prepare, new-session) succeeds.
 */
function scriptedTmux(pane: JailRunResult[], exitFile: Array<string | undefined>) {
  const asked: string[] = [];
  const tmux = {
    prepare: async () => undefined,
    must: async () => '',
    run: async (args: string[]): Promise<JailRunResult> => {
      asked.push(args[0]!);
      return pane.shift() ?? { code: 1, stdout: '', stderr: 'no more answers scripted' };
    },
    readFile: async () => {
      asked.push('cat');
      return exitFile.shift();
    },
    start: async (args: string[]) => {
      asked.push(args[0]!);
      return { stdin: { end: () => undefined }, exited: Promise.resolve(0), kill: async () => undefined };
    },
  };
  return { tmux: tmux as unknown as JailTmux, asked };
}

const dead = (status: string) => ({ code: 0, stdout: `1|${status}|\n`, stderr: '' });
const alive = { code: 0, stdout: '0||\n', stderr: '' };

/** Starts a supervisor over `tmux` that gives up at the first failure; resolves with its changes once it has. */
async function superviseOnce(name: string, tmux: JailTmux): Promise<Array<Parameters<AgentChangeSink>[0]>> {
  const changes: Array<Parameters<AgentChangeSink>[0]> = [];
  const sup = new AgentSupervisor(name, { name, command: name, args: [], env: {}, restart: { maxFailures: 1, baseDelayMs: 10 } }, { tmux, publish: async (c) => void changes.push(c), log: testLogger() });
  await sup.start();
  await waitFor('the give-up', () => changes.some((c) => c.type === 'gave-up'));
  return changes;
}

describe('AgentSupervisor reading how its agent died', () => {
  test('a read that fails for a moment (a tmux client, the cat of the exit file) is tried again: the crash keeps its exit code', async () => {
    const { tmux, asked } = scriptedTmux(
      [{ code: 1, stdout: '', stderr: 'error connecting to the server' }, dead(''), dead('3')],
      [undefined],
    );
    const changes = await superviseOnce('doomed', tmux);
    expect(changes.map((c) => [c.type, c.exitCode])).toEqual([
      ['started', undefined],
      ['exited', 3],
      ['gave-up', 3],
    ]);
    // The failed read, the dead pane without a status and its unreadable file, then the status.
    expect(asked).toEqual(['display-message', 'display-message', 'cat', 'display-message']);
  });

  test('a pane tmux cannot tell about at all is an unknown exit (-1), after a bounded number of reads', async () => {
    const { tmux, asked } = scriptedTmux([], []);
    const changes = await superviseOnce('gone', tmux);
    expect(changes.find((c) => c.type === 'exited')?.exitCode).toBe(-1);
    expect(asked.filter((a) => a === 'display-message')).toHaveLength(5);
  });

  test('woken while the pane still reads alive, with the code written: the wrapper is exiting, and a pane tmux never reaped (dead, no status) dies with that code', async () => {
    // tmux 3.3a loses a pane's SIGCHLD now and then: the pane reads dead without a status and only the
    // wrapper's own signal and file tell of the death.
    const { tmux, asked } = scriptedTmux([alive, alive, dead('')], ['3', '3']);
    const changes = await superviseOnce('unreaped', tmux);
    expect(changes.map((c) => [c.type, c.exitCode])).toEqual([
      ['started', undefined],
      ['exited', 3],
      ['gave-up', 3],
    ]);
    expect(asked).toEqual(['display-message', 'wait-for', 'display-message', 'cat', 'display-message', 'cat']);
  });

  test('a stop while the wait for a death is being set up ends the supervisor at once, not at its next safety read', async () => {
    // The shell service's stop closes every jail, each stopping its agents: one that waited its 10 s
    // safety read held a replica's stop past its 30 s grace in a test run.
    jest.useFakeTimers();
    try {
      let starting!: () => void;
      const waiterStarting = new Promise<void>((resolve) => (starting = resolve));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let killed = false;
      const { tmux } = scriptedTmux([alive], []);
      tmux.start = (async () => {
        starting();
        await released;
        let exit!: (code: number) => void;
        const exited = new Promise<number>((resolve) => (exit = resolve));
        return { stdin: { end: () => undefined }, exited, kill: async () => ((killed = true), exit(143)) };
      }) as unknown as JailTmux['start'];
      const sup = new AgentSupervisor('busy', { name: 'busy', command: 'busy', args: [], env: {}, restart: { maxFailures: 1, baseDelayMs: 10 } }, { tmux, publish: async () => undefined, log: testLogger() });
      await sup.start();
      await waiterStarting;
      // No timer runs from here: a stop that needed the safety read's timer would never end.
      const stopped = sup.stop({ publish: false });
      release();
      await expect(stopped).resolves.toBe(true);
      expect(killed).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  }, 5_000);
});

