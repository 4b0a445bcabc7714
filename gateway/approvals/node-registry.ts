import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, serialize, writeJsonAtomic } from '../fs/atomic-file';
import { relayedNodeErrorDetails } from '../protocol/error-codes';
import {
  GatewayMethodError,
  type GatewayConnection,
  type GatewayHost,
  type GatewayModule,
  type MethodCall,
  type MethodDefinition,
} from '../server/gateway-module';

/**
 * Nodes on the gateway (spec 3.7, 5.1, 5.2): who is connected, which declared commands the platform policy lets
 * through, node pairing (the command surface stays hidden until `node.pair.approve`, which needs admin for
 * `system.*`), and `node.invoke` with its result correlation and timeouts.
 */

export const DEFAULT_NODE_INVOKE_TIMEOUT_MS = 30_000;
/**
 * Clawdesk's gateway → node: nobody waits for this invoke any more (every requester disconnected, or it timed out
 * here), so the node stops its run and kills the process tree. Payload `{ id, nodeId, reason }`. Other OpenClaw
 * gateways may never send it; Clawdesk's node enforces the invoke's own `timeoutMs` as a ceiling regardless.
 */
export const NODE_INVOKE_CANCEL_EVENT = 'node.invoke.cancel';

const EXEC_COMMANDS = [
  'system.run.prepare',
  'system.run',
  'system.which',
  'system.execApprovals.get',
  'system.execApprovals.set',
];
const DESKTOP_COMMANDS = [...EXEC_COMMANDS, 'system.notify', 'browser.proxy'];
const MACOS_EXTRA = [
  'canvas.present',
  'canvas.hide',
  'canvas.navigate',
  'canvas.eval',
  'canvas.snapshot',
  'camera.list',
  'location.get',
  'device.info',
  'device.status',
];
/** Commands that need an explicit `allowCommands` even on a platform that knows them. */
const DANGEROUS_COMMANDS = new Set(['camera.snap', 'camera.clip', 'screen.record']);
/** Reserved: reachable only through exec.approvals.node.* (spec 4.3). */
export const RAW_INVOKE_FORBIDDEN = new Set(['system.execApprovals.get', 'system.execApprovals.set']);

export type NodePlatformClass = 'windows' | 'macos' | 'linux' | 'ios' | 'android' | 'unknown';

export function classifyNodePlatform(platform: string | undefined, deviceFamily?: string): NodePlatformClass {
  const p = (platform ?? '').trim().toLowerCase();
  if (p.startsWith('win')) return 'windows';
  if (p.startsWith('mac') || p.startsWith('darwin')) return 'macos';
  if (p.startsWith('linux')) return 'linux';
  if (p.startsWith('ios')) return 'ios';
  if (p.startsWith('android')) return 'android';
  const family = (deviceFamily ?? '').toLowerCase();
  for (const token of family.split(/[^a-z]+/)) {
    if (token === 'windows') return 'windows';
    if (token === 'mac' || token === 'macos') return 'macos';
    if (token === 'linux') return 'linux';
    if (token === 'iphone' || token === 'ipad' || token === 'ios') return 'ios';
    if (token === 'android') return 'android';
  }
  return 'unknown';
}

function platformAllowlist(cls: NodePlatformClass): Set<string> {
  switch (cls) {
    case 'windows':
    case 'linux':
      return new Set(DESKTOP_COMMANDS);
    case 'macos':
      return new Set([...DESKTOP_COMMANDS, ...MACOS_EXTRA]);
    case 'ios':
    case 'android':
      return new Set(['camera.list', 'location.get', 'device.info', 'device.status', 'system.notify']);
    default:
      return new Set();
  }
}

/** Declared commands ∩ platform allowlist ∩ (allowCommands − denyCommands) (spec 5.1). */
export function filterDeclaredCommands(
  declared: readonly string[],
  cls: NodePlatformClass,
  config: { allowCommands?: readonly string[]; denyCommands?: readonly string[] } = {},
): string[] {
  const allowed = platformAllowlist(cls);
  const extra = new Set(config.allowCommands ?? []);
  const deny = new Set(config.denyCommands ?? []);
  const out: string[] = [];
  for (const command of declared) {
    if (deny.has(command) || out.includes(command)) continue;
    if (DANGEROUS_COMMANDS.has(command) ? extra.has(command) : allowed.has(command) || extra.has(command))
      out.push(command);
  }
  return out;
}

