import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One measured figure, with the goal it is judged against. */
export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** e.g. "<= 1" or ">= 15000"; absent when the figure is informative only. */
  goal?: string;
}

const RESULTS = path.resolve(__dirname, 'results');

/** Whether a figure meets a goal written as "<= N", ">= N", "< N" or "> N". */
export function meets(value: number, goal?: string): boolean | undefined {
  const m = goal ? /^\s*(<=|>=|<|>)\s*([\d.e+-]+)/.exec(goal) : null;
  if (!m) return undefined;
  const n = Number(m[2]);
  return m[1] === '<=' ? value <= n : m[1] === '>=' ? value >= n : m[1] === '<' ? value < n : value > n;
}

/**
 * Every benchmark ends here: prints a table and writes bench/results/<benchmark>.json with each
 * figure, its goal, whether it was met, and the date and machine it was measured on.
 */
export function report(benchmark: string, figures: Figure[], notes?: string): void {
  const machine = {
    hostname: os.hostname(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
  const date = new Date().toISOString();
  const rows = figures.map((f) => ({ ...f, value: round(f.value), met: meets(f.value, f.goal) }));
  console.log(`\n${benchmark} (${date}, ${machine.cpus} cores, ${machine.cpuModel})`);
  console.table(rows.map((r) => ({ figure: r.name, value: r.value, unit: r.unit, goal: r.goal ?? '', met: r.met === undefined ? '' : r.met ? 'yes' : 'NO' })));
  if (notes) console.log(notes);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(path.join(RESULTS, `${benchmark}.json`), JSON.stringify({ benchmark, date, machine, figures: rows, notes }, null, 2) + '\n');
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Milliseconds since `start` (from process.hrtime.bigint()). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function round(v: number): number {
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 1000) / 1000;
}
