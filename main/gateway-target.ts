// Which gateway the app serves or attaches to, and its secret: the same rules as the openclaw CLI (flags → env →
// openclaw.json). A migration killed halfway is rolled forward or back before anything reads the state dir.
import {
  ConfigError,
  configuredTlsRequest,
  createConfigWithToken,
  generateGatewayToken,
  readOpenClawConfig,
} from '../gateway/config/gateway-config';
import { resolveGatewayTarget, type GatewayTarget } from '../gateway/node-host/gateway-target';
import { recoverInterruptedMigrations } from '../gateway/state/state-migration';
import { currentPathEnvironment, resolveConfigPath } from '../gateway/state/state-paths';
import type { GatewayTlsRequest } from '../gateway/server/gateway-tls';
import type { MainLog } from './main-log';

export interface AppGatewayTarget {
  target: GatewayTarget;
  port: number;
  /** The shared secret: configured, or generated now and saved to openclaw.json when none was. */
  token?: string;
  /** openclaw.json's `gateway.tls.enabled`: the local gateway serves wss:// (docs/remote-gateways.md). */
  tls?: GatewayTlsRequest;
  /** `gateway.tls` is malformed: the app serves nothing rather than plaintext where TLS was asked for. */
  tlsProblem?: string;
}

export async function setupGatewayTarget(deps: { env: NodeJS.ProcessEnv; log: MainLog }): Promise<AppGatewayTarget> {
  const { log } = deps;
  const target = await resolveGatewayTarget({}, deps.env);
  await recoverInterruptedMigrations([target.stateDir]).then(
    (recovered) =>
      recovered.forEach(({ journal }) => log('info', `recovered an interrupted state migration (${journal})`)),
    (error) => log('error', `an interrupted state migration needs attention: ${(error as Error).message}`),
  );
  const port = Number(new URL(target.url).port) || 18789;
  const configPath = resolveConfigPath(currentPathEnvironment(), target.stateDir);
  let tls: GatewayTlsRequest | undefined;
  let tlsProblem: string | undefined;
  // An explicit OPENCLAW_GATEWAY_URL names its own scheme; only the local gateway follows gateway.tls.
  if (target.source === 'local gateway')
    try {
      const read = await readOpenClawConfig(configPath);
      tls = read.exists ? configuredTlsRequest(read.gateway.tls) : undefined;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      tlsProblem = error.message;
    }
  let token = target.token;
  if (!token && !target.password) {
    token = generateGatewayToken();
    await createConfigWithToken(configPath, port, token).catch((error) =>
      log('warn', `could not save a gateway token to openclaw.json: ${(error as Error).message}`),
    );
  }
  return { target, port, token, ...(tls ? { tls } : {}), ...(tlsProblem ? { tlsProblem } : {}) };
}
