import type { SessionRegistry } from '../sessions/registry';

/** What every handler of the shell service needs. */
export interface HandlerDeps {
  registry: SessionRegistry;
}
