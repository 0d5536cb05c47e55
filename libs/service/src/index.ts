export { runMain, runService, type RunningService, type ServiceDefinition } from './run';
export { startOpsServer, type OpsServer } from './ops-server';
