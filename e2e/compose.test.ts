import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { ServiceNames } from '@codeagent/contracts';
import { REPO_ROOT } from '@codeagent/testing';

const run = promisify(execFile);

// No Docker engine or registry runs on CI machines: the team stack is validated, not started.
describe('docker-compose.yml', () => {
  test('is valid for Debian’s docker-compose and needs the JWT secret', async () => {
    const env = { ...process.env, GATEWAY_JWT_SECRET: 'compose-validation-secret-0123456789' };
    await run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: REPO_ROOT, env });
    const withoutSecret = { ...process.env };
    delete withoutSecret.GATEWAY_JWT_SECRET;
    await expect(run('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], { cwd: REPO_ROOT, env: withoutSecret })).rejects.toThrow(/GATEWAY_JWT_SECRET/);
  });

  const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { build?: { dockerfile: string }; environment?: Record<string, string> }>;
  };

  test.each(ServiceNames)('%s is built from its own Dockerfile with a healthcheck', (service) => {
    const def = compose.services[service];
    expect(def?.build?.dockerfile).toBe(`services/${service}/Dockerfile`);
    const dockerfile = readFileSync(path.join(REPO_ROOT, def!.build!.dockerfile), 'utf8');
    expect(dockerfile).toMatch(/^FROM .* AS build$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(def?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
  });

  test('every variable the compose file sets for a service is one the services read (docs/configuration.md, which is current)', async () => {
    await run(process.execPath, [path.join(REPO_ROOT, 'scripts/env-doc.mjs'), '--check']);
    const documented = new Set([...readFileSync(path.join(REPO_ROOT, 'docs/configuration.md'), 'utf8').matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    const unknown = ServiceNames.flatMap((s) => Object.keys(compose.services[s]?.environment ?? {}).filter((v) => !documented.has(v)).map((v) => `${s}: ${v}`));
    expect(unknown).toEqual([]);
  });

  test('Prometheus scrapes every service, and Grafana is provisioned with a datasource and a dashboard', () => {
    const prom = readFileSync(path.join(REPO_ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8');
    for (const s of ServiceNames) expect(prom).toContain(`${s}:80`);
    expect(existsSync(path.join(REPO_ROOT, 'deploy/grafana/provisioning/datasources'))).toBe(true);
    expect(existsSync(path.join(REPO_ROOT, 'deploy/grafana/provisioning/dashboards'))).toBe(true);
    expect(existsSync(path.join(REPO_ROOT, 'deploy/grafana/dashboards/codeagent.json'))).toBe(true);
    for (const infra of ['rabbitmq', 'postgres', 'prometheus', 'grafana', 'otel-collector', 'jaeger']) expect(compose.services[infra]).toBeDefined();
  });
});
