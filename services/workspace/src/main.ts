import { runMain } from '@codeagent/service';
import { loadServiceEnv } from './env';
import { workspaceService } from './service';

runMain('workspace', () => workspaceService(loadServiceEnv()));
