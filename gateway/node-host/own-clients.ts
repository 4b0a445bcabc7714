import type { ExecModules } from '../approvals/exec-modules';
import type { DevicePairingStore } from '../pairing/device-pairing-store';
import type { DeviceSigner } from '../protocol/device-auth';
import { nodePlatform } from './node-host';

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
