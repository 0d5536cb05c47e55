import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSecretBox, loadSecretKey } from './secret-box';

describe('secret box', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'secret-box-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('seals with a fresh IV each time and opens only with the same key', () => {
    const box = createSecretBox(loadSecretKey(undefined, dir));
    const a = box.seal('sk-ant-123');
    expect(a).not.toContain('sk-ant');
    expect(box.seal('sk-ant-123')).not.toBe(a);
    expect(box.open(a)).toBe('sk-ant-123');
    const other = createSecretBox(Buffer.alloc(32, 7));
    expect(() => other.open(a)).toThrow();
  });

  it('detects tampering', () => {
    const box = createSecretBox(Buffer.alloc(32, 1));
    const [v, iv, tag, data] = box.seal('secret').split(':');
    const flipped = Buffer.from(data!, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    expect(() => box.open([v, iv, tag, flipped.toString('base64')].join(':'))).toThrow();
  });

  it('generates a 0600 key file once and reuses it; an env key wins', () => {
    const k1 = loadSecretKey(undefined, dir);
    const file = path.join(dir, 'orchestrator', 'secret.key');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadSecretKey(undefined, dir).equals(k1)).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe(k1.toString('hex'));
    const hex = 'ab'.repeat(32);
    expect(loadSecretKey(hex, dir).toString('hex')).toBe(hex);
    expect(() => loadSecretKey('short', dir)).toThrow(/32 bytes/);
  });
});
