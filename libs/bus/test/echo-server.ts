// A second process for the request/reply tests: answers analytics.* over the bus, and follows
// test.happened on the durable queue `echo-watch`, until SIGTERM.
import { createLogger } from '@codeagent/telemetry';
import { Bus } from '../src';
import { TestCatalog } from './catalog';

async function main() {
  const bus = await Bus.connect({
    url: process.env.BUS_URL!,
    service: 'analytics',
    instanceId: `echo-${process.pid}`,
    logger: createLogger('echo', { level: 'warn' }),
    catalog: TestCatalog,
  });
  await bus.handleCommands('analytics', {
    'analytics.echo': async (p: { text: string }) => ({ text: p.text, by: `pid-${process.pid}` }),
    'analytics.fail': async () => {
      throw new Error('boom');
    },
  } as never);
  await bus.subscribe('echo-watch', { 'test.happened': async () => undefined } as never);
  process.stdout.write(`ready pid-${process.pid}\n`);
  process.once('SIGTERM', () => bus.close().then(() => process.exit(0)));
}
void main();
