import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ProjectsRepository } from '../projects/project';
import type { TasksFilePort } from '../tasks/task';

/**
 * A project's TASKS.md in its own folder on this host (sources of kind `path` or `worktree`); a git
 * URL has no folder here, so it has no file to sync. The location is settings.tasksFile, by default
 * docs/TASKS.md, and may not leave the project's folder.
 */
export class LocalTasksFiles implements TasksFilePort {
  constructor(private readonly projects: ProjectsRepository) {}

  async locate(projectId: string): Promise<string | undefined> {
    const p = await this.projects.get(projectId);
    const src = p?.source as { kind?: string; path?: string } | undefined;
    if (!p || !src?.path || (src.kind !== 'path' && src.kind !== 'worktree')) return undefined;
    const rel = ((p.settings as { tasksFile?: string }).tasksFile ?? 'docs/TASKS.md').replace(/^\/+/, '');
    const root = path.resolve(src.path);
    const file = path.resolve(root, rel);
    if (file !== root && !file.startsWith(root + path.sep)) return undefined;
    return file;
  }

  async read(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async write(file: string, text: string): Promise<void> {
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, file);
  }
}
