import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { waitFor } from '@codeagent/testing';
import { percentile, msSince, report, type Figure } from '../../bench/lib';
import { ok, openSession, type Rec } from './client';
import { startBenchStack } from './measure';
import { pageProbe } from './page-probe';

// The web dashboard (issue 19) in Debian's Chromium driven by playwright-core, against the whole
// platform as processes: first load of /dashboard cold (a fresh profile each time) and warm (the same
// profile again), with time to interactive (navigation start → the sessions table shows a session, the
// "New session" button is enabled and the live link is up); then 50 MB printed in a session's terminal
// (the PTY, xterm.js) and in its command log (/exec), measuring that the page receives every event, how
// fast a typed key's echo comes back while it streams, how late the main thread runs, and the JS heap.
// In-page measurements: page-probe.ts. Floors from the same run: a bare loopback HTTP round trip and a
// navigation to a one-line page on a bare HTTP server.

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const COLD_N = Number(process.env.BENCH_DASHBOARD_COLD_N ?? 5);
const WARM_N = Number(process.env.BENCH_DASHBOARD_WARM_N ?? 5);
/** `seq -w 1 N` prints N lines of 7 digits: 8 bytes each, 50,000,000 bytes; the PTY adds a \r per line. */
const SEQ_LINES = 6_250_000;
const OUTPUT_BYTES = 50_000_000;
const MiB = 2 ** 20;

interface Load {
  tti: number;
  dcl: number;
  load: number;
  fcp: number;
  transferKiB: number;
  longTaskMs: number;
}

async function launch(): Promise<{ context: BrowserContext; page: Page; dispose: () => Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'bench-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(60_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page, dispose: () => context.close().finally(() => rmSync(profile, { recursive: true, force: true })) };
}

/** One navigation to the dashboard, measured from the page's own navigation start. */
async function load(page: Page, url: string): Promise<Load> {
  await page.goto(url, { waitUntil: 'load' });
  // A function, not a string: the page's CSP forbids eval, which a string predicate needs.
  await page.waitForFunction(() => (globalThis as unknown as { __bench?: { ready?: number } }).__bench?.ready !== undefined, undefined, { timeout: 60_000 });
  return page.evaluate(`(() => {
    const B = window.__bench;
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource');
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return {
      tti: B.ready, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, fcp: fcp ? fcp.startTime : NaN,
      transferKiB: (nav.transferSize + res.reduce((n, r) => n + r.transferSize, 0)) / 1024,
      longTaskMs: B.longTasks.filter(([s]) => s <= B.ready).reduce((n, [, d]) => n + d, 0),
    };
  })()`);
}

async function heapMiB(cdp: CDPSession, gc = false): Promise<number> {
  if (gc) await cdp.send('HeapProfiler.collectGarbage');
  return (await cdp.send('Runtime.getHeapUsage')).usedSize / MiB;
}

