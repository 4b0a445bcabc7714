import { parseSshTarget } from './ssh-target';
import {
  DEFAULT_REMOTE_GATEWAY_PORT,
  OPENCLAW_CONFIG_GATEWAY_NAME,
  type GatewayAuthKind,
  type SavedGateway,
} from './saved-gateways';
import { normalizeTlsFingerprint } from './transport-policy';

/**
 * `openclaw.json`'s `gateway.mode: "remote"` block, read the way OpenClaw's CLI reads it (its docs/gateway/remote.md,
 * "CLI remote defaults" and "Credential precedence"):
 * - only `gateway.mode === "remote"` counts; without `gateway.remote.url` OpenClaw falls back to the local gateway
 *   with a warning, and so does this;
 * - token: `gateway.remote.token`, then OPENCLAW_GATEWAY_TOKEN, then `gateway.auth.token`;
 *   password: OPENCLAW_GATEWAY_PASSWORD, then `gateway.remote.password`, then `gateway.auth.password`;
 * - `transport` defaults to `ssh`. OpenClaw's CLI never opens the tunnel itself (its macOS app does, from
 *   `sshTarget`); Clawdesk opens it, like the app, when `sshTarget` is set, with `remote.url`'s port as the local
 *   end and `remotePort` (else that same port, else 18789) as the remote one. Without `sshTarget` the URL is used
 *   as it is (a tunnel the person runs);
 * - `tlsFingerprint` pins `wss://`; `sshHostKeyPolicy` is `strict` unless it says `openssh`.
 * SecretRef objects are honoured for the `env` source only; any other source is reported, never guessed.
 */

export interface ConfiguredRemoteGateway {
  gateway: SavedGateway;
  secret?: string;
}

export type RemoteConfigReading =
  | { kind: 'local' }
  | { kind: 'misconfigured'; warning: string }
  | { kind: 'remote'; remote: ConfiguredRemoteGateway; warnings: string[] };

type SecretValue = { value?: string; warning?: string };

function secretInput(raw: unknown, field: string, env: NodeJS.ProcessEnv): SecretValue {
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw === 'string') return { value: raw };
  if (typeof raw === 'object') {
    const ref = raw as { source?: unknown; id?: unknown };
    if (ref.source === 'env' && typeof ref.id === 'string') {
      const value = env[ref.id];
      return value ? { value } : { warning: `${field} names the environment variable ${ref.id}, which is not set` };
    }
    return { warning: `${field} uses a secret provider Clawdesk cannot read (source "${String(ref.source)}")` };
  }
  return { warning: `${field} is not a string` };
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function readRemoteGatewayConfig(config: Record<string, unknown>, env: NodeJS.ProcessEnv): RemoteConfigReading {
  const gateway = record(config.gateway);
  if (gateway.mode !== 'remote') return { kind: 'local' };
  const remote = record(gateway.remote);
  const auth = record(gateway.auth);
  const url = typeof remote.url === 'string' ? remote.url.trim() : '';
  if (!url)
    return {
      kind: 'misconfigured',
      warning: 'gateway.mode is "remote" but gateway.remote.url is missing; using the local gateway',
    };
  const warnings: string[] = [];
  const pick = (...values: SecretValue[]): string | undefined => {
    for (const v of values) {
      if (v.warning) warnings.push(v.warning);
      if (v.value) return v.value;
    }
    return undefined;
  };
  const envValue = (name: string): SecretValue => (env[name] ? { value: env[name] } : {});
  const token = pick(
    secretInput(remote.token, 'gateway.remote.token', env),
    envValue('OPENCLAW_GATEWAY_TOKEN'),
    secretInput(auth.token, 'gateway.auth.token', env),
  );
  const password = token
    ? undefined
    : pick(
        envValue('OPENCLAW_GATEWAY_PASSWORD'),
        secretInput(remote.password, 'gateway.remote.password', env),
        secretInput(auth.password, 'gateway.auth.password', env),
      );
  const authKind: GatewayAuthKind = token ? 'token' : password ? 'password' : 'none';
  const fingerprintRaw = typeof remote.tlsFingerprint === 'string' ? remote.tlsFingerprint : undefined;
  const fingerprint = normalizeTlsFingerprint(fingerprintRaw);
  if (fingerprintRaw && !fingerprint)
    warnings.push(`gateway.remote.tlsFingerprint "${fingerprintRaw}" is not a SHA-256 fingerprint`);
  const sshTarget = typeof remote.sshTarget === 'string' ? remote.sshTarget.trim() : '';
  const transport = remote.transport === 'direct' ? 'direct' : 'ssh';
  const base = {
    name: OPENCLAW_CONFIG_GATEWAY_NAME,
    auth: authKind,
    runner: false,
    addedAtMs: 0,
  };
  let entry: SavedGateway;
  if (transport === 'ssh' && sshTarget) {
    let localPort: number | undefined;
    try {
      localPort = Number(new URL(url).port) || undefined;
    } catch {
      warnings.push(`gateway.remote.url "${url}" is not a URL`);
    }
    if (!parseSshTarget(sshTarget)) warnings.push(`gateway.remote.sshTarget "${sshTarget}" is not user@host[:port]`);
    const remotePort =
      typeof remote.remotePort === 'number' ? remote.remotePort : (localPort ?? DEFAULT_REMOTE_GATEWAY_PORT);
    entry = {
      ...base,
      transport: 'ssh',
      sshTarget,
      remotePort,
      ...(localPort ? { localPort } : {}),
      sshHostKeyPolicy: remote.sshHostKeyPolicy === 'openssh' ? 'openssh' : 'strict',
      ...(typeof remote.sshIdentity === 'string' && remote.sshIdentity ? { sshIdentity: remote.sshIdentity } : {}),
    };
  } else {
    entry = {
      ...base,
      transport: 'direct',
      url,
      ...(fingerprint ? { tlsFingerprint: fingerprint } : url.startsWith('wss:') ? { systemTrust: true } : {}),
    };
  }
  return { kind: 'remote', remote: { gateway: entry, secret: token ?? password }, warnings };
}
