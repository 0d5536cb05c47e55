import type { ProjectDiscoveryV1 } from '@codeagent/contracts';

/** Where and how a session's sandbox runs: what shell.open is asked for beyond the workspace, limits and network. */
export interface ShellPlacement {
  driver: 'bubblewrap' | 'docker';
  /** Docker: the image to run (a devcontainer's `image`). */
  image?: string;
  /** Docker: a Dockerfile in the workspace to build the image from (cached by content on the shell's engine). */
  dockerfile?: string;
  /** Docker: the image's user the shell runs as (a devcontainer's `remoteUser`). */
  user?: string;
  /** Docker: run once after the container starts (a devcontainer's `postCreateCommand`). */
  postCreateCommand?: string;
  /** Set in the sandbox (a devcontainer's `containerEnv`); the session's own env wins. */
  env?: Record<string, string>;
  /** What chose the driver, for a person (`the project (its Dockerfile)`, `the session's driver`, ...). */
  why: string;
  /** Docker was chosen but the host cannot run it: open a bubblewrap jail instead of failing. */
  fallbackToBubblewrap: boolean;
}

/**
 * API.md "Project discovery": the driver is the session's own choice, else the discovery's (docker for
 * a Dockerfile, or a devcontainer with an image or a build), else bubblewrap. A docker session runs
 * what the project defines; one asked for on a project that defines nothing gets the shell's default image.
 */
export function placementFor(d: ProjectDiscoveryV1 | undefined, asked: { driver?: 'bubblewrap' | 'docker'; fallbackToBubblewrap?: boolean }): ShellPlacement {
  const driver = asked.driver ?? d?.driver ?? 'bubblewrap';
  const why = asked.driver ? "the session's driver" : d?.tier === 'dockerfile' ? 'the project (its Dockerfile)' : d?.tier === 'devcontainer' ? `the project (its ${d.devcontainer?.file ?? 'devcontainer.json'})` : 'the default';
  const dc = d?.devcontainer;
  const env = dc?.containerEnv && Object.keys(dc.containerEnv).length ? { env: dc.containerEnv } : {};
  const base = { driver, why, fallbackToBubblewrap: asked.fallbackToBubblewrap ?? false, ...env };
  if (driver === 'bubblewrap' || !d || d.driver !== 'docker') return base;
  return {
    ...base,
    ...(d.dockerfile ? { dockerfile: d.dockerfile } : d.image ? { image: d.image } : {}),
    ...(dc?.remoteUser ? { user: dc.remoteUser } : {}),
    ...(dc?.postCreateCommand ? { postCreateCommand: dc.postCreateCommand } : {}),
  };
}