async function main() {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install chromium\` (scripts/host-deps.sh does it)`);
  const bare = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>floor</title><p>floor</p>'));
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
  const stack = await startBenchStack('bench-dashboard');
  const figures: Figure[] = [];
  const notes: string[] = [];
  let browser: Awaited<ReturnType<typeof launch>> | undefined;
  try {
    const base = stack.url;
    const listed = await openSession(base);
    const probe = pageProbe(`[data-session-id="${String(listed.id)}"] a`);
    const url = `${base}/dashboard/`;

    // 1. Cold: a fresh profile (empty HTTP and code caches) for each load; the floor in the same browser.
    const cold: Load[] = [];
    const floorNav: number[] = [];
    const loop: number[] = [];
    for (let i = 0; i < COLD_N; i++) {
      const b = await launch();
      await b.context.addInitScript(probe);
      cold.push(await load(b.page, url));
      await b.page.goto(bareUrl, { waitUntil: 'load' });
      floorNav.push(await b.page.evaluate(`performance.getEntriesByType('navigation')[0].loadEventEnd`));
      if (i < COLD_N - 1) await b.dispose();
      else browser = b;
    }
    for (let i = 0; i < 50; i++) {
      const t = process.hrtime.bigint();
      await (await fetch(bareUrl)).text();
      loop.push(msSince(t));
    }
    // 2. Warm: the last cold profile again (hashed assets cached for good, index.html revalidated).
    const warm: Load[] = [];
    for (let i = 0; i < WARM_N; i++) warm.push(await load(browser!.page, url));
    const p50 = (xs: Load[], k: keyof Load) => percentile(xs.map((x) => x[k]), 50);
    figures.push({ name: 'first load, cold (fresh profile): time to interactive p50', value: p50(cold, 'tti'), unit: 'ms', goal: '<= 1000' });
    figures.push({ name: 'first load, cold: DOMContentLoaded p50', value: p50(cold, 'dcl'), unit: 'ms' });
    figures.push({ name: 'first load, cold: first contentful paint p50', value: p50(cold, 'fcp'), unit: 'ms' });
    figures.push({ name: 'first load, cold: bytes transferred', value: p50(cold, 'transferKiB'), unit: 'KiB' });
    figures.push({ name: 'first load, cold: long tasks before interactive p50', value: p50(cold, 'longTaskMs'), unit: 'ms' });
    figures.push({ name: 'load, warm (same profile): time to interactive p50', value: p50(warm, 'tti'), unit: 'ms', goal: '<= 500' });
    figures.push({ name: 'load, warm: bytes transferred', value: p50(warm, 'transferKiB'), unit: 'KiB' });
    figures.push({ name: 'floor: a one-line page on a bare HTTP server, cold, load event p50', value: percentile(floorNav, 50), unit: 'ms' });
    figures.push({ name: 'floor: bare loopback HTTP round trip p50', value: percentile(loop, 50), unit: 'ms' });

    // 3. 50 MB through the session page: the terminal, then the command log.
    const page = browser!.page;
    const cdp = await browser!.context.newCDPSession(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    const s = await openSession(base);
    const sessionId = String(s.id);
    await page.goto(`${url}#/sessions/${sessionId}`);
    const rows = page.locator('[data-testid=terminal] .xterm-rows');
    await waitFor('the shell prompt in the terminal', async () => (await rows.innerText()).includes('$'), { timeoutMs: 30_000, intervalMs: 100 });
    const heapBefore = await heapMiB(cdp, true);

    let heapPeak = heapBefore;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        heapPeak = Math.max(heapPeak, await heapMiB(cdp).catch(() => 0));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await page.locator('[data-testid=terminal]').click();
    await page.evaluate('window.__bench.lag = []; window.__bench.events = []; window.__bench.echoes = []; window.__bench.keys = []');
    const t3 = process.hrtime.bigint();
    // "END-$((6*7))" as typed; END-42 only once the shell has run it, after the last line of seq.
    await page.keyboard.type(`seq -w 1 ${SEQ_LINES}; echo END-$((6*7))\n`);
    await page.evaluate('window.__bench.track = true; window.__bench.trackStart = performance.now()');
    // While it streams, a letter every 300 ms: the kernel's tty echoes it into the same output.
    let typed = 0;
    const done = waitFor('END-42 in the terminal', async () => /END-42/.test(await rows.innerText()), { timeoutMs: 600_000, intervalMs: 250 });
    let finished = false;
    void done.then(() => (finished = true), () => (finished = true));
    while (!finished) {
      await page.keyboard.press(String.fromCharCode(97 + (typed++ % 26)));
      await new Promise((r) => setTimeout(r, 300));
    }
    await done;
    const ptySecs = msSince(t3) / 1000;
    await page.evaluate('window.__bench.track = false; window.__bench.trackEnd = performance.now()');
    await page.keyboard.press('Control+U');
    sampling = false;
    await sampler;
    const { lastSeq } = await ok(base, 'GET', `/api/v1/sessions/${sessionId}`);
    await waitFor('the page to apply the whole log', async () => Number(await page.locator('[data-last-seq]').getAttribute('data-last-seq')) >= Number(lastSeq), { timeoutMs: 60_000, intervalMs: 100 });
    const screen = await rows.innerText();
    const b = (await page.evaluate('window.__bench')) as Rec;
    const heapAfter = await heapMiB(cdp, true);
    const ptyBytes = Number(b.ws.bytes.pty ?? 0);
    const lag = b.lag as number[];
    const echoes = b.echoes as number[];
    const keyEvents = (b.events as Array<[string, number, number, number]>).filter(([n]) => n.startsWith('key'));
    // Each seq line arrives as 8 bytes + the \r the tty adds: the page must see at least that many.
    figures.push({ name: 'terminal: 50 MB (seq, 56.25 MB with the tty\'s \\r) received by the page / printed', value: ptyBytes / (SEQ_LINES * 9), unit: 'ratio', goal: '>= 1' });
    figures.push({ name: 'terminal: session events missing or repeated in the page', value: Number(b.ws.gaps) + Number(b.ws.repeats), unit: 'events', goal: '<= 0' });
    figures.push({ name: 'terminal: last line then END-42 on the screen', value: /6250000[\s\S]*END-42/.test(screen) ? 1 : 0, unit: 'yes=1', goal: '>= 1' });
    figures.push({ name: 'terminal: output through the page (typed command → END-42 shown)', value: ptyBytes / 1e6 / ptySecs, unit: 'MB/s' });
    // Where the time goes: the page's main thread busy (long tasks) or waiting for output to arrive.
    const busy = (b.longTasks as Array<[number, number]>).filter(([at]) => at >= b.trackStart && at <= b.trackEnd).reduce((n, [, d]) => n + d, 0);
    figures.push({ name: 'terminal: PTY output events received', value: Number(b.ws.ptyEvents), unit: 'events' });
    figures.push({ name: 'terminal: mean bytes per PTY output event', value: ptyBytes / Math.max(1, Number(b.ws.ptyEvents)), unit: 'bytes' });
    figures.push({ name: 'terminal: page main thread in long tasks while streaming', value: (100 * busy) / (b.trackEnd - b.trackStart), unit: '%' });
    figures.push({ name: `terminal: keystroke echo while streaming, p50 (${echoes.length} of ${typed} keys)`, value: percentile(echoes, 50), unit: 'ms', goal: '<= 100' });
    figures.push({ name: 'terminal: keystroke echo while streaming, p99', value: percentile(echoes, 99), unit: 'ms' });
    figures.push({ name: 'terminal: key event input delay while streaming, max (Event Timing, >= 16 ms only)', value: keyEvents.length ? Math.max(...keyEvents.map((e) => e[2])) : 0, unit: 'ms' });
    figures.push({ name: 'terminal: main thread, a 50 ms timer late by, p50', value: percentile(lag, 50), unit: 'ms' });
    figures.push({ name: 'terminal: main thread, a 50 ms timer late by, p99', value: percentile(lag, 99), unit: 'ms', goal: '<= 100' });
    figures.push({ name: 'terminal: main thread, a 50 ms timer late by, max', value: lag.length ? Math.max(...lag) : 0, unit: 'ms' });
    figures.push({ name: 'terminal: JS heap before (after GC)', value: heapBefore, unit: 'MiB' });
    figures.push({ name: 'terminal: JS heap peak while streaming, above before', value: heapPeak - heapBefore, unit: 'MiB', goal: '<= 64' });
    figures.push({ name: 'terminal: JS heap after (GC), above before (kept: 2 MB history + 5,000 lines of scrollback)', value: heapAfter - heapBefore, unit: 'MiB', goal: '<= 32' });
    if (!echoes.length || echoes.length < typed) notes.push(`${typed - echoes.length} typed letters were not seen echoed in the PTY output`);

    // The command log: /exec from the page's command bar; it keeps 256 KiB per command by design and
    // counts the rest ("output cut here (N bytes in all)"), so N must be every byte printed.
    const heapBefore2 = await heapMiB(cdp, true);
    heapPeak = heapBefore2;
    sampling = true;
    const sampler2 = (async () => {
      while (sampling) {
        heapPeak = Math.max(heapPeak, await heapMiB(cdp).catch(() => 0));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const t4 = process.hrtime.bigint();
    await page.getByLabel('command to run').fill(`head -c ${OUTPUT_BYTES} /dev/zero | tr '\\0' a`);
    await page.getByLabel('command to run').press('Enter');
    const entry = page.locator('[data-testid=command-entry]', { hasText: 'head -c' });
    await entry.getByTestId('exit-code').filter({ hasText: 'exit 0' }).waitFor({ timeout: 600_000 });
    const cut = entry.getByText(/output cut here/);
    await cut.waitFor();
    const counted = Number(/\(([\d,]+) bytes in all\)/.exec(await cut.innerText())?.[1]?.replace(/,/g, '') ?? 0);
    const logSecs = msSince(t4) / 1000;
    sampling = false;
    await sampler2;
    const heapAfter2 = await heapMiB(cdp, true);
    figures.push({ name: 'command log: bytes the page counted / 50 MB printed (shows 256 KiB by design)', value: counted / OUTPUT_BYTES, unit: 'ratio', goal: '>= 1' });
    figures.push({ name: 'command log: 50 MB through the page (Enter → exit 0 shown)', value: OUTPUT_BYTES / 1e6 / logSecs, unit: 'MB/s' });
    figures.push({ name: 'command log: JS heap peak while streaming, above before', value: heapPeak - heapBefore2, unit: 'MiB', goal: '<= 64' });
    figures.push({ name: 'command log: JS heap after (GC), above before', value: heapAfter2 - heapBefore2, unit: 'MiB', goal: '<= 32' });
    figures.push({ name: 'page errors (console or uncaught) during the streams', value: errors.length, unit: 'count', goal: '<= 0' });
    if (errors.length) notes.push(`page errors: ${errors.slice(0, 5).join(' | ')}`);
    await ok(base, 'DELETE', `/api/v1/sessions/${sessionId}`);
  } catch (err) {
    for (const [n, p] of stack.procs) console.error(`--- ${n}\n${p.output().slice(-2000)}`);
    throw err;
  } finally {
    await browser?.dispose();
    await stack.stop();
    bare.close();
  }
  notes.push('The page probe (page-probe.ts) parses every Socket.IO frame a second time beside the page; 2 shared cores: compare within one run.');
  report('dashboard', figures, notes.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
