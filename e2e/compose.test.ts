import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ServiceNames } from '@codeagent/contracts';
import { REPO_ROOT } from '@codeagent/testing';

const run = promisify(execFile);
type Rec = Record<string, any>;

// No Docker engine or registry runs on CI machines: the team stack is validated, not started.
describe('docker-compose.yml', () => {
  /** Every credential the stack needs; none has a default (issue 16: no guest/guest, no postgres/postgres). */
  const REQUIRED = ['RABBITMQ_PASSWORD', 'POSTGRES_PASSWORD', 'CODEAGENT_BUS_SECRET', 'GATEWAY_JWT_SECRET', 'GRAFANA_ADMIN_PASSWORD'];
  const filled = Object.fromEntries(REQUIRED.map((v) => [v, `compose-validation-${v.toLowerCase()}-0123456789abcdef`]));
  // An empty env file of our own: a developer's .env must not fill in what the test leaves out.
  const emptyEnvFile = path.join(mkdtempSync(path.join(tmpdir(), 'compose-')), 'empty.env');
  writeFileSync(emptyEnvFile, '');
  const config = (env: NodeJS.ProcessEnv) => run('docker-compose', ['--env-file', emptyEnvFile, '-f', 'docker-compose.yml', 'config'], { cwd: REPO_ROOT, env });
  const without = (...names: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...filled };
    for (const n of names) delete env[n];
    return env;
  };

  test('is valid for Debian’s docker-compose when every credential is given', async () => {
    const { stdout } = await config(without());
    const resolved = parse(stdout) as { services: Record<string, { environment?: Record<string, string> }> };
    for (const s of ServiceNames) {
      expect(resolved.services[s]?.environment?.CODEAGENT_BUS_SECRET).toBe(filled.CODEAGENT_BUS_SECRET);
      expect(resolved.services[s]?.environment?.RABBITMQ_URL).toBe(`amqp://codeagent:${filled.RABBITMQ_PASSWORD}@rabbitmq:5672`);
    }
    expect(resolved.services.rabbitmq?.environment?.RABBITMQ_DEFAULT_PASS).toBe(filled.RABBITMQ_PASSWORD);
    expect(resolved.services.postgres?.environment?.POSTGRES_PASSWORD).toBe(filled.POSTGRES_PASSWORD);
  });

  test.each(REQUIRED)('refuses to start without %s (no default credential)', async (name) => {
    await expect(config(without(name))).rejects.toThrow(new RegExp(`set ${name}`));
    // Empty counts as missing: an unfilled line of .env.example must not become an empty password.
    await expect(config({ ...without(), [name]: '' })).rejects.toThrow(new RegExp(`set ${name}`));
  });

  test('.env.example names every required credential, with no value filled in', () => {
    const example = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8');
    for (const name of REQUIRED) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
  });

  test('no credential in the file has a default, and no service connects as guest', () => {
    const text = readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8').replace(/#.*$/gm, '');
    expect(text).not.toMatch(/guest/);
    // An empty default (ORCHESTRATOR_SECRET_KEY: unset means "generate one") is not a credential.
    expect(text).not.toMatch(/\$\{[A-Z_]*(PASSWORD|SECRET)[A-Z_]*:?-[^}]/);
  });

  const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { build?: { context: string; dockerfile: string; args?: Record<string, string> }; environment?: Record<string, string>; ports?: string[]; volumes?: unknown[] }>;
  };

  // One Dockerfile for every service, deploy/Dockerfile (issue 24); the compose file gives each its arguments.
  const dockerfile = readFileSync(path.join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8');
  /** Its instructions, continuation lines joined, comments dropped. */
  const instructions = dockerfile.replace(/\\\n/g, ' ').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
  /** The instructions of each stage (FROM to the next FROM). */
  const stages = instructions.reduce<string[][]>((acc, l) => (l.startsWith('FROM ') ? [...acc, [l]] : (acc[acc.length - 1]!.push(l), acc)), []);
  const runtime = stages[stages.length - 1]!;
  const instruction = (name: string) => runtime.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
  const buildArgs = (service: string) => ((compose.services[service]?.build as Rec | undefined)?.args ?? {}) as Record<string, string>;
  /** The `<NAME>_PORT` defaults of docs/configuration.md, by service. */
  const portDefaults = Object.fromEntries(
    [...readFileSync(path.join(REPO_ROOT, 'docs/configuration.md'), 'utf8').matchAll(/^\| `([A-Z_]+)_PORT` \| ([a-z-]+) \| `(\d+)` \|/gm)].filter((m) => m[1] === m[2]!.toUpperCase().replace(/-/g, '_')).map((m) => [m[2]!, m[3]!]),
  );

  test('one Dockerfile for every service: none of its own is left', () => {
    for (const s of ServiceNames) expect(existsSync(path.join(REPO_ROOT, `services/${s}/Dockerfile`))).toBe(false);
    expect(stages).toHaveLength(2);
    expect(stages[0]![0]).toMatch(/^FROM .* AS build$/);
  });

  test.each(ServiceNames)('%s is built from deploy/Dockerfile with its name and port, and a healthcheck', (service) => {
    const def = compose.services[service] as Rec;
    expect(def.build).toEqual(expect.objectContaining({ context: '.', dockerfile: 'deploy/Dockerfile' }));
    expect(buildArgs(service).SERVICE).toBe(service);
    // PORT is what EXPOSE and the healthcheck use; the service opens its own <NAME>_PORT, whose default it must be.
    expect(buildArgs(service).PORT).toBe(portDefaults[service]);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(def.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
  });

  test('every variable a stage uses is declared in that stage (an ARG before FROM or in another stage is not), and what runs in the container reads only ENV', () => {
    const names = (l: string) => [...l.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g), ...l.matchAll(/process\.env\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
    for (const stage of stages) {
      const args = stage.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=')[0]!.trim());
      const envs = stage.filter((l) => l.startsWith('ENV ')).flatMap((l) => [...l.slice(4).matchAll(/(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=/g)].map((m) => m[1]!));
      const atBuild = stage.filter((l) => /^(RUN|ENV|USER|EXPOSE|WORKDIR|COPY) /.test(l)).flatMap(names);
      expect(atBuild.filter((v) => !args.includes(v) && !envs.includes(v))).toEqual([]);
      const atRun = stage.filter((l) => /^(CMD|HEALTHCHECK|ENTRYPOINT) /.test(l)).flatMap(names);
      expect(atRun.filter((v) => !envs.includes(v))).toEqual([]);
    }
    expect(instruction('USER')).toEqual(['${RUN_AS}']);
    expect(instruction('EXPOSE')).toEqual(['${PORT}']);
  });

  test.each(ServiceNames)('%s’s image compiles the service and runs the build with plain node, not tsx', (service) => {
    const build = stages[0]!.join('\n').replace(/\$\{?SERVICE\}?/g, service);
    expect(build).toContain(`npx tsc -p "services/${service}/tsconfig.json" && node scripts/build-services.mjs "${service}" && npm prune --omit=dev`);
    expect(instruction('ENV').join(' ')).toContain('CODEAGENT_SERVICE=${SERVICE}');
  });

  test.each(ServiceNames)('%s’s build stage copies every repository path its RUN lines use', (service) => {
    // No registry here to build the images from: at least the build context must hold what the build runs.
    const build = stages[0]!.map((l) => l.replace(/\$\{?SERVICE\}?/g, service));
    const copied = build.flatMap((l) => /^COPY (?!--from)(.+) \S+$/.exec(l)?.[1]!.split(' ') ?? []);
    const used = build.flatMap((l) => (l.startsWith('RUN ') ? (l.match(/(?<![\w./-])[\w.-]+\/[\w./-]+/g) ?? []) : [])).filter((p) => existsSync(path.join(REPO_ROOT, p)));
    expect(used).toContain(`services/${service}/tsconfig.json`);
    const missing = used.filter((p) => !copied.some((c) => p === c || p.startsWith(`${c.replace(/\/$/, '')}/`)));
    expect(missing).toEqual([]);
  });

  test.each(ServiceNames)('%s runs as tini (PID 1) -> node services/<name>/dist/main.js: sh expands the name and execs node in its own place', async (service) => {
    expect(instruction('ENTRYPOINT')).toEqual(['["tini", "--"]']);
    const [cmd] = instruction('CMD');
    const argv = JSON.parse(cmd!) as string[];
    // A stand-in node that prints its pid and arguments: the same pid as the sh started means sh exec'd it.
    const bin = mkdtempSync(path.join(tmpdir(), 'fake-node-'));
    writeFileSync(path.join(bin, 'node'), '#!/bin/sh\necho "$$ $*"\n', { mode: 0o755 });
    const child = execFile(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, env: { PATH: `${bin}:/usr/bin:/bin`, CODEAGENT_SERVICE: service } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => child.on('close', resolve));
    expect(out).toBe(`${child.pid} services/${service}/dist/main.js\n`);
  });

  test('the healthcheck asks /health on the image’s port (CODEAGENT_SERVICE_PORT) and fails when it does not answer ok', async () => {
    expect(instruction('ENV').join(' ')).toContain('CODEAGENT_SERVICE_PORT=${PORT}');
    const check = /^HEALTHCHECK .*?\bCMD (.+)$/.exec(runtime.find((l) => l.startsWith('HEALTHCHECK '))!)![1]!;
    const { createServer } = await import('node:http');
    for (const [status, exit] of [[200, 0], [503, 1]] as const) {
      const server = createServer((req, res) => res.writeHead(req.url === '/health' ? status : 404).end()).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const port = (server.address() as { port: number }).port;
      const code = await run('/bin/sh', ['-c', check], { env: { ...process.env, CODEAGENT_SERVICE_PORT: String(port) } }).then(() => 0, (e: { code: number }) => e.code);
      server.close();
      expect(code).toBe(exit);
    }
  });

  test('the workspace and shell services run as root with their tools; the others as node (the default)', () => {
    expect(runtime).toContain('ARG RUN_AS=node');
    for (const s of ServiceNames) expect(buildArgs(s).RUN_AS).toBe(['workspace', 'shell'].includes(s) ? 'root' : undefined);
    expect(buildArgs('workspace').APT_PACKAGES?.split(' ')).toEqual(expect.arrayContaining(['git', 'e2fsprogs', 'mount']));
  });

  test('every variable the compose file sets for a service is one the services read (docs/configuration.md, which is current)', async () => {
    await run(process.execPath, [path.join(REPO_ROOT, 'scripts/env-doc.mjs'), '--check']);
    const documented = new Set([...readFileSync(path.join(REPO_ROOT, 'docs/configuration.md'), 'utf8').matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    const unknown = ServiceNames.flatMap((s) => Object.keys(compose.services[s]?.environment ?? {}).filter((v) => !documented.has(v)).map((v) => `${s}: ${v}`));
    expect(unknown).toEqual([]);
  });

  test('Prometheus scrapes every service, and Grafana is provisioned with a datasource and a dashboard', () => {
    const prom = readFileSync(path.join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8');
    for (const s of ServiceNames) expect(prom).toMatch(new RegExp(`"${s}:\\d+"`));
    expect(existsSync(path.join(REPO_ROOT, 'deploy/grafana/provisioning/datasources'))).toBe(true);
    expect(existsSync(path.join(REPO_ROOT, 'deploy/grafana/provisioning/dashboards'))).toBe(true);
    expect(existsSync(path.join(REPO_ROOT, 'deploy/grafana/dashboards/codeagent.json'))).toBe(true);
    for (const infra of ['rabbitmq', 'postgres', 'prometheus', 'grafana', 'otel-collector', 'jaeger']) expect(compose.services[infra]).toBeDefined();
  });

  test('Prometheus can scrape in team mode: the gateway on its unauthenticated ops port, the broker by its plugin; the alert rules load', () => {
    const prom = parse(readFileSync(path.join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as Rec;
    const targets = (job: string) => (prom.scrape_configs as Rec[]).filter((c) => c.job_name === job).flatMap((c) => c.static_configs.flatMap((sc: Rec) => sc.targets as string[]));
    const gw = compose.services.gateway!.environment!;
    expect(gw.GATEWAY_AUTH_MODE).toBe('team');
    expect(targets('codeagent')).toContain(`gateway:${gw.GATEWAY_OPS_PORT}`);
    expect(compose.services.gateway!.ports ?? []).not.toContainEqual(expect.stringContaining(String(gw.GATEWAY_OPS_PORT)));
    expect(targets('rabbitmq')).toEqual(['rabbitmq:15692']);
    expect(readFileSync(path.join(REPO_ROOT, 'deploy/rabbitmq/enabled_plugins'), 'utf8')).toContain('rabbitmq_prometheus');
    expect(JSON.stringify(compose.services.rabbitmq!.volumes)).toContain('enabled_plugins');
    expect(prom.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    expect(JSON.stringify(compose.services.prometheus!.volumes)).toContain('alerts.yml:/etc/prometheus/alerts.yml');
    const alerts = parse(readFileSync(path.join(REPO_ROOT, 'deploy/prometheus/alerts.yml'), 'utf8')) as Rec;
    const names = (alerts.groups as Rec[]).flatMap((g) => (g.rules as Rec[]).map((r) => r.alert as string));
    expect(names).toEqual(expect.arrayContaining(['CodeagentServiceDown', 'CodeagentDeadLettersGrowing', 'CodeagentSessionsFailing', 'CodeagentLlmErrors', 'CodeagentCostPerHourOverBudget']));
    for (const r of (alerts.groups as Rec[]).flatMap((g) => g.rules as Rec[])) expect(typeof r.expr).toBe('string');
    // LLM errors are failed model calls (the orchestrator's counter), not failed agent runs.
    const llm = (alerts.groups as Rec[]).flatMap((g) => g.rules as Rec[]).find((r) => r.alert === 'CodeagentLlmErrors')!;
    expect(llm.expr).toContain('orchestrator_llm_call_failures_total');
    expect(readFileSync(path.join(REPO_ROOT, 'services/orchestrator/src/providers/metrics.ts'), 'utf8')).toContain("'orchestrator_llm_call_failures_total'");
  });

  test('path projects: the host folder is mounted at the same path where projects are read (workspace) and TASKS.md is synced (orchestrator)', async () => {
    const { stdout } = await config({ ...without(), CODEAGENT_PROJECTS: '/home/team/projects' });
    const resolved = parse(stdout) as { services: Record<string, { environment?: Record<string, string>; volumes?: Rec[] }> };
    for (const s of ['workspace', 'orchestrator']) {
      const mount = (resolved.services[s]?.volumes ?? []).find((v) => v.source === '/home/team/projects');
      expect(mount).toEqual(expect.objectContaining({ type: 'bind', target: '/home/team/projects' }));
    }
    // Only folders under it can be projects: the workspace service refuses the rest of the host.
    expect(resolved.services.workspace?.environment?.WORKSPACE_ALLOWED_ROOTS).toBe('/home/team/projects');
  });

  test('the project CI sockets are on the host loopback at 42100 + index, and every connection authenticates', () => {
    const ci = compose.services['project-ci']!;
    expect(ci.environment?.PROJECT_CI_PORT_BASE).toBe('42100');
    expect(ci.environment?.PROJECT_CI_AUTH).toBe('team');
    expect(ci.environment?.PROJECT_CI_HOST).toBe('0.0.0.0');
    expect(ci.ports).toEqual(['127.0.0.1:42100-42199:42100-42199']);
  });

  test('outside agents can start in the shell image (tmux in its runtime stage) and SSH is published on the host loopback', async () => {
    // The jails take their binaries from the shell image: without tmux there, no outside agent starts (issue 21).
    // The runtime stage installs the service's APT_PACKAGES; the shell's are the jails' tools, script (bsdutils) among them.
    const installed = runtime.flatMap((l) => /apt-get install -y --no-install-recommends ([^&]+)&&/.exec(l)?.[1]!.trim().split(/\s+/) ?? []);
    expect(installed).toEqual(['tini', '$APT_PACKAGES']);
    expect(buildArgs('shell').APT_PACKAGES?.split(' ')).toEqual(expect.arrayContaining(['bubblewrap', 'tmux', 'bsdutils']));
    // The gateway's SSH server (API.md "SSH"), on the host's loopback like the other tools' ports.
    const gateway = compose.services.gateway!;
    expect(gateway.ports).toContain('127.0.0.1:2222:2222');
    expect(gateway.ports?.filter((p) => /(^|:)2222$/.test(p))).toEqual(['127.0.0.1:2222:2222']);
    const { stdout } = await config(without());
    const resolved = parse(stdout) as { services: Record<string, { environment?: Record<string, string>; ports?: Array<string | Rec> }> };
    expect(resolved.services.gateway?.environment?.GATEWAY_SSH_PORT).toBe('2222');
    // docker-compose 1.29 writes a short mapping with its protocol: 127.0.0.1:2222:2222/tcp.
    expect(resolved.services.gateway?.ports).toContainEqual(expect.stringMatching(/^127\.0\.0\.1:2222:2222(\/tcp)?$/));
  });

  test('backups: each service with a database snapshots it daily into one volume; the backup tool sees what a backup needs', () => {
    for (const s of ['gateway', 'orchestrator', 'workspace', 'analytics', 'project-ci']) {
      expect(compose.services[s]?.environment?.DB_SNAPSHOT_DIR).toBe('/snapshots');
      expect(compose.services[s]?.volumes).toContain('db-snapshots:/snapshots');
    }
    const backup = compose.services.backup as Rec;
    expect(backup.profiles).toEqual(['tools']);
    expect(backup.entrypoint).toEqual(['tini', '--', 'node', 'clients/cli/bin/codeagent.js', 'admin']);
    expect(backup.environment.DATABASE_URL).toBe(compose.services.orchestrator!.environment!.DATABASE_URL);
    // The volumes holding key files, each where CODEAGENT_DATA_DIRS says it is.
    for (const service of ['orchestrator', 'shell', 'gateway']) {
      expect(backup.volumes).toContain(`${service}:/volumes/${service}`);
      expect(backup.environment.CODEAGENT_DATA_DIRS).toContain(`${service}=/volumes/${service}`);
    }
    expect(JSON.stringify(backup.volumes)).toContain('/srv/codeagent/workspaces');
  });
});
