// Dev helper (not a test): starts a stack and a fake LLM, prints their URLs, waits for SIGTERM.
import { startFakeLlm, startStack } from '@codeagent/testing';
(async () => {
  const llm = await startFakeLlm({ fallbackTurn: { text: 'Hello from the fake model.', usage: { inputTokens: 100, outputTokens: 10 } } });
  const stack = await startStack({ label: 'cli-dev', env: process.env.TEAM ? { GATEWAY_AUTH_MODE: 'team', GATEWAY_JWT_SECRET: 'y'.repeat(40) } : {} });
  console.log(JSON.stringify({ url: stack.url, llm: llm.openaiBaseURL, dataDir: stack.dataDir }));
  process.on('SIGUSR2', () => { for (const [n, p] of stack.procs) require('fs').writeFileSync(`/tmp/devstack-${n}.log`, p.output()); });
  process.on('SIGTERM', async () => { await stack.stop(); await llm.close(); process.exit(0); });
})().catch((e) => { console.error(e); process.exit(1); });
