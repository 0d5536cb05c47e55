import { runMain } from '@codeagent/service';
import { loadServiceEnv } from './env';
import { orchestratorService } from './service';

runMain('orchestrator', () => orchestratorService(loadServiceEnv()));
