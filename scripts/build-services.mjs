#!/usr/bin/env node
// Compiles each service to JavaScript: services/<name>/dist/main.js (and the gateway's admin command,
// dist/admin.js), one CommonJS file each with the service's code and the repository's libraries
// (@codeagent/*) compiled in, and every npm package left as a require of node_modules (native modules,
// Prisma's runtime, ESM-only packages through Node's require(esm)). The same approach as the CLI's
// build (clients/cli/scripts/build.mjs).
//
//   node scripts/build-services.mjs                       every service (what `npm run build` makes)
//   node scripts/build-services.mjs gateway orchestrator  only those
//
// What stays outside the bundle, read from the repository at run time as the sources read it:
// - each service's Prisma clients (prisma/generated/<kind>, made by `npm ci`) and migrations;
// - files found through __dirname (migrations, the dashboard, helper scripts): __dirname in a source
//   file means that file's own folder, so the bundle passes that folder instead of dist/;
// - except a worker entry that registers tsx (a `.cjs` doing `require('tsx/cjs')` then a `.ts`): that
//   `.ts` is compiled to dist/<same name>.cjs, and the files naming it get dist/ as their __dirname.
// dist/sources.json lists the files compiled in (repository-relative).
// `npm start` and the images run dist/main.js; tsx stays for development and tests.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const SERVICES = ['gateway', 'orchestrator', 'workspace', 'shell', 'analytics', 'project-ci'];
/** Entry points besides src/main.ts, each compiled to dist/<name>.js: the gateway's admin command. */
const TOOLS = { gateway: ['admin'] };

const packageOf = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
const posix = (p) => p.split(path.sep).join('/');

/** The `.cjs` worker entries under src/ that load a TypeScript file through tsx: {cjs name, ts file}. */
function tsxWorkers(srcDir) {
  const found = [];
  for (const entry of readdirSync(srcDir, { recursive: true })) {
    if (!entry.endsWith('.cjs')) continue;
    const text = readFileSync(path.join(srcDir, entry), 'utf8');
    const ts = /require\(['"]tsx\/cjs['"]\)[\s\S]*?require\(['"](\.\/[^'"]+\.ts)['"]\)/.exec(text)?.[1];
    if (ts) found.push({ name: path.basename(entry), ts: path.resolve(srcDir, path.dirname(entry), ts) });
  }
  return found;
}

function plugin(outdir, workers) {
  return {
    name: 'codeagent-service',
    setup(b) {
      // npm packages stay requires; the repository's libraries are compiled in.
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        if (packageOf(args.path).startsWith('@codeagent/')) return undefined;
        return { path: args.path, external: true };
      });
      // A Prisma client is generated per service with files beside it: required from where it is.
      b.onResolve({ filter: /prisma\/generated\// }, (args) => {
        const target = path.resolve(args.resolveDir, args.path);
        return { path: `./${posix(path.relative(outdir, target))}`, external: true };
      });
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        let contents = readFileSync(args.path, 'utf8');
        if (contents.includes('__dirname')) {
          const compiledWorker = workers.some((w) => contents.includes(w.name));
          const dir = compiledWorker ? outdir : path.dirname(args.path);
          const rel = JSON.stringify(posix(path.relative(outdir, dir)) || '.');
          contents = contents.replace(/\b__dirname\b/g, `require('node:path').resolve(__dirname, ${rel})`);
        }
        return { contents, loader: 'ts' };
      });
    },
  };
}

export async function buildService(service) {
  const serviceDir = path.join(root, 'services', service);
  const outdir = path.join(serviceDir, 'dist');
  const workers = tsxWorkers(path.join(serviceDir, 'src'));
  const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node20.19', sourcemap: true, logLevel: 'warning', write: false, metafile: true, absWorkingDir: root, plugins: [plugin(outdir, workers)] };
  const outputs = [await build({ ...common, entryPoints: [path.join(serviceDir, 'src/main.ts')], outfile: path.join(outdir, 'main.js') })];
  for (const tool of TOOLS[service] ?? []) outputs.push(await build({ ...common, entryPoints: [path.join(serviceDir, 'src', `${tool}.ts`)], outfile: path.join(outdir, `${tool}.js`) }));
  for (const w of workers) outputs.push(await build({ ...common, entryPoints: [w.ts], outfile: path.join(outdir, w.name) }));
  // Written aside then renamed: a service starting meanwhile (tests build while others run) reads
  // the old file or the new one, never half of one.
  // The sources compiled in, for `npm start` to tell whether the build is older than one of them.
  const sources = [...new Set(outputs.flatMap((o) => Object.keys(o.metafile.inputs)))].filter((f) => !f.includes('node_modules/')).sort();
  const files = [...outputs.flatMap((o) => o.outputFiles), { path: path.join(outdir, 'sources.json'), contents: JSON.stringify(sources, null, 1) + '\n' }];
  mkdirSync(outdir, { recursive: true });
  for (const file of files) {
    const aside = `${file.path}.${process.pid}.tmp`;
    writeFileSync(aside, file.contents);
    renameSync(aside, file.path);
  }
  return path.join(outdir, 'main.js');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const asked = process.argv.slice(2);
  for (const s of asked) if (!SERVICES.includes(s)) throw new Error(`unknown service "${s}"; services are ${SERVICES.join(', ')}`);
  const started = Date.now();
  for (const service of asked.length ? asked : SERVICES) {
    if (!existsSync(path.join(root, 'services', service, 'src/main.ts'))) throw new Error(`services/${service}/src/main.ts does not exist`);
    await buildService(service);
    console.log(`built services/${service}/dist/main.js`);
  }
  console.log(`services built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
