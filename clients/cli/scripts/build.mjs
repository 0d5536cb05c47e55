#!/usr/bin/env node
// Builds the installable CLI: one CommonJS file with the repository's own code (the CLI and
// @codeagent/contracts) compiled in, and the npm packages it imports left as dependencies.
//
//   node scripts/build.mjs            -> dist/codeagent.js (what `npm run build` makes)
//   node scripts/build.mjs --pack DIR -> also a package folder (package.json with exactly the
//                                        dependencies the build imports, at the versions installed
//                                        here, bin, dist, README) packed into DIR/<name>.tgz by `npm pack`
//
// The tarball installs with `npm install -g <tarball>` on a machine without the repository.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
/** The Node versions the repository supports are the ones the packed CLI asks for. */
const { engines } = JSON.parse(readFileSync(path.join(root, '../../package.json'), 'utf8'));
const require = createRequire(path.join(root, 'package.json'));

// Workspace packages that need the platform's own installation (Prisma clients, native modules):
// not compiled in. The commands that use them (`codeagent admin`) say so when run from the package.
const PLATFORM_ONLY = ['@codeagent/db'];

const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

/** Every bare import that is not ours stays an import: its package becomes a dependency of the tarball. */
const externals = {
  name: 'externals',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { path: args.path, external: true };
      const name = packageOf(args.path);
      if (PLATFORM_ONLY.includes(name)) return { path: args.path, namespace: 'platform-only', pluginData: { importer: args.importer } };
      if (name.startsWith('@codeagent/')) return undefined; // compiled in
      return { path: args.path, external: true };
    });
    // The names imported from a platform-only package, each a function that explains itself.
    b.onLoad({ filter: /.*/, namespace: 'platform-only' }, (args) => {
      const source = readFileSync(args.pluginData.importer, 'utf8');
      const names = new Set();
      for (const m of source.matchAll(new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*['"]${args.path}['"]`, 'g'))) {
        for (const part of m[1].split(',')) {
          const n = part.trim();
          if (n && !n.startsWith('type ')) names.add(n.split(/\s+as\s+/)[0].trim());
        }
      }
      const message = `this command needs the platform's own installation (${args.path}); run it where the platform is installed`;
      return { contents: [`const unavailable = () => { throw new Error(${JSON.stringify(message)}); };`, ...[...names].map((n) => `export const ${n} = unavailable;`)].join('\n'), loader: 'js' };
    });
  },
};

const outdir = path.join(root, 'dist');
const result = await build({
  entryPoints: [path.join(root, 'src/main.ts')],
  outfile: path.join(outdir, 'codeagent.js'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.19',
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
  define: { CODEAGENT_VERSION: JSON.stringify(pkg.version) },
  plugins: [externals],
});

const used = new Set();
for (const out of Object.values(result.metafile.outputs)) for (const imp of out.imports) if (imp.external && !imp.path.startsWith('node:')) used.add(packageOf(imp.path));
/** The version installed here, exactly: the tarball runs with what the tests ran with. */
const installed = (name) => {
  // Found the way Node finds it (not through `exports`, which may hide package.json).
  for (const dir of require.resolve.paths(name) ?? []) {
    const file = path.join(dir, name, 'package.json');
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')).version;
  }
  throw new Error(`${name} is imported by the CLI but not installed`);
};
const dependencies = Object.fromEntries([...used].sort().map((name) => [name, installed(name)]));
console.log(`built dist/codeagent.js; runtime dependencies: ${Object.keys(dependencies).join(', ')}`);

const packAt = process.argv.indexOf('--pack');
if (packAt !== -1) {
  const dest = path.resolve(process.argv[packAt + 1] ?? '.');
  const stage = mkdtempSync(path.join(tmpdir(), 'codeagent-cli-pack-'));
  try {
    mkdirSync(path.join(stage, 'bin'));
    cpSync(outdir, path.join(stage, 'dist'), { recursive: true });
    cpSync(path.join(root, 'bin/codeagent.js'), path.join(stage, 'bin/codeagent.js'));
    cpSync(path.join(root, 'README.md'), path.join(stage, 'README.md'));
    const { name, version, description, license, bin } = pkg;
    writeFileSync(
      path.join(stage, 'package.json'),
      JSON.stringify({ name, version, description, license: license ?? 'MIT', bin, engines: { node: engines.node }, files: ['bin', 'dist'], dependencies }, null, 2) + '\n',
    );
    mkdirSync(dest, { recursive: true });
    const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: stage, encoding: 'utf8' });
    const file = path.join(dest, JSON.parse(out)[0].filename);
    console.log(file);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
