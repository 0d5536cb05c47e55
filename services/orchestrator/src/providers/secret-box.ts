import path from 'node:path';
import { loadSecretKey as loadKey } from '@codeagent/config';

export { createSecretBox, type SecretBox } from '@codeagent/config';

/** The orchestrator's key: ORCHESTRATOR_SECRET_KEY, else DATA_DIR/orchestrator/secret.key (made on first start). */
export function loadSecretKey(envKey: string | undefined, dataDir: string): Buffer {
  return loadKey(envKey, path.join(dataDir, 'orchestrator', 'secret.key'), 'ORCHESTRATOR_SECRET_KEY');
}
