import { runService } from '@codeagent/service';
import { createLogger } from '@codeagent/telemetry';
import { shellDrivers } from './drivers';
import { loadServiceEnv } from './env';
import { buildShellService } from './service';

async function main(): Promise<void> {
  const env = loadServiceEnv();
  await runService({
    service: 'shell',
    env,
    opsPort: env.SHELL_PORT,
    // The drivers exist before the service: their own log lines (the jail pool's) go through a logger of theirs.
    start: buildShellService(env, shellDrivers(env, createLogger('shell', { level: env.LOG_LEVEL }).child({ component: 'drivers' }))),
  });
}

main().catch((err: Error) => {
  console.error(`shell failed to start: ${err.message}`);
  process.exit(1);
});
