import type { SourceInputV1, WorkspaceSourceV1 } from '@codeagent/contracts';

/** API.md's `{path}` and `{git, ref?}` as the workspace service's `{kind, ...}`. */
export function normaliseSource(s: SourceInputV1): WorkspaceSourceV1 {
  if ('kind' in s) return s;
  if ('path' in s) return { kind: 'path', path: s.path };
  return { kind: 'git', url: s.git, ...(s.ref ? { ref: s.ref } : {}) };
}
