// What the dashboard benchmark measures inside the page, injected before the page's own scripts
// (Playwright's addInitScript). Plain JavaScript in a string: a serialized TypeScript function would
// carry the transpiler's helpers, which do not exist in the page. Everything lands on window.__bench.
//
// - ready: performance.now() (ms from navigation start) when the sessions table shows `readySelector`,
//   the "New session" button is enabled and the live link says connected: the page is usable.
// - longTasks / events: the Long Tasks and Event Timing APIs (input delay and time to next paint).
// - ws: every Socket.IO frame the page receives, read beside the page's own listener: per session the
//   event sequence numbers (gapless by contract, so a gap or repeat is something dropped or doubled),
//   bytes of output per stream, and when a typed letter (keys) first comes back in the PTY's output.
// - lag: how late a 50 ms timer fires while `track` is on (the main thread's responsiveness).

export function pageProbe(readySelector: string): string {
  return `(() => {
  const B = (window.__bench = {
    ready: undefined, longTasks: [], events: [], track: false,
    ws: { frames: 0, frameChars: 0, lastSeq: {}, gaps: 0, repeats: 0, bytes: {}, ptyEvents: 0, firstPtyAt: undefined, lastPtyAt: undefined },
    keys: [], echoes: [], lag: [],
  });
  const want = ${JSON.stringify(readySelector)};
  const usable = () => {
    if (!document.querySelector(want)) return false;
    if (!document.querySelector('[data-testid=link-state][data-state=connected]')) return false;
    return [...document.querySelectorAll('button')].some((b) => b.textContent.trim() === 'New session' && !b.disabled);
  };
  const mo = new MutationObserver(() => {
    if (B.ready === undefined && usable()) { B.ready = performance.now(); mo.disconnect(); }
  });
  mo.observe(document, { childList: true, subtree: true, attributes: true });
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) B.longTasks.push([e.startTime, e.duration]); }).observe({ type: 'longtask', buffered: true }); } catch {}
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) B.events.push([e.name, e.startTime, e.processingStart - e.startTime, e.duration]); }).observe({ type: 'event', buffered: true, durationThreshold: 16 }); } catch {}

  document.addEventListener('keydown', (e) => {
    if (B.track && /^[a-z]$/.test(e.key)) B.keys.push([e.key, performance.now()]);
  }, true);
  let due = 0;
  setInterval(() => {
    const now = performance.now();
    if (B.track && due) B.lag.push(Math.max(0, now - due));
    due = now + 50;
  }, 50);

  const text = (p) => (p.encoding === 'base64' ? atob(p.data) : p.data);
  const onFrame = (data) => {
    if (typeof data !== 'string' || !data.startsWith('42')) return;
    B.ws.frames++;
    B.ws.frameChars += data.length;
    let msg;
    try { msg = JSON.parse(data.slice(data.indexOf('['))); } catch { return; }
    const m = msg[1];
    const p = m && m.payload;
    if (!p || typeof p.seq !== 'number' || typeof p.sessionId !== 'string') return;
    const last = B.ws.lastSeq[p.sessionId];
    if (last !== undefined && p.seq <= last) { B.ws.repeats++; return; }
    if (last !== undefined && p.seq !== last + 1) B.ws.gaps += p.seq - last - 1;
    B.ws.lastSeq[p.sessionId] = p.seq;
    if (m.type !== 'stream' || typeof p.data !== 'string') return;
    const n = p.encoding === 'base64' ? (p.data.length * 3) / 4 - (p.data.endsWith('==') ? 2 : p.data.endsWith('=') ? 1 : 0) : p.data.length;
    B.ws.bytes[p.stream] = (B.ws.bytes[p.stream] || 0) + n;
    if (p.stream !== 'pty') return;
    B.ws.ptyEvents++;
    const now = performance.now();
    B.ws.firstPtyAt ??= now;
    B.ws.lastPtyAt = now;
    if (B.keys.length) {
      const t = text(p);
      B.keys = B.keys.filter(([k, at]) => (t.includes(k) ? (B.echoes.push(now - at), false) : true));
    }
  };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (ev) => onFrame(ev.data));
    }
  };
})();`;
}
