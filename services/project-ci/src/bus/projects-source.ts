import type { Bus } from '@codeagent/bus';
import { fromProjectV1 } from '../registry/project-info';
import type { ProjectInfo } from '../registry/types';

/** Every project, from the orchestrator (its owner), page by page. */
export async function listProjects(bus: Bus, timeoutMs: number): Promise<ProjectInfo[]> {
  const all: ProjectInfo[] = [];
  let cursor: string | undefined;
  do {
    const page = await bus.request('orchestrator.project.list', { limit: 1000, ...(cursor ? { cursor } : {}) }, { timeoutMs });
    all.push(...page.projects.map(fromProjectV1));
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}
