// Prints the figures in bench/results/*.json as one markdown table (the README's benchmark table):
// `npx tsx bench/table.ts [names...]`, in the order given, every result when none is.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface Result {
  benchmark: string;
  date: string;
  figures: Array<{ name: string; value: number | null; unit: string; goal?: string; met?: boolean }>;
}

const dir = path.join(__dirname, 'results');
const names = process.argv.slice(2).length ? process.argv.slice(2) : readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
// A figure that could not be taken (NaN is null in JSON) says so instead of stopping the table.
const fmt = (v: number | null, unit: string) =>
  v === null || !Number.isFinite(v) ? 'not measured' : `${Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Number(v.toPrecision(3)))} ${unit}`;
console.log('| benchmark | figure | measured | goal |');
console.log('| --- | --- | --- | --- |');
for (const name of names) {
  const r = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as Result;
  for (const f of r.figures) {
    const goal = f.goal ? `${f.goal} ${f.unit} ${f.met ? '✓' : '✗'}` : '';
    console.log(`| ${r.benchmark} | ${f.name} | ${fmt(f.value, f.unit)} | ${goal} |`);
  }
}
