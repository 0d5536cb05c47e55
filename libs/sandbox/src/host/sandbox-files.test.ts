import { execFileSync } from 'node:child_process';
import { closeSync, constants, fstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSandboxPipe } from './sandbox-files';

// A container's pipes lie in a folder bound into it: its root can swap them for anything before the
// shell service opens them (at a start, or when it adopts the container).
describe('openSandboxPipe: a pipe code in the sandbox may have replaced', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-files-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('opens a FIFO without waiting for its other end', () => {
    const fifo = path.join(dir, 'out');
    execFileSync('mkfifo', [fifo]);
    const fd = openSandboxPipe(fifo, constants.O_RDONLY);
    expect(fstatSync(fd).isFIFO()).toBe(true);
    closeSync(fd);
  });

  test('refuses a link (the shell input written into a file of the host) and leaves its target alone', () => {
    const hostFile = path.join(dir, 'host-file');
    writeFileSync(hostFile, 'host content\n');
    symlinkSync(hostFile, path.join(dir, 'in'));
    expect(() => openSandboxPipe(path.join(dir, 'in'), constants.O_RDWR)).toThrow(expect.objectContaining({ code: 'SANDBOX_UNAVAILABLE' }));
    expect(readFileSync(hostFile, 'utf8')).toBe('host content\n');
  });

  test('refuses a regular file', () => {
    writeFileSync(path.join(dir, 'out'), 'not a pipe');
    expect(() => openSandboxPipe(path.join(dir, 'out'), constants.O_RDONLY)).toThrow(/replaced it/);
  });
});
