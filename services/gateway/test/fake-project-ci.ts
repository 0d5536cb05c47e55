import { Bus } from '@codeagent/bus';
import { AppError, type ProjectCiV1 } from '@codeagent/contracts';
import { testLogger } from '@codeagent/testing';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A small project-ci for the gateway's tests, over the real broker: it opens a "CI" (a registry
 * entry) `openDelayMs` after each project.created / project.updated event, as the real one does after
 * binding its port, and answers project-ci.* commands. A chat message `sleep <ms>` answers after that long.
 */
export class FakeProjectCi {
  readonly cis = new Map<string, ProjectCiV1>();

  private constructor(readonly bus: Bus) {}

  static async start(url: string, opts: { portBase: number; openDelayMs: number }): Promise<FakeProjectCi> {
    const bus = await Bus.connect({ url, service: 'project-ci', instanceId: `fake-ci-${process.pid}-${Date.now()}`, logger: testLogger() });
    const f = new FakeProjectCi(bus);
    const open = async (e: { projectId: string; name: string; index: number }) => {
      await sleep(opts.openDelayMs);
      const slug = e.name.toLowerCase().replace(/[^a-z0-9]+/g, '-');
      f.cis.set(e.projectId, {
        project_id: e.projectId, project_name: e.name, ci_socket: `project-${slug}-ai`, socket_port: opts.portBase + e.index, index: e.index,
        status: 'running', last_response_at: null, last_ping_ms: null, history_messages: 0,
      });
    };
    await bus.subscribe('fake-project-ci', {
      'project.created': async (e: { projectId: string; name: string; index: number }) => void open(e),
      'project.updated': async (e: { projectId: string; name: string; index: number }) => void open(e),
      'project.deleted': async (e: { projectId: string }) => void f.cis.delete(e.projectId),
    } as never, { durable: false });
    const find = (ref: string) => {
      const ci = f.cis.get(ref) ?? [...f.cis.values()].find((c) => c.project_name.toLowerCase() === ref.toLowerCase());
      if (!ci) throw new AppError('NOT_FOUND', `no project CI for "${ref}"`);
      return ci;
    };
    await bus.handleCommands('project-ci', {
      'project-ci.ping': async () => ({ service: 'project-ci', instanceId: 'fake', status: 'ok', uptimeSeconds: 1, version: 'test' }),
      'project-ci.get': async (p: { project: string }) => find(p.project),
      'project-ci.list': async () => ({ cis: [...f.cis.values()] }),
      'project-ci.history': async (p: { project: string }) => ({ project_name: find(p.project).project_name, messages: [] }),
      'project-ci.chat': async (p: { project_name: string; message: string }) => {
        const ci = find(p.project_name);
        const ms = /^sleep (\d+)$/.exec(p.message)?.[1];
        if (ms) await sleep(Number(ms));
        return { response: `[Project: ${ci.project_name}] ${p.message}`, project_name: ci.project_name, ci_socket: ci.ci_socket, socket_port: ci.socket_port };
      },
      // Answering a chat in person is driven end to end in e2e/project-chat-answer.e2e.test.ts; here nobody holds one.
      ...Object.fromEntries(
        ['project-ci.answerer.claim', 'project-ci.answerer.next', 'project-ci.answerer.answer', 'project-ci.answerer.release'].map((n) => [
          n,
          async () => {
            throw new AppError('SERVICE_UNAVAILABLE', 'the fake project-ci takes no answerers');
          },
        ]),
      ),
    } as never);
    return f;
  }

  close(): Promise<void> {
    return this.bus.close(1_000);
  }
}
