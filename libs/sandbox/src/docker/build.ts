import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { AppError } from '@codeagent/contracts';

/** The repository of built project images (the cache). */
const REPO = 'codeagent-project';

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
    /** Bytes of built project images kept; beyond it the least recently used unused ones are removed. */
    private readonly cacheBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** When this process last used each tag: the order in which the cache lets images go. */
  private readonly lastUsed = new Map<string, number>();

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
    const tag = `${REPO}:${createHash('sha256').update(rel).update('\0').update(content).digest('hex').slice(0, 20)}`;
    this.lastUsed.set(tag, Date.now());
    const have = await this.docker.getImage(tag).inspect().then(() => true, () => false);
    if (have) return tag;
    let p = this.building.get(tag);
    if (!p) {
      p = this.build(workspace, rel, tag)
        .then(async (built) => {
          await this.trimCache(built);
          return built;
        })
        .finally(() => this.building.delete(tag));
      this.building.set(tag, p);
    }
    return p;
  }

  /**
   * Keeps the built images under the cache size: the least recently used go first (images built by an
   * earlier process count as older than any used since), never `keep` nor one a container still uses
   * (the engine refuses that removal, and the image is kept).
   */
  async trimCache(keep?: string): Promise<string[]> {
    const images = await this.docker.listImages({ filters: { reference: [`${REPO}:*`] } });
    const tagged = images.map((i) => {
      const tag = i.RepoTags?.find((t) => t.startsWith(`${REPO}:`)) ?? i.Id;
      return { tag, size: i.Size, at: this.lastUsed.get(tag) ?? i.Created * 1000 - 1e15 };
    });
    let total = tagged.reduce((n, i) => n + i.size, 0);
    const removed: string[] = [];
    for (const img of tagged.sort((a, b) => a.at - b.at)) {
      if (total <= this.cacheBytes) break;
      if (img.tag === keep) continue;
      const gone = await this.docker
        .getImage(img.tag)
        .remove()
        .then(() => true, () => false);
      if (!gone) continue;
      total -= img.size;
      removed.push(img.tag);
      this.lastUsed.delete(img.tag);
    }
    return removed;
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
