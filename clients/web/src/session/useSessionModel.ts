import { useEffect, useMemo, useSyncExternalStore } from 'react';
import { live } from '../api/live';
import { SessionModel } from './model';

/**
 * A session's model, fed from the start of its event log and then live. Re-renders at most once a
 * frame however fast events come (a command printing megabytes stays responsive).
 */
export function useSessionModel(sessionId: string): SessionModel {
  const model = useMemo(() => new SessionModel(), [sessionId]);
  const store = useMemo(() => {
    const subs = new Set<() => void>();
    let frame = 0;
    let seen = 0;
    const notify = () => {
      frame = 0;
      for (const s of subs) s();
    };
    return {
      subscribe(cb: () => void) {
        subs.add(cb);
        return () => subs.delete(cb);
      },
      snapshot: () => (seen = model.version),
      changed() {
        if (!frame && seen !== model.version) frame = requestAnimationFrame(notify);
      },
    };
  }, [model]);
  useEffect(() => {
    const feed = live().feed(sessionId);
    const stop = feed.listen((e) => {
      model.apply(e);
      store.changed();
    });
    const release = feed.acquire();
    return () => {
      stop();
      release();
    };
  }, [sessionId, model, store]);
  useSyncExternalStore(store.subscribe, store.snapshot);
  return model;
}
