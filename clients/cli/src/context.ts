import { loadConfig, loadCredentials, type Config, type Credentials } from './config';
import { Api } from './http';
import { Output } from './output';

/** What every command gets: the gateway's API, how to print, the configuration and the token. */
export interface Ctx {
  api: Api;
  out: Output;
  config: Config;
  creds: Credentials;
  baseUrl: string;
  token?: string;
}

export interface GlobalOptions {
  url?: string;
  json?: boolean;
  token?: string;
}

export function makeCtx(g: GlobalOptions): Ctx {
  const config = loadConfig();
  const creds = loadCredentials();
  const baseUrl = g.url ?? process.env.CODEAGENT_URL ?? config.gatewayUrl;
  const token = g.token ?? process.env.CODEAGENT_TOKEN ?? creds.token;
  return { api: new Api({ baseUrl, token }), out: new Output(Boolean(g.json)), config, creds, baseUrl, token };
}
