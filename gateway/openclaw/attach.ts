import {
  startApprovalClient,
  type ApprovalClientHandle,
  type ApprovalClientOutcome,
} from '../approvals/approval-client';
import type { Approver } from '../approvals/approver';
import type { GatewayClientOptions } from '../client/gateway-client';
import type { DeviceSigner } from '../protocol/device-auth';
import { startNodeHost, type NodeHostHandle } from '../node-host/node-host';
import type { ReconnectOptions } from '../node-host/reconnecting-session';

/**
 * Clawdesk attached to an OpenClaw gateway: its exec runner registers as a node (what an agent's `exec` with
 * `host: "node"` reaches) and, when there is an approver, its approval client sees and resolves approvals. Both
 * reconnect on their own when the gateway restarts; against a local supervised gateway the backoff is short
 * (0.5 s doubling to 5 s) so they are back soon after the new child answers hello-ok.
 */

export interface AttachOptions {
  url: string;
  token?: string;
  password?: string;
  identity: DeviceSigner;
  /** OpenClaw's state dir: where the runner's exec-approvals.json lives. */
  stateDir: string;
  /** Without one, approvals go to another approval client or the gateway's askFallback. */
  approver?: Approver;
  displayName?: string;
  approverClient?: { clientId: string; clientMode: string; displayName: string };
  promptTimeoutMs?: number;
  reconnect?: ReconnectOptions;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  onApprovalOutcome?: (outcome: ApprovalClientOutcome) => void;
  /** A gateway serving wss:// (gateway.tls): the pin both connections check. */
  connection?: Pick<GatewayClientOptions, 'verifyServerCertificate'>;
}

export interface ClawdeskAttachment {
  node: NodeHostHandle;
  approvals?: ApprovalClientHandle;
  stop(): Promise<void>;
}

export const LOCAL_RECONNECT: ReconnectOptions = { initialBackoffMs: 500, maxBackoffMs: 5_000 };

export async function attachClawdesk(options: AttachOptions): Promise<ClawdeskAttachment> {
  const reconnect = options.reconnect ?? LOCAL_RECONNECT;
  const log = options.log ?? (() => undefined);
  const node = await startNodeHost({
    url: options.url,
    token: options.token,
    password: options.password,
    identity: options.identity,
    stateDir: options.stateDir,
    displayName: options.displayName ?? 'Clawdesk',
    reconnect,
    log,
    connection: options.connection,
  });
  let approvals: ApprovalClientHandle | undefined;
  if (options.approver) {
    try {
      approvals = await startApprovalClient({
        url: options.url,
        token: options.token,
        password: options.password,
        identity: options.identity,
        approver: options.approver,
        stateDir: options.stateDir,
        promptTimeoutMs: options.promptTimeoutMs,
        clientId: options.approverClient?.clientId ?? 'cli',
        clientMode: options.approverClient?.clientMode ?? 'cli',
        displayName: options.approverClient?.displayName ?? 'Clawdesk',
        reconnect,
        log,
        onOutcome: options.onApprovalOutcome,
        connection: options.connection,
      });
    } catch (error) {
      await node.stop().catch(() => undefined);
      throw error;
    }
  }
  return {
    node,
    approvals,
    stop: async () => {
      await approvals?.stop().catch(() => undefined);
      await node.stop().catch(() => undefined);
    },
  };
}
