import { runMain } from '@codeagent/service';
import { createLogger } from '@codeagent/telemetry';
import { shellDrivers } from './drivers';
import { loadServiceEnv } from './env';
import { shellService } from './service';

runMain('shell', () => {
  const env = loadServiceEnv();
  // The drivers exist before the service: their own log lines (the jail pool's) go through a logger of theirs.
  return shellService(env, shellDrivers(env, createLogger('shell', { level: env.LOG_LEVEL }).child({ component: 'drivers' })));
});
