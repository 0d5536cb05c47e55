import type { ProjectDiscoveryV1 } from '@codeagent/contracts';
import { placementFor } from './placement';

const at = new Date(0).toISOString();
const dockerfile: ProjectDiscoveryV1 = { tier: 'dockerfile', languages: ['node'], driver: 'docker', image: 'node:20', dockerfile: 'Dockerfile', checkedAt: at };
const devcontainer: ProjectDiscoveryV1 = {
  tier: 'devcontainer',
  languages: [],
  driver: 'docker',
  image: 'mcr.microsoft.com/devcontainers/base',
  devcontainer: { file: '.devcontainer/devcontainer.json', containerEnv: { A: '1' }, remoteUser: 'vscode', postCreateCommand: 'make setup' },
  checkedAt: at,
};
const language: ProjectDiscoveryV1 = { tier: 'language', languages: ['python'], driver: 'bubblewrap', setupCommand: 'pip install -e .', testCommand: 'pytest', checkedAt: at };

describe('placementFor (the driver a session gets)', () => {
  it('a Dockerfile project builds its Dockerfile (not its FROM image) in Docker', () => {
    expect(placementFor(dockerfile, {})).toEqual({ driver: 'docker', dockerfile: 'Dockerfile', why: 'the project (its Dockerfile)', fallbackToBubblewrap: false });
  });

  it("a devcontainer runs its image with containerEnv, remoteUser and postCreateCommand", () => {
    expect(placementFor(devcontainer, { fallbackToBubblewrap: true })).toMatchObject({
      driver: 'docker',
      image: 'mcr.microsoft.com/devcontainers/base',
      env: { A: '1' },
      user: 'vscode',
      postCreateCommand: 'make setup',
      fallbackToBubblewrap: true,
    });
  });

  it('language and default tiers, and no discovery at all, run in a bubblewrap jail', () => {
    expect(placementFor(language, {})).toEqual({ driver: 'bubblewrap', why: 'the default', fallbackToBubblewrap: false });
    expect(placementFor(undefined, {}).driver).toBe('bubblewrap');
  });

  it("the session's own driver wins both ways; a jail keeps a devcontainer's containerEnv but runs no postCreateCommand", () => {
    expect(placementFor(dockerfile, { driver: 'bubblewrap' })).toEqual({ driver: 'bubblewrap', why: "the session's driver", fallbackToBubblewrap: false });
    expect(placementFor(devcontainer, { driver: 'bubblewrap' })).toEqual({ driver: 'bubblewrap', why: "the session's driver", fallbackToBubblewrap: false, env: { A: '1' } });
    // Docker asked for on a project that defines no image: the shell's default image.
    expect(placementFor(language, { driver: 'docker' })).toEqual({ driver: 'docker', why: "the session's driver", fallbackToBubblewrap: false });
  });
});
