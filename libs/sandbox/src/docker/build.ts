import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { AppError } from '@codeagent/contracts';

/**
 * Builds a project's own image from its Dockerfile. The tag is derived from the Dockerfile's path and
 * content, and an image already built from the same Dockerfile is reused: the environment is what the
 * Dockerfile defines, while the code itself is the workspace mounted at /workspace, so a change to the
 * code alone needs no rebuild.
 */
export class DockerfileBuilder {
  private readonly building = new Map<string, Promise<string>>();

  constructor(
    private readonly docker: Docker,
    /** Network of RUN steps (`none` where no registry or mirror is reachable); the engine's default when absent. */
    private readonly network?: string,
  ) {}

  /** The image tag for `dockerfile` (relative to the workspace), building it first when needed. */
  async imageFor(workspace: string, dockerfile: string): Promise<string> {
    const file = path.resolve(workspace, dockerfile);
    const rel = path.relative(workspace, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new AppError('PATH_OUTSIDE_WORKSPACE', `dockerfile ${dockerfile} is outside the workspace`);
    }
    let content: Buffer;
    try {
      if (!statSync(file).isFile()) throw new Error('not a file');
      content = readFileSync(file);
    } catch {
      throw new AppError('NOT_FOUND', `dockerfile ${dockerfile} is not a file in the workspace`);
    }
    const tag = `codeagent-project:${createHash('sha256').update(rel).update('\0').update(content).digest('hex').slice(0, 20)}`;
    const have = await this.docker.getImage(tag).inspect().then(() => true, () => false);
    if (have) return tag;
    let p = this.building.get(tag);
    if (!p) {
      p = this.build(workspace, rel, tag).finally(() => this.building.delete(tag));
      this.building.set(tag, p);
    }
    return p;
  }

  private async build(workspace: string, dockerfile: string, tag: string): Promise<string> {
    // The whole workspace is the build context, as `docker build .` would send it (the engine applies .dockerignore).
    const tar = spawn('tar', ['-C', workspace, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let tarErr = '';
    tar.stderr.on('data', (b: Buffer) => (tarErr = (tarErr + b.toString()).slice(-2000)));
    const stream = await this.docker.buildImage(tar.stdout, { t: tag, dockerfile, rm: true, forcerm: true, ...(this.network ? { networkmode: this.network } : {}) });
    type Progress = { error?: string; stream?: string };
    const output = await new Promise<Progress[]>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err: Error | null, out: Progress[]) => (err ? reject(err) : resolve(out))),
    ).catch((err: Error): Progress[] => [{ error: err.message }]);
    const failed = output.find((o) => o.error);
    if (failed) {
      const log = output.map((o) => o.stream ?? '').join('').trim().split('\n').slice(-5).join(' | ');
      throw new AppError('VALIDATION_FAILED', `the project's ${dockerfile} did not build: ${failed.error}${log ? ` (last output: ${log})` : ''}${tarErr ? `; tar: ${tarErr}` : ''}`);
    }
    return tag;
  }
}
