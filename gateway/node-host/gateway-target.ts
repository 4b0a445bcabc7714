import { readOpenClawConfig, parsePortValue } from '../config/gateway-config';
import { pinnedCertificateVerifier } from '../remote/tls-pin';
import { assertGatewayUrlAllowed, normalizeTlsFingerprint } from '../remote/transport-policy';
import { localGatewayTlsFingerprint } from '../server/gateway-tls';
import { currentPathEnvironment, resolveConfigPath, resolveStateDir } from '../state/state-paths';

/** Which gateway a headless client talks to, and with what secret (flags, then env, then openclaw.json). */
export interface GatewayTarget {
  url: string;
  token?: string;
  password?: string;
  stateDir: string;
  /** Where each value came from, for messages. */
  source: string;
  /** The certificate pin for a wss:// URL: `--tls-fingerprint`, or the local gateway's own certificate. */
  tlsFingerprint?: string;
}

/** The client options that pin `target`'s certificate (none for ws:// or an unpinned wss://). */
export function targetConnection(target: Pick<GatewayTarget, 'url' | 'tlsFingerprint'>) {
  return target.tlsFingerprint
    ? { verifyServerCertificate: pinnedCertificateVerifier(new URL(target.url).hostname, target.tlsFingerprint) }
    : undefined;
}

/** The flags every headless client command takes to name its gateway (parseArgs options). */
export const GATEWAY_TARGET_OPTIONS = {
  url: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  password: { type: 'string' },
  'state-dir': { type: 'string' },
  profile: { type: 'string' },
  'allow-insecure-private-ws': { type: 'boolean' },
  'tls-fingerprint': { type: 'string' },
} as const;

export async function resolveGatewayTarget(
  flags: {
    url?: string;
    port?: string;
    token?: string;
    password?: string;
    'state-dir'?: string;
    profile?: string;
    'allow-insecure-private-ws'?: boolean;
    'tls-fingerprint'?: string;
  },
  env: NodeJS.ProcessEnv,
): Promise<GatewayTarget> {
  const pathEnv = { ...currentPathEnvironment(), env };
  const stateDir = flags['state-dir'] ?? resolveStateDir(pathEnv, { profile: flags.profile }).stateDir;
  const explicitUrl = flags.url ?? env.OPENCLAW_GATEWAY_URL;
  const token = flags.token ?? env.OPENCLAW_GATEWAY_TOKEN;
  const password = flags.password ?? env.OPENCLAW_GATEWAY_PASSWORD;
  if (explicitUrl) {
    if (!/^wss?:\/\//i.test(explicitUrl))
      throw new Error(`gateway URL must start with ws:// or wss:// (got "${explicitUrl}")`);
    const pin = flags['tls-fingerprint'];
    if (pin !== undefined && (!normalizeTlsFingerprint(pin) || !/^wss:/i.test(explicitUrl)))
      throw new Error(
        `--tls-fingerprint takes a SHA-256 fingerprint, and a wss:// URL (got "${pin}" for ${explicitUrl})`,
      );
    // An explicit URL gets only explicit credentials: the local config's secret is not sent to another gateway.
    return {
      url: explicitUrl,
      token,
      password,
      stateDir,
      source: flags.url ? '--url' : 'OPENCLAW_GATEWAY_URL',
      ...(pin ? { tlsFingerprint: normalizeTlsFingerprint(pin) } : {}),
    };
  }
  let config: Awaited<ReturnType<typeof readOpenClawConfig>> = { exists: false };
  try {
    config = await readOpenClawConfig(resolveConfigPath(pathEnv, stateDir));
  } catch {
    // An unreadable config only loses the defaults it would have given.
  }
  const gw = config.exists ? config.gateway : {};
  const port =
    (flags.port ? parsePortValue(flags.port) : undefined) ??
    parsePortValue(env.OPENCLAW_GATEWAY_PORT) ??
    gw.port ??
    18789;
  if (flags.port && !parsePortValue(flags.port)) throw new Error(`invalid --port "${flags.port}"`);
  if (flags['tls-fingerprint'] !== undefined) throw new Error('--tls-fingerprint goes with a wss:// --url');
  // A local gateway serving TLS (gateway.tls.enabled) is reached over wss://, pinned to its own certificate.
  const localPin = await localGatewayTlsFingerprint(stateDir, gw.tls);
  const tlsEnabled = gw.tls?.enabled === true;
  return {
    url: `${tlsEnabled ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    ...(localPin ? { tlsFingerprint: localPin } : {}),
    token: token ?? gw.auth?.token,
    password: password ?? gw.auth?.password,
    stateDir,
    source: 'local gateway',
  };
}

/**
 * The transport rule of saved gateways (docs/remote-gateways.md § Transport security) for a client about to
 * connect to `target`: the secret and every command never cross the network in plaintext unless the person opted in
 * for a private network. (The desktop app reads only the port of OPENCLAW_GATEWAY_URL, so it does not call this.)
 */
export function assertTargetTransport(
  target: Pick<GatewayTarget, 'url'>,
  flags: { 'allow-insecure-private-ws'?: boolean },
  env: NodeJS.ProcessEnv,
): void {
  assertGatewayUrlAllowed(target.url, { allowInsecurePrivateWs: flags['allow-insecure-private-ws'], env });
}
