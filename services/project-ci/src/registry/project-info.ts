import type { ProjectEventV1, ProjectV1 } from '@codeagent/contracts';
import type { ProjectInfo } from './types';

/** What the registry keeps of a project (event or listing): its CI's provider and model come from `settings.ci`. */
export function toProjectInfo(p: Pick<ProjectEventV1, 'name' | 'index' | 'settings'> & { projectId?: string; id?: string }): ProjectInfo {
  const projectId = p.projectId ?? p.id;
  if (!projectId) throw new Error('a project without an id');
  return {
    projectId,
    name: p.name,
    index: p.index,
    ...(p.settings.ci?.provider ? { provider: p.settings.ci.provider } : {}),
    ...(p.settings.ci?.model ? { model: p.settings.ci.model } : {}),
  };
}

export const fromProjectV1 = (p: ProjectV1): ProjectInfo => toProjectInfo({ ...p, projectId: p.id });
