import type { AgentRunFact, CommandFact, Facts, SessionChange, TaskFact, UsageFact } from './facts';
import { weekOf } from './time';

/** Sums of usage in one bucket (a day or a week) for one combination of dimensions. */
export interface UsageRollup {
  bucket: number;
  provider: string;
  model: string;
  role: string;
  session: string;
  user: string;
  project: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  unpriced: number;
}

/** Sums of completed commands in one bucket for one session. */
export interface CommandRollup {
  bucket: number;
  session: string;
  user: string;
  commands: number;
  failed: number;
  durationMs: number;
}

export interface EventCount {
  day: number;
  name: string;
  count: number;
}

/** Everything a batch writes, besides the processed ids; built from the events not seen before only. */
export interface Writes {
  usage: UsageFact[];
  usageDaily: UsageRollup[];
  usageWeekly: UsageRollup[];
  commands: CommandFact[];
  commandDaily: CommandRollup[];
  commandWeekly: CommandRollup[];
  sessions: SessionChange[];
  agentRuns: AgentRunFact[];
  tasks: TaskFact[];
  eventCounts: EventCount[];
}

/** A command that exited non-zero or timed out. */
export const commandFailed = (c: Pick<CommandFact, 'exitCode' | 'timedOut'>) => c.exitCode !== 0 || c.timedOut;

/**
 * Folds a batch's facts into rows to insert and rollup increments, summed per key in memory so that
 * a batch of thousands of events touches each rollup row once.
 */
export function buildWrites(facts: readonly Facts[]): Writes {
  const usageDaily = new Map<string, UsageRollup>();
  const usageWeekly = new Map<string, UsageRollup>();
  const commandDaily = new Map<string, CommandRollup>();
  const commandWeekly = new Map<string, CommandRollup>();
  const counts = new Map<string, EventCount>();
  const sessions = new Map<string, SessionChange>();
  const w: Writes = { usage: [], usageDaily: [], usageWeekly: [], commands: [], commandDaily: [], commandWeekly: [], sessions: [], agentRuns: [], tasks: [], eventCounts: [] };

  for (const f of facts) {
    const ck = `${f.day}\u0000${f.name}`;
    const c = counts.get(ck) ?? counts.set(ck, { day: f.day, name: f.name, count: 0 }).get(ck)!;
    c.count++;
    if (f.usage) {
      w.usage.push(f.usage);
      addUsage(usageDaily, f.usage.day, f.usage);
      addUsage(usageWeekly, f.usage.week, f.usage);
    }
    if (f.command) {
      w.commands.push(f.command);
      addCommand(commandDaily, f.command.day, f.command);
      addCommand(commandWeekly, weekOf(f.command.day), f.command);
    }
    if (f.session) sessions.set(f.session.session, mergeSession(sessions.get(f.session.session), f.session));
    if (f.agentRun) w.agentRuns.push(f.agentRun);
    if (f.task) w.tasks.push(f.task);
  }
  w.usageDaily = byKey(usageDaily);
  w.usageWeekly = byKey(usageWeekly);
  w.commandDaily = byKey(commandDaily);
  w.commandWeekly = byKey(commandWeekly);
  w.sessions = byKey(sessions);
  w.eventCounts = byKey(counts);
  w.agentRuns.sort((a, b) => compare(a.run, b.run));
  return w;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Rows in key order: replicas sharing a PostgreSQL database then lock the rollup rows they both
 * touch in the same order, so their transactions wait for each other instead of deadlocking.
 */
function byKey<V>(m: Map<string, V>): V[] {
  return [...m.entries()].sort((a, b) => compare(a[0], b[0])).map(([, v]) => v);
}

function addUsage(into: Map<string, UsageRollup>, bucket: number, u: UsageFact): void {
  const key = [bucket, u.provider, u.model, u.role, u.session, u.user, u.project].join('\u0000');
  let r = into.get(key);
  if (!r) {
    r = { bucket, provider: u.provider, model: u.model, role: u.role, session: u.session, user: u.user, project: u.project, calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0, unpriced: 0 };
    into.set(key, r);
  }
  r.calls++;
  r.inputTokens += u.inputTokens;
  r.outputTokens += u.outputTokens;
  r.costUsd += u.costUsd;
  if (!u.priced) r.unpriced++;
}

function addCommand(into: Map<string, CommandRollup>, bucket: number, c: CommandFact): void {
  const key = `${bucket}\u0000${c.session}\u0000${c.user}`;
  let r = into.get(key);
  if (!r) {
    r = { bucket, session: c.session, user: c.user, commands: 0, failed: 0, durationMs: 0 };
    into.set(key, r);
  }
  r.commands++;
  if (commandFailed(c)) r.failed++;
  r.durationMs += c.durationMs;
}

/**
 * Two changes to one session in the same batch become one: the earliest start, the latest end, and
 * `failed` wins over `closed` (a session that failed and was then cleaned up still failed).
 */
export function mergeSession(a: SessionChange | undefined, b: SessionChange): SessionChange {
  if (!a) return { ...b };
  return {
    session: a.session,
    user: b.user ?? a.user,
    project: b.project ?? a.project,
    startedAtMs: minDefined(a.startedAtMs, b.startedAtMs),
    endedAtMs: maxDefined(a.endedAtMs, b.endedAtMs),
    outcome: a.outcome === 'failed' || b.outcome === 'failed' ? 'failed' : (b.outcome ?? a.outcome),
  };
}

const minDefined = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.min(x, y));
const maxDefined = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.max(x, y));
