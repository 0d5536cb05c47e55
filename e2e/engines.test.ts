import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { REPO_ROOT } from '@codeagent/testing';

interface LockEntry {
  version?: string;
  optional?: boolean;
  engines?: { node?: string } | string[];
}

const read = (file: string) => JSON.parse(readFileSync(path.join(REPO_ROOT, file), 'utf8'));
const supported: string = read('package.json').engines.node;
const lock = read('package-lock.json') as { packages: Record<string, LockEntry> };

/**
 * The oldest release of each Node line the root package.json accepts (20.19.0 and 22.12.0 for
 * "^20.19 || >=22.12"), the current LTS the images run, and the Node running this test.
 */
const lineMinimums = new semver.Range(supported).set.map((comparators) => semver.minVersion(comparators.map((c) => c.value).join(' '))!.version);
const nodes = [...new Set([...lineMinimums, '24.0.0', process.versions.node])];

// npm ci warns EBADENGINE for every package it installs from the lockfile whose engines.node excludes the
// running Node; optional packages that do not fit are skipped instead, silently (issue 25).
describe('engines', () => {
  test('the supported range covers the current LTS lines and this Node', () => {
    for (const v of ['20.19.0', '22.12.0', '24.0.0', process.versions.node]) expect([v, semver.satisfies(v, supported)]).toEqual([v, true]);
  });

  test.each(nodes)('every package npm ci installs accepts Node %s', (node) => {
    const refused = Object.entries(lock.packages)
      .filter(([, e]) => !e.optional && e.engines && !Array.isArray(e.engines) && e.engines.node && !semver.satisfies(node, e.engines.node))
      .map(([where, e]) => `${where}@${e.version} wants node ${(e.engines as { node: string }).node}`);
    expect(refused).toEqual([]);
  });
});
