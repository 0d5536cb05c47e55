import { createLogger, type Logger } from '@codeagent/telemetry';

/** A logger for tests: silent unless TEST_LOG_LEVEL says otherwise. */
export function testLogger(name = 'test'): Logger {
  return createLogger(name, { level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}
