import { Box, useComputedColorScheme } from '@mantine/core';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal as XTerm, type ITheme } from '@xterm/xterm';
import { useEffect, useRef } from 'react';
import { live } from '../api/live';
import type { SessionModel } from './model';

const DARK: ITheme = { background: '#1a1b1e', foreground: '#e9ecef', cursor: '#63e6be', selectionBackground: '#495057' };
const LIGHT: ITheme = { background: '#ffffff', foreground: '#212529', cursor: '#0ca678', selectionBackground: '#ced4da', black: '#212529', brightBlack: '#495057' };

/**
 * The session's interactive terminal: xterm.js over the Socket.IO PTY (/input, /resize). Keystrokes
 * are sent one batch at a time, in order (the gateway runs commands concurrently, so two /input in
 * flight could swap); what is typed meanwhile is batched into the next one.
 */
export function Terminal({ sessionId, model, enabled }: { sessionId: string; model: SessionModel; enabled: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const termRef = useRef<XTerm>(undefined);
  const sizeRef = useRef<() => void>(undefined);
  const scheme = useComputedColorScheme('dark');
  // Read when keys are typed, so the terminal is not rebuilt (losing what it shows) when it changes.
  const enabledRef = useRef(enabled);
  enabledRef.current = enabled;

  useEffect(() => {
    const term = new XTerm({ convertEol: false, cursorBlink: true, scrollback: 5_000, fontSize: 13, theme: scheme === 'dark' ? DARK : LIGHT, fontFamily: 'ui-monospace, Menlo, Consolas, monospace' });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host.current!);
    termRef.current = term;
    const detach = model.attachTerminal((s) => term.write(s));
    const conn = live();
    let pending = '';
    let inFlight = false;
    const flush = () => {
      if (inFlight || !pending) return;
      const data = pending;
      pending = '';
      inFlight = true;
      conn
        .request('/input', [data], { sessionId })
        .done.catch((err: Error) => term.write(`\r\n\x1b[31m[not sent: ${err.message}]\x1b[0m\r\n`))
        .finally(() => {
          inFlight = false;
          flush();
        });
    };
    const onData = term.onData((d) => {
      if (!enabledRef.current) return;
      pending += d;
      flush();
    });
    let lastSize = '';
    const resize = () => {
      if (!host.current?.offsetWidth) return; // hidden: nothing to measure
      fit.fit();
      const size = `${term.cols}x${term.rows}`;
      if (size === lastSize || !enabledRef.current) return;
      lastSize = size;
      conn.request('/resize', [term.cols, term.rows], { sessionId }).done.catch(() => (lastSize = ''));
    };
    sizeRef.current = () => {
      lastSize = '';
      resize();
    };
    const observer = new ResizeObserver(resize);
    observer.observe(host.current!);
    // A new link means the PTY may have been sized by someone else meanwhile: size it again.
    const offState = conn.onState((s) => {
      if (s === 'connected') {
        lastSize = '';
        resize();
      }
    });
    return () => {
      offState();
      observer.disconnect();
      onData.dispose();
      detach();
      term.dispose();
      termRef.current = undefined;
    };
    // The theme changes below without recreating the terminal.
  }, [sessionId, model]);

  // Sized as soon as the session can take it (the PTY opens at its first size).
  useEffect(() => {
    if (enabled) sizeRef.current?.();
  }, [enabled]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.theme = scheme === 'dark' ? DARK : LIGHT;
  }, [scheme]);

  return <Box ref={host} data-testid="terminal" h={360} p={4} bg={scheme === 'dark' ? '#1a1b1e' : '#fff'} style={{ border: '1px solid var(--mantine-color-default-border)', borderRadius: 4 }} aria-label="terminal" />;
}
