import Table from 'cli-table3';
import pc from 'picocolors';

/** How the current command prints: JSON for scripts, tables and colour for people. */
export class Output {
  readonly color: boolean;
  constructor(
    readonly json: boolean,
    readonly out: NodeJS.WriteStream = process.stdout,
    readonly err: NodeJS.WriteStream = process.stderr,
  ) {
    this.color = !json && Boolean(out.isTTY) && !process.env.NO_COLOR;
  }

  /** The command's result: pretty-printed JSON, or the human rendering. */
  result(data: unknown, human: () => void): void {
    if (this.json) this.out.write(JSON.stringify(data, null, 2) + '\n');
    else human();
  }

  line(text = ''): void {
    this.out.write(text + '\n');
  }

  table(head: string[], rows: Array<Array<string | number | undefined | null>>): void {
    if (rows.length === 0) return this.line(this.dim('(none)'));
    const t = new Table({ head: head.map((h) => this.bold(h)), style: { head: [], border: [] }, chars: plainChars });
    for (const r of rows) t.push(r.map((c) => (c === undefined || c === null ? '' : String(c))));
    this.line(t.toString());
  }

  /** Key/value lines for one object. */
  fields(obj: Record<string, unknown>): void {
    const width = Math.max(...Object.keys(obj).map((k) => k.length));
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined) continue;
      this.line(`${this.dim(k.padEnd(width))}  ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`);
    }
  }

  status(s: string): string {
    if (!this.color) return s;
    if (['ok', 'ready', 'idle', 'running', 'done', 'completed', 'succeeded', 'up'].includes(s)) return pc.green(s);
    if (['failed', 'down', 'error', 'closed', 'cancelled', 'interrupted'].includes(s)) return pc.red(s);
    return pc.yellow(s);
  }

  bold = (s: string) => (this.color ? pc.bold(s) : s);
  dim = (s: string) => (this.color ? pc.dim(s) : s);
  red = (s: string) => (this.color ? pc.red(s) : s);
}

const plainChars = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ',
};

/** A spinner on stderr while something takes more than a moment; silent when not a terminal or in --json. */
export async function withSpinner<T>(o: Output, text: string, fn: () => Promise<T>): Promise<T> {
  if (o.json || !o.err.isTTY) return fn();
  const { default: ora } = await import('ora');
  const spinner = ora({ text, stream: o.err }).start();
  try {
    const r = await fn();
    spinner.stop();
    return r;
  } catch (err) {
    spinner.stop();
    throw err;
  }
}
