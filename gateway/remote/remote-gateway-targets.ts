import { ConfigError, readOpenClawConfig } from '../config/gateway-config';
import { readRemoteGatewayConfig, type RemoteConfigReading } from './openclaw-remote-config';
import type { RemoteGatewayTarget } from './remote-gateway-service';
import {
  SavedGatewaysError,
  validateNewGateway,
  type NewGateway,
  type SavedGateway,
  type SavedGatewaysFile,
  type SavedGatewayStore,
} from './saved-gateways';
import { readServerCertificate, type ServerCertificateInfo } from './tls-pin';

/**
 * What `RemoteGatewayService.start()` is given, read the same way by every front end (the desktop app and
 * `clawdesk gateways connect`): the saved gateways with their secrets from the vault, then openclaw.json's
 * `gateway.mode: "remote"` block as the read-only `openclaw-config` gateway (docs/remote-gateways.md).
 */

/** openclaw.json's remote block; a config that cannot be read is a warning, never a reason to use anything else. */
export async function readConfiguredRemoteGateway(
  configPath: string,
  env: NodeJS.ProcessEnv,
): Promise<RemoteConfigReading> {
  try {
    const read = await readOpenClawConfig(configPath);
    return read.exists ? readRemoteGatewayConfig(read.config, env) : { kind: 'local' };
  } catch (error) {
    if (error instanceof ConfigError) return { kind: 'misconfigured', warning: error.message };
    throw error;
  }
}

export interface RemoteGatewayTargets {
  targets: RemoteGatewayTarget[];
  file: SavedGatewaysFile;
  configured: RemoteConfigReading;
  /** openclaw.json's problems with its remote block, for the person. */
  warnings: string[];
}

export async function loadRemoteGatewayTargets(
  store: SavedGatewayStore,
  configPath: string,
  env: NodeJS.ProcessEnv,
): Promise<RemoteGatewayTargets> {
  const file = await store.read();
  const targets: RemoteGatewayTarget[] = [];
  for (const gateway of file.gateways)
    targets.push({ gateway, primary: file.primary === gateway.name, secret: await store.secretOf(gateway) });
  const configured = await readConfiguredRemoteGateway(configPath, env);
  if (configured.kind === 'remote')
    targets.push({
      gateway: configured.remote.gateway,
      primary: targets.length === 0,
      secret: configured.remote.secret,
    });
  return { targets, file, configured, warnings: remoteConfigWarnings(configured) };
}

/** What the person is told about openclaw.json's remote block. */
export function remoteConfigWarnings(configured: RemoteConfigReading): string[] {
  if (configured.kind === 'misconfigured') return [configured.warning];
  return configured.kind === 'remote' ? configured.warnings : [];
}

export type AddWithTrustResult =
  | { saved: SavedGateway }
  | { saved?: undefined; reason: 'not-trusted'; certificate: ServerCertificateInfo }
  | { saved?: undefined; reason: 'unreachable'; message: string };

export interface AddWithTrustOptions {
  env: NodeJS.ProcessEnv;
  /** Shows the certificate to the person: true only on their explicit yes; nothing is pinned otherwise. */
  confirm(certificate: ServerCertificateInfo): Promise<boolean>;
  readCertificate?: (url: string) => Promise<ServerCertificateInfo>;
}

/**
 * Adds a gateway; a wss:// one with neither a fingerprint nor system CA trust is trust on first use: its certificate
 * is read (a handshake, nothing sent), shown through `confirm`, and pinned only when the person says yes. Bad input
 * and duplicates are refused (SavedGatewaysError) before any connection is made.
 */
export async function addGatewayWithTrust(
  store: SavedGatewayStore,
  input: NewGateway,
  options: AddWithTrustOptions,
): Promise<AddWithTrustResult> {
  const url = input.url;
  if (url?.toLowerCase().startsWith('wss:') && !input.tlsFingerprint && !input.systemTrust) {
    validateNewGateway({ ...input, systemTrust: true }, options.env);
    if ((await store.read()).gateways.some((g) => g.name.toLowerCase() === input.name.toLowerCase()))
      throw new SavedGatewaysError(
        `a gateway named "${input.name}" already exists; remove it first or pick another name`,
      );
    let certificate: ServerCertificateInfo;
    try {
      certificate = await (options.readCertificate ?? readServerCertificate)(url);
    } catch (error) {
      return { reason: 'unreachable', message: (error as Error).message };
    }
    if (!(await options.confirm(certificate))) return { reason: 'not-trusted', certificate };
    // Exactly the certificate that was shown, never one read again later.
    return { saved: await store.add({ ...input, tlsFingerprint: certificate.fingerprint }) };
  }
  return { saved: await store.add(input) };
}
