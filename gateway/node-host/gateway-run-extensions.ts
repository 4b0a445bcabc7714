import path from 'node:path';
import { startApprovalClient, type ApprovalClientHandle } from '../approvals/approval-client';
import { TerminalApprover } from '../approvals/approver';
import { createExecModules } from '../approvals/exec-modules';
import type { GatewayRunExtensions } from '../cli/commands/gateway-command';
import type { DeviceSigner } from '../protocol/device-auth';
import { loadOrCreateFileIdentity } from './file-identity';
import { startNodeHost } from './node-host';

/** Where the headless runner keeps its own identity (one per app; never the openclaw CLI's device.json). */
export function nodeIdentityPath(stateDir: string): string {
  return path.join(stateDir, 'identity', 'clawdesk-node.json');
}
export function approvalsClientIdentityPath(stateDir: string): string {
  return path.join(stateDir, 'identity', 'clawdesk-approvals.json');
}

/**
 * What `clawdesk gateway run` plugs in: the exec modules (with Clawdesk's own runner pre-approved for direct-local
 * connects), the runner itself, and a terminal approval prompt when the gateway runs in a terminal.
 */
export function createGatewayRunExtensions(deps: { isTTY?: () => boolean } = {}): GatewayRunExtensions {
  let nodeIdentity: DeviceSigner | undefined;
  return {
    modules: async ({ stateDir }) => {
      nodeIdentity = await loadOrCreateFileIdentity(nodeIdentityPath(stateDir));
      return createExecModules({ trustedLocalNodeIds: [nodeIdentity.deviceId] }).modules;
    },
    startNode: async ({ url, stateDir, token, password, io }) => {
      const identity = nodeIdentity ?? (await loadOrCreateFileIdentity(nodeIdentityPath(stateDir)));
      const log = (level: string, message: string) => {
        if (level !== 'debug') io.stderr(`[exec] ${message}\n`);
      };
      const node = await startNodeHost({ url, token, password, identity, stateDir, log });
      let approvals: ApprovalClientHandle | undefined;
      if (deps.isTTY ? deps.isTTY() : Boolean(process.stdin.isTTY)) {
        approvals = await startApprovalClient({
          url,
          token,
          password,
          identity: await loadOrCreateFileIdentity(approvalsClientIdentityPath(stateDir)),
          approver: new TerminalApprover(),
          stateDir,
          clientId: 'cli',
          clientMode: 'cli',
          displayName: 'Clawdesk terminal',
          log,
        });
        io.stdout('Exec approvals: prompting on this terminal\n');
      }
      return async () => {
        await approvals?.stop();
        await node.stop();
      };
    },
  };
}

export const gatewayRunExtensions: GatewayRunExtensions = createGatewayRunExtensions();
