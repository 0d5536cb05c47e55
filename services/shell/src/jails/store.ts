import { createHash } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { SecretBox } from '@codeagent/config';
import type { SandboxState } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import type { DriverName } from './types';

/** Width of the seq, and of the running record's length, in their files (positioned writes never shrink a file). */
const SEQ_WIDTH = 20;

/** A command in a kept jail, as the session's log knows it: what its completion must name. */
export interface RunningCommand {
  commandId: string;
  command: string;
  user?: string;
  /** What the sandbox's onSent gave: enough to read the command on after this process died. */
  sent?: unknown;
}

/** A session whose jail this replica holds, as the next start of the replica finds it. */
export interface KeptJail {
  sessionId: string;
  workspaceDir: string;
  driver: DriverName;
  /** SECRET (egress credentials): stored sealed. */
  sandbox: SandboxState;
  /** The last seq the session's stream gave: the next start numbers on from it. */
  lastSeq: number;
  running?: RunningCommand;
}

/**
 * Where this replica keeps what it needs to adopt its jails at its next start, one folder per
 * session: `session` (sealed with the service's secret key, rewritten at open, when the jail's state
 * changes and at a graceful stop), `seq` (the last seq given, before each batch of events is
 * published) and `running` (the command in the jail, as it is sent; emptied when it ends). The last two
 * change on every command, so they are one positioned write each into a file kept open (a few
 * microseconds, where a rewrite of a small file costs ~150 on this disk); a write is never half done
 * by a kill -9. Sessions are named by a hash: their ids may hold any character.
 */
export class KeptJails {
  private readonly open = new Map<string, { seq: number; running: number }>();

  constructor(
    private readonly dir: string,
    private readonly secrets: SecretBox,
    private readonly log: Logger,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  save(s: Omit<KeptJail, 'running'>): void {
    const dir = this.folder(s.sessionId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Rewritten whole, so written aside and renamed: a kill -9 mid-write leaves the previous one.
    writeFileSync(path.join(dir, 'session.tmp'), this.secrets.seal(JSON.stringify({ ...s, lastSeq: undefined })), { mode: 0o600 });
    renameSync(path.join(dir, 'session.tmp'), path.join(dir, 'session'));
    this.seq(s.sessionId, s.lastSeq);
  }

  seq(sessionId: string, lastSeq: number): void {
    writeSync(this.files(sessionId).seq, Buffer.from(String(lastSeq).padStart(SEQ_WIDTH)), 0, SEQ_WIDTH, 0);
  }

  running(sessionId: string, command: RunningCommand | undefined): void {
    const body = command ? Buffer.from(JSON.stringify(command)) : Buffer.alloc(0);
    const record = Buffer.concat([Buffer.from(`${String(body.length).padStart(SEQ_WIDTH)}\n`), body]);
    writeSync(this.files(sessionId).running, record, 0, record.length, 0);
  }

  remove(sessionId: string): void {
    const f = this.open.get(sessionId);
    this.open.delete(sessionId);
    if (f) (closeSync(f.seq), closeSync(f.running));
    rmSync(this.folder(sessionId), { recursive: true, force: true });
  }

  private files(sessionId: string): { seq: number; running: number } {
    let f = this.open.get(sessionId);
    if (!f) {
      const dir = this.folder(sessionId);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const flags = constants.O_RDWR | constants.O_CREAT;
      f = { seq: openSync(path.join(dir, 'seq'), flags, 0o600), running: openSync(path.join(dir, 'running'), flags, 0o600) };
      this.open.set(sessionId, f);
    }
    return f;
  }

  /** Every kept session; one that cannot be read is logged and left out (its jail cannot be adopted without it). */
  list(): KeptJail[] {
    const out: KeptJail[] = [];
    for (const name of readdirSync(this.dir)) {
      const dir = path.join(this.dir, name);
      try {
        const s = JSON.parse(this.secrets.open(readFileSync(path.join(dir, 'session'), 'utf8'))) as KeptJail;
        const seq = readFileSync(path.join(dir, 'seq'), 'utf8').trim();
        if (!/^\d+$/.test(seq)) throw new Error(`its seq file is damaged (${JSON.stringify(seq.slice(0, 40))})`);
        s.lastSeq = Number(seq);
        // The record's length counts bytes: read as bytes (a command may hold any character).
        const running = readOptional(path.join(dir, 'running'));
        const length = Number(running?.subarray(0, SEQ_WIDTH).toString());
        if (running && length > 0) s.running = JSON.parse(running.subarray(SEQ_WIDTH + 1, SEQ_WIDTH + 1 + length).toString('utf8')) as RunningCommand;
        out.push(s);
      } catch (err) {
        this.log.error({ dir, err: (err as Error).message }, 'a kept session could not be read; its jail is not adopted (the folder is left for a person to look at)');
      }
    }
    return out;
  }

  private folder(sessionId: string): string {
    return path.join(this.dir, createHash('sha256').update(sessionId).digest('hex').slice(0, 32));
  }
}

function readOptional(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}
