import { PassThrough, type Readable } from 'node:stream';

/**
 * Splits Docker's multiplexed attach stream (8-byte frame headers: stream type, 3 zero bytes, a
 * big-endian length) into stdout and stderr. Unlike docker-modem's demuxStream it honours
 * backpressure: when a consumer pauses stdout or stderr (ShellChannel does, for a slow onOutput), the
 * source stops being read, so the command in the container blocks on its full pipe instead of this
 * process buffering without bound.
 */
export function demux(source: Readable): { stdout: PassThrough; stderr: PassThrough } {
  const stdout = new PassThrough({ highWaterMark: 256 * 1024 });
  const stderr = new PassThrough({ highWaterMark: 256 * 1024 });
  let pending: Buffer = Buffer.alloc(0);
  let waiting = 0;
  const resume = () => {
    waiting -= 1;
    if (waiting === 0) source.resume();
  };
  source.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const type = pending[0];
      const payload = pending.subarray(8, 8 + size);
      pending = pending.subarray(8 + size);
      // Type 0 (stdin) never comes back; 1 is stdout, 2 stderr.
      const target = type === 2 ? stderr : stdout;
      if (payload.length > 0 && !target.write(payload)) {
        waiting += 1;
        target.once('drain', resume);
      }
    }
    if (waiting > 0) source.pause();
  });
  const end = () => {
    stdout.end();
    stderr.end();
  };
  source.once('end', end);
  source.once('close', end);
  source.on('error', end);
  return { stdout, stderr };
}
