// Entry of the SQLite writer thread: the service runs from TypeScript (tsx), and a worker thread
// does not inherit the loader of a test runner, so it registers tsx itself.
require('tsx/cjs');
require('./ingest.worker.ts');