/** Scopes `node.pair.approve` needs beyond operator.pairing (spec 3.7, #84144): admin for any `system.*`. */
export function requiredApproveScopes(commands: readonly string[]): string[] {
  if (commands.some((c) => c.startsWith('system.'))) return ['operator.pairing', 'operator.admin'];
  if (commands.length) return ['operator.pairing', 'operator.write'];
  return ['operator.pairing'];
}

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

export type PairedNode = z.infer<typeof pairedNodeSchema>;
export type PendingNodeRequest = z.infer<typeof pendingNodeSchema>;

const pairedFileSchema = z.object({ version: z.literal(1), nodes: z.record(z.string(), pairedNodeSchema) });
const pendingFileSchema = z.object({ version: z.literal(1), requests: z.record(z.string(), pendingNodeSchema) });

interface LiveNode {
  conn: GatewayConnection;
  nodeId: string;
  /** Declared ∩ policy. */
  declared: string[];
}

interface PendingInvoke {
  nodeId: string;
  connId: string;
  /** The node's connection, to tell it when nobody waits any more. */
  nodeConn: GatewayConnection;
  /** Connections waiting for the answer (more than one when a retry re-attached by idempotency key); none = internal. */
  requesters?: Set<string>;
  resolve: (value: { payload: unknown; payloadJSON: string | null }) => void;
  reject: (error: GatewayMethodError) => void;
  timer: NodeJS.Timeout;
}

export interface NodeRegistryOptions {
  /** Nodes approved without a prompt when they connect direct-local (Clawdesk's own embedded runner). */
  trustedLocalNodeIds?: readonly string[];
  allowCommands?: readonly string[];
  denyCommands?: readonly string[];
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

function nodeIdOf(conn: GatewayConnection): string {
  return conn.deviceId ?? conn.client.instanceId ?? conn.client.id;
}

export class NodeRegistry implements GatewayModule {
  readonly name = 'nodes';
  private host?: GatewayHost;
  private stateDir = '';
  private paired = new Map<string, PairedNode>();
  private pending = new Map<string, PendingNodeRequest>();
  private readonly live = new Map<string, LiveNode>();
  private readonly invokes = new Map<string, PendingInvoke>();
  private readonly idempotent = new Map<string, { at: number; promise: Promise<unknown>; requesters: Set<string> }>();
  private readonly trusted: Set<string>;
  private systemRunGate?: SystemRunGate;

  constructor(private readonly options: NodeRegistryOptions = {}) {
    this.trusted = new Set(options.trustedLocalNodeIds ?? []);
  }

  setSystemRunGate(gate: SystemRunGate): void {
    this.systemRunGate = gate;
  }

  /** Pre-approves a node id: when it connects direct-local its declared surface is approved without a prompt. */
  approveNodeSilently(nodeId: string): void {
    this.trusted.add(nodeId);
    const live = this.live.get(nodeId);
    if (live && live.conn.locality === 'direct_local') void this.reconcile(live);
  }

  /** Drops a node's pairing (Clawdesk's own runner from an earlier run that used an in-memory key). */
  async forgetNode(nodeId: string): Promise<boolean> {
    if (!this.paired.delete(nodeId)) return false;
    await this.persist();
    return true;
  }

  private pairedPath(): string {
    return path.join(this.stateDir, 'nodes', 'paired.json');
  }
  private pendingPath(): string {
    return path.join(this.stateDir, 'nodes', 'pending.json');
  }

