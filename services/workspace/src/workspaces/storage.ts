import path from 'node:path';
import { LayerStore } from '../volumes/layers';
import { Volumes } from '../volumes/volumes';
import type { Capabilities } from '../volumes/capabilities';
import { SnapshotStore } from '../snapshots/snapshot-store';

/** Where everything lives under <DATA_DIR>/workspace. */
export class Storage {
  readonly volumes: Volumes;
  readonly layers: LayerStore;
  readonly snapshots: SnapshotStore;

  constructor(
    readonly root: string,
    readonly caps: Capabilities,
    snapshotDir?: string,
    pool: { size: number; quotaMb: number } = { size: 0, quotaMb: 0 },
  ) {
    this.volumes = new Volumes(path.join(root, 'ws'), caps, pool);
    this.layers = new LayerStore(path.join(root, 'layers'));
    this.snapshots = new SnapshotStore(path.resolve(snapshotDir ?? path.join(root, 'snapshots')));
  }

  async init(): Promise<void> {
    await this.volumes.init();
    await this.layers.init();
    await this.snapshots.init();
  }
}
