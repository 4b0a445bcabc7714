import { existsSync } from 'node:fs';
import os from 'node:os';
import { ConfigError, parsePortValue, readOpenClawConfig } from '../config/gateway-config';
import { resolveConfigPath, resolveStateDir, type PathEnvironment } from '../state/state-paths';

/** OpenClaw's default gateway port. */
export const OPENCLAW_DEFAULT_PORT = 18789;

/**
 * What the OpenClaw gateway started with a given environment will use, read the way OpenClaw resolves it (state
 * dir, config path, port, shared secret), so the supervisor knows where to connect before the child exists.
 */
export interface OpenclawTarget {
  stateDir: string;
  configPath: string;
  /** A config file exists (even one OpenClaw may refuse): then `--allow-unconfigured` is not passed. */
  configExists: boolean;
  /** Set when the config exists but Clawdesk cannot read it (OpenClaw will say why; doctor may repair it). */
  configProblem?: string;
  port: number;
  token?: string;
  password?: string;
  /**
   * `gateway.tls.enabled` is true: OpenClaw serves wss:// with this certificate (the configured one, else the one it
   * generates in the state dir on first start), and Clawdesk connects pinned to it.
   */
  tls?: { certPath?: string };
}

export async function resolveOpenclawTarget(
  env: NodeJS.ProcessEnv,
  options: { port?: number; profile?: string } = {},
): Promise<OpenclawTarget> {
  const pe: PathEnvironment = {
    env,
    platform: process.platform,
    osHomedir: os.homedir(),
    cwd: process.cwd(),
    exists: (p) => existsSync(p),
  };
  const { stateDir } = resolveStateDir(pe, { profile: options.profile });
  const configPath = resolveConfigPath(pe, stateDir);
  let gateway: {
    port?: unknown;
    auth?: { token?: unknown; password?: unknown };
    tls?: { enabled?: unknown; certPath?: unknown };
  } = {};
  let configExists: boolean;
  let configProblem: string | undefined;
  try {
    const read = await readOpenClawConfig(configPath);
    configExists = read.exists;
    if (read.exists) gateway = read.gateway;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    configExists = true;
    configProblem = error.message;
  }
  const configPort =
    typeof gateway.port === 'number' && Number.isInteger(gateway.port) && gateway.port > 0 && gateway.port < 65536
      ? gateway.port
      : undefined;
  const port = options.port ?? parsePortValue(env.OPENCLAW_GATEWAY_PORT) ?? configPort ?? OPENCLAW_DEFAULT_PORT;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
  const tlsConfig = gateway.tls && typeof gateway.tls === 'object' ? gateway.tls : undefined;
  const certPath = str(tlsConfig?.certPath)?.trim();
  return {
    stateDir,
    configPath,
    configExists,
    configProblem,
    port,
    token: str(env.OPENCLAW_GATEWAY_TOKEN) ?? str(gateway.auth?.token),
    password: str(env.OPENCLAW_GATEWAY_PASSWORD) ?? str(gateway.auth?.password),
    ...(tlsConfig?.enabled === true ? { tls: certPath ? { certPath } : {} } : {}),
  };
}
