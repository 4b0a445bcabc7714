import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import JSON5 from 'json5';
import { writeJsonAtomic } from '../fs/atomic-file';
import type { AuthMode, GatewayAuthConfig } from '../server/shared-auth';
import { DEFAULT_GATEWAY_PORT } from '../protocol/frames';

/** The parts of OpenClaw's `openclaw.json` the gateway reads. */
export interface OpenClawGatewayConfig {
  port?: number;
  bind?: string;
  auth?: { mode?: string; token?: string; password?: string };
  controlUi?: { allowedOrigins?: string[] };
}

export type ConfigReadResult =
  { exists: false } | { exists: true; config: Record<string, unknown>; gateway: OpenClawGatewayConfig };

export class ConfigError extends Error {}

/** Reads the JSON5 config. A config that does not parse is an error the user must fix: it is never rewritten. */
export async function readOpenClawConfig(configPath: string): Promise<ConfigReadResult> {
  let raw: string;
  try {
    raw = await fs.readFile(configPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false };
    throw new ConfigError(`cannot read ${configPath}: ${(error as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON5.parse(raw);
  } catch (error) {
    throw new ConfigError(`${configPath} is not valid JSON5: ${(error as Error).message}`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new ConfigError(`${configPath} must hold an object`);
  const gateway = (config as { gateway?: unknown }).gateway;
  return {
    exists: true,
    config: config as Record<string, unknown>,
    gateway: gateway && typeof gateway === 'object' ? gateway : {},
  };
}

/** `OPENCLAW_GATEWAY_PORT` may be `18789`, `host:18789` or `[v6]:18789` (docs/protocol.md § Transport). */
export function parsePortValue(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const match = /^(?:\[[^\]]+\]:|[^:]+:)?(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[1]) : NaN;
  return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
}

export interface GatewayRunFlags {
  port?: string;
  bind?: string;
  auth?: string;
  token?: string;
  password?: string;
}

export interface ResolvedGatewaySettings {
  port: number;
  host: string;
  auth: GatewayAuthConfig;
  /** Where each setting came from, for the start-up banner. */
  sources: { port: string; auth: string; secret?: string };
  allowedOrigins: string[];
}

const AUTH_MODES: readonly AuthMode[] = ['none', 'token', 'password'];

/** Flag, then config, then environment (the reference resolves secrets config-first with env fallback). */
export function resolveGatewaySettings(
  flags: GatewayRunFlags,
  env: NodeJS.ProcessEnv,
  config: ConfigReadResult,
): ResolvedGatewaySettings {
  const gw = config.exists ? config.gateway : {};
  let port: number;
  let portSource: string;
  if (flags.port !== undefined) {
    const parsed = parsePortValue(flags.port);
    if (parsed === undefined) throw new ConfigError(`--port must be a number from 1 to 65535, got "${flags.port}"`);
    port = parsed;
    portSource = '--port';
  } else if (parsePortValue(env.OPENCLAW_GATEWAY_PORT) !== undefined) {
    port = parsePortValue(env.OPENCLAW_GATEWAY_PORT)!;
    portSource = 'OPENCLAW_GATEWAY_PORT';
  } else if (typeof gw.port === 'number') {
    port = gw.port;
    portSource = 'config gateway.port';
  } else {
    port = DEFAULT_GATEWAY_PORT;
    portSource = 'default';
  }

  const bind = flags.bind ?? gw.bind ?? 'loopback';
  let host: string;
  if (bind === 'loopback') host = '127.0.0.1';
  else if (bind === 'lan') host = '0.0.0.0';
  else throw new ConfigError(`--bind must be "loopback" or "lan", got "${bind}"`);

  const token = flags.token ?? gw.auth?.token ?? env.OPENCLAW_GATEWAY_TOKEN;
  const password = flags.password ?? gw.auth?.password ?? env.OPENCLAW_GATEWAY_PASSWORD;
  const secretSource = (flag: string | undefined, fromConfig: string | undefined, envName: string) =>
    flag !== undefined
      ? `--${envName.includes('TOKEN') ? 'token' : 'password'}`
      : fromConfig !== undefined
        ? 'config gateway.auth'
        : envName;
  let mode: AuthMode;
  let authSource: string;
  const requested = flags.auth ?? gw.auth?.mode;
  if (requested !== undefined) {
    if (!AUTH_MODES.includes(requested as AuthMode))
      throw new ConfigError(`auth mode must be none, token or password, got "${requested}"`);
    mode = requested as AuthMode;
    authSource = flags.auth !== undefined ? '--auth' : 'config gateway.auth.mode';
  } else if (password) {
    mode = 'password';
    authSource = 'a password is set';
  } else {
    mode = 'token';
    authSource = 'default';
  }
  if (host !== '127.0.0.1' && mode === 'none') {
    throw new ConfigError(
      '--bind lan requires --auth token or --auth password: a gateway reachable from the network must authenticate its clients',
    );
  }
  const auth: GatewayAuthConfig = {
    mode,
    ...(mode === 'token' && token ? { token } : {}),
    ...(mode === 'password' && password ? { password } : {}),
  };
  const origins = gw.controlUi?.allowedOrigins;
  return {
    port,
    host,
    auth,
    sources: {
      port: portSource,
      auth: authSource,
      ...(mode === 'token' && token
        ? { secret: secretSource(flags.token, gw.auth?.token, 'OPENCLAW_GATEWAY_TOKEN') }
        : {}),
      ...(mode === 'password' && password
        ? { secret: secretSource(flags.password, gw.auth?.password, 'OPENCLAW_GATEWAY_PASSWORD') }
        : {}),
    },
    allowedOrigins: Array.isArray(origins) ? origins.filter((o): o is string => typeof o === 'string') : [],
  };
}

/** 24 random bytes as hex: safe in a shell, a URL and after a flag (base64url may start with "-", read as an option). */
export function generateGatewayToken(): string {
  return randomBytes(24).toString('hex');
}

/**
 * First run with token auth and no token anywhere: create a minimal openclaw.json holding a fresh token, so
 * the real openclaw CLI on this machine finds it. An existing config is never rewritten.
 */
export async function createConfigWithToken(configPath: string, port: number, token: string): Promise<void> {
  await writeJsonAtomic(configPath, {
    gateway: { mode: 'local', port, bind: 'loopback', auth: { mode: 'token', token } },
  });
}
