// A second process for the request/reply test: answers analytics.* over the bus until SIGTERM.
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
  process.stdout.write(`ready pid-${process.pid}\n`);
  process.once('SIGTERM', () => bus.close().then(() => process.exit(0)));
}
void main();
