import type { GatewayConnection } from '../server/gateway-module';
import type { NodeMeta } from './node-pairing-store';

/**
 * Which nodes are connected now, one live connection per node id: a node that reconnects replaces its previous
 * connection, and a stale connection closing does not remove the newer one.
 */

export interface LiveNode {
  conn: GatewayConnection;
  nodeId: string;
  /** Declared on this connection ∩ policy (node-commands.ts). */
  declared: string[];
}

/** A node's id: its device id when it proved one, else its instance or client id. */
export function nodeIdOf(conn: GatewayConnection): string {
  return conn.deviceId ?? conn.client.instanceId ?? conn.client.id;
}

/** What a live node says about itself, in the shape pairing records keep. */
export function liveNodeMeta(live: LiveNode): NodeMeta {
  const c = live.conn.client;
  return {
    nodeId: live.nodeId,
    displayName: c.displayName,
    platform: c.platform,
    version: c.version,
    deviceFamily: c.deviceFamily,
    modelIdentifier: c.modelIdentifier,
    clientId: c.id,
    clientMode: c.mode,
    remoteIp: live.conn.remoteAddress,
    caps: [...live.conn.caps],
    commands: live.declared,
  };
}

export class NodePresence {
  private readonly live = new Map<string, LiveNode>();

  /** Records a node's new connection; returns the connection it replaces, if any. */
  connect(live: LiveNode): LiveNode | undefined {
    const previous = this.live.get(live.nodeId);
    this.live.set(live.nodeId, live);
    return previous && previous.conn.connId !== live.conn.connId ? previous : undefined;
  }

  /** Forgets a node's connection when it is still the current one. */
  disconnect(conn: GatewayConnection): void {
    const nodeId = nodeIdOf(conn);
    if (this.live.get(nodeId)?.conn.connId === conn.connId) this.live.delete(nodeId);
  }

  get(nodeId: string): LiveNode | undefined {
    return this.live.get(nodeId);
  }

  has(nodeId: string): boolean {
    return this.live.has(nodeId);
  }

  ids(): string[] {
    return [...this.live.keys()];
  }
}
