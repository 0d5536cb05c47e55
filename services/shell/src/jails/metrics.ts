import { counter, gauge, histogram } from '@codeagent/telemetry';

/** The shell service's own metrics (few label values: outcome and stream only). */
export const shellMetrics = {
  sessions: () => gauge('shell_sessions', 'Jails this replica holds', ['driver']),
  commands: () => counter('shell_commands_total', 'Commands run, by how they ended', ['outcome']),
  commandDuration: () =>
    histogram('shell_command_duration_seconds', 'Wall time of commands', [], [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800]),
  outputBytes: () => counter('shell_output_bytes_total', 'Bytes of command and terminal output', ['stream']),
  refused: () => counter('shell_sessions_refused_total', 'shell.open refused, by reason', ['reason']),
  egressDenied: () => counter('shell_egress_denied_total', "Egress the jails' proxy refused, by way (connect, http, dns, credential)", ['via']),
};
