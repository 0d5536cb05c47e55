import { counter, gauge, histogram } from '@codeagent/telemetry';

/** project-ci's own metrics (`project_ci_<subject>_<unit>`); label values are few and fixed. */
export const ciMetrics = {
  messages: () => counter('project_ci_messages_total', 'Chat messages answered or failed, by door', ['door', 'outcome']),
  replySeconds: () =>
    histogram('project_ci_reply_seconds', 'Time from a chat message to its answer (mostly the model)', ['door'], [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]),
  cis: () => gauge('project_ci_cis', 'Project CIs by status', ['status']),
  restarts: () => counter('project_ci_restarts_total', 'CIs restarted after missing health pings'),
};
