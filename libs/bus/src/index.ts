export { Bus, within, type BusOptions } from './bus';
export { safeUrl } from './connection';
export { RETRY_DELAYS_MS, retryExchange } from './topology';
export type * from './types';
