import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, serialize, writeJsonAtomic } from '../fs/atomic-file';

/**
 * Node pairing, persisted: which command surface each node had approved (`<stateDir>/nodes/paired.json`) and the
 * requests waiting for an operator (`nodes/pending.json`). Both files are written atomically, one write at a time;
 * a corrupt file is moved aside and reported, never trusted (docs/protocol.md § Nodes).
 */

const nodeMetaSchema = z.object({
  nodeId: z.string(),
  displayName: z.string().optional(),
  platform: z.string().optional(),
  version: z.string().optional(),
  deviceFamily: z.string().optional(),
  modelIdentifier: z.string().optional(),
  clientId: z.string().optional(),
  clientMode: z.string().optional(),
  remoteIp: z.string().optional(),
  caps: z.array(z.string()).optional(),
  commands: z.array(z.string()).optional(),
});

const pairedNodeSchema = nodeMetaSchema.extend({
  createdAtMs: z.number(),
  approvedAtMs: z.number(),
  lastConnectedAtMs: z.number().optional(),
});
const pendingNodeSchema = nodeMetaSchema.extend({
  requestId: z.string(),
  ts: z.number(),
  silent: z.boolean().optional(),
  isRepair: z.boolean().optional(),
});

/** What a node says about itself on this connection (its surface already cut to policy). */
export type NodeMeta = z.infer<typeof nodeMetaSchema>;
export type PairedNode = z.infer<typeof pairedNodeSchema>;
export type PendingNodeRequest = z.infer<typeof pendingNodeSchema>;

const pairedFileSchema = z.object({ version: z.literal(1), nodes: z.record(z.string(), pairedNodeSchema) });
const pendingFileSchema = z.object({ version: z.literal(1), requests: z.record(z.string(), pendingNodeSchema) });

export type NodePairingLog = (message: string, fields: Record<string, unknown>) => void;

export class NodePairingStore {
  private stateDir = '';
  private paired = new Map<string, PairedNode>();
  private pending = new Map<string, PendingNodeRequest>();

  private pairedPath(): string {
    return path.join(this.stateDir, 'nodes', 'paired.json');
  }
  private pendingPath(): string {
    return path.join(this.stateDir, 'nodes', 'pending.json');
  }

  /** Reads both files from `stateDir`; a corrupt one is quarantined by readJsonFile and reported through `warn`. */
  async load(stateDir: string, warn: NodePairingLog): Promise<void> {
    this.stateDir = stateDir;
    const paired = await readJsonFile(this.pairedPath(), { parse: (v) => pairedFileSchema.parse(v) });
    if (paired.kind === 'ok') this.paired = new Map(Object.entries(paired.value.nodes));
    else if (paired.kind === 'corrupt')
      warn(`node pairing file was corrupt and was moved aside: ${paired.error}`, {
        quarantinedTo: paired.quarantinedTo,
      });
    const pending = await readJsonFile(this.pendingPath(), { parse: (v) => pendingFileSchema.parse(v) });
    if (pending.kind === 'ok') this.pending = new Map(Object.entries(pending.value.requests));
    else if (pending.kind === 'corrupt')
      warn(`node pending file was corrupt and was moved aside: ${pending.error}`, {
        quarantinedTo: pending.quarantinedTo,
      });
  }

  private persist(): Promise<void> {
    const paired = { version: 1, nodes: Object.fromEntries(this.paired) };
    const pending = { version: 1, requests: Object.fromEntries(this.pending) };
    return serialize(this.pairedPath(), async () => {
      await writeJsonAtomic(this.pairedPath(), paired);
      await writeJsonAtomic(this.pendingPath(), pending);
    });
  }

  getPaired(nodeId: string): PairedNode | undefined {
    return this.paired.get(nodeId);
  }

  pairedNodes(): PairedNode[] {
    return [...this.paired.values()];
  }

  pairedIds(): string[] {
    return [...this.paired.keys()];
  }

  getPending(requestId: string): PendingNodeRequest | undefined {
    return this.pending.get(requestId);
  }

  pendingRequests(): PendingNodeRequest[] {
    return [...this.pending.values()];
  }

  /** The request waiting for this node, if any (a node has at most one: a new one replaces the old). */
  pendingFor(nodeId: string): PendingNodeRequest | undefined {
    for (const req of this.pending.values()) if (req.nodeId === nodeId) return req;
    return undefined;
  }

  private dropPendingFor(nodeId: string): void {
    for (const [id, req] of this.pending) if (req.nodeId === nodeId) this.pending.delete(id);
  }

  /** Records that a paired node connected again (kept in memory; written with the next change). */
  touch(nodeId: string, now: number): void {
    const paired = this.paired.get(nodeId);
    if (paired) paired.lastConnectedAtMs = now;
  }

  /**
   * Pairs a node without asking (Clawdesk's own runner, direct-local): its surface is added to what it had, its
   * display name kept, any request it had waiting dropped.
   */
  async pairSilently(meta: NodeMeta, now: number): Promise<void> {
    const paired = this.paired.get(meta.nodeId);
    this.paired.set(meta.nodeId, {
      ...meta,
      displayName: paired?.displayName ?? meta.displayName,
      commands: [...new Set([...(paired?.commands ?? []), ...(meta.commands ?? [])])],
      createdAtMs: paired?.createdAtMs ?? now,
      approvedAtMs: now,
      lastConnectedAtMs: now,
    });
    this.dropPendingFor(meta.nodeId);
    await this.persist();
  }

  /** Files a request for `meta`'s surface, replacing any older request from the same node. */
  async fileRequest(meta: NodeMeta, now: number): Promise<PendingNodeRequest> {
    this.dropPendingFor(meta.nodeId);
    const request: PendingNodeRequest = {
      ...meta,
      requestId: randomUUID(),
      ts: now,
      silent: false,
      isRepair: this.paired.has(meta.nodeId),
    };
    this.pending.set(request.requestId, request);
    await this.persist();
    return request;
  }

  /** Approves a pending request: its surface is added to what the node had; `connected` stamps lastConnectedAtMs. */
  async approve(request: PendingNodeRequest, connected: boolean, now: number): Promise<void> {
    const prev = this.paired.get(request.nodeId);
    const { requestId: _r, ts: _t, silent: _s, isRepair: _i, ...meta } = request;
    this.paired.set(request.nodeId, {
      ...meta,
      displayName: prev?.displayName ?? meta.displayName,
      commands: [...new Set([...(prev?.commands ?? []), ...(request.commands ?? [])])],
      createdAtMs: prev?.createdAtMs ?? now,
      approvedAtMs: now,
      lastConnectedAtMs: connected ? now : prev?.lastConnectedAtMs,
    });
    this.pending.delete(request.requestId);
    await this.persist();
  }

  /** Drops a pending request; the node it came from, or undefined when there was no such request. */
  async reject(requestId: string): Promise<PendingNodeRequest | undefined> {
    const request = this.pending.get(requestId);
    if (!request) return undefined;
    this.pending.delete(requestId);
    await this.persist();
    return request;
  }

  /** Renames a paired node; false when the node is not paired. */
  async rename(nodeId: string, displayName: string): Promise<boolean> {
    const paired = this.paired.get(nodeId);
    if (!paired) return false;
    paired.displayName = displayName;
    await this.persist();
    return true;
  }

  /** Drops a node's pairing; false when it was not paired. */
  async forget(nodeId: string): Promise<boolean> {
    if (!this.paired.delete(nodeId)) return false;
    await this.persist();
    return true;
  }
}
