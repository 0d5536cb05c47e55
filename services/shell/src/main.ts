import { runService } from '@codeagent/service';
import { shellDrivers } from './drivers';
import { loadServiceEnv } from './env';
import { buildShellService } from './service';

async function main(): Promise<void> {
  const env = loadServiceEnv();
  await runService({
    service: 'shell',
    env,
    opsPort: env.SHELL_PORT,
    start: buildShellService(env, shellDrivers(env)),
  });
}

main().catch((err: Error) => {
  console.error(`shell failed to start: ${err.message}`);
  process.exit(1);
});
