import { counter } from '@codeagent/telemetry';

/**
 * The orchestrator's model-call metrics (`orchestrator_<subject>_<unit>`). Label values stay few:
 * the configured providers and their models, and errors.ts's fixed reasons.
 */
export const providerMetrics = {
  callFailures: () =>
    counter('orchestrator_llm_call_failures_total', 'Model calls that failed (each link of a fallback chain counts; interruptions do not), by provider, model and reason', ['provider', 'model', 'reason']),
};
