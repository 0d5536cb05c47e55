// Builds the dashboard into dist/ (run by `npm ci` through this package's `prepare` script, and by
// `npm run build -w clients/web`). The gateway serves dist/ at /dashboard.
import { build } from 'vite';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));
const started = Date.now();
await build({ root, logLevel: 'warn' });
console.log(`codeagent dashboard built into clients/web/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
