import type { Readable } from 'node:stream';
import type { PtyDataListener } from './types';

/**
 * Hands each chunk `from` reads to every listener. While a promise one answered is pending, `from` is
 * paused (backpressure: the terminal's programs block on a full pipe); `canResume` says whether to
 * read on once they settled (not after a close that reads to the end by itself).
 */
export function feedListeners(from: Readable, listeners: ReadonlySet<PtyDataListener>, canResume: () => boolean = () => true): void {
  from.on('data', (b: Buffer) => {
    const waits = [...listeners].map((l) => l(b)).filter((w) => w instanceof Promise);
    if (waits.length === 0) return;
    from.pause();
    void Promise.allSettled(waits).then(() => canResume() && from.resume());
  });
}
