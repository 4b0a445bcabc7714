import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EXEC_ASK, EXEC_SECURITY } from '../exec/approvals-file';
import { allowedDecisions, type ApprovalDecision } from '../exec/policy';
import {
  GatewayMethodError,
  type GatewayConnection,
  type GatewayHost,
  type GatewayModule,
  type MethodCall,
  type MethodDefinition,
} from '../server/gateway-module';

/**
 * `exec.approval.*` (spec 4.3, 9.7): pending approvals, delivery to approval clients only, resolution,
 * expiry, and the binding that lets `node.invoke system.run` carry `approved: true` (spec 5.4).
 */

export const DEFAULT_EXEC_APPROVAL_TIMEOUT_MS = 30 * 60_000;
/** Resolved approvals stay readable (waitDecision) this long after their decision. */
export const RESOLVED_GRACE_MS = 15_000;
/** Bounds on live approval records, so a client holding operator.approvals cannot grow the gateway without limit. */
export const MAX_PENDING_APPROVALS_PER_REQUESTER = 256;
export const MAX_APPROVAL_RECORDS = 10_000;

const UI_CLIENT_IDS = new Set(['openclaw-control-ui', 'webchat-ui']);

/**
 * An approval client (spec 9.7): an operator with operator.approvals or admin that advertises the
 * `exec-approvals` (or `approvals`) cap, or a known UI client. Scope is required either way.
 */
export function isApprovalClient(conn: GatewayConnection): boolean {
  if (conn.role !== 'operator') return false;
  if (!conn.scopes.includes('operator.approvals') && !conn.scopes.includes('operator.admin')) return false;
  if (conn.caps.includes('exec-approvals') || conn.caps.includes('approvals')) return true;
  if (UI_CLIENT_IDS.has(conn.client.id)) return true;
  return conn.client.id === 'openclaw-macos' && conn.client.mode === 'ui';
}

const hasApprovalsScope = (conn: GatewayConnection) =>
  conn.role === 'operator' && (conn.scopes.includes('operator.approvals') || conn.scopes.includes('operator.admin'));

/** Order-independent hash of an environment override map; no overrides hash like an empty map. */
export function envHash(env: unknown): string {
  const entries =
    env && typeof env === 'object' && !Array.isArray(env)
      ? Object.entries(env as Record<string, unknown>)
          .map(([k, v]) => [k, String(v)])
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      : [];
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

/** Removes terminal control characters from display text; the argv itself is bound separately. */
function sanitizeCommandText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\uFFFD');
}

const planSchema = z.looseObject({
  argv: z.array(z.string()).min(1),
  cwd: z.string().nullable().optional(),
  commandText: z.string().optional(),
  commandPreview: z.string().nullable().optional(),
  agentId: z.string().nullable().optional(),
  sessionKey: z.string().nullable().optional(),
  mutableFileOperand: z.unknown().optional(),
});

export const approvalRequestParams = z.looseObject({
  id: z.string().min(1).max(200).optional(),
  command: z.string().optional(),
  commandArgv: z.array(z.string()).optional(),
  systemRunPlan: planSchema.nullable().optional(),
  env: z.record(z.string(), z.string()).nullable().optional(),
  cwd: z.string().nullable().optional(),
  nodeId: z.string().nullable().optional(),
  host: z.string().nullable().optional(),
  security: z.enum(EXEC_SECURITY).nullable().optional(),
  ask: z.enum(EXEC_ASK).nullable().optional(),
  agentId: z.string().nullable().optional(),
  resolvedPath: z.string().nullable().optional(),
  sessionKey: z.string().nullable().optional(),
  turnSourceChannel: z.string().nullable().optional(),
  turnSourceTo: z.string().nullable().optional(),
  turnSourceAccountId: z.string().nullable().optional(),
  turnSourceThreadId: z.union([z.string(), z.number()]).nullable().optional(),
  timeoutMs: z.number().int().min(1).max(24 * 3600_000).optional(),
  twoPhase: z.boolean().optional(),
});
type ApprovalRequestParams = z.infer<typeof approvalRequestParams>;

export type TerminalReason = 'user' | 'timeout' | 'no-approval-route';