  async start(host: GatewayHost): Promise<void> {
    this.host = host;
    this.stateDir = host.stateDir;
    const paired = await readJsonFile(this.pairedPath(), { parse: (v) => pairedFileSchema.parse(v) });
    if (paired.kind === 'ok') this.paired = new Map(Object.entries(paired.value.nodes));
    else if (paired.kind === 'corrupt')
      host.log('warn', `node pairing file was corrupt and was moved aside: ${paired.error}`, {
        quarantinedTo: paired.quarantinedTo,
      });
    const pending = await readJsonFile(this.pendingPath(), { parse: (v) => pendingFileSchema.parse(v) });
    if (pending.kind === 'ok') this.pending = new Map(Object.entries(pending.value.requests));
    else if (pending.kind === 'corrupt')
      host.log('warn', `node pending file was corrupt and was moved aside: ${pending.error}`, {
        quarantinedTo: pending.quarantinedTo,
      });
  }

  stop(): void {
    for (const [id, inv] of this.invokes) {
      clearTimeout(inv.timer);
      inv.reject(new GatewayMethodError('UNAVAILABLE', 'gateway shutting down', { code: 'NOT_CONNECTED' }));
      this.invokes.delete(id);
    }
  }

  private persist(): Promise<void> {
    const paired = { version: 1, nodes: Object.fromEntries(this.paired) };
    const pending = { version: 1, requests: Object.fromEntries(this.pending) };
    return serialize(this.pairedPath(), async () => {
      await writeJsonAtomic(this.pairedPath(), paired);
      await writeJsonAtomic(this.pendingPath(), pending);
    });
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
    const previous = this.live.get(nodeId);
    const live: LiveNode = { conn, nodeId, declared };
    this.live.set(nodeId, live);
    if (previous && previous.conn.connId !== conn.connId) this.failInvokesFor(previous.conn.connId, 'node reconnected');
    void this.reconcile(live).catch((error) =>
      this.host?.log('error', 'node pairing reconcile failed', { nodeId, error: String(error) }),
    );
  }

  onDisconnected(conn: GatewayConnection): void {
    this.dropRequester(conn.connId);
    if (conn.role !== 'node') return;
    const nodeId = nodeIdOf(conn);
    if (this.live.get(nodeId)?.conn.connId === conn.connId) this.live.delete(nodeId);
    this.failInvokesFor(conn.connId, 'node disconnected');
  }

  private failInvokesFor(connId: string, why: string): void {
    for (const [id, inv] of this.invokes) {
      if (inv.connId !== connId) continue;
      clearTimeout(inv.timer);
      this.invokes.delete(id);
      inv.reject(
        new GatewayMethodError('UNAVAILABLE', `${why} before answering`, { code: 'NOT_CONNECTED', nodeId: inv.nodeId }),
      );
    }
  }

  /**
   * A requester left: invokes nobody else waits for are settled here and cancelled on the node, which kills the
   * run's process tree (a `sleep 300` or `yes` must not outlive the client that asked for it).
   */
  private dropRequester(connId: string): void {
    for (const [id, inv] of this.invokes) {
      if (!inv.requesters?.delete(connId) || inv.requesters.size > 0) continue;
      this.cancelInvoke(id, inv, 'requester disconnected');
      inv.reject(
        new GatewayMethodError('UNAVAILABLE', 'node invoke cancelled: requester disconnected', {
          code: 'REQUESTER_GONE',
          nodeId: inv.nodeId,
        }),
      );
    }
  }

  private cancelInvoke(id: string, inv: PendingInvoke, reason: string): void {
    clearTimeout(inv.timer);
    this.invokes.delete(id);
    inv.nodeConn.sendEvent(NODE_INVOKE_CANCEL_EVENT, { id, nodeId: inv.nodeId, reason });
  }

