/** Quotes a string as one POSIX shell word: nothing inside is interpreted. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