/** Who decided, as `approval.*` reports it: the device when the resolver proved one, else its client id. */
export interface ApprovalResolver {
  kind: 'device' | 'runtime';
  id: string;
}

export function resolverOf(conn: GatewayConnection): ApprovalResolver {
  return conn.deviceId ? { kind: 'device', id: conn.deviceId } : { kind: 'runtime', id: conn.client.id };
}

interface Binding {
  nodeId: string | null;
  argv: string[] | null;
  cwd: string | null;
  agentId: string | null;
  sessionKey: string | null;
  envHash: string;
}

export interface ApprovalRecord {
  id: string;
  request: Record<string, unknown>;
  createdAtMs: number;
  expiresAtMs: number;
  requester: { connId: string; deviceId?: string };
  allowed: ApprovalDecision[];
  binding: Binding;
  /** The argv and cwd the requester sent before the node hardened them. */
  originalArgv: string[] | null;
  originalCwd: string | null;
  plan: Record<string, unknown> | null;
  status: 'pending' | 'resolved' | 'expired';
  decision: ApprovalDecision | null;
  terminalReason?: TerminalReason;
  resolvedBy?: string;
  resolver?: ApprovalResolver;
  resolvedAtMs?: number;
  consumed: boolean;
  waiters: Array<() => void>;
  timer?: NodeJS.Timeout;
  cleanup?: NodeJS.Timeout;
}

export interface ExecApprovalManagerOptions {
  /** Default expiry of a request that names none (30 min). */
  defaultTimeoutMs?: number;
  /** How long a decided request stays readable by waitDecision (15 s). */
  resolvedGraceMs?: number;
  now?: () => number;
}

/** The text the openclaw CLI matches ("approval not found") for its id fallback. */
export function approvalNotFound(): GatewayMethodError {
  return new GatewayMethodError('INVALID_REQUEST', 'approval not found', { reason: 'APPROVAL_NOT_FOUND' });
}

function bindingError(code: string, message: string): GatewayMethodError {
  return new GatewayMethodError('INVALID_REQUEST', message, { code, reason: code });
}

function sameArgv(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return a.every((v, i) => v === b[i]);
}

export class ExecApprovalManager implements GatewayModule {
  readonly name = 'exec-approvals';
  private host?: GatewayHost;
  private readonly records = new Map<string, ApprovalRecord>();
  private readonly now: () => number;

