import { runService } from '@codeagent/service';
import { startGateway } from './server';
import { loadServiceEnv } from './env';
import { authVerifyHandler } from './handlers/gateway.auth.verify.handler';

async function main(): Promise<void> {
  const env = loadServiceEnv();
  let stopHttp: (() => Promise<void>) | undefined;
  await runService({
    service: 'gateway',
    env,
    // The gateway serves /health and /metrics on its own port, beside the API (behind auth in team
    // mode); GATEWAY_OPS_PORT adds the ops port the other services have, for Prometheus.
    opsPort: env.GATEWAY_OPS_PORT ?? null,
    start: async ({ bus, log }) => {
      const gw = await startGateway({ env, bus, log });
      stopHttp = gw.close;
      return { handlers: { 'gateway.auth.verify': authVerifyHandler(gw.auth) }, afterStart: gw.subscribe, stop: () => stopHttp?.() ?? Promise.resolve() };
    },
  });
}

main().catch((err: Error) => {
  console.error(`gateway failed to start: ${err.message}`);
  process.exit(1);
});
