import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { REPO_ROOT } from '@codeagent/testing';
import { percentile, msSince, report, type Figure } from '../../bench/lib';
import { closeSession, ok, openSession } from './client';
import { startBenchStack } from './measure';

// MCP (issue 20) measured from outside, with the SDK's own client: `run_command` of `true` over
// Streamable HTTP (/mcp on the gateway) and over stdio (`codeagent mcp`, the CLI talking to the
// gateway), beside REST exec of `true`, all against one session in one run. The three are taken in
// turn (REST, HTTP, stdio, REST, ...) so that the noise of a shared machine falls on each alike.
// Floors from the same run: a bare loopback HTTP round trip, and an MCP `ping` over each transport
// (the transport and the SDK alone, no command).

const N = Number(process.env.BENCH_MCP_N ?? 200);
const WARM = 20;
const CLI = path.join(REPO_ROOT, 'clients/cli/bin/codeagent.js');

type Timed = () => Promise<void>;

async function time(fn: Timed, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(msSince(t));
  }
  return out;
}

/** Runs the callers in turn, n rounds; one list of round trips per caller. */
async function interleaved(fns: Timed[], n: number): Promise<number[][]> {
  const out = fns.map(() => [] as number[]);
  for (let i = 0; i < n; i++) {
    for (const [k, fn] of fns.entries()) {
      const t = process.hrtime.bigint();
      await fn();
      out[k]!.push(msSince(t));
    }
  }
  return out;
}

function runTrue(c: Client, sessionId: string): Timed {
  return async () => {
    const r = (await c.callTool({ name: 'run_command', arguments: { sessionId, command: 'true' } })) as CallToolResult & { structuredContent?: { exitCode?: number } };
    if (r.isError || r.structuredContent?.exitCode !== 0) throw new Error(`run_command answered ${JSON.stringify(r).slice(0, 500)}`);
  };
}

async function main() {
  // The floor: a bare HTTP server on loopback, fetch from this process (same client stack as REST).
  const bare = createServer((_req, res) => res.end('{}'));
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;

  const stack = await startBenchStack('bench-mcp');
  const home = mkdtempSync(path.join(tmpdir(), 'bench-mcp-home-'));
  const figures: Figure[] = [];
  const clients: Client[] = [];
  try {
    const base = stack.url;
    const s = await openSession(base);
    const sessionId = String(s.id);

    const http = new Client({ name: 'bench-http', version: '1' });
    await http.connect(new StreamableHTTPClientTransport(new URL('/mcp', base)));
    clients.push(http);
    const stdio = new Client({ name: 'bench-stdio', version: '1' });
    await stdio.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', CODEAGENT_HOME: home, CODEAGENT_URL: base }, stderr: 'pipe' }));
    clients.push(stdio);

    const rest: Timed = async () => {
      const r = await ok(base, 'POST', `/api/v1/sessions/${sessionId}/exec`, { command: 'true' });
      if (r.exitCode !== 0) throw new Error(`exec answered ${JSON.stringify(r)}`);
    };
    const viaHttp = runTrue(http, sessionId);
    const viaStdio = runTrue(stdio, sessionId);
    const loop: Timed = async () => {
      await (await fetch(bareUrl)).text();
    };

    // Warm-up: module loading, connections, JIT, the CLI's first calls to the gateway.
    await interleaved([rest, viaHttp, viaStdio, loop], WARM);
    for (const c of [http, stdio]) await time(() => c.ping().then(() => undefined), WARM);

    const [restMs, httpMs, stdioMs, loopMs] = await interleaved([rest, viaHttp, viaStdio, loop], N);
    const httpPing = await time(() => http.ping().then(() => undefined), N);
    const stdioPing = await time(() => stdio.ping().then(() => undefined), N);

    const pair = (label: string, xs: number[], goals: [string?, string?] = []) => {
      figures.push({ name: `${label} p50`, value: percentile(xs, 50), unit: 'ms', goal: goals[0] });
      figures.push({ name: `${label} p99`, value: percentile(xs, 99), unit: 'ms', goal: goals[1] });
    };
    // Same goals as the REST exec of the stack benchmark: MCP should cost no more than REST does.
    pair('run_command `true` over Streamable HTTP', httpMs!, ['<= 2', '<= 10']);
    pair('run_command `true` over stdio (`codeagent mcp`)', stdioMs!, ['<= 2', '<= 10']);
    pair('REST exec `true`, same session, same run', restMs!);
    figures.push({ name: 'MCP over HTTP / REST, p50', value: percentile(httpMs!, 50) / percentile(restMs!, 50), unit: 'x' });
    figures.push({ name: 'MCP over stdio / REST, p50', value: percentile(stdioMs!, 50) / percentile(restMs!, 50), unit: 'x' });
    figures.push({ name: 'floor: MCP ping over Streamable HTTP, p50', value: percentile(httpPing, 50), unit: 'ms' });
    figures.push({ name: 'floor: MCP ping over stdio (answered by the CLI), p50', value: percentile(stdioPing, 50), unit: 'ms' });
    figures.push({ name: 'floor: bare loopback HTTP round trip, p50', value: percentile(loopMs!, 50), unit: 'ms' });

    await closeSession(base, sessionId);
  } catch (err) {
    for (const [n, p] of stack.procs) console.error(`--- ${n}\n${p.output().slice(-2000)}`);
    throw err;
  } finally {
    for (const c of clients) await c.close().catch(() => undefined);
    await stack.stop();
    bare.close();
    rmSync(home, { recursive: true, force: true });
  }
  report('mcp', figures, `${N} calls each, REST / MCP HTTP / MCP stdio / bare loopback taken in turn on one session; pings afterwards. 2 shared cores: compare within one run.`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