  private meta(live: LiveNode): z.infer<typeof nodeMetaSchema> {
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

  /** Files (or silently approves) a node-pairing request when the node is new or declares more than approved. */
  private async reconcile(live: LiveNode): Promise<void> {
    const paired = this.paired.get(live.nodeId);
    const approved = new Set(paired?.commands ?? []);
    const beyond = live.declared.filter((c) => !approved.has(c));
    if (paired && !beyond.length) {
      paired.lastConnectedAtMs = Date.now();
      return;
    }
    const meta = this.meta(live);
    if (this.trusted.has(live.nodeId) && live.conn.locality === 'direct_local') {
      const now = Date.now();
      this.paired.set(live.nodeId, {
        ...meta,
        displayName: paired?.displayName ?? meta.displayName,
        commands: [...new Set([...(paired?.commands ?? []), ...live.declared])],
        createdAtMs: paired?.createdAtMs ?? now,
        approvedAtMs: now,
        lastConnectedAtMs: now,
      });
      for (const [id, req] of this.pending) if (req.nodeId === live.nodeId) this.pending.delete(id);
      await this.persist();
      return;
    }
    for (const [id, req] of this.pending) if (req.nodeId === live.nodeId) this.pending.delete(id);
    const request: PendingNodeRequest = {
      ...meta,
      requestId: randomUUID(),
      ts: Date.now(),
      silent: false,
      isRepair: Boolean(paired),
    };
    this.pending.set(request.requestId, request);
    await this.persist();
    this.host?.broadcast(
      'node.pair.requested',
      { ...request, requiredApproveScopes: requiredApproveScopes(request.commands ?? []) },
      canSeePairing,
    );
  }

  private pendingFor(nodeId: string): PendingNodeRequest | undefined {
    for (const req of this.pending.values()) if (req.nodeId === nodeId) return req;
    return undefined;
  }

  /** The commands an operator may invoke now: approved ∩ declared on this connection. */
  surfaceOf(nodeId: string): string[] {
    const live = this.live.get(nodeId);
    const paired = this.paired.get(nodeId);
    if (!live || !paired) return [];
    const approved = new Set(paired.commands ?? []);
    return live.declared.filter((c) => approved.has(c));
  }

  isConnected(nodeId: string): boolean {
    return this.live.has(nodeId);
  }

  private describe(nodeId: string): Record<string, unknown> | null {
    const live = this.live.get(nodeId);
    const paired = this.paired.get(nodeId);
    if (!live && !paired) return null;
    const base = live ? this.meta(live) : { ...paired! };
    const out: Record<string, unknown> = {
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

  listNodes(): Record<string, unknown>[] {
    const ids = new Set([...this.paired.keys(), ...this.live.keys()]);
    return [...ids]
      .map((id) => this.describe(id)!)
      .sort((a, b) => String(a.displayName ?? a.nodeId).localeCompare(String(b.displayName ?? b.nodeId)));
  }

  listPending(): Array<PendingNodeRequest & { requiredApproveScopes: string[] }> {
    return [...this.pending.values()].map((r) => ({
      ...r,
      requiredApproveScopes: requiredApproveScopes(r.commands ?? []),
    }));
  }

  /** The gateway's checks before anything reaches the node (spec 5.2 step 2), in the reference's order. */
  checkInvocable(nodeId: string, command: string, internal: boolean): LiveNode {
    const live = this.live.get(nodeId);
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
    if (!this.paired.has(nodeId) || (live.declared.includes(command) && !this.surfaceOf(nodeId).includes(command))) {
      const req = this.pendingFor(nodeId);
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
  }): Promise<{ payload: unknown; payloadJSON: string | null }> {
    const live = this.checkInvocable(input.nodeId, input.command, input.internal ?? false);
    const id = randomUUID();
    const timeoutMs = input.timeoutMs ?? this.options.defaultInvokeTimeoutMs ?? DEFAULT_NODE_INVOKE_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const inv = this.invokes.get(id);
        if (inv) this.cancelInvoke(id, inv, `timed out on the gateway after ${timeoutMs} ms`);
        reject(
          new GatewayMethodError('UNAVAILABLE', 'node invoke timed out', {
            code: 'TIMEOUT',
            nodeId: input.nodeId,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      this.invokes.set(id, {
        nodeId: input.nodeId,
        connId: live.conn.connId,
        nodeConn: live.conn,
        requesters: input.requesters,
        resolve,
        reject,
        timer,
      });
      const sent = live.conn.sendEvent('node.invoke.request', {
        id,
        nodeId: input.nodeId,
        command: input.command,
        paramsJSON: input.params === undefined ? null : JSON.stringify(input.params),
        timeoutMs,
        idempotencyKey: input.idempotencyKey,
      });
      if (!sent) {
        clearTimeout(timer);
        this.invokes.delete(id);
        reject(
          new GatewayMethodError('UNAVAILABLE', 'node not connected', { code: 'NOT_CONNECTED', nodeId: input.nodeId }),
        );
      }
    });
  }

  private handleResult(conn: GatewayConnection, params: z.infer<typeof invokeResultParams>): Record<string, unknown> {
    const inv = this.invokes.get(params.id);
    if (!inv)
      throw new GatewayMethodError('INVALID_REQUEST', 'unknown or expired invoke id', { code: 'UNKNOWN_INVOKE_ID' });
    if (inv.connId !== conn.connId || inv.nodeId !== params.nodeId) {
      throw new GatewayMethodError('INVALID_REQUEST', 'invoke result from a different node', { code: 'NODE_MISMATCH' });
    }
    this.invokes.delete(params.id);
    clearTimeout(inv.timer);
    if (!params.ok) {
      const nodeError = {
        code: params.error?.code ?? 'UNAVAILABLE',
        message: params.error?.message ?? 'node command failed',
      };
      inv.reject(new GatewayMethodError('UNAVAILABLE', nodeError.message, relayedNodeErrorDetails(nodeError)));
      return { ok: true };
    }
    let payload: unknown = params.payload ?? null;
    let payloadJSON: string | null = params.payloadJSON ?? null;
    if (payloadJSON !== null) {
      try {
        payload = JSON.parse(payloadJSON);
      } catch {
        inv.reject(
          new GatewayMethodError('UNAVAILABLE', 'node returned malformed payloadJSON', { code: 'BAD_NODE_PAYLOAD' }),
        );
        return { ok: true };
      }
    } else if (params.payload !== undefined) payloadJSON = JSON.stringify(params.payload);
    inv.resolve({ payload, payloadJSON });
    return { ok: true };
  }

  async approve(
    requestId: string,
    callerScopes: readonly string[],
  ): Promise<{ requestId: string; node: Record<string, unknown> }> {
    const req = this.pending.get(requestId);
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
    const prev = this.paired.get(req.nodeId);
    const { requestId: _r, ts: _t, silent: _s, isRepair: _i, ...meta } = req;
    this.paired.set(req.nodeId, {
      ...meta,
      displayName: prev?.displayName ?? meta.displayName,
      commands: [...new Set([...(prev?.commands ?? []), ...(req.commands ?? [])])],
      createdAtMs: prev?.createdAtMs ?? now,
      approvedAtMs: now,
      lastConnectedAtMs: this.live.has(req.nodeId) ? now : prev?.lastConnectedAtMs,
    });
    this.pending.delete(requestId);
    await this.persist();
    this.host?.broadcast(
      'node.pair.resolved',
      { requestId, nodeId: req.nodeId, decision: 'approved', ts: now },
      canSeePairing,
    );
    return { requestId, node: this.describe(req.nodeId)! };
  }

  async reject(requestId: string): Promise<{ requestId: string; nodeId: string }> {
    const req = this.pending.get(requestId);
    if (!req) throw new GatewayMethodError('INVALID_REQUEST', 'unknown requestId', { code: 'UNKNOWN_REQUEST_ID' });
    this.pending.delete(requestId);
    await this.persist();
    this.host?.broadcast(
      'node.pair.resolved',
      { requestId, nodeId: req.nodeId, decision: 'rejected', ts: Date.now() },
      canSeePairing,
    );
    return { requestId, nodeId: req.nodeId };
  }

  methods(): MethodDefinition[] {
    const invokeParams = z.looseObject({
      nodeId: z.string().min(1),
      command: z.string().min(1),
      params: z.unknown().optional(),
      timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
      idempotencyKey: z.string().min(1),
    });
    return [
      {
        name: 'node.list',
        access: { kind: 'scope', scope: 'operator.read' },
        params: z.looseObject({}),
        handler: () => ({ ts: Date.now(), nodes: this.listNodes() }),
      },
      {
        name: 'node.describe',
        access: { kind: 'scope', scope: 'operator.read' },
        params: z.looseObject({ nodeId: z.string().min(1) }),
        handler: ({ params }: MethodCall<{ nodeId: string }>) => {
          const node = this.describe(params.nodeId);
          if (!node)
            throw new GatewayMethodError('INVALID_REQUEST', `unknown node: ${params.nodeId}`, { code: 'UNKNOWN_NODE' });
          return { ts: Date.now(), ...node };
        },
      },
      {
        name: 'node.pair.list',
        access: { kind: 'scope', scope: 'operator.pairing' },
        params: z.looseObject({}),
        handler: () => ({
          pending: this.listPending(),
          paired: [...this.paired.values()].map((p) => ({ ...p, connected: this.live.has(p.nodeId) })),
        }),
      },
      {
        name: 'node.pair.approve',
        access: { kind: 'scope', scope: 'operator.pairing' },
        params: z.looseObject({ requestId: z.string().min(1) }),
        handler: ({ params, conn }: MethodCall<{ requestId: string }>) => this.approve(params.requestId, conn.scopes),
      },
      {
        name: 'node.pair.reject',
        access: { kind: 'scope', scope: 'operator.pairing' },
        params: z.looseObject({ requestId: z.string().min(1) }),
        handler: ({ params }: MethodCall<{ requestId: string }>) => this.reject(params.requestId),
      },
      {
        name: 'node.rename',
        access: { kind: 'scope', scope: 'operator.pairing' },
        params: z.looseObject({ nodeId: z.string().min(1), displayName: z.string().trim().min(1).max(200) }),
        handler: async ({ params }: MethodCall<{ nodeId: string; displayName: string }>) => {
          const paired = this.paired.get(params.nodeId);
          if (!paired)
            throw new GatewayMethodError('INVALID_REQUEST', `unknown node: ${params.nodeId}`, { code: 'UNKNOWN_NODE' });
          paired.displayName = params.displayName;
          await this.persist();
          return { nodeId: params.nodeId, displayName: params.displayName };
        },
      },
      {
        name: 'node.invoke',
        access: { kind: 'scope', scope: 'operator.write' },
        params: invokeParams,
        handler: async ({ params, conn }: MethodCall<z.infer<typeof invokeParams>>) => {
          const key = `${conn.deviceId ?? conn.connId}\u0000${params.nodeId}\u0000${params.idempotencyKey}`;
          this.sweepIdempotency();
          const existing = this.idempotent.get(key);
          if (existing) {
            existing.requesters.add(conn.connId);
            return existing.promise;
          }
          const requesters = new Set([conn.connId]);
          const promise = (async () => {
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
              ok: true,
              nodeId: params.nodeId,
              command: params.command,
              payload: result.payload,
              payloadJSON: result.payloadJSON,
            };
          })();
          this.idempotent.set(key, { at: Date.now(), promise, requesters });
          promise.catch(() => this.idempotent.delete(key));
          return promise;
        },
      },
      {
        name: 'node.invoke.result',
        access: { kind: 'node' },
        params: invokeResultParams,
        handler: ({ params, conn }: MethodCall<z.infer<typeof invokeResultParams>>) => this.handleResult(conn, params),
      },
      {
        name: 'node.event',
        access: { kind: 'node' },
        params: z.looseObject({
          event: z.string().min(1),
          payload: z.unknown().optional(),
          payloadJSON: z.string().nullable().optional(),
        }),
        handler: ({ params, conn }: MethodCall<{ event: string; payload?: unknown; payloadJSON?: string | null }>) => {
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
          return { ok: true };
        },
      },
    ];
  }

  private sweepIdempotency(): void {
    const cutoff = Date.now() - 60_000;
    for (const [key, entry] of this.idempotent) if (entry.at < cutoff) this.idempotent.delete(key);
  }
}

const invokeResultParams = z.looseObject({
  id: z.string().min(1),
  nodeId: z.string().min(1),
  ok: z.boolean(),
  payload: z.unknown().optional(),
  payloadJSON: z.string().nullable().optional(),
  error: z.looseObject({ code: z.string().optional(), message: z.string().optional() }).nullable().optional(),
});
