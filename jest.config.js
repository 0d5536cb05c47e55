// Every test of the repository, in two projects: `packages` (unit *.test.ts beside the code in src/,
// integration *.int.test.ts in each package's test/, in parallel) and `e2e` (the whole platform
// driven from outside; run one file at a time by `npm test`, see scripts/test.mjs). @swc/jest strips
// types only; `npm run typecheck` is where types are checked.
const shared = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)sx?$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // The Vercel AI SDK and its providers, and unified/remark (TASKS.md) with their micromark and mdast
  // helpers, ship ESM only; jest's CommonJS runtime needs them compiled by swc.
  transformIgnorePatterns: [
    '/node_modules/(?!(ai|@ai-sdk|ollama-ai-provider-v2|eventsource-parser|@standard-schema|@workflow' +
      '|unified|remark-[^/]+|mdast-util-[^/]+|micromark[^/]*|unist-util-[^/]+|vfile[^/]*|bail|ccount|character-entities' +
      '|decode-named-character-reference|devlop|is-plain-obj|longest-streak|markdown-table|trough|zwitch|escape-string-regexp)/)',
  ],
  // ...and one of them imports zod's ESM locale file by its .js path; its CommonJS twin is beside it.
  moduleNameMapper: { '^zod/v4/locales/en\\.js$': 'zod/v4/locales/en.cjs' },
};

/** @type {import('jest').Config} */
module.exports = {
  maxWorkers: 2,
  testTimeout: 30_000,
  projects: [
    { ...shared, displayName: 'packages', roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/clients'] },
    { ...shared, displayName: 'e2e', roots: ['<rootDir>/e2e'] },
  ],
};
