import { loadServiceEnv } from './env';
import { startAnalytics } from './service';

startAnalytics(loadServiceEnv()).catch((err: Error) => {
  console.error(`analytics failed to start: ${err.message}`);
  process.exit(1);
});
