// Which gateway the app serves or attaches to, and its secret: the same rules as the openclaw CLI (flags → env →
// openclaw.json). A migration killed halfway is rolled forward or back before anything reads the state dir.
import { createConfigWithToken, generateGatewayToken } from '../gateway/config/gateway-config';
import { resolveGatewayTarget, type GatewayTarget } from '../gateway/node-host/gateway-target';
import { recoverInterruptedMigrations } from '../gateway/state/state-migration';
import { currentPathEnvironment, resolveConfigPath } from '../gateway/state/state-paths';
import type { MainLog } from './main-log';

export interface AppGatewayTarget {
  target: GatewayTarget;
  port: number;
  /** The shared secret: configured, or generated now and saved to openclaw.json when none was. */
  token?: string;
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
  let token = target.token;
  if (!token && !target.password) {
    token = generateGatewayToken();
    await createConfigWithToken(resolveConfigPath(currentPathEnvironment(), target.stateDir), port, token).catch(
      (error) => log('warn', `could not save a gateway token to openclaw.json: ${(error as Error).message}`),
    );
  }
  return { target, port, token };
}
