import type { ProjectCiV1 } from '@codeagent/contracts';
import type { Conversation } from '../conversation/conversation';
import type { CiSocketServer } from '../socket/ci-server';
import { ciSocketName } from './naming';
import type { CiRecord, CiStatus } from './types';

/** One project's CI as the registry runs it: its record, its socket server, its health. */
export interface CiRuntime {
  record: CiRecord;
  server?: CiSocketServer;
  status: CiStatus;
  reason?: string;
  lastResponseAt: Date | null;
  lastPingMs: number | null;
  missed: number;
}

export function newRuntime(record: CiRecord): CiRuntime {
  return { record, status: 'starting', lastResponseAt: null, lastPingMs: null, missed: 0 };
}

/** What the API says of a CI (API.md's project CI fields). */
export async function describeCi(ci: CiRuntime, conversation: Pick<Conversation, 'count'>): Promise<ProjectCiV1> {
  const r = ci.record;
  return {
    project_id: r.projectId,
    project_name: r.name,
    ci_socket: ciSocketName(r.name),
    socket_port: r.port,
    index: r.index,
    status: ci.status,
    ...(ci.reason ? { status_reason: ci.reason } : {}),
    ...(r.provider ? { provider: r.provider } : {}),
    ...(r.model ? { model: r.model } : {}),
    last_response_at: ci.lastResponseAt?.toISOString() ?? null,
    last_ping_ms: ci.lastPingMs,
    history_messages: await conversation.count(r.projectId),
  };
}
