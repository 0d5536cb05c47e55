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
    services: Record<string, { build?: { dockerfile: string }; environment?: Record<string, string>; ports?: string[]; volumes?: unknown[] }>;
  };

  test.each(ServiceNames)('%s is built from its own Dockerfile with a healthcheck', (service) => {
    const def = compose.services[service];
    expect(def?.build?.dockerfile).toBe(`services/${service}/Dockerfile`);
    const dockerfile = readFileSync(path.join(REPO_ROOT, def!.build!.dockerfile), 'utf8');
    expect(dockerfile).toMatch(/^FROM .* AS build$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(def?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
  });

  test.each(ServiceNames)('%s’s image compiles the service and runs the build with plain node, not tsx', (service) => {
    const dockerfile = readFileSync(path.join(REPO_ROOT, `services/${service}/Dockerfile`), 'utf8');
    expect(dockerfile).toContain(`node scripts/build-services.mjs ${service} && npm prune --omit=dev`);
    expect(dockerfile).toMatch(new RegExp(`^CMD \\["node", "services/${service}/dist/main\\.js"\\]$`, 'm'));
  });

  test.each(ServiceNames)('%s’s build stage copies every repository path its RUN lines use', (service) => {
    // No registry here to build the images from: at least the build context must hold what the build runs.
    const dockerfile = readFileSync(path.join(REPO_ROOT, `services/${service}/Dockerfile`), 'utf8');
    const build = dockerfile.slice(0, dockerfile.indexOf('\nFROM ', dockerfile.indexOf(' AS build')));
    const copied = [...build.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
    const used = [...build.matchAll(/^RUN (.+)$/gm)].flatMap((m) => m[1]!.match(/(?<![\w./-])[\w.-]+\/[\w./-]+/g) ?? []).filter((p) => existsSync(path.join(REPO_ROOT, p)));
    expect(used.length).toBeGreaterThan(0);
    const missing = used.filter((p) => !copied.some((c) => p === c || p.startsWith(`${c.replace(/\/$/, '')}/`)));
    expect(missing).toEqual([]);
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
    const dockerfile = readFileSync(path.join(REPO_ROOT, 'services/shell/Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const installed = [...runtime.matchAll(/apt-get install -y --no-install-recommends ([^&]+)&&/g)].flatMap((m) => m[1]!.trim().split(/\s+/));
    expect(installed).toEqual(expect.arrayContaining(['bubblewrap', 'tmux']));
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
