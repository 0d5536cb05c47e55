#!/usr/bin/env node
// `npm start`: runs the six services as separate processes on this machine, with readable prefixed
// logs. Ctrl-C stops them all cleanly (SIGTERM, then SIGKILL after a grace period).
//
//   npm start                              one replica of each service
//   npm start -- --replicas orchestrator=2,shell=2
//   npm start -- --only gateway,orchestrator
//   npm start -- --json                    raw JSON log lines instead of the readable form
//   npm start -- --tsx                     the sources through tsx even when a build is there
//
// The services run their builds (services/<name>/dist/main.js, made by `npm run build`) when every one
// started exists and is newer than each source compiled into it (dist/sources.json); otherwise all run
// their sources through tsx, as in development: never old builds beside new sources. The first line
// printed says which, and why.
//
// Every service signs its bus messages with CODEAGENT_BUS_SECRET; when it is not set, the one kept in
// <DATA_DIR>/bus-secret (made on first start, mode 0600) is passed to them (scripts/bus-credentials.mjs).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { busSecret, guestBrokerWarning } from './bus-credentials.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const SERVICES = ['workspace', 'shell', 'analytics', 'orchestrator', 'project-ci', 'gateway'];
const OPS_PORTS = { gateway: 8080, orchestrator: 8081, workspace: 8082, shell: 8083, analytics: 8084, 'project-ci': 8085 };
const COLORS = [36, 35, 33, 32, 34, 31, 96, 95];

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const replicas = Object.fromEntries(
  (opt('replicas') ?? '').split(',').filter(Boolean).map((kv) => {
    const [k, v] = kv.split('=');
    if (!SERVICES.includes(k) || !(Number(v) >= 1)) fail(`--replicas expects service=count with a service among ${SERVICES.join(', ')}; got "${kv}"`);
    return [k, Number(v)];
  }),
);
const only = opt('only')?.split(',') ?? SERVICES;
for (const s of only) if (!SERVICES.includes(s)) fail(`--only: unknown service "${s}"; services are ${SERVICES.join(', ')}`);
const rawJson = args.includes('--json');
const forceTsx = args.includes('--tsx');

function fail(msg) {
  console.error(`codeagent: ${msg}`);
  process.exit(2);
}

const brokerUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const guestWarning = guestBrokerWarning(brokerUrl);
if (guestWarning) console.warn(`codeagent: WARNING: ${guestWarning}`);
await ensureBroker(new URL(brokerUrl));

// Every service signs and verifies bus messages with one secret; they refuse to start without it.
// The services resolve a relative DATA_DIR against their working folder, which is the repository's.
const dataDir = path.resolve(root, process.env.DATA_DIR ?? 'data');
let bus;
try {
  bus = busSecret(dataDir);
} catch (err) {
  fail(err.message);
}
if (bus.created) console.log(`codeagent: created the platform's bus secret in ${bus.file} (mode 0600); every service signs its messages with it`);
if (bus.tightened !== undefined) console.warn(`codeagent: WARNING: ${bus.file} was readable by others (mode ${bus.tightened.toString(8)}); it is now 0600`);

// tsx loaded into each service's own process (its file URL, so the working folder does not matter).
const tsx = pathToFileURL(require.resolve('tsx')).href;
const started = SERVICES.filter((s) => only.includes(s));
const stale = forceTsx ? 'asked for with --tsx' : started.map(buildProblem).find(Boolean);
if (stale) console.log(`codeagent: running the sources through tsx (${stale})`);
else console.log('codeagent: running the build (services/*/dist/main.js); `npm start -- --tsx` runs the sources');
const entryArgs = (service) => (stale ? ['--import', tsx, path.join(root, 'services', service, 'src', 'main.ts')] : [path.join(root, 'services', service, 'dist', 'main.js')]);
const children = [];
let stopping = false;
let index = 0;
for (const service of started) {
  for (let n = 1; n <= (replicas[service] ?? 1); n++) {
    const name = (replicas[service] ?? 1) > 1 ? `${service}-${n}` : service;
    const portVar = `${service.toUpperCase().replace('-', '_')}_PORT`;
    const port = process.env[portVar] ? Number(process.env[portVar]) + 100 * (n - 1) : OPS_PORTS[service] + 100 * (n - 1);
    // A shell replica's name outlives this process: its next start adopts the jails it kept (SHELL_KEEP_JAILS).
    const instanceId = service === 'shell' ? `${name}-${hostname()}` : `${name}-${process.pid}`;
    const env = { ...process.env, CODEAGENT_BUS_SECRET: bus.secret, [portVar]: String(port), INSTANCE_ID: instanceId };
    const child = spawn(process.execPath, entryArgs(service), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const color = COLORS[index++ % COLORS.length];
    const prefix = process.stdout.isTTY ? `\x1b[${color}m${name.padEnd(14)}\x1b[0m|` : `${name.padEnd(14)}|`;
    pipeLines(child.stdout, (line) => print(prefix, line, name));
    pipeLines(child.stderr, (line) => print(prefix, line, name));
    child.on('exit', (code, signal) => {
      console.log(`${prefix} exited (${signal ?? code})`);
      if (!stopping) {
        console.error(`codeagent: ${name} stopped unexpectedly; stopping the others`);
        stopAll(1);
      } else if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) {
        process.exit(process.exitCode ?? 0);
      }
    });
    children.push(child);
  }
}

