#!/usr/bin/env node
// The `codeagent` command. In the repository it runs the TypeScript sources through tsx, like the
// services; the packed package (`npm run pack -w @codeagent/cli`) has no sources, only the build.
const { existsSync } = require('node:fs');
const path = require('node:path');

if (existsSync(path.join(__dirname, '../src/main.ts'))) {
  require('tsx/cjs');
  require('../src/main.ts');
} else {
  require('../dist/codeagent.js');
}
