import type { ProjectCiRegistry } from './registry';
import type { ProjectInfo } from './types';

/**
 * Makes the registry match the owner's list of projects: CIs for projects it missed (created before
 * this service first subscribed) and none for projects that are gone. Run before consuming events,
 * so the events queued meanwhile, replayed in order afterwards, end in the same state.
 */
export async function reconcile(
  registry: ProjectCiRegistry,
  projects: ProjectInfo[],
): Promise<{ ensured: number; removed: number; refused: Array<{ projectId: string; reason: string }> }> {
  const live = new Set(projects.map((p) => p.projectId));
  let removed = 0;
  for (const id of registry.projectIds()) {
    if (!live.has(id) && (await registry.remove(id))) removed++;
  }
  // One project the registry refuses (e.g. an index past the last TCP port) must not stop the others.
  const refused: Array<{ projectId: string; reason: string }> = [];
  for (const p of projects) {
    try {
      await registry.ensure(p);
    } catch (err) {
      refused.push({ projectId: p.projectId, reason: (err as Error).message });
    }
  }
  return { ensured: projects.length - refused.length, removed, refused };
}