  constructor(private readonly options: ExecApprovalManagerOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  start(host: GatewayHost): void {
    this.host = host;
  }

  stop(): void {
    for (const record of this.records.values()) {
      clearTimeout(record.timer);
      clearTimeout(record.cleanup);
      if (record.status === 'pending') this.finish(record, null, 'timeout');
    }
  }

  events(): string[] {
    return ['exec.approval.requested', 'exec.approval.resolved'];
  }

  /** Approval clients other than the requester's own connection. */
  private audience(requesterConnId: string): (conn: GatewayConnection) => boolean {
    return (conn) => conn.connId !== requesterConnId && isApprovalClient(conn);
  }

  private hasAudience(requesterConnId: string): boolean {
    const accept = this.audience(requesterConnId);
    for (const conn of this.host?.connections() ?? []) if (accept(conn)) return true;
    return false;
  }

  pendingRecords(): ApprovalRecord[] {
    return [...this.records.values()].filter((r) => r.status === 'pending');
  }

  private lookup(idOrPrefix: string, opts: { pendingOnly: boolean }): ApprovalRecord {
    const exact = this.records.get(idOrPrefix);
    if (exact && (!opts.pendingOnly || exact.status === 'pending')) return exact;
    const candidates = [...this.records.values()].filter(
      (r) => r.id.startsWith(idOrPrefix) && (!opts.pendingOnly || r.status === 'pending'),
    );
    if (candidates.length === 1) return candidates[0];
    if (candidates.length > 1) {
      throw new GatewayMethodError('INVALID_REQUEST', `ambiguous approval id prefix "${idOrPrefix}" (${candidates.length} matches)`, {
        reason: 'APPROVAL_AMBIGUOUS',
      });
    }
    if (exact) {
      throw new GatewayMethodError('INVALID_REQUEST', 'approval already resolved', { reason: 'APPROVAL_ALREADY_RESOLVED', decision: exact.decision });
    }
    throw new GatewayMethodError('INVALID_REQUEST', 'unknown or expired approval id', { reason: 'APPROVAL_NOT_FOUND' });
  }

  private finish(record: ApprovalRecord, decision: ApprovalDecision | null, reason: TerminalReason, resolvedBy?: string, resolver?: ApprovalResolver): void {
    if (record.status !== 'pending') return;
    clearTimeout(record.timer);
    const ts = this.now();
    record.status = reason === 'user' ? 'resolved' : 'expired';
    record.decision = decision;
    record.terminalReason = reason;
    record.resolvedBy = resolvedBy;
    record.resolver = resolver;
    record.resolvedAtMs = ts;
    if (reason !== 'no-approval-route') {
      this.host?.broadcast(
        'exec.approval.resolved',
        { id: record.id, decision, resolvedBy: resolvedBy ?? null, ts, request: record.request, ...(reason === 'user' ? {} : { terminalReason: reason }) },
        this.audience(record.requester.connId),
      );
    }
    for (const wake of record.waiters.splice(0)) wake();
    // Kept until it expires (binding) and at least the grace period (waitDecision). A request nobody could see
    // binds nothing, so it only stays for the grace period.
    const grace = this.options.resolvedGraceMs ?? RESOLVED_GRACE_MS;
    const keep = reason === 'no-approval-route' ? grace : Math.max(record.expiresAtMs - ts, grace);
    record.cleanup = setTimeout(() => this.records.delete(record.id), keep);
    record.cleanup.unref();
  }

  private outcome(record: ApprovalRecord): Record<string, unknown> {
    return {
      id: record.id,
      decision: record.decision,
      createdAtMs: record.createdAtMs,
      expiresAtMs: record.expiresAtMs,
      ...(record.terminalReason ? { terminalReason: record.terminalReason } : {}),
    };
  }

  private waitFor(record: ApprovalRecord): Promise<void> {
    if (record.status !== 'pending') return Promise.resolve();
    return new Promise((resolve) => record.waiters.push(resolve));
  }

  private create(params: ApprovalRequestParams, conn: GatewayConnection): ApprovalRecord {
    const id = params.id ?? randomUUID();
    if (id.startsWith('plugin:')) throw new GatewayMethodError('INVALID_REQUEST', 'approval ids starting with "plugin:" are reserved');
    const existing = this.records.get(id);
    if (existing?.status === 'pending') throw new GatewayMethodError('INVALID_REQUEST', `approval ${id} is already pending`, { reason: 'APPROVAL_DUPLICATE' });
    const requesterKey = conn.deviceId ?? conn.connId;
    let pendingForRequester = 0;
    for (const r of this.records.values()) if (r.status === 'pending' && (r.requester.deviceId ?? r.requester.connId) === requesterKey) pendingForRequester += 1;
    if (pendingForRequester >= MAX_PENDING_APPROVALS_PER_REQUESTER) {
      throw new GatewayMethodError('INVALID_REQUEST', `too many pending approvals from this client (${MAX_PENDING_APPROVALS_PER_REQUESTER}); wait for decisions first`, { reason: 'APPROVAL_LIMIT' }, true);
    }
    if (!existing && this.records.size >= MAX_APPROVAL_RECORDS) {
      throw new GatewayMethodError('UNAVAILABLE', 'too many approval records; retry shortly', { reason: 'APPROVAL_LIMIT' }, true);
    }
    if (existing) {
      clearTimeout(existing.cleanup);
      this.records.delete(id);
    }
    const host = params.host ?? null;
    const plan = params.systemRunPlan ?? null;
    if (host === 'node' && (!params.nodeId || !plan)) {
      throw new GatewayMethodError('INVALID_REQUEST', 'host "node" approvals need nodeId and systemRunPlan');
    }
    const argv = plan?.argv ?? params.commandArgv ?? null;
    const commandText = plan?.commandText ?? params.command ?? (argv ? argv.join(' ') : null);
    if (!commandText) throw new GatewayMethodError('INVALID_REQUEST', 'an approval needs command, commandArgv or systemRunPlan');
    const ask = params.ask ?? 'on-miss';
    const allowed = allowedDecisions(ask);
    const binding: Binding = {
      nodeId: params.nodeId ?? null,
      argv,
      cwd: (plan ? plan.cwd : params.cwd) ?? null,
      agentId: (plan ? plan.agentId : params.agentId) ?? params.agentId ?? null,
      sessionKey: (plan ? plan.sessionKey : params.sessionKey) ?? params.sessionKey ?? null,
      envHash: envHash(params.env),
    };
    const createdAtMs = this.now();
    const expiresAtMs = createdAtMs + (params.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_EXEC_APPROVAL_TIMEOUT_MS);
    const request: Record<string, unknown> = {
      command: sanitizeCommandText(commandText),
      commandPreview: plan?.commandPreview ? sanitizeCommandText(plan.commandPreview) : undefined,
      commandArgv: host === 'node' ? undefined : params.commandArgv,
      envKeys: params.env ? Object.keys(params.env).sort() : undefined,
      systemRunBinding: argv ? { argv: binding.argv, cwd: binding.cwd, agentId: binding.agentId, sessionKey: binding.sessionKey, envHash: binding.envHash } : undefined,
      systemRunPlan: plan ?? undefined,
      cwd: binding.cwd,
      nodeId: params.nodeId ?? null,
      host,
      security: params.security ?? null,
      ask,
      allowedDecisions: allowed,
      agentId: binding.agentId,
      resolvedPath: params.resolvedPath ?? null,
      sessionKey: binding.sessionKey,
      turnSourceChannel: params.turnSourceChannel ?? undefined,
      turnSourceTo: params.turnSourceTo ?? undefined,
      turnSourceAccountId: params.turnSourceAccountId ?? undefined,
      turnSourceThreadId: params.turnSourceThreadId ?? undefined,
    };
    for (const key of Object.keys(request)) if (request[key] === undefined) delete request[key];
    const record: ApprovalRecord = {
      id,
      request,
      createdAtMs,
      expiresAtMs,
      requester: { connId: conn.connId, deviceId: conn.deviceId },
      allowed,
      binding,
      originalArgv: params.commandArgv ?? null,
      originalCwd: params.cwd ?? null,
      plan: plan ? { ...plan } : null,
      status: 'pending',
      decision: null,
      consumed: false,
      waiters: [],
    };
    this.records.set(id, record);
    return record;
  }

  /** The request flow: deliver to approval clients, answer at once with null when there are none. */
  async request(call: MethodCall<ApprovalRequestParams>): Promise<Record<string, unknown>> {
    const record = this.create(call.params, call.conn);
    if (!this.hasAudience(call.conn.connId)) {
      this.finish(record, null, 'no-approval-route');
      return { ...this.outcome(record), deliveryRoute: 'none' };
    }
    record.timer = setTimeout(() => this.finish(record, null, 'timeout'), Math.max(0, record.expiresAtMs - this.now()));
    record.timer.unref();
    this.host?.broadcast(
      'exec.approval.requested',
      { approvalKind: 'exec', id: record.id, request: record.request, createdAtMs: record.createdAtMs, expiresAtMs: record.expiresAtMs },
      this.audience(call.conn.connId),
    );
    if (call.params.twoPhase) {
      call.sendInterim({ status: 'accepted', id: record.id, deliveryRoute: 'approval-client', createdAtMs: record.createdAtMs, expiresAtMs: record.expiresAtMs });
    }
    await this.waitFor(record);
    return this.outcome(record);
  }

  resolve(idOrPrefix: string, decision: ApprovalDecision, conn: GatewayConnection): { ok: true } {
    const record = this.lookup(idOrPrefix, { pendingOnly: true });
    this.decide(record, decision, conn);
    return { ok: true };
  }

  /** The record with exactly this id, pending or still remembered after its end; no prefixes. */
  find(id: string): ApprovalRecord | undefined {
    return this.records.get(id);
  }

  /**
   * `approval.resolve` (the CLI's `approvals resolve`): the same decision and authorization as exec.approval.resolve
   * for a pending approval. Repeating the recorded decision is answered `applied: false`; anything else on a finished
   * approval is an error, so a caller never mistakes someone else's decision for its own.
   */
  settle(id: string, decision: ApprovalDecision, conn: GatewayConnection): { applied: boolean; record: ApprovalRecord } {
    const record = this.records.get(id);
    if (!record) throw approvalNotFound();
    this.refuseSelfResolve(record, conn);
    if (record.status === 'pending') {
      this.decide(record, decision, conn);
      return { applied: true, record };
    }
    if (record.status === 'expired' || record.decision === null) {
      throw new GatewayMethodError('INVALID_REQUEST', `approval ${record.id} expired without a decision`, { reason: 'APPROVAL_EXPIRED' });
    }
    if (record.decision === decision) return { applied: false, record };
    const by = record.resolver ? ` by ${record.resolver.kind}:${record.resolver.id}` : '';
    throw new GatewayMethodError('INVALID_REQUEST', `approval ${record.id} was already resolved with ${record.decision}${by}`, {
      reason: 'APPROVAL_ALREADY_RESOLVED',
      decision: record.decision,
    });
  }

  private refuseSelfResolve(record: ApprovalRecord, conn: GatewayConnection): void {
    if (record.requester.connId === conn.connId) {
      throw new GatewayMethodError('INVALID_REQUEST', 'an approval cannot be resolved by the connection that requested it', { reason: 'APPROVAL_SELF_RESOLVE' });
    }
  }

  /** Resolves a pending approval: never by its requester, only with a decision it offers. */
  private decide(record: ApprovalRecord, decision: ApprovalDecision, conn: GatewayConnection): void {
    this.refuseSelfResolve(record, conn);
    if (!record.allowed.includes(decision)) {
      throw new GatewayMethodError('INVALID_REQUEST', `decision ${decision} is not allowed for this approval (allowed: ${record.allowed.join(', ')})`, {
        reason: decision === 'allow-always' ? 'APPROVAL_ALLOW_ALWAYS_UNAVAILABLE' : 'APPROVAL_DECISION_NOT_ALLOWED',
      });
    }
    this.finish(record, decision, 'user', conn.client.displayName ?? conn.client.id, resolverOf(conn));
  }

  /**
   * The gate in front of `node.invoke system.run` (spec 5.4). Without an approval claim the approval fields are
   * stripped and the node's own policy decides. With one, `runId` must name a live approval for this node, from
   * the same device (or connection), with the same argv, cwd, agent, session and environment.
   */
  gateSystemRun(input: { conn: GatewayConnection; nodeId: string; params: Record<string, unknown> }): Record<string, unknown> {
    const { conn, nodeId, params } = input;
    const out: Record<string, unknown> = { ...params };
    const claims = params.approved === true || (params.approvalDecision !== undefined && params.approvalDecision !== null);
    delete out.approved;
    delete out.approvalDecision;
    if (!claims) return out;
    const runId = typeof params.runId === 'string' && params.runId ? params.runId : null;
    if (!runId) throw bindingError('MISSING_RUN_ID', 'approved system.run needs runId naming the approval');
    const record = this.records.get(runId);
    if (!record) throw bindingError('UNKNOWN_APPROVAL_ID', 'unknown or expired approval id');
    if (this.now() > record.expiresAtMs) throw bindingError('APPROVAL_EXPIRED', 'approval expired');
    if (record.binding.nodeId !== nodeId) throw bindingError('APPROVAL_NODE_MISMATCH', 'approval was requested for another node');
    const sameRequester = record.requester.deviceId ? conn.deviceId === record.requester.deviceId : conn.connId === record.requester.connId;
    if (!sameRequester) throw bindingError('APPROVAL_DEVICE_MISMATCH', 'approval was requested by another device');

    let decision: ApprovalDecision | null = record.decision;
    if (record.status === 'pending' || decision === 'deny') throw bindingError('APPROVAL_REQUIRED', 'approval required');
    if (decision === null) {
      // Nobody answered: askFallback=full lets an approvals-scoped caller run it once (spec 5.4).
      if (params.approvalDecision === 'allow-once' && hasApprovalsScope(conn)) decision = 'allow-once';
      else throw bindingError('APPROVAL_REQUIRED', 'approval required');
    }

    const plan = params.systemRunPlan && typeof params.systemRunPlan === 'object' ? (params.systemRunPlan as Record<string, unknown>) : null;
    const command = Array.isArray(params.command) ? (params.command as string[]) : null;
    const argvOk = (argv: string[] | null) => sameArgv(argv, record.binding.argv) || (record.originalArgv !== null && sameArgv(argv, record.originalArgv));
    if (!argvOk(command) || (plan && !sameArgv(plan.argv as string[] | null, record.binding.argv))) {
      throw bindingError('APPROVAL_ARGV_MISMATCH', 'command differs from the approved command');
    }
    const cwdOk = (cwd: unknown) => (cwd ?? null) === record.binding.cwd || (record.originalCwd !== null && cwd === record.originalCwd);
    if ((params.cwd !== undefined && !cwdOk(params.cwd)) || (plan && (plan.cwd ?? null) !== record.binding.cwd) || (!plan && params.cwd === undefined && record.binding.cwd !== null)) {
      throw bindingError('APPROVAL_CWD_MISMATCH', 'working directory differs from the approved one');
    }
    const agentId = (params.agentId ?? plan?.agentId ?? null) as string | null;
    if (agentId !== record.binding.agentId) throw bindingError('APPROVAL_AGENT_MISMATCH', 'agent differs from the approved one');
    const sessionKey = (params.sessionKey ?? plan?.sessionKey ?? null) as string | null;
    if (sessionKey !== record.binding.sessionKey) throw bindingError('APPROVAL_SESSION_MISMATCH', 'session differs from the approved one');
    if (envHash(params.env) !== record.binding.envHash) throw bindingError('APPROVAL_ENV_MISMATCH', 'environment differs from the approved one');

    if (decision === 'allow-once') {
      if (record.consumed) throw bindingError('APPROVAL_CONSUMED', 'allow-once approval was already used');
      record.consumed = true;
    }
    out.approved = true;
    out.approvalDecision = decision;
    out.runId = record.id;
    if (record.plan) out.systemRunPlan = record.plan;
    return out;
  }

  methods(): MethodDefinition[] {
    const idParams = z.looseObject({ id: z.string().min(1) });
    const resolveParams = z.looseObject({ id: z.string().min(1), decision: z.enum(['allow-once', 'allow-always', 'deny']) });
    return [
      {
        name: 'exec.approval.request',
        access: { kind: 'scope', scope: 'operator.approvals' },
        params: approvalRequestParams,
        handler: (call: MethodCall<ApprovalRequestParams>) => this.request(call),
      },
      {
        name: 'exec.approval.resolve',
        access: { kind: 'scope', scope: 'operator.approvals' },
        params: resolveParams,
        handler: ({ params, conn }: MethodCall<z.infer<typeof resolveParams>>) => this.resolve(params.id, params.decision, conn),
      },
      {
        name: 'exec.approval.get',
        access: { kind: 'scope', scope: 'operator.approvals' },
        params: idParams,
        handler: ({ params }: MethodCall<{ id: string }>) => {
          const r = this.lookup(params.id, { pendingOnly: false });
          return {
            id: r.id,
            commandText: r.request.command,
            commandPreview: r.request.commandPreview ?? r.request.command,
            allowedDecisions: r.allowed,
            host: r.request.host,
            nodeId: r.request.nodeId,
            agentId: r.request.agentId,
            createdAtMs: r.createdAtMs,
            expiresAtMs: r.expiresAtMs,
            status: r.status,
            decision: r.decision,
          };
        },
      },
      {
        name: 'exec.approval.list',
        access: { kind: 'scope', scope: 'operator.approvals' },
        params: z.looseObject({}),
        handler: () => this.pendingRecords().map((r) => ({ id: r.id, request: r.request, createdAtMs: r.createdAtMs, expiresAtMs: r.expiresAtMs })),
      },
      {
        name: 'exec.approval.waitDecision',
        access: { kind: 'scope', scope: 'operator.approvals' },
        params: idParams,
        handler: async ({ params }: MethodCall<{ id: string }>) => {
          const r = this.lookup(params.id, { pendingOnly: false });
          await this.waitFor(r);
          return this.outcome(r);
        },
      },
    ];
  }
}
