export { Bus, sessionRoutingKey, within, type BusOptions, type EventSubscription, type SubscribeOptions } from './bus';
export { safeUrl } from './connection';
export { outputBytes, outputText, sessionLogHandlers } from './session-log';
export { BusSigner, MIN_BUS_SECRET_LENGTH, type SignedProperties, type Verification } from './signing';
export { RETRY_DELAYS_MS, retryExchange } from './topology';
export type * from './types';
