import { AppError, ProjectCiStatusV1, ProjectV1, type ProjectCiV1 } from '@codeagent/contracts';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Principal } from '../auth/principal';
import type { ServiceClient } from '../http/bus-call';

/** API.md's project: the orchestrator's record plus where its CI listens (project-ci's registry). */
export const ProjectWithCi = ProjectV1.extend({
  /** The CI's name, e.g. `project-claude-code-ai`; null when project-ci has none or did not answer. */
  ciSocket: z.string().nullable(),
  /** The CI's TCP port on 127.0.0.1 (project-ci's base + the project's index); null likewise. */
  socketPort: z.number().int().nullable(),
  /** The CI's state; `missing`: project-ci has no CI for it; `unknown`: project-ci did not answer. */
  ciStatus: z.union([ProjectCiStatusV1, z.enum(['missing', 'unknown'])]),
});
export type ProjectWithCi = z.infer<typeof ProjectWithCi>;

/** The project is the answer; its CI's details must not hold it long when project-ci is slow or down. */
const LOOKUP_TIMEOUT_MS = 2_000;
const RETRY_EVERY_MS = 50;

function merge(p: ProjectV1, ci: ProjectCiV1 | undefined, status: 'missing' | 'unknown' = 'missing'): ProjectWithCi {
  return { ...p, ciSocket: ci?.ci_socket ?? null, socketPort: ci?.socket_port ?? null, ciStatus: ci?.status ?? status };
}

/** Finds projects' CIs through project-ci's `project-ci.get` and `project-ci.list` commands. */
export class ProjectCiLookup {
  constructor(
    private readonly services: ServiceClient,
    /** How long to wait for a CI that project-ci has not opened (or renamed) yet. */
    private readonly waitMs: number,
  ) {}

  /**
   * The project with its CI. With `waitForName`, project-ci is still reacting to the project's event
   * (created or renamed): ask again until its CI carries that name, for at most `waitMs`.
   */
  async withCi(p: ProjectV1, who: Principal, opts: { waitForName?: string } = {}): Promise<ProjectWithCi> {
    const deadline = Date.now() + (opts.waitForName ? this.waitMs : 0);
    let last: ProjectCiV1 | undefined;
    for (;;) {
      try {
        last = await this.services.call('project-ci.get', { project: p.id }, who, { timeoutMs: LOOKUP_TIMEOUT_MS });
        if (!opts.waitForName || last.project_name === opts.waitForName) return merge(p, last);
      } catch (err) {
        if (AppError.from(err).code !== 'NOT_FOUND') return merge(p, undefined, 'unknown');
      }
      if (Date.now() + RETRY_EVERY_MS > deadline) return merge(p, last);
      await sleep(RETRY_EVERY_MS);
    }
  }

  /** Many projects, with one question to project-ci. */
  async withCis(projects: ProjectV1[], who: Principal): Promise<ProjectWithCi[]> {
    if (projects.length === 0) return [];
    let cis: Map<string, ProjectCiV1>;
    try {
      const out = await this.services.call('project-ci.list', {}, who, { timeoutMs: LOOKUP_TIMEOUT_MS });
      cis = new Map(out.cis.map((c) => [c.project_id, c]));
    } catch {
      return projects.map((p) => merge(p, undefined, 'unknown'));
    }
    return projects.map((p) => merge(p, cis.get(p.id)));
  }
}
