import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { discoverProject } from './discover';

describe('discoverProject (seed 000 priority order)', () => {
  let dir: string;
  const put = (rel: string, content: string) => {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'discover-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('falls back to a generic default', async () => {
    expect(await discoverProject(dir)).toEqual({ kind: 'default', tier: 'default', languages: [], toolchain: 'generic', driver: 'bubblewrap', details: {} });
  });

  it('reads package.json scripts and the package manager', async () => {
    put('package.json', JSON.stringify({ scripts: { build: 'tsc', test: 'jest' } }));
    put('pnpm-lock.yaml', '');
    expect(await discoverProject(dir)).toMatchObject({ kind: 'language', toolchain: 'node', buildCommand: 'pnpm build', testCommand: 'pnpm test', driver: 'bubblewrap' });
  });

  it('language tier: languages found, setup and test suggested, present tools not reported missing', async () => {
    put('package.json', JSON.stringify({ scripts: { test: 'jest' } }));
    put('package-lock.json', '{}');
    put('requirements.txt', '');
    const d = await discoverProject(dir);
    expect(d).toMatchObject({ tier: 'language', languages: ['node', 'python'], setupCommand: 'npm ci', testCommand: 'npm test', driver: 'bubblewrap' });
    // node and npm are what this test itself runs on, from the host's /usr.
    expect(d.missing).toBeUndefined();
  });

  it('language tier: a toolchain the host lacks is reported as missing (the jail sees the host /usr)', async () => {
    put('mix.exs', '');
    const d = await discoverProject(dir);
    expect(d).toMatchObject({ tier: 'language', languages: ['elixir'], setupCommand: 'mix deps.get', testCommand: 'mix test' });
    // Elixir is not part of this machine's image; were it installed, this test would say so, not pass wrongly.
    expect(d.missing).toEqual(expect.arrayContaining(['mix']));
  });

  it('devcontainer with build: its Dockerfile (relative to .devcontainer), containerEnv, remoteUser, postCreateCommand; features reported unsupported offline', async () => {
    put(
      '.devcontainer/devcontainer.json',
      `{
        "build": { "dockerfile": "Dockerfile", "context": ".." },
        "containerEnv": { "APP_MODE": "dev", "N": 3 },
        "remoteUser": "dev",
        "postCreateCommand": ["sh", "-c", "echo it's made > made.txt"],
        "features": { "ghcr.io/devcontainers/features/go:1": {} }
      }`,
    );
    expect(await discoverProject(dir)).toMatchObject({
      tier: 'devcontainer',
      driver: 'docker',
      dockerfile: '.devcontainer/Dockerfile',
      devcontainer: {
        file: '.devcontainer/devcontainer.json',
        containerEnv: { APP_MODE: 'dev' },
        remoteUser: 'dev',
        postCreateCommand: `'sh' '-c' 'echo it'\\''s made > made.txt'`,
        unsupported: [expect.stringContaining('not supported offline')],
      },
    });
  });

  it('devcontainer without image or build: settings for the jail, driver bubblewrap', async () => {
    put('.devcontainer.json', '{"postCreateCommand": "make setup"}');
    expect(await discoverProject(dir)).toMatchObject({ tier: 'devcontainer', driver: 'bubblewrap', devcontainer: { file: '.devcontainer.json', postCreateCommand: 'make setup' } });
  });

  it.each([
    ['Cargo.toml', 'rust', 'cargo test'],
    ['go.mod', 'go', 'go test ./...'],
    ['requirements.txt', 'python', 'pytest'],
    ['pom.xml', 'java', 'mvn -q test'],
    ['Gemfile', 'ruby', 'bundle exec rake test'],
  ])('%s → %s', async (file, toolchain, test) => {
    put(file, '');
    expect(await discoverProject(dir)).toMatchObject({ kind: 'language', toolchain, testCommand: test });
  });

  it('prefers devcontainer.json (JSONC) over language files', async () => {
    put('Cargo.toml', '');
    put(
      '.devcontainer/devcontainer.json',
      `{
        // comments and trailing commas are allowed
        "image": "mcr.microsoft.com/devcontainers/rust:1",
        "features": { "ghcr.io/devcontainers/features/node:1": {}, },
        "postCreateCommand": "cargo fetch",
        "forwardPorts": [3000, 8080],
      }`,
    );
    expect(await discoverProject(dir)).toMatchObject({
      kind: 'devcontainer',
      toolchain: 'rust',
      testCommand: 'cargo test',
      driver: 'docker',
      image: 'mcr.microsoft.com/devcontainers/rust:1',
      details: { features: ['ghcr.io/devcontainers/features/node:1'], postCreateCommand: 'cargo fetch', forwardPorts: [3000, 8080] },
    });
  });

  it('prefers a Dockerfile over everything', async () => {
    put('package.json', '{}');
    put('.devcontainer/devcontainer.json', '{"image":"x"}');
    put('Dockerfile', '# syntax=docker/dockerfile:1\nFROM node:20-slim AS base\nRUN true\n');
    expect(await discoverProject(dir)).toMatchObject({ kind: 'dockerfile', tier: 'dockerfile', toolchain: 'node', languages: ['node'], driver: 'docker', image: 'node:20-slim', dockerfile: 'Dockerfile' });
  });

  it('reads nothing a link leads out to: a planted package.json or devcontainer.json shows no host file', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'discover-host-'));
    try {
      writeFileSync(path.join(outside, 'secret.json'), JSON.stringify({ scripts: { build: 'HOST SECRET' }, image: 'HOST SECRET' }));
      symlinkSync(path.join(outside, 'secret.json'), path.join(dir, 'package.json'));
      mkdirSync(path.join(dir, '.devcontainer'));
      symlinkSync(path.join(outside, 'secret.json'), path.join(dir, '.devcontainer/devcontainer.json'));
      const d = await discoverProject(dir);
      expect(JSON.stringify(d)).not.toContain('HOST SECRET');
      expect(d).toMatchObject({ kind: 'default' });
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });
});
