import { z } from 'zod';
import type { nodeSummary } from '../protocol/method-schemas';
import {
  GatewayMethodError,
  type GatewayConnection,
  type GatewayHost,
  type GatewayModule,
  type MethodDefinition,
  implementMethod,
} from '../server/gateway-module';
import {
  classifyNodePlatform,
  filterDeclaredCommands,
  RAW_INVOKE_FORBIDDEN,
  requiredApproveScopes,
  type NodeCommandPolicy,
} from './node-commands';
import { NODE_INVOKE_CANCEL_EVENT, NodeInvokeRouter, type InvokeOutcome } from './node-invoke';
import { NodePairingStore, type PendingNodeRequest } from './node-pairing-store';
import { liveNodeMeta, nodeIdOf, NodePresence, type LiveNode } from './node-presence';

/**
 * Nodes on the gateway (docs/protocol.md § Nodes), the module that serves `node.*`: it ties together presence
 * (who is connected), the platform command policy, node pairing (the command surface stays hidden until
 * `node.pair.approve`, which needs admin for `system.*`) and invoke routing.
 */

/** A node as `node.list` and `node.describe` answer it. */
export type NodeSummary = z.input<typeof nodeSummary>;

export interface NodeRegistryOptions extends NodeCommandPolicy {
  defaultInvokeTimeoutMs?: number;
  /** Called for every `node.event` a node sends. */
  onNodeEvent?: (nodeId: string, event: string, payload: unknown) => void;
}

/** Hook for `node.invoke system.run`: returns the params to forward, or throws a GatewayMethodError. */
export type SystemRunGate = (input: {
  conn: GatewayConnection;
  nodeId: string;
  params: Record<string, unknown>;
}) => Record<string, unknown>;

export const canSeePairing = (conn: GatewayConnection): boolean =>
  conn.role === 'operator' && (conn.scopes.includes('operator.pairing') || conn.scopes.includes('operator.admin'));
/** Node lifecycle reports (exec.started/finished/denied) go to admins and to readers that ask with the `node-events` cap. */
const wantsNodeEvents = (conn: GatewayConnection): boolean =>
  conn.role === 'operator' &&
  (conn.scopes.includes('operator.admin') ||
    (conn.caps.includes('node-events') && ['operator.read', 'operator.write'].some((s) => conn.scopes.includes(s))));

export class NodeRegistry implements GatewayModule {
  readonly name = 'nodes';
  private host?: GatewayHost;
  private readonly pairing = new NodePairingStore();
  private readonly presence = new NodePresence();
  private readonly router: NodeInvokeRouter;
  /** Nodes approved without a prompt when they connect direct-local (Clawdesk's own runner): approveNodeSilently. */
  private readonly trusted = new Set<string>();
  private systemRunGate?: SystemRunGate;

  constructor(private readonly options: NodeRegistryOptions = {}) {
    this.router = new NodeInvokeRouter(options.defaultInvokeTimeoutMs);
  }

  setSystemRunGate(gate: SystemRunGate): void {
    this.systemRunGate = gate;
  }

  /** Pre-approves a node id: when it connects direct-local its declared surface is approved without a prompt. */
  approveNodeSilently(nodeId: string): void {
    this.trusted.add(nodeId);
    const live = this.presence.get(nodeId);
    if (live && live.conn.locality === 'direct_local') void this.reconcile(live);
  }

  /** Drops a node's pairing (Clawdesk's own runner from an earlier run that used an in-memory key). */
  forgetNode(nodeId: string): Promise<boolean> {
    return this.pairing.forget(nodeId);
  }

  async start(host: GatewayHost): Promise<void> {
    this.host = host;
    await this.pairing.load(host.stateDir, (message, fields) => host.log('warn', message, fields));
  }

  stop(): void {
    this.router.stop();
  }

  events(): string[] {
    return ['node.pair.requested', 'node.pair.resolved', 'node.event', NODE_INVOKE_CANCEL_EVENT];
  }

  onConnected(conn: GatewayConnection): void {
    if (conn.role !== 'node') return;
    const nodeId = nodeIdOf(conn);
    const declared = filterDeclaredCommands(
      conn.commands,
      classifyNodePlatform(conn.client.platform, conn.client.deviceFamily),
      this.options,
    );
    const live: LiveNode = { conn, nodeId, declared };
    const replaced = this.presence.connect(live);
    if (replaced) this.router.failInvokesFor(replaced.conn.connId, 'node reconnected');
    void this.reconcile(live).catch((error) =>
      this.host?.log('error', 'node pairing reconcile failed', { nodeId, error: String(error) }),
    );
  }

  onDisconnected(conn: GatewayConnection): void {
    this.router.dropRequester(conn.connId);
    if (conn.role !== 'node') return;
    this.presence.disconnect(conn);
    this.router.failInvokesFor(conn.connId, 'node disconnected');
  }

