import type { OwnerView } from '../common/ipc-contract';
import { findPortOwner, probeGatewayPort, type PortOwner, type ProbeOptions } from '../gateway/openclaw/port-owner';

/**
 * Who owns the gateway port. Clawdesk never fights for it: a free port is embedded, an OpenClaw gateway that
 * already answers is attached to, and anything else is reported with its PID where the OS tells.
 * The probe and the port-owner lookup live in gateway/openclaw/port-owner.ts (shared with the OpenClaw supervisor).
 */
export {
  findPortOwner,
  findPortOwnerLinux,
  listeningInodes,
  parseNetstatListeners,
  probeGatewayPort,
  type PortOwner,
  type PortProbe,
  type ProbeOptions,
} from '../gateway/openclaw/port-owner';

// --- The decision -------------------------------------------------------------------------------------------

export type OwnershipDecision =
  | { mode: 'embed'; owner: OwnerView }
  | { mode: 'attach'; url: string; owner: OwnerView; handOver: string }
  | { mode: 'blocked'; owner: OwnerView; reason: string; handOver: string };

export interface DecideOwnershipOptions extends ProbeOptions {
  port: number;
  probe?: typeof probeGatewayPort;
  findOwner?: (port: number) => Promise<PortOwner | undefined>;
}

function describeOwner(owner: PortOwner | undefined, what: string): OwnerView {
  if (!owner) return { kind: 'unknown', description: `${what} (the OS does not say which process)` };
  return {
    kind: 'other-process',
    pid: owner.pid,
    processName: owner.name,
    description: `${owner.name ? `${owner.name} ` : ''}(PID ${owner.pid})`.trim(),
  };
}

export async function decideOwnership(options: DecideOwnershipOptions): Promise<OwnershipDecision> {
  const probe = await (options.probe ?? probeGatewayPort)(options.port, options);
  if (probe.kind === 'free') return { mode: 'embed', owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' } };
  const owner = await (options.findOwner ?? findPortOwner)(options.port);
  if (probe.kind === 'openclaw') {
    const view = describeOwner(owner, 'another OpenClaw gateway');
    return {
      mode: 'attach',
      url: probe.url,
      owner: view,
      handOver: `To let Clawdesk run the gateway, stop ${view.kind === 'other-process' ? view.description : 'the other gateway'} (for example \`openclaw gateway stop\`), then choose "Start gateway". Clawdesk never stops it for you.`,
    };
  }
  const view = describeOwner(owner, 'another program');
  return {
    mode: 'blocked',
    owner: view,
    reason: `port ${options.port} is in use by ${view.description}: ${probe.detail}`,
    handOver: `Free port ${options.port} or set another gateway port (OPENCLAW_GATEWAY_PORT or gateway.port), then choose "Start gateway".`,
  };
}
