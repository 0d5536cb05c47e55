import { AppError } from '@codeagent/contracts';
import { assertProjectChangeable, assertProjectVisible, canSeeProject } from './access';
import type { Project } from './project';

const project = (owner: string | undefined, visibility: 'private' | 'team'): Project => ({
  id: 'prj_1',
  name: 'app',
  index: 0,
  source: {},
  settings: {},
  ...(owner ? { owner } : {}),
  visibility,
  createdAt: new Date(),
  updatedAt: new Date(),
});
const ana = { userId: 'ana', role: 'member' as const };
const ben = { userId: 'ben', role: 'member' as const };
const admin = { userId: 'root', role: 'admin' as const };

test('a member sees their own projects, the team ones and ownerless ones; admins and the platform all', () => {
  expect(canSeeProject(ana, project('ana', 'private'))).toBe(true);
  expect(canSeeProject(ben, project('ana', 'private'))).toBe(false);
  expect(canSeeProject(ben, project('ana', 'team'))).toBe(true);
  expect(canSeeProject(ben, project(undefined, 'private'))).toBe(true);
  expect(canSeeProject(admin, project('ana', 'private'))).toBe(true);
  expect(canSeeProject(undefined, project('ana', 'private'))).toBe(true);
});

test("another member's private project is NOT_FOUND, worded as none; a team one is FORBIDDEN to change", () => {
  const hidden = (() => {
    try {
      assertProjectVisible(ben, project('ana', 'private'), 'app');
    } catch (err) {
      return err as AppError;
    }
  })();
  expect(hidden).toMatchObject({ code: 'NOT_FOUND', message: 'no project app' });
  expect(() => assertProjectChangeable(ben, project('ana', 'private'), 'app')).toThrow('no project app');
  expect(() => assertProjectChangeable(ben, project('ana', 'team'), 'app')).toThrow('project app belongs to another user');
  expect(() => assertProjectChangeable(ana, project('ana', 'private'), 'app')).not.toThrow();
  expect(() => assertProjectChangeable(admin, project('ana', 'private'), 'app')).not.toThrow();
});
