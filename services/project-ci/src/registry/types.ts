import type { ProjectCiStatusV1 } from '@codeagent/contracts';

/** What the registry needs to know about a project (from the orchestrator's project events). */
export interface ProjectInfo {
  projectId: string;
  name: string;
  /** The project's stable small integer: its CI listens on base + index. */
  index: number;
  /** The provider and model its CI talks to; absent: the service's default. */
  provider?: string;
  model?: string;
}

/** One registry row, as kept across restarts: the port is part of it so a CI comes back on the same one. */
export interface CiRecord extends ProjectInfo {
  port: number;
  createdAt: string;
}

/** The registry's own store. Implementations: a JSON file (repositories/json-store.ts), Prisma later. */
export interface RegistryRepository {
  all(): Promise<CiRecord[]>;
  save(record: CiRecord): Promise<void>;
  remove(projectId: string): Promise<void>;
}

export type CiStatus = ProjectCiStatusV1;
