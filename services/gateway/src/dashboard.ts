import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { makeProblem, sendProblem } from './http/problem';

/** clients/web's build (`npm ci` builds it through that package's `prepare` script). */
export const DASHBOARD_DIR = path.resolve(__dirname, '../../../clients/web/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.map': 'application/json',
};

// The page talks only to this origin (REST and Socket.IO); Mantine sets inline styles, hence
// 'unsafe-inline' for styles only.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * GET /dashboard: the web application (clients/web), files from its build. Public in every mode like
 * /docs (the page itself logs in, in team mode, and sends its token on every API call). Hashed files
 * under assets/ are cached for good; index.html never is, so a new build shows at the next load.
 */
export function dashboardRoutes(app: FastifyInstance, dir = DASHBOARD_DIR): void {
  const send = (reply: FastifyReply, file: string, immutable: boolean) =>
    reply
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', CSP)
      .header('referrer-policy', 'no-referrer')
      .type(TYPES[path.extname(file)] ?? 'application/octet-stream')
      .send(createReadStream(file));

  app.get('/dashboard', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/dashboard/'));
  app.get('/dashboard/*', { schema: { hide: true } }, async (req, reply) => {
    const index = path.join(dir, 'index.html');
    if (!(await isFile(index))) {
      return sendProblem(reply, makeProblem('SERVICE_UNAVAILABLE', `the dashboard is not built (no ${index}): run \`npm run build -w clients/web\` (npm ci does it)`));
    }
    const rel = (req.params as { '*': string })['*'] ?? '';
    const file = path.resolve(dir, rel);
    if (!rel) return send(reply, index, false);
    if (!file.startsWith(dir + path.sep)) return sendProblem(reply, makeProblem('NOT_FOUND', `no dashboard file ${rel}`));
    if (await isFile(file)) return send(reply, file, rel.startsWith('assets/'));
    // A missing asset is a 404; any other path is the application's own (it routes in the page).
    if (rel.startsWith('assets/')) return sendProblem(reply, makeProblem('NOT_FOUND', `no dashboard file ${rel}`));
    return send(reply, index, false);
  });
}
