#!/usr/bin/env node
// The `codeagent` command. Sources are TypeScript, loaded through tsx like the services.
require('tsx/cjs');
require('../src/main.ts');
