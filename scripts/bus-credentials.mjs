// What `npm start` (scripts/start.mjs) decides about the bus's credentials before it starts anything:
// the platform secret every service signs bus messages with, and whether the broker login is the
// well-known guest/guest on a broker other machines can reach. Plain functions, so tests can call them.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const MIN_BUS_SECRET_LENGTH = 32;
/** Beside the services' own files in the data folder; 0600, like the orchestrator's key file. */
export const BUS_SECRET_FILE = 'bus-secret';

/**
 * The platform secret for this machine's services: CODEAGENT_BUS_SECRET when it is set; otherwise,
 * in local mode, the one kept in `<dataDir>/bus-secret`, created (random, mode 0600) on first start.
 * Team mode never makes one up: replicas on other machines must share the value, so it has to be
 * chosen and set on purpose. Returns `{ secret, created, file }` or throws an Error saying what to do.
 */
export function busSecret(dataDir, env = process.env) {
  const given = env.CODEAGENT_BUS_SECRET;
  if (given) {
    if (given.length < MIN_BUS_SECRET_LENGTH) throw new Error(`CODEAGENT_BUS_SECRET is shorter than ${MIN_BUS_SECRET_LENGTH} characters; use e.g. \`openssl rand -hex 32\``);
    return { secret: given, created: false, file: undefined };
  }
  if (env.GATEWAY_AUTH_MODE === 'team') {
    throw new Error(
      'team mode needs CODEAGENT_BUS_SECRET: the same random value (32+ characters, e.g. `openssl rand -hex 32`) on every ' +
        'machine that runs a codeagent service; it signs every bus message',
    );
  }
  const file = path.join(dataDir, BUS_SECRET_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('hex');
  try {
    // `wx`: two starts racing each other keep whichever wrote first, never half of each.
    writeFileSync(file, `${secret}\n`, { flag: 'wx', mode: 0o600 });
    return { secret, created: true, file };
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
  // Readable by others, it would let any local user sign as the platform: tighten it, and say so.
  const mode = statSync(file).mode & 0o777;
  let tightened = false;
  if (mode & 0o077) {
    chmodSync(file, 0o600);
    tightened = true;
  }
  const kept = readFileSync(file, 'utf8').trim();
  if (kept.length < MIN_BUS_SECRET_LENGTH) throw new Error(`${file} holds fewer than ${MIN_BUS_SECRET_LENGTH} characters; delete it and a new secret is made at the next start`);
  return { secret: kept, created: false, file, tightened: tightened ? mode : undefined };
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?|\[?::ffff:127(\.\d{1,3}){3}\]?)$/i;

/**
 * A warning when RABBITMQ_URL logs in as guest/guest (amqplib's default when the URL names no user)
 * on a broker that is not on this machine; undefined otherwise.
 */
export function guestBrokerWarning(rabbitmqUrl) {
  let url;
  try {
    url = new URL(rabbitmqUrl);
  } catch {
    return undefined; // the services reject it themselves, naming RABBITMQ_URL
  }
  const user = decodeURIComponent(url.username) || 'guest';
  const password = decodeURIComponent(url.password) || 'guest';
  const host = url.hostname || '127.0.0.1';
  if (user !== 'guest' || password !== 'guest' || LOOPBACK.test(host)) return undefined;
  return (
    `RABBITMQ_URL logs in as guest/guest on ${host}, which is not this machine. Anyone who can reach that broker ` +
    'can read every queue with the same well-known password. Give the broker a user of its own ' +
    '(rabbitmqctl add_user codeagent "$(openssl rand -hex 24)"; rabbitmqctl set_permissions codeagent ".*" ".*" ".*"; ' +
    'rabbitmqctl delete_user guest) and put it in RABBITMQ_URL.'
  );
}