function print(prefix, line, name) {
  if (rawJson) return console.log(`${prefix} ${line}`);
  let rec;
  try {
    rec = JSON.parse(line);
  } catch {
    return console.log(`${prefix} ${line}`);
  }
  const { level, time, msg, service, pid, hostname, trace_id, span_id, ...rest } = rec;
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  const t = typeof time === 'string' ? time.slice(11, 19) : '';
  const lvl = level === 'info' ? '' : `${String(level).toUpperCase()} `;
  console.log(`${prefix} ${t} ${lvl}${msg ?? ''}${fields ? `  ${fields}` : ''}`);
  if (msg === 'service started' && name.startsWith('gateway')) {
    const port = process.env.GATEWAY_PORT ?? '8080';
    console.log(`\n  codeagent is up.\n  API      http://127.0.0.1:${port}/api/v1\n  Docs     http://127.0.0.1:${port}/docs\n  Health   http://127.0.0.1:${port}/health\n  Metrics  http://127.0.0.1:${port}/metrics (and each service's own on ports 8081-8085)\n  Ctrl-C stops everything.\n`);
  }
}

/** Why a service's build cannot run: missing, or older than a source compiled into it; undefined when it can. */
function buildProblem(service) {
  const built = path.join('services', service, 'dist', 'main.js');
  let builtAt;
  let sources;
  try {
    builtAt = statSync(path.join(root, built)).mtimeMs;
    // The files the build compiled in, as scripts/build-services.mjs lists them.
    sources = JSON.parse(readFileSync(path.join(root, 'services', service, 'dist', 'sources.json'), 'utf8'));
  } catch {
    return `no build; \`npm run build\` makes one`;
  }
  for (const file of sources) {
    let changedAt;
    try {
      changedAt = statSync(path.join(root, file)).mtimeMs;
    } catch {
      return `${file}, compiled into ${built}, is gone; \`npm run build\` updates it`;
    }
    if (changedAt > builtAt) return `${built} is older than ${file}; \`npm run build\` updates it`;
  }
  return undefined;
}

function pipeLines(stream, onLine) {
  let buf = '';
  stream.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  stream.on('end', () => buf && onLine(buf));
}

function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  console.log('\ncodeagent: stopping all services (they finish in-flight work first)...');
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    process.exit(process.exitCode ?? 1);
  }, 20_000).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

async function ensureBroker(url) {
  const host = url.hostname || '127.0.0.1';
  const port = Number(url.port || 5672);
  if (await reachable(host, port)) return;
  const local = ['localhost', '127.0.0.1', '::1'].includes(host);
  if (local && which('rabbitmq-server')) {
    console.log('codeagent: RabbitMQ is installed but not running; starting it (rabbitmq-server -detached)...');
    try {
      execFileSync('rabbitmq-server', ['-detached'], { stdio: 'ignore' });
    } catch {
      /* it may already be starting */
    }
    for (let i = 0; i < 120; i++) {
      if (await reachable(host, port)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  fail(
    `RabbitMQ is not reachable at ${host}:${port}.\n` +
      `  On Debian/Ubuntu: sudo apt-get install -y rabbitmq-server && sudo rabbitmq-server -detached\n` +
      `  With Docker:      docker run -d -p 5672:5672 -p 15672:15672 rabbitmq:3-management\n` +
      `  Or point RABBITMQ_URL at a broker you have.`,
  );
}

function reachable(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.on('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

function which(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
