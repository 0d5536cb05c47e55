import { startFakeLlm } from '@codeagent/testing';

// The fake LLM in a process of its own, so that the benchmark's CPU figures are the platform's alone.
startFakeLlm({ fallbackTurn: { text: 'next', toolCalls: [{ name: 'read_file', args: { path: 'src/a.ts' } }], usage: { inputTokens: 500, outputTokens: 20 } } }).then((llm) => {
  console.log(`FAKE_LLM_URL=${llm.openaiBaseURL}`);
  process.on('SIGTERM', () => void llm.close().then(() => process.exit(0)));
});
