import { runMain } from '@codeagent/service';
import { loadServiceEnv } from './env';
import { gatewayService } from './service';

runMain('gateway', () => gatewayService(loadServiceEnv()));
