import {
  startApprovalClient,
  type ApprovalClientHandle,
  type ApprovalClientOptions,
} from '../approvals/approval-client';
import type { ExecModules } from '../approvals/exec-modules';
import type { DevicePairingStore } from '../pairing/device-pairing-store';
import type { DeviceSigner } from '../protocol/device-auth';
import { nodePlatform, startNodeHost, type NodeHostHandle, type NodeHostOptions } from './node-host';

/**
 * Clawdesk's own runner and approval client, trusted by the gateway they run beside: the one way both the desktop
 * app's embedded gateway and `clawdesk gateway run` do it (docs/protocol.md § Pairing).
 *
 * - The runner's command surface is approved without a prompt when it connects direct-local (a foreign node, or
 *   this identity through a proxy, still asks).
 * - The identity is paired for the `node` role and for an operator with `operator.approvals`, directly in the
 *   store, so neither locality rules nor `--always-prompt-pairing` stand between a gateway and its own clients.
 *
 * Call it after the gateway started and before the clients connect; calling it again changes nothing.
 */
export async function trustOwnClients(
  pairing: DevicePairingStore,
  exec: Pick<ExecModules, 'approveNodeSilently'>,
  identity: Pick<DeviceSigner, 'deviceId' | 'publicKey'>,
): Promise<void> {
  exec.approveNodeSilently(identity.deviceId);
  const metadata = {
    deviceId: identity.deviceId,
    publicKey: identity.publicKey,
    ...nodePlatform(),
    displayName: 'Clawdesk',
    silent: true,
  };
  const paired = pairing.getPaired(identity.deviceId);
  const roles = paired ? pairing.effectiveRoles(paired) : [];
  if (!roles.includes('node')) await pairing.pairSilently({ ...metadata, role: 'node', scopes: [] });
  if (!roles.includes('operator'))
    await pairing.pairSilently({ ...metadata, role: 'operator', scopes: ['operator.approvals'] });
}

/** The runner's options (its stateDir's exec-approvals.json is also the approval client's askFallback), and: */
export interface OwnClientsOptions extends Pick<
  NodeHostOptions,
  'url' | 'token' | 'password' | 'identity' | 'stateDir' | 'displayName' | 'log' | 'connection'
> {
  /** The approval client, when this process can ask a person; without one, requests go elsewhere or to askFallback. */
  approvals?: Omit<
    ApprovalClientOptions,
    'url' | 'token' | 'password' | 'identity' | 'stateDir' | 'log' | 'connection'
  >;
}

export interface OwnClients {
  node: NodeHostHandle;
  approvals?: ApprovalClientHandle;
  stop(): Promise<void>;
}

/**
 * Clawdesk's own runner and (optionally) approval client on one gateway, as the desktop app and `clawdesk gateway
 * run` both start them. The approval client comes first, so a request filed the moment the runner connects already
 * has someone to ask; if the runner cannot start, the approval client is stopped again.
 */
export async function startOwnClients(options: OwnClientsOptions): Promise<OwnClients> {
  const { url, token, password, identity, stateDir, log, connection } = options;
  const approvals = options.approvals
    ? await startApprovalClient({ ...options.approvals, url, token, password, identity, stateDir, log, connection })
    : undefined;
  let node: NodeHostHandle;
  try {
    node = await startNodeHost({
      url,
      token,
      password,
      identity,
      stateDir,
      displayName: options.displayName,
      log,
      connection,
    });
  } catch (error) {
    await approvals?.stop().catch(() => undefined);
    throw error;
  }
  return {
    node,
    approvals,
    stop: async () => {
      await approvals?.stop();
      await node.stop();
    },
  };
}
