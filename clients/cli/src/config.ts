import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where the CLI keeps its files: ~/.codeagent, or CODEAGENT_HOME. */
export function home(): string {
  return process.env.CODEAGENT_HOME ?? path.join(os.homedir(), '.codeagent');
}

export interface Config {
  /** The gateway, e.g. http://127.0.0.1:8080. */
  gatewayUrl: string;
  /** Defaults for `sessions new`. */
  defaults: { project?: string; network?: 'none' | 'open'; memoryMb?: number };
}

export interface Credentials {
  token?: string;
  refreshToken?: string;
  user?: string;
}

const DEFAULT_CONFIG: Config = { gatewayUrl: 'http://127.0.0.1:8080', defaults: {} };

function readJson<T>(file: string, fallback: T): T {
  if (!existsSync(file)) return fallback;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return fallback;
  }
}

function writeJson(file: string, value: unknown, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n', { mode });
  chmodSync(file, mode);
}

export function loadConfig(): Config {
  const c = readJson<Partial<Config>>(path.join(home(), 'config.json'), {});
  return { ...DEFAULT_CONFIG, ...c, defaults: { ...DEFAULT_CONFIG.defaults, ...c.defaults } };
}

export function saveConfig(c: Config): void {
  writeJson(path.join(home(), 'config.json'), c);
}

export function loadCredentials(): Credentials {
  return readJson<Credentials>(path.join(home(), 'credentials.json'), {});
}

/** Tokens are secrets: the file is readable by its owner only. */
export function saveCredentials(c: Credentials): void {
  writeJson(path.join(home(), 'credentials.json'), c, 0o600);
}

/** A cache of data for offline use (seed 002: task metadata listable offline). */
export function readCache<T>(name: string): { savedAt: string; data: T } | undefined {
  return readJson<{ savedAt: string; data: T } | undefined>(path.join(home(), 'cache', `${name}.json`), undefined);
}

export function writeCache(name: string, data: unknown): void {
  writeJson(path.join(home(), 'cache', `${name}.json`), { savedAt: new Date().toISOString(), data });
}
