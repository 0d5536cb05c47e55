import type { z } from 'zod';
import type { ServiceName } from './topology';

/** A request/reply message addressed to one service; the routing key is the catalog key. */
export interface CommandDef<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType, S extends ServiceName = ServiceName> {
  readonly kind: 'command';
  /** The service whose command queue receives it. */
  readonly service: S;
  /** Schema version; a breaking change is a new entry with a new version, published beside the old. */
  readonly version: number;
  readonly request: Req;
  readonly reply: Res;
  /** One line for people reading the catalog. */
  readonly summary: string;
}

/**
 * A fact published on the events exchange; the routing key is the catalog key, followed for a
 * per-session event by the payload's sessionId (`session.event.ses_1`), so that a consumer can follow
 * some sessions only (libs/bus `follow`) while the others bind `<name>.*`.
 */
export interface EventDef<S extends z.ZodType = z.ZodType> {
  readonly kind: 'event';
  readonly version: number;
  readonly schema: S;
  readonly summary: string;
  /** Routed by its payload's `sessionId` (see above). */
  readonly perSession?: boolean;
}

export function command<S extends ServiceName, Req extends z.ZodType, Res extends z.ZodType>(
  service: S,
  def: { version?: number; request: Req; reply: Res; summary: string },
): CommandDef<Req, Res, S> {
  return { kind: 'command', service, version: def.version ?? 1, request: def.request, reply: def.reply, summary: def.summary };
}

export function event<S extends z.ZodType>(def: { version?: number; schema: S; summary: string; perSession?: boolean }): EventDef<S> {
  return { kind: 'event', version: def.version ?? 1, schema: def.schema, summary: def.summary, ...(def.perSession ? { perSession: true } : {}) };
}
