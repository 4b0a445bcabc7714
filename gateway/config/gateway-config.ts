import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import JSON5 from 'json5';
import { writeJsonAtomic } from '../fs/atomic-file';
import type { AuthMode, GatewayAuthConfig } from '../server/shared-auth';
import type { GatewayTlsRequest } from '../server/gateway-tls';
import { DEFAULT_GATEWAY_PORT } from '../protocol/frames';

/** The parts of OpenClaw's `openclaw.json` the gateway reads. */
export interface OpenClawGatewayConfig {
  port?: number;
  bind?: string;
  auth?: { mode?: string; token?: string; password?: string };
  controlUi?: { allowedOrigins?: string[] };
  /** OpenClaw's keys (its docs/gateway/config-gateway.md § gateway.tls). */
  tls?: { enabled?: unknown; autoGenerate?: unknown; certPath?: unknown; keyPath?: unknown; caPath?: unknown };
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
  /** Serve wss:// (the state dir's certificate, generated on first use, unless gateway.tls names other files). */
  tls?: boolean;
  'tls-cert'?: string;
  'tls-key'?: string;
}

export interface ResolvedGatewaySettings {
  port: number;
  host: string;
  auth: GatewayAuthConfig;
  /** Where each setting came from, for the start-up banner. */
  sources: { port: string; auth: string; secret?: string };
  allowedOrigins: string[];
  /** Absent: plain ws://. */
  tls?: GatewayTlsRequest;
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
  const tls = resolveTlsRequest(flags, gw.tls);
  return {
    port,
    host,
    auth,
    ...(tls ? { tls } : {}),
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

/** openclaw.json's `gateway.tls` alone (the desktop app has no flags): undefined when TLS is off; ConfigError when bad. */
export function configuredTlsRequest(configured: unknown): GatewayTlsRequest | undefined {
  return resolveTlsRequest({}, configured);
}

/**
 * TLS from the flags, else from `gateway.tls` as OpenClaw reads it: on only when `enabled` is true, generating a
 * missing pair unless `autoGenerate` is false. `--tls-cert`/`--tls-key` name files that must exist (never generated).
 */

function resolveTlsRequest(flags: GatewayRunFlags, configured: unknown): GatewayTlsRequest | undefined {
  if (configured !== undefined && (configured === null || typeof configured !== 'object' || Array.isArray(configured)))
    throw new ConfigError('gateway.tls must be an object ({ enabled, autoGenerate, certPath, keyPath, caPath })');
  const cfg = (configured ?? {}) as NonNullable<OpenClawGatewayConfig['tls']>;
  for (const key of ['enabled', 'autoGenerate'] as const)
    if (cfg[key] !== undefined && typeof cfg[key] !== 'boolean')
      throw new ConfigError(`gateway.tls.${key} must be true or false, got ${JSON.stringify(cfg[key])}`);
  for (const key of ['certPath', 'keyPath', 'caPath'] as const)
    if (cfg[key] !== undefined && (typeof cfg[key] !== 'string' || !cfg[key].trim()))
      throw new ConfigError(`gateway.tls.${key} must be a file path, got ${JSON.stringify(cfg[key])}`);
  const configText = (value: unknown) => (typeof value === 'string' ? value.trim() : undefined);
  const caPath = configText(cfg.caPath);
  const certFlag = flags['tls-cert'];
  const keyFlag = flags['tls-key'];
  if (certFlag !== undefined || keyFlag !== undefined) {
    if (!certFlag || !keyFlag) throw new ConfigError('--tls-cert and --tls-key go together: pass both files');
    return {
      certPath: certFlag,
      keyPath: keyFlag,
      ...(caPath ? { caPath } : {}),
      autoGenerate: false,
      source: '--tls-cert',
    };
  }
  if (!flags.tls && cfg.enabled !== true) return undefined;
  const certPath = configText(cfg.certPath);
  const keyPath = configText(cfg.keyPath);
  return {
    ...(certPath ? { certPath } : {}),
    ...(keyPath ? { keyPath } : {}),
    ...(caPath ? { caPath } : {}),
    autoGenerate: cfg.autoGenerate !== false,
    source: flags.tls ? '--tls' : 'config gateway.tls',
  };
}

/**
 * A gateway reachable from the network serves TLS: otherwise the shared secret, device tokens and every command
 * and its output cross the network readable and forgeable by anyone on it.
 */
export function requireTlsBeyondLoopback(settings: Pick<ResolvedGatewaySettings, 'host' | 'tls'>): void {
  if (settings.host === '127.0.0.1' || settings.tls) return;
  throw new ConfigError(
    '--bind lan requires TLS: add --tls (a self-signed certificate generated once and kept in the state dir; its fingerprint is printed to pin), or --tls-cert FILE --tls-key FILE, or set gateway.tls.enabled: true in openclaw.json',
  );
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
