import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { openFileInside } from '../files/pinned';
import { isInside } from '../files/resolve';

export interface Discovery {
  kind: 'dockerfile' | 'devcontainer' | 'language' | 'default';
  toolchain: string;
  buildCommand?: string;
  testCommand?: string;
  driver: 'bubblewrap' | 'docker';
  image?: string;
  details: Record<string, unknown>;
}

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
 * or devcontainer does not say how to build or test, and the language files do.
 */
export async function discoverProject(folder: string): Promise<Discovery> {
  const root = await realpath(folder);
  const lang = await detectLanguage(root);
  const dockerfile = (await exists(root, 'Dockerfile')) ? 'Dockerfile' : (await exists(root, 'dockerfile')) ? 'dockerfile' : undefined;
  if (dockerfile) {
    const text = (await read(root, dockerfile)) ?? '';
    const from = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/im.exec(text)?.[1];
    return { ...lang, kind: 'dockerfile', driver: 'docker', image: from, details: { ...lang.details, dockerfile, baseImage: from } };
  }
  const dcPath = (await exists(root, '.devcontainer/devcontainer.json')) ? '.devcontainer/devcontainer.json' : (await exists(root, '.devcontainer.json')) ? '.devcontainer.json' : undefined;
  if (dcPath) {
    const errors: ParseError[] = [];
    const dc = (parseJsonc((await read(root, dcPath)) ?? '', errors, { allowTrailingComma: true }) ?? {}) as Record<string, unknown>;
    const image = typeof dc.image === 'string' ? dc.image : undefined;
    const build = dc.build as { dockerfile?: string } | undefined;
    const details: Record<string, unknown> = {
      ...lang.details,
      devcontainer: dcPath,
      features: dc.features && typeof dc.features === 'object' ? Object.keys(dc.features) : [],
      postCreateCommand: dc.postCreateCommand,
      forwardPorts: Array.isArray(dc.forwardPorts) ? dc.forwardPorts : [],
    };
    if (build?.dockerfile) details.dockerfile = build.dockerfile;
    if (errors.length) details.parseErrors = errors.length;
    // An image or a Dockerfile needs a container engine; the shell falls back to bubblewrap without one.
    return { ...lang, kind: 'devcontainer', driver: image || build?.dockerfile ? 'docker' : 'bubblewrap', image, details };
  }
  return lang;
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
    return {
      ...base,
      toolchain: 'node',
      buildCommand: scripts.build ? run('build') : undefined,
      testCommand: scripts.test && !/no test specified/.test(scripts.test) ? run('test') : undefined,
      details: { manifest: 'package.json', packageManager: pm, scripts },
    };
  }
  if (await exists(root, 'Cargo.toml')) return { ...base, toolchain: 'rust', buildCommand: 'cargo build', testCommand: 'cargo test', details: { manifest: 'Cargo.toml' } };
  if (await exists(root, 'go.mod')) return { ...base, toolchain: 'go', buildCommand: 'go build ./...', testCommand: 'go test ./...', details: { manifest: 'go.mod' } };
  const pyproject = await read(root, 'pyproject.toml');
  if (pyproject !== undefined || (await exists(root, 'requirements.txt')) || (await exists(root, 'setup.py'))) {
    const manifest = pyproject !== undefined ? 'pyproject.toml' : (await exists(root, 'requirements.txt')) ? 'requirements.txt' : 'setup.py';
    const poetry = pyproject?.includes('[tool.poetry]');
    return {
      ...base,
      toolchain: 'python',
      buildCommand: poetry ? 'poetry install' : manifest === 'requirements.txt' ? 'pip install -r requirements.txt' : 'pip install -e .',
      testCommand: poetry ? 'poetry run pytest' : 'pytest',
      details: { manifest },
    };
  }
  if (await exists(root, 'pom.xml')) return { ...base, toolchain: 'java', buildCommand: 'mvn -q package -DskipTests', testCommand: 'mvn -q test', details: { manifest: 'pom.xml', buildTool: 'maven' } };
  for (const g of ['build.gradle', 'build.gradle.kts']) {
    if (await exists(root, g)) {
      const gw = (await exists(root, 'gradlew')) ? './gradlew' : 'gradle';
      return { ...base, toolchain: 'java', buildCommand: `${gw} build -x test`, testCommand: `${gw} test`, details: { manifest: g, buildTool: 'gradle' } };
    }
  }
  if (await exists(root, 'Gemfile')) return { ...base, toolchain: 'ruby', buildCommand: 'bundle install', testCommand: (await exists(root, 'spec')) ? 'bundle exec rspec' : 'bundle exec rake test', details: { manifest: 'Gemfile' } };
  if (await exists(root, 'composer.json')) return { ...base, toolchain: 'php', buildCommand: 'composer install', testCommand: 'vendor/bin/phpunit', details: { manifest: 'composer.json' } };
  if (await exists(root, 'mix.exs')) return { ...base, toolchain: 'elixir', buildCommand: 'mix compile', testCommand: 'mix test', details: { manifest: 'mix.exs' } };
  if (await exists(root, 'CMakeLists.txt')) return { ...base, toolchain: 'c/c++', buildCommand: 'cmake -B build && cmake --build build', testCommand: 'ctest --test-dir build', details: { manifest: 'CMakeLists.txt' } };
  if (await exists(root, 'Makefile')) return { ...base, toolchain: 'make', buildCommand: 'make', testCommand: 'make test', details: { manifest: 'Makefile' } };
  return { kind: 'default', toolchain: 'generic', driver: 'bubblewrap', details: {} };
}
