import { runMain } from '@codeagent/service';
import { loadServiceEnv } from './env';
import { analyticsService } from './service';

runMain('analytics', () => analyticsService(loadServiceEnv()));
