import type { DiscoveryV1, ProjectDiscoveryV1 } from '@codeagent/contracts';

/** The workspace service's discovery of a project's files: of its source folder in place, or of a session's workspace. */
export interface DiscoveryPort {
  discover(target: { source: Record<string, unknown> } | { workspaceId: string }): Promise<DiscoveryV1>;
}

/** The workspace service's answer in API.md's shape (what GET /projects/:id shows and what picks a session's driver). */
export function toProjectDiscovery(d: DiscoveryV1, at: Date): ProjectDiscoveryV1 {
  return {
    tier: d.tier ?? d.kind,
    languages: d.languages ?? (d.toolchain === 'generic' ? [] : [d.toolchain]),
    driver: d.driver,
    ...(d.image ? { image: d.image } : {}),
    ...(d.dockerfile ? { dockerfile: d.dockerfile } : {}),
    ...(d.setupCommand ? { setupCommand: d.setupCommand } : {}),
    ...(d.testCommand ? { testCommand: d.testCommand } : {}),
    ...(d.missing?.length ? { missing: d.missing } : {}),
    ...(d.devcontainer ? { devcontainer: d.devcontainer } : {}),
    checkedAt: at.toISOString(),
  };
}

/** Whether two discoveries say the same (the time they were made aside). */
export function sameDiscovery(a: ProjectDiscoveryV1 | undefined, b: ProjectDiscoveryV1 | undefined): boolean {
  const strip = (d?: ProjectDiscoveryV1) => (d ? JSON.stringify({ ...d, checkedAt: '' }) : '');
  return strip(a) === strip(b);
}
