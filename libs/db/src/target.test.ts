import { describeTarget, resolveTarget } from './target';

test('no DATABASE_URL: a SQLite file per service under DATA_DIR', () => {
  expect(resolveTarget({ service: 'orchestrator', dataDir: '/data' })).toEqual({ kind: 'sqlite', file: '/data/orchestrator.db' });
  expect(resolveTarget({ service: 'orchestrator', databaseUrl: ' ', dataDir: '/data' }).kind).toBe('sqlite');
});

test('file: URLs name the SQLite file', () => {
  expect(resolveTarget({ service: 's', databaseUrl: 'file:/tmp/x.db', dataDir: '/d' })).toEqual({ kind: 'sqlite', file: '/tmp/x.db' });
  expect(resolveTarget({ service: 's', databaseUrl: 'file:///tmp/y.db', dataDir: '/d' })).toEqual({ kind: 'sqlite', file: '/tmp/y.db' });
});

test('PostgreSQL: a schema per service unless the URL names one', () => {
  const t = resolveTarget({ service: 'project-ci', databaseUrl: 'postgresql://u:secret@h:5432/codeagent', dataDir: '/d' });
  expect(t).toEqual({ kind: 'postgres', url: 'postgresql://u:secret@h:5432/codeagent', schema: 'project_ci' });
  expect(describeTarget(t)).toBe('postgres:h:5432/codeagent#project_ci');
  const named = resolveTarget({ service: 'x', databaseUrl: 'postgres://h/db?schema=mine&sslmode=disable', dataDir: '/d' });
  expect(named).toEqual({ kind: 'postgres', url: 'postgres://h/db?sslmode=disable', schema: 'mine' });
});

test('anything else is refused without echoing credentials', () => {
  expect(() => resolveTarget({ service: 's', databaseUrl: 'mysql://root:pw@h/db', dataDir: '/d' })).toThrow(/postgres.*got "mysql:\/\/\*\*\*@h\/db"/);
});