  /** Files (or silently approves) a node-pairing request when the node is new or declares more than approved. */
  private async reconcile(live: LiveNode): Promise<void> {
    const paired = this.pairing.getPaired(live.nodeId);
    const approved = new Set(paired?.commands ?? []);
    const beyond = live.declared.filter((c) => !approved.has(c));
    if (paired && !beyond.length) {
      this.pairing.touch(live.nodeId, Date.now());
      return;
    }
    const meta = liveNodeMeta(live);
    if (this.trusted.has(live.nodeId) && live.conn.locality === 'direct_local') {
      await this.pairing.pairSilently(meta, Date.now());
      return;
    }
    const request = await this.pairing.fileRequest(meta, Date.now());
    this.host?.broadcast(
      'node.pair.requested',
      { ...request, requiredApproveScopes: requiredApproveScopes(request.commands ?? []) },
      canSeePairing,
    );
  }

  /** The commands an operator may invoke now: approved ∩ declared on this connection. */
  surfaceOf(nodeId: string): string[] {
    const live = this.presence.get(nodeId);
    const paired = this.pairing.getPaired(nodeId);
    if (!live || !paired) return [];
    const approved = new Set(paired.commands ?? []);
    return live.declared.filter((c) => approved.has(c));
  }

  isConnected(nodeId: string): boolean {
    return this.presence.has(nodeId);
  }

  private describe(nodeId: string): NodeSummary | null {
    const live = this.presence.get(nodeId);
    const paired = this.pairing.getPaired(nodeId);
    if (!live && !paired) return null;
    const base = live ? liveNodeMeta(live) : { ...paired! };
    const out: NodeSummary = {
      ...base,
      displayName: paired?.displayName ?? base.displayName,
      pathEnv: live?.conn.pathEnv,
      permissions: live ? { ...live.conn.permissions } : undefined,
      commands: live ? this.surfaceOf(nodeId) : (paired?.commands ?? []),
      paired: Boolean(paired),
      connected: Boolean(live),
      connectedAtMs: live?.conn.connectedAtMs,
      approvedAtMs: paired?.approvedAtMs,
    };
    delete out.createdAtMs;
    delete out.lastConnectedAtMs;
    for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
    return out;
  }

  listNodes(): NodeSummary[] {
    const ids = new Set([...this.pairing.pairedIds(), ...this.presence.ids()]);
    return [...ids]
      .map((id) => this.describe(id)!)
      .sort((a, b) => String(a.displayName ?? a.nodeId).localeCompare(String(b.displayName ?? b.nodeId)));
  }

  listPending(): Array<PendingNodeRequest & { requiredApproveScopes: string[] }> {
    return this.pairing.pendingRequests().map((r) => ({
      ...r,
      requiredApproveScopes: requiredApproveScopes(r.commands ?? []),
    }));
  }

