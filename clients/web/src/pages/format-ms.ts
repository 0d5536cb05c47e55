/** A duration in ms as people read it: 850 ms, 1.23 s, 12.5 s; a dash when nothing was measured. */
export function formatMs(v: number | null): string {
  if (v === null) return '–';
  if (v < 999.5) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(v < 9995 ? 2 : 1)} s`;
}
