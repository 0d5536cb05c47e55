import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SecretBox } from '@codeagent/config';
import type { SandboxState } from '@codeagent/sandbox';
import type { Logger } from '@codeagent/telemetry';
import type { DriverName } from './types';

/** A command in a kept jail, as the session's log knows it: what its completion must name. */
export interface RunningCommand {
  commandId: string;
  command: string;
  user?: string;
  /** What the sandbox's onSent gave: enough to read the command on after this process died. */
  sent?: unknown;
}

/** A session whose jail this replica holds, as the next start of the replica finds it. */
export interface KeptSession {
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
 * session: `session` (sealed with the service's secret key, rewritten at open and at a graceful stop),
 * `seq` (rewritten before each batch of events is published) and `running` (the command in the jail,
 * written as it is sent, removed when it ends). Every write is synchronous: a kill -9 right after it
 * must find it. Sessions are named by a hash: their ids may hold any character.
 */
export class KeptSessions {
  constructor(
    private readonly dir: string,
    private readonly secrets: SecretBox,
    private readonly log: Logger,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  save(s: Omit<KeptSession, 'running'>): void {
    const dir = this.folder(s.sessionId);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeAtomically(path.join(dir, 'session'), this.secrets.seal(JSON.stringify({ ...s, lastSeq: undefined })));
    this.seq(s.sessionId, s.lastSeq);
  }

  seq(sessionId: string, lastSeq: number): void {
    writeAtomically(path.join(this.folder(sessionId), 'seq'), String(lastSeq));
  }

  running(sessionId: string, command: RunningCommand | undefined): void {
    const file = path.join(this.folder(sessionId), 'running');
    if (command) writeAtomically(file, JSON.stringify(command));
    else rmSync(file, { force: true });
  }

  remove(sessionId: string): void {
    rmSync(this.folder(sessionId), { recursive: true, force: true });
  }

  /** Every kept session; one that cannot be read is logged and left out (its jail cannot be adopted without it). */
  list(): KeptSession[] {
    const out: KeptSession[] = [];
    for (const name of readdirSync(this.dir)) {
      const dir = path.join(this.dir, name);
      try {
        const s = JSON.parse(this.secrets.open(readFileSync(path.join(dir, 'session'), 'utf8'))) as KeptSession;
        const seq = readFileSync(path.join(dir, 'seq'), 'utf8');
        if (!/^\d+$/.test(seq)) throw new Error(`its seq file is damaged (${JSON.stringify(seq.slice(0, 40))})`);
        s.lastSeq = Number(seq);
        const running = readOptional(path.join(dir, 'running'));
        if (running) s.running = JSON.parse(running) as RunningCommand;
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

/** A kill -9 between the truncate and the write of a plain write would leave the file empty: a rename is all or nothing. */
function writeAtomically(file: string, data: string): void {
  writeFileSync(`${file}.tmp`, data, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function readOptional(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