  /** The gateway's checks before anything reaches the node, in the reference's order (docs/protocol.md § Nodes). */
  checkInvocable(nodeId: string, command: string, internal: boolean): LiveNode {
    const live = this.presence.get(nodeId);
    if (!live) {
      throw new GatewayMethodError('UNAVAILABLE', 'node not connected', { code: 'NOT_CONNECTED', nodeId: nodeId });
    }
    if (!internal && RAW_INVOKE_FORBIDDEN.has(command)) {
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        `${command} is reachable only through exec.approvals.node.get/set`,
        {
          code: 'COMMAND_RESERVED',
        },
      );
    }
    if (
      !this.pairing.getPaired(nodeId) ||
      (live.declared.includes(command) && !this.surfaceOf(nodeId).includes(command))
    ) {
      const req = this.pairing.pendingFor(nodeId);
      throw new GatewayMethodError(
        'UNAVAILABLE',
        `node capability surface is awaiting operator approval; run \`openclaw nodes approve ${req?.requestId ?? '<requestId>'}\``,
        { code: 'NODE_APPROVAL_REQUIRED', nodeId: nodeId, requestId: req?.requestId },
      );
    }
    if (!this.surfaceOf(nodeId).includes(command)) {
      throw new GatewayMethodError('INVALID_REQUEST', `node command not allowed: ${command}`, {
        code: 'COMMAND_NOT_ALLOWED',
        command: command,
      });
    }
    return live;
  }

  /**
   * Sends `node.invoke.request` and waits for the node's `node.invoke.result`. `internal` calls (exec.approvals.node.*)
   * may reach the reserved commands; operator calls may not.
   */
  async invoke(input: {
    nodeId: string;
    command: string;
    params?: unknown;
    timeoutMs?: number;
    idempotencyKey: string;
    internal?: boolean;
    /** Connection ids waiting for the answer; when the last one leaves the node is told to cancel. */
    requesters?: Set<string>;
  }): Promise<InvokeOutcome> {
    const live = this.checkInvocable(input.nodeId, input.command, input.internal ?? false);
    return this.router.send(live, input);
  }

  async approve(requestId: string, callerScopes: readonly string[]): Promise<{ requestId: string; node: NodeSummary }> {
    const req = this.pairing.getPending(requestId);
    if (!req) throw new GatewayMethodError('INVALID_REQUEST', 'unknown requestId', { code: 'UNKNOWN_REQUEST_ID' });
    for (const scope of requiredApproveScopes(req.commands ?? [])) {
      if (!callerScopes.includes(scope) && !callerScopes.includes('operator.admin')) {
        throw new GatewayMethodError('INVALID_REQUEST', `missing scope: ${scope}`, {
          code: 'MISSING_SCOPE',
          missingScope: scope,
          requiredScopes: [scope],
        });
      }
    }
    const now = Date.now();
    await this.pairing.approve(req, this.presence.has(req.nodeId), now);
    this.host?.broadcast(
      'node.pair.resolved',
      { requestId, nodeId: req.nodeId, decision: 'approved', ts: now },
      canSeePairing,
    );
    return { requestId, node: this.describe(req.nodeId)! };
  }

  async reject(requestId: string): Promise<{ requestId: string; nodeId: string }> {
    const req = await this.pairing.reject(requestId);
    if (!req) throw new GatewayMethodError('INVALID_REQUEST', 'unknown requestId', { code: 'UNKNOWN_REQUEST_ID' });
    this.host?.broadcast(
      'node.pair.resolved',
      { requestId, nodeId: req.nodeId, decision: 'rejected', ts: Date.now() },
      canSeePairing,
    );
    return { requestId, nodeId: req.nodeId };
  }

  methods(): MethodDefinition[] {
    return [
      implementMethod('node.list', () => ({ ts: Date.now(), nodes: this.listNodes() })),
      implementMethod('node.describe', ({ params }) => {
        const node = this.describe(params.nodeId);
        if (!node)
          throw new GatewayMethodError('INVALID_REQUEST', `unknown node: ${params.nodeId}`, { code: 'UNKNOWN_NODE' });
        return { ts: Date.now(), ...node };
      }),
      implementMethod('node.pair.list', () => ({
        pending: this.listPending(),
        paired: this.pairing.pairedNodes().map((p) => ({ ...p, connected: this.presence.has(p.nodeId) })),
      })),
      implementMethod('node.pair.approve', ({ params, conn }) => this.approve(params.requestId, conn.scopes)),
      implementMethod('node.pair.reject', ({ params }) => this.reject(params.requestId)),
      implementMethod('node.rename', async ({ params }) => {
        if (!(await this.pairing.rename(params.nodeId, params.displayName)))
          throw new GatewayMethodError('INVALID_REQUEST', `unknown node: ${params.nodeId}`, { code: 'UNKNOWN_NODE' });
        return { nodeId: params.nodeId, displayName: params.displayName };
      }),
      implementMethod('node.invoke', ({ params, conn }) => {
        const key = `${conn.deviceId ?? conn.connId}\u0000${params.nodeId}\u0000${params.idempotencyKey}`;
        return this.router.deduplicate(key, conn.connId, async (requesters) => {
          let forwarded = params.params;
          this.checkInvocable(params.nodeId, params.command, false);
          if (params.command === 'system.run') {
            if (!this.systemRunGate)
              throw new GatewayMethodError('UNAVAILABLE', 'exec approvals are not available on this gateway');
            const raw =
              forwarded && typeof forwarded === 'object' && !Array.isArray(forwarded)
                ? (forwarded as Record<string, unknown>)
                : {};
            forwarded = this.systemRunGate({ conn, nodeId: params.nodeId, params: raw });
          }
          const result = await this.invoke({ ...params, params: forwarded, requesters });
          return {
            ok: true as const,
            nodeId: params.nodeId,
            command: params.command,
            payload: result.payload,
            payloadJSON: result.payloadJSON,
          };
        });
      }),
      implementMethod('node.invoke.result', ({ params, conn }) => this.router.handleResult(conn, params)),
      implementMethod('node.event', ({ params, conn }) => {
        let payload = params.payload;
        if (params.payloadJSON) {
          try {
            payload = JSON.parse(params.payloadJSON);
          } catch {
            throw new GatewayMethodError('INVALID_REQUEST', 'malformed payloadJSON');
          }
        }
        const nodeId = nodeIdOf(conn);
        this.options.onNodeEvent?.(nodeId, params.event, payload);
        this.host?.broadcast('node.event', { nodeId, event: params.event, payload, ts: Date.now() }, wantsNodeEvents);
        return { ok: true as const };
      }),
    ];
  }
}
