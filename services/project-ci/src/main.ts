import { runMain } from '@codeagent/service';
import { loadServiceEnv } from './env';
import { projectCiService } from './service';

runMain('project-ci', () => projectCiService(loadServiceEnv()));
