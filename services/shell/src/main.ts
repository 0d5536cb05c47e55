import { BubblewrapDriver, DockerDriver, type SandboxDriver } from '@codeagent/sandbox';
import { runService } from '@codeagent/service';
import { loadServiceEnv } from './env';
import { buildShellService } from './service';

async function main(): Promise<void> {
  const env = loadServiceEnv();
  // The admin's host-wide egress policy applies to every jail this replica opens.
  const egress = { allowAddresses: env.SHELL_EGRESS_ALLOW_ADDRESSES };
  const drivers: { bubblewrap: SandboxDriver; docker?: SandboxDriver } = { bubblewrap: new BubblewrapDriver({ egress }) };
  if (env.SHELL_DOCKER_ENABLED) drivers.docker = new DockerDriver({ dockerHost: env.DOCKER_HOST, defaultImage: env.SHELL_DOCKER_IMAGE, buildNetwork: env.SHELL_DOCKER_BUILD_NETWORK });
  await runService({
    service: 'shell',
    env,
    opsPort: env.SHELL_PORT,
    start: buildShellService(env, drivers),
  });
}

main().catch((err: Error) => {
  console.error(`shell failed to start: ${err.message}`);
  process.exit(1);
});
