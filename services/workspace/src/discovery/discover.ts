import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { DiscoveryV1 } from '@codeagent/contracts';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { missingTools } from './toolchains';
import { openFileInside } from '../files/pinned';
import { isInside } from '../files/resolve';

export type Discovery = DiscoveryV1;

/** Project files are small; a bigger one is not read (nor is anything a link leads out to). */
const MAX_READ = 1024 * 1024;

/** A project file's text, if it is a regular file inside the root: a planted link must not read host files. */
async function read(root: string, rel: string): Promise<string | undefined> {
  const fh = await openFileInside(root, path.join(root, rel), rel).catch(() => undefined);
  if (!fh) return undefined;
  try {
    if ((await fh.stat()).size > MAX_READ) return undefined;
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/** Whether a path exists inside the root (a link counts only if it resolves inside). */
async function exists(root: string, rel: string): Promise<boolean> {
  const real = await realpath(path.join(root, rel)).catch(() => undefined);
  return real !== undefined && isInside(root, real);
}

/**
 * Seed 000's priority: a Dockerfile (the project defines its own image) → .devcontainer/devcontainer.json
 * → language files → a generic default. Language detection runs in every case, because a Dockerfile
 * or devcontainer does not say how to build or test, and the language files do. `missing` (tools the
 * language tier needs that this host lacks) is checked for the tiers that run in the host's jail.
 */
export async function discoverProject(folder: string, opts: { checkTools?: boolean } = {}): Promise<Discovery> {
  const root = await realpath(folder);
  const lang = await detectLanguage(root);
  const languages = await detectLanguages(root);
  const common = { ...lang, tier: lang.kind, languages: lang.toolchain === 'generic' ? [] : [lang.toolchain, ...languages.filter((l) => l !== lang.toolchain)] };
  const dockerfile = (await exists(root, 'Dockerfile')) ? 'Dockerfile' : (await exists(root, 'dockerfile')) ? 'dockerfile' : undefined;
  if (dockerfile) {
    const text = (await read(root, dockerfile)) ?? '';
    const from = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/im.exec(text)?.[1];
    return { ...common, kind: 'dockerfile', tier: 'dockerfile', driver: 'docker', image: from, dockerfile, details: { ...lang.details, dockerfile, baseImage: from } };
  }
  const dcPath = (await exists(root, '.devcontainer/devcontainer.json')) ? '.devcontainer/devcontainer.json' : (await exists(root, '.devcontainer.json')) ? '.devcontainer.json' : undefined;
  if (dcPath) return devcontainerDiscovery(root, dcPath, common);
  if (opts.checkTools !== false && common.kind === 'language') {
    const missing = await missingTools(common.toolchain, lang.details);
    if (missing.length) return { ...common, missing };
  }
  return common;
}

/** A string, or an array of strings joined as one command line (devcontainer.json allows both; an object of parallel commands runs them in turn). */
function commandLine(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ') || undefined;
  if (v && typeof v === 'object') return Object.values(v).map(commandLine).filter(Boolean).join(' && ') || undefined;
  return undefined;
}

async function devcontainerDiscovery(root: string, dcPath: string, common: Discovery): Promise<Discovery> {
  const errors: ParseError[] = [];
  const dc = (parseJsonc((await read(root, dcPath)) ?? '', errors, { allowTrailingComma: true }) ?? {}) as Record<string, unknown>;
  const image = typeof dc.image === 'string' ? dc.image : undefined;
  const build = (dc.build && typeof dc.build === 'object' ? dc.build : {}) as { dockerfile?: unknown; context?: unknown };
  // build.dockerfile is relative to devcontainer.json's folder; the build context is the project (the workspace).
  const dockerfile = !image && typeof build.dockerfile === 'string' ? path.posix.join(path.posix.dirname(dcPath), build.dockerfile) : undefined;
  const features = dc.features && typeof dc.features === 'object' ? Object.keys(dc.features) : [];
  const containerEnv = Object.fromEntries(Object.entries((dc.containerEnv ?? {}) as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const remoteUser = typeof dc.remoteUser === 'string' ? dc.remoteUser : typeof dc.containerUser === 'string' ? dc.containerUser : undefined;
  const postCreateCommand = commandLine(dc.postCreateCommand);
  const unsupported = [
    ...(features.length ? [`features (${features.join(', ')}) need a registry: not supported offline`] : []),
    ...(typeof dc.dockerComposeFile !== 'undefined' ? ['dockerComposeFile: not supported (image or build only)'] : []),
    ...(typeof build.context === 'string' && build.context !== '..' && build.context !== '.' ? [`build.context ${build.context}: the project folder is the build context`] : []),
  ];
  const details: Record<string, unknown> = {
    ...common.details,
    devcontainer: dcPath,
    features,
    postCreateCommand: dc.postCreateCommand,
    forwardPorts: Array.isArray(dc.forwardPorts) ? dc.forwardPorts : [],
  };
  if (dockerfile) details.dockerfile = dockerfile;
  if (errors.length) details.parseErrors = errors.length;
  const devcontainer = {
    file: dcPath,
    ...(Object.keys(containerEnv).length ? { containerEnv } : {}),
    ...(remoteUser ? { remoteUser } : {}),
    ...(postCreateCommand ? { postCreateCommand } : {}),
    ...(unsupported.length ? { unsupported } : {}),
  };
  // An image or a Dockerfile needs a container engine; without either the devcontainer only adds settings to a jail.
  const driver = image || dockerfile ? 'docker' : 'bubblewrap';
  const { missing: _m, ...rest } = common;
  return { ...rest, kind: 'devcontainer', tier: 'devcontainer', driver, image, ...(dockerfile ? { dockerfile } : {}), devcontainer, details };
}

/** Every language whose manifest is at the top of the project (a repository may hold several). */
async function detectLanguages(root: string): Promise<string[]> {
  const manifests: Array<[string, string]> = [
    ['package.json', 'node'],
    ['Cargo.toml', 'rust'],
    ['go.mod', 'go'],
    ['pyproject.toml', 'python'],
    ['requirements.txt', 'python'],
    ['setup.py', 'python'],
    ['pom.xml', 'java'],
    ['build.gradle', 'java'],
    ['build.gradle.kts', 'java'],
    ['Gemfile', 'ruby'],
    ['composer.json', 'php'],
    ['mix.exs', 'elixir'],
    ['CMakeLists.txt', 'c/c++'],
  ];
  const found: string[] = [];
  for (const [file, language] of manifests) if (!found.includes(language) && (await exists(root, file))) found.push(language);
  return found;
}

async function detectLanguage(root: string): Promise<Discovery> {
  const base = { kind: 'language' as const, driver: 'bubblewrap' as const };
  const pkg = await read(root, 'package.json');
  if (pkg !== undefined) {
    let scripts: Record<string, string> = {};
    try {
      scripts = (JSON.parse(pkg) as { scripts?: Record<string, string> }).scripts ?? {};
    } catch {
      // A broken package.json is still a node project.
    }
    const pm = (await exists(root, 'pnpm-lock.yaml')) ? 'pnpm' : (await exists(root, 'yarn.lock')) ? 'yarn' : 'npm';
    const run = (s: string) => (pm === 'npm' ? (s === 'test' ? 'npm test' : `npm run ${s}`) : `${pm} ${s}`);
    const lock = pm === 'npm' && ((await exists(root, 'package-lock.json')) || (await exists(root, 'npm-shrinkwrap.json')));
    return {
      ...base,
      toolchain: 'node',
      setupCommand: pm === 'npm' ? (lock ? 'npm ci' : 'npm install') : `${pm} install --frozen-lockfile`,
      buildCommand: scripts.build ? run('build') : undefined,
      testCommand: scripts.test && !/no test specified/.test(scripts.test) ? run('test') : undefined,
      details: { manifest: 'package.json', packageManager: pm, scripts },
    };
  }
  if (await exists(root, 'Cargo.toml')) return { ...base, toolchain: 'rust', setupCommand: 'cargo fetch', buildCommand: 'cargo build', testCommand: 'cargo test', details: { manifest: 'Cargo.toml' } };
  if (await exists(root, 'go.mod')) return { ...base, toolchain: 'go', setupCommand: 'go mod download', buildCommand: 'go build ./...', testCommand: 'go test ./...', details: { manifest: 'go.mod' } };
  const pyproject = await read(root, 'pyproject.toml');
  if (pyproject !== undefined || (await exists(root, 'requirements.txt')) || (await exists(root, 'setup.py'))) {
    const manifest = pyproject !== undefined ? 'pyproject.toml' : (await exists(root, 'requirements.txt')) ? 'requirements.txt' : 'setup.py';
    const poetry = pyproject?.includes('[tool.poetry]');
    return {
      ...base,
      toolchain: 'python',
      setupCommand: poetry ? 'poetry install' : manifest === 'requirements.txt' ? 'pip install -r requirements.txt' : 'pip install -e .',
      buildCommand: poetry ? 'poetry install' : manifest === 'requirements.txt' ? 'pip install -r requirements.txt' : 'pip install -e .',
      testCommand: poetry ? 'poetry run pytest' : 'pytest',
      details: { manifest, ...(poetry ? { poetry: true } : {}) },
    };
  }
  if (await exists(root, 'pom.xml')) return { ...base, toolchain: 'java', setupCommand: 'mvn -q dependency:resolve', buildCommand: 'mvn -q package -DskipTests', testCommand: 'mvn -q test', details: { manifest: 'pom.xml', buildTool: 'maven' } };
  for (const g of ['build.gradle', 'build.gradle.kts']) {
    if (await exists(root, g)) {
      const gw = (await exists(root, 'gradlew')) ? './gradlew' : 'gradle';
      return { ...base, toolchain: 'java', setupCommand: `${gw} dependencies`, buildCommand: `${gw} build -x test`, testCommand: `${gw} test`, details: { manifest: g, buildTool: 'gradle', wrapper: gw === './gradlew' } };
    }
  }
  if (await exists(root, 'Gemfile')) return { ...base, toolchain: 'ruby', setupCommand: 'bundle install', buildCommand: 'bundle install', testCommand: (await exists(root, 'spec')) ? 'bundle exec rspec' : 'bundle exec rake test', details: { manifest: 'Gemfile' } };
  if (await exists(root, 'composer.json')) return { ...base, toolchain: 'php', setupCommand: 'composer install', buildCommand: 'composer install', testCommand: 'vendor/bin/phpunit', details: { manifest: 'composer.json' } };
  if (await exists(root, 'mix.exs')) return { ...base, toolchain: 'elixir', setupCommand: 'mix deps.get', buildCommand: 'mix compile', testCommand: 'mix test', details: { manifest: 'mix.exs' } };
  if (await exists(root, 'CMakeLists.txt')) return { ...base, toolchain: 'c/c++', setupCommand: 'cmake -B build', buildCommand: 'cmake -B build && cmake --build build', testCommand: 'ctest --test-dir build', details: { manifest: 'CMakeLists.txt' } };
  if (await exists(root, 'Makefile')) return { ...base, toolchain: 'make', buildCommand: 'make', testCommand: 'make test', details: { manifest: 'Makefile' } };
  return { kind: 'default', toolchain: 'generic', driver: 'bubblewrap', details: {} };
}
