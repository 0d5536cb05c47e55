import type { Bus } from '@codeagent/bus';
import type { Logger } from '@codeagent/telemetry';
import type { RegistryNotifier } from '../registry/registry';

/** Publishes the registry's changes as project-ci.started / project-ci.stopped events (best effort). */
export function busNotifier(bus: Bus, log: Logger): RegistryNotifier {
  const publish = (p: Promise<void>) => p.catch((err: Error) => log.warn({ err: err.message }, 'could not publish a project CI event'));
  return {
    started: (ci) =>
      void publish(bus.publish('project-ci.started', { project_id: ci.projectId, project_name: ci.name, ci_socket: ci.ciSocket, socket_port: ci.port })),
    stopped: (ci, reason) =>
      void publish(bus.publish('project-ci.stopped', { project_id: ci.projectId, project_name: ci.name, socket_port: ci.port, reason })),
  };
}
