import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { EXEC_SECURITY, type ExecAskFallback } from '../protocol/exec-vocabulary';
import { renderArgv } from '../exec/command-analysis';
import { allowedDecisions, askFallbackDecision, stricterSecurity, type ApprovalDecision } from '../exec/policy';
import type { MethodResultInput } from '../protocol/gateway-contract';
import {
  MAX_APPROVAL_BYTES_TOTAL,
  MAX_APPROVAL_COMMAND_BYTES,
  MAX_APPROVAL_LIST_BYTES,
  MAX_APPROVAL_LIST_ENTRIES,
  MAX_APPROVAL_REQUEST_BYTES,
  MAX_APPROVAL_TIMEOUT_MS,
  type ApprovalRequestParams,
  type ExecApprovalOutcome,
  type FiledApprovalRequest,
} from '../protocol/approval-schemas';
import { approvalBindingDetails, approvalReasonDetails, type ApprovalBindingCode } from '../protocol/error-codes';
import {
  credentialKey,
  credentialOf,
  GatewayMethodError,
  type ConnectionCredential,
  type GatewayConnection,
  type GatewayHost,
  type GatewayModule,
  type MethodCall,
  type MethodDefinition,
  implementMethod,
} from '../server/gateway-module';

/**
 * `exec.approval.*` (docs/protocol.md § Approvals; docs/protocol.md § The agent's exec flow): pending approvals,
 * delivery to approval clients only, resolution, expiry, and the binding that lets `node.invoke system.run` carry
 * `approved: true`.
 */

export const DEFAULT_EXEC_APPROVAL_TIMEOUT_MS = 30 * 60_000;
/** Resolved approvals stay readable (waitDecision) this long after their decision. */
export const RESOLVED_GRACE_MS = 15_000;
/** Bounds on live approval records, so a client holding operator.approvals cannot grow the gateway without limit. */
export const MAX_PENDING_APPROVALS_PER_REQUESTER = 256;
export const MAX_APPROVAL_RECORDS = 10_000;

// The wire limits of one approval request live with its schema (gateway/protocol/approval-schemas.ts).
export {
  MAX_APPROVAL_ARGV_BYTES,
  MAX_APPROVAL_ARGV_ENTRIES,
  MAX_APPROVAL_BYTES_TOTAL,
  MAX_APPROVAL_COMMAND_BYTES,
  MAX_APPROVAL_ENV_BYTES,
  MAX_APPROVAL_ENV_ENTRIES,
  MAX_APPROVAL_FIELD_CHARS,
  MAX_APPROVAL_LIST_BYTES,
  MAX_APPROVAL_LIST_ENTRIES,
  MAX_APPROVAL_REQUEST_BYTES,
  MAX_APPROVAL_TIMEOUT_MS,
} from '../protocol/approval-schemas';
/** What the gateway's askFallback may be at most unless the composition says otherwise: Clawdesk's default, deny. */
export const DEFAULT_GATEWAY_ASK_FALLBACK: ExecAskFallback = 'deny';

const UI_CLIENT_IDS = new Set(['openclaw-control-ui', 'webchat-ui']);

/**
 * An approval client (docs/protocol.md § Approvals): an operator with operator.approvals or admin that advertises the
 * `exec-approvals` (or `approvals`) cap, or a known UI client. Scope is required either way.
 */
export function isApprovalClient(conn: GatewayConnection): boolean {
  if (conn.role !== 'operator') return false;
  if (!conn.scopes.includes('operator.approvals') && !conn.scopes.includes('operator.admin')) return false;
  if (conn.caps.includes('exec-approvals') || conn.caps.includes('approvals')) return true;
  if (UI_CLIENT_IDS.has(conn.client.id)) return true;
  return conn.client.id === 'openclaw-macos' && conn.client.mode === 'ui';
}

/**
 * Who may see (be sent, list, read, resolve) an exec approval: what OpenClaw 2026.9.6's gateway does
 * (`isApprovalRecordVisibleToClient`; docs/protocol.md): a holder of `operator.admin` sees every request; otherwise
 * only the requester itself — its connection, its device, or (without a device) a connection holding its credential,
 * which is how a `--local` agent waits for the decision on a new connection. The requester can never resolve it
 * (refuseSelfResolve). OpenClaw's reviewer-device list and internal approval runtime have no counterpart here, so they
 * grant nothing: `operator.approvals` alone is not enough to see another client's request, here as there.
 */
export function isApprovalVisibleTo(record: Pick<ApprovalRecord, 'requester'>, conn: GatewayConnection): boolean {
  if (conn.role !== 'operator') return false;
  if (conn.scopes.includes('operator.admin')) return true;
  return requesterMatch(record.requester, conn) !== null;
}

/** The client id and mode OpenClaw's agent runtime uses for its own gateway calls (`openclaw agent --local`). */
const BACKEND_CLIENT = { id: 'gateway-client', mode: 'backend' } as const;

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

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

function isAbsolutePath(p: string): boolean {
  return path.posix.isAbsolute(p) || path.win32.isAbsolute(p);
}

/** Longest command text shown whole as the preview line; longer text is cut with an ellipsis (the node does the same). */
const PREVIEW_CHARS = 240;

export type TerminalReason = 'user' | 'timeout' | 'no-approval-route';

/** Who decided, as `approval.*` reports it: the device when the resolver proved one, else its client id. */
export interface ApprovalResolver {
  kind: 'device' | 'runtime';
  id: string;
}

export function resolverOf(conn: GatewayConnection): ApprovalResolver {
  return conn.deviceId ? { kind: 'device', id: conn.deviceId } : { kind: 'runtime', id: conn.client.id };
}

/**
 * Who filed a request. A request is never resolved by its requester, and "the requester" is judged by identity, not
 * by connection: the same device, or — for a connection without a device — the same credential (every holder of the
 * gateway's shared token is indistinguishable from every other). The credential is kept so that a later rule can
 * also recognise the requester's own replay on another connection (a device-less backend requester whose system.run
 * arrives on a new connection holding the same shared credential), without weakening the self-resolve check.
 */
export interface ApprovalRequester {
  connId: string;
  deviceId?: string;
  /** null: the server could not tell; treated as matching any credential (fail closed). */
  credential: ConnectionCredential | null;
  clientId: string;
  clientMode: string;
}

export function requesterOf(conn: GatewayConnection): ApprovalRequester {
  return {
    connId: conn.connId,
    deviceId: conn.deviceId,
    credential: credentialOf(conn),
    clientId: conn.client.id,
    clientMode: conn.client.mode,
  };
}

function describeCredential(credential: ConnectionCredential | null): string {
  if (!credential) return 'a credential the gateway cannot tell apart from it';
  if (credential.kind === 'shared') return `the same shared gateway ${credential.method}`;
  if (credential.kind === 'none-local') return 'the same auth "none" local session';
  return 'the same device token';
}

/** Why `conn` counts as the requester (and so may neither resolve nor be asked), or null when it does not. */
export function requesterMatch(
  requester: ApprovalRequester,
  conn: GatewayConnection,
): 'connection' | 'device' | 'credential' | null {
  if (conn.connId === requester.connId) return 'connection';
  if (requester.deviceId !== undefined && conn.deviceId === requester.deviceId) return 'device';
  // Another proven device is another identity.
  if (conn.deviceId !== undefined) return null;
  // A connection without a device is known only by its credential: the requester's, or one we cannot tell, is theirs.
  const credential = credentialOf(conn);
  if (!credential || !requester.credential) return 'credential';
  return credentialKey(credential) === credentialKey(requester.credential) ? 'credential' : null;
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
  request: FiledApprovalRequest;
  createdAtMs: number;
  expiresAtMs: number;
  requester: ApprovalRequester;
  allowed: ApprovalDecision[];
  /** The requester's stated askFallback (untrusted; only ever makes the gateway's stricter). */
  claimedAskFallback: ExecAskFallback | null;
  /** Set when nobody decided (no route, or expiry): what askFallback decided at the gateway. */
  fallback?: { askFallback: ExecAskFallback; decision: 'allow-once' | 'deny' };
  /** Serialized size of `request`, counted against MAX_APPROVAL_BYTES_TOTAL. */
  sizeBytes: number;
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
  /** The device whose connection first replayed a device-less backend request (see gateSystemRun); later replays must match. */
  replayDeviceId?: string;
  waiters: Array<() => void>;
  timer?: NodeJS.Timeout;
  cleanup?: NodeJS.Timeout;
}

export interface ExecApprovalManagerOptions {
  /** Default expiry of a request that names none (30 min). */
  defaultTimeoutMs?: number;
  /**
   * The longest a request waits for a decision, whatever its requester asks (OpenClaw's agent asks 30 min): the
   * person's window, after which askFallback decides. Default MAX_APPROVAL_TIMEOUT_MS.
   */
  maxTimeoutMs?: number;
  /** How long a decided request stays readable by waitDecision (15 s). */
  resolvedGraceMs?: number;
  /**
   * The loosest askFallback the gateway applies to a request nobody decided (default `deny`, Clawdesk's default).
   * The requester's stated askFallback can only make it stricter: a requester never chooses its own outcome.
   */
  askFallbackCeiling?: ExecAskFallback;
  now?: () => number;
}

/** The text the openclaw CLI matches ("approval not found") for its id fallback. */
export function approvalNotFound(): GatewayMethodError {
  return new GatewayMethodError('INVALID_REQUEST', 'approval not found', approvalReasonDetails('APPROVAL_NOT_FOUND'));
}

function bindingError(code: ApprovalBindingCode, message: string): GatewayMethodError {
  return new GatewayMethodError('INVALID_REQUEST', message, approvalBindingDetails(code));
}

function sameArgv(a: readonly string[] | null | undefined, b: readonly string[] | null | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return a.every((v, i) => v === b[i]);
}

/** That a replay runs exactly what was approved: argv, cwd, agent, session and environment. */
function checkSameRun(record: ApprovalRecord, params: Record<string, unknown>): void {
  const plan =
    params.systemRunPlan && typeof params.systemRunPlan === 'object'
      ? (params.systemRunPlan as Record<string, unknown>)
      : null;
  const command = Array.isArray(params.command) ? (params.command as string[]) : null;
  const argvOk = (argv: string[] | null) =>
    sameArgv(argv, record.binding.argv) || (record.originalArgv !== null && sameArgv(argv, record.originalArgv));
  if (!argvOk(command) || (plan && !sameArgv(plan.argv as string[] | null, record.binding.argv))) {
    throw bindingError('APPROVAL_ARGV_MISMATCH', 'command differs from the approved command');
  }
  const cwdOk = (cwd: unknown) =>
    (cwd ?? null) === record.binding.cwd || (record.originalCwd !== null && cwd === record.originalCwd);
  if (
    (params.cwd !== undefined && !cwdOk(params.cwd)) ||
    (plan && (plan.cwd ?? null) !== record.binding.cwd) ||
    (!plan && params.cwd === undefined && record.binding.cwd !== null)
  ) {
    throw bindingError('APPROVAL_CWD_MISMATCH', 'working directory differs from the approved one');
  }
  const agentId = (params.agentId ?? plan?.agentId ?? null) as string | null;
  if (agentId !== record.binding.agentId)
    throw bindingError('APPROVAL_AGENT_MISMATCH', 'agent differs from the approved one');
  const sessionKey = (params.sessionKey ?? plan?.sessionKey ?? null) as string | null;
  if (sessionKey !== record.binding.sessionKey)
    throw bindingError('APPROVAL_SESSION_MISMATCH', 'session differs from the approved one');
  if (envHash(params.env) !== record.binding.envHash)
    throw bindingError('APPROVAL_ENV_MISMATCH', 'environment differs from the approved one');
}

/**
 * The `system.run` fields a node is sent: those OpenClaw's node host and Clawdesk's runner read, minus the approval
 * fields, which only the gate sets. `security` / `ask` are Clawdesk's stricter-only policy request.
 */
const FORWARDED_RUN_FIELDS = [
  'command',
  'rawCommand',
  'systemRunPlan',
  'cwd',
  'env',
  'timeoutMs',
  'needsScreenRecording',
  'agentId',
  'sessionKey',
  'runId',
  'suppressNotifyOnExit',
  'security',
  'ask',
] as const;

function forwardedRunParams(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of FORWARDED_RUN_FIELDS) if (Object.hasOwn(params, key)) out[key] = params[key];
  return out;
}

/** The askFallback a plan's policySnapshot states (the reference node host sends one), or null. */
function planAskFallback(plan: Record<string, unknown> | null): ExecAskFallback | null {
  const snapshot = plan?.policySnapshot;
  const value =
    snapshot && typeof snapshot === 'object' ? (snapshot as Record<string, unknown>).askFallback : undefined;
  return typeof value === 'string' && (EXEC_SECURITY as readonly string[]).includes(value)
    ? (value as ExecAskFallback)
    : null;
}

export class ExecApprovalManager implements GatewayModule {
  readonly name = 'exec-approvals';
  private host?: GatewayHost;
  private readonly records = new Map<string, ApprovalRecord>();
  private liveBytes = 0;
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

  /**
   * Approval clients that may see the request (operator.admin, as on OpenClaw's gateway) and are not its requester
   * (by connection, device or credential): only they could decide.
   */
  private audience(requester: ApprovalRequester): (conn: GatewayConnection) => boolean {
    return (conn) =>
      isApprovalClient(conn) && isApprovalVisibleTo({ requester }, conn) && requesterMatch(requester, conn) === null;
  }

  /**
   * The backend replay rule. `openclaw agent --local` in token/password mode files its approval on a device-less
   * `gateway-client`/`backend` connection (shared secret), then replays `system.run` on a new connection that carries
   * the agent's saved device, authenticated with the same shared secret (not a device token). OpenClaw's gateway
   * accepts that; so does this, and no more: both connections backend clients, both authenticated with the same
   * shared secret (never a device token, never auth "none"), the replay from this machine, its device not the one
   * that decided the request, and — once one device has replayed it — only that device. Everything else the
   * approval binds (node, argv, cwd, agent, session, environment, one use for allow-once) is checked as for any
   * replay. A shared-secret holder can already file the same request itself; what this never allows is a run the
   * person did not approve, or the deciding device running what it decided.
   */
  private isBackendReplay(record: ApprovalRecord, conn: GatewayConnection): boolean {
    const requester = record.requester;
    if (requester.deviceId !== undefined || requester.credential?.kind !== 'shared') return false;
    if (requester.clientId !== BACKEND_CLIENT.id || requester.clientMode !== BACKEND_CLIENT.mode) return false;
    if (conn.role !== 'operator' || conn.client.id !== BACKEND_CLIENT.id || conn.client.mode !== BACKEND_CLIENT.mode)
      return false;
    if (conn.locality === 'remote') return false;
    // Device-less, as OpenClaw's agent replays an ask-fallback: only with approvals, as OpenClaw's gateway requires.
    if (
      conn.deviceId === undefined &&
      !conn.scopes.includes('operator.approvals') &&
      !conn.scopes.includes('operator.admin')
    )
      return false;
    const credential = credentialOf(conn);
    if (
      !credential ||
      credential.kind !== 'shared' ||
      credentialKey(credential) !== credentialKey(requester.credential)
    )
      return false;
    if (record.resolver?.kind === 'device' && record.resolver.id === conn.deviceId) return false;
    if (record.replayDeviceId !== undefined && record.replayDeviceId !== conn.deviceId) return false;
    return true;
  }

  private hasAudience(requester: ApprovalRequester): boolean {
    const accept = this.audience(requester);
    for (const conn of this.host?.connections() ?? []) if (accept(conn)) return true;
    return false;
  }

  private deleteRecord(id: string): void {
    const record = this.records.get(id);
    if (!record) return;
    clearTimeout(record.timer);
    clearTimeout(record.cleanup);
    this.records.delete(id);
    this.liveBytes -= record.sizeBytes;
  }

  /** askFallback at the gateway: the stricter of its ceiling and the requester's stated one (none stated: deny). */
  private fallbackFor(record: ApprovalRecord): { askFallback: ExecAskFallback; decision: 'allow-once' | 'deny' } {
    const ceiling = this.options.askFallbackCeiling ?? DEFAULT_GATEWAY_ASK_FALLBACK;
    const askFallback = stricterSecurity(record.claimedAskFallback ?? 'deny', ceiling);
    // The request exists because the allowlist did not cover it: "allowlist" therefore denies too.
    return { askFallback, decision: askFallbackDecision(askFallback, false) };
  }

  pendingRecords(): ApprovalRecord[] {
    return [...this.records.values()].filter((r) => r.status === 'pending');
  }

  private lookup(idOrPrefix: string, opts: { pendingOnly: boolean; conn?: GatewayConnection }): ApprovalRecord {
    // A request this connection may not see is answered as if it did not exist.
    const visible = (r: ApprovalRecord | undefined) =>
      r !== undefined && (!opts.conn || isApprovalVisibleTo(r, opts.conn));
    const found = this.records.get(idOrPrefix);
    const exact = visible(found) ? found : undefined;
    if (exact && (!opts.pendingOnly || exact.status === 'pending')) return exact;
    const candidates = [...this.records.values()].filter(
      (r) => visible(r) && r.id.startsWith(idOrPrefix) && (!opts.pendingOnly || r.status === 'pending'),
    );
    if (candidates.length === 1) return candidates[0];
    if (candidates.length > 1) {
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        `ambiguous approval id prefix "${idOrPrefix}" (${candidates.length} matches)`,
        approvalReasonDetails('APPROVAL_AMBIGUOUS'),
      );
    }
    if (exact) {
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        'approval already resolved',
        approvalReasonDetails('APPROVAL_ALREADY_RESOLVED', { decision: exact.decision }),
      );
    }
    throw new GatewayMethodError(
      'INVALID_REQUEST',
      'unknown or expired approval id',
      approvalReasonDetails('APPROVAL_NOT_FOUND'),
    );
  }

  private finish(
    record: ApprovalRecord,
    decision: ApprovalDecision | null,
    reason: TerminalReason,
    resolvedBy?: string,
    resolver?: ApprovalResolver,
  ): void {
    if (record.status !== 'pending') return;
    clearTimeout(record.timer);
    const ts = this.now();
    record.status = reason === 'user' ? 'resolved' : 'expired';
    record.decision = decision;
    record.terminalReason = reason;
    record.resolvedBy = resolvedBy;
    record.resolver = resolver;
    record.resolvedAtMs = ts;
    if (reason !== 'user') record.fallback = this.fallbackFor(record);
    if (reason !== 'no-approval-route') {
      this.host?.broadcast(
        'exec.approval.resolved',
        {
          id: record.id,
          decision,
          resolvedBy: resolvedBy ?? null,
          ts,
          request: record.request,
          ...(reason === 'user' ? {} : { terminalReason: reason }),
          ...(record.fallback
            ? { askFallback: record.fallback.askFallback, fallbackDecision: record.fallback.decision }
            : {}),
        },
        this.audience(record.requester),
      );
    }
    for (const wake of record.waiters.splice(0)) wake();
    // Kept until it expires (binding) and at least the grace period (waitDecision). A request nobody could see
    // binds nothing, so it only stays for the grace period.
    const grace = this.options.resolvedGraceMs ?? RESOLVED_GRACE_MS;
    const keep = reason === 'no-approval-route' ? grace : Math.max(record.expiresAtMs - ts, grace);
    record.cleanup = setTimeout(() => {
      if (this.records.get(record.id) === record) this.deleteRecord(record.id);
    }, keep);
    record.cleanup.unref();
  }

  /**
   * The answer to the requester. Nobody decided: `decision` stays null (the protocol's "no decision") and the
   * gateway's askFallback and what it decided are named; only that decision is honoured by system.run.
   */
  private outcome(record: ApprovalRecord): ExecApprovalOutcome {
    return {
      id: record.id,
      decision: record.decision,
      createdAtMs: record.createdAtMs,
      expiresAtMs: record.expiresAtMs,
      ...(record.terminalReason ? { terminalReason: record.terminalReason } : {}),
      ...(record.fallback
        ? { askFallback: record.fallback.askFallback, fallbackDecision: record.fallback.decision }
        : {}),
    };
  }

  private waitFor(record: ApprovalRecord): Promise<void> {
    if (record.status !== 'pending') return Promise.resolve();
    return new Promise((resolve) => record.waiters.push(resolve));
  }

  private create(params: ApprovalRequestParams, conn: GatewayConnection): ApprovalRecord {
    const id = params.id ?? randomUUID();
    if (id.startsWith('plugin:'))
      throw new GatewayMethodError('INVALID_REQUEST', 'approval ids starting with "plugin:" are reserved');
    const existing = this.records.get(id);
    if (existing?.status === 'pending')
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        `approval ${id} is already pending`,
        approvalReasonDetails('APPROVAL_DUPLICATE'),
      );
    const requester = requesterOf(conn);
    let pendingForRequester = 0;
    for (const r of this.records.values())
      if (r.status === 'pending' && requesterMatch(r.requester, conn) !== null) pendingForRequester += 1;
    if (pendingForRequester >= MAX_PENDING_APPROVALS_PER_REQUESTER) {
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        `too many pending approvals from this client (${MAX_PENDING_APPROVALS_PER_REQUESTER}); wait for decisions first`,
        approvalReasonDetails('APPROVAL_LIMIT'),
        true,
      );
    }
    if (!existing && this.records.size >= MAX_APPROVAL_RECORDS) {
      throw new GatewayMethodError(
        'UNAVAILABLE',
        'too many approval records; retry shortly',
        approvalReasonDetails('APPROVAL_LIMIT'),
        true,
      );
    }
    const host = params.host ?? null;
    const plan = params.systemRunPlan ?? null;
    if (host === 'node' && (!params.nodeId || !plan)) {
      throw new GatewayMethodError('INVALID_REQUEST', 'host "node" approvals need nodeId and systemRunPlan');
    }
    const argv = plan?.argv ?? params.commandArgv ?? null;
    // The text a person approves is computed here from the argv that will run (issue 9 finding 3); the requester's
    // own text is only its description, kept apart so the prompt can show it as such, with a warning.
    const computedText = argv && argv.length > 0 ? renderArgv(argv) : null;
    const agentText = plan?.commandText || params.command || null;
    const commandText = computedText ?? agentText;
    if (!commandText)
      throw new GatewayMethodError('INVALID_REQUEST', 'an approval needs command, commandArgv or systemRunPlan');
    if (utf8Bytes(commandText) > MAX_APPROVAL_COMMAND_BYTES) {
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        `command text longer than ${MAX_APPROVAL_COMMAND_BYTES} bytes once rendered; refused`,
        approvalReasonDetails('APPROVAL_TOO_LARGE'),
      );
    }
    const agentDescription =
      computedText !== null && agentText !== null && agentText !== computedText ? agentText : null;
    const resolvedPath = argv && argv.length > 0 && isAbsolutePath(argv[0]) ? argv[0] : null;
    const agentResolvedPath = params.resolvedPath && params.resolvedPath !== resolvedPath ? params.resolvedPath : null;
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
    const timeoutMs = Math.min(
      params.timeoutMs ?? this.options.defaultTimeoutMs ?? DEFAULT_EXEC_APPROVAL_TIMEOUT_MS,
      this.options.maxTimeoutMs ?? MAX_APPROVAL_TIMEOUT_MS,
      MAX_APPROVAL_TIMEOUT_MS,
    );
    const expiresAtMs = createdAtMs + timeoutMs;
    const shown = sanitizeCommandText(commandText);
    const request: FiledApprovalRequest = {
      command: shown,
      commandPreview: shown.length > PREVIEW_CHARS ? `${shown.slice(0, PREVIEW_CHARS - 1)}\u2026` : shown,
      agentCommandText: agentDescription !== null ? sanitizeCommandText(agentDescription) : undefined,
      commandArgv: host === 'node' ? undefined : params.commandArgv,
      envKeys: params.env ? Object.keys(params.env).sort() : undefined,
      systemRunBinding: argv
        ? {
            argv: binding.argv,
            cwd: binding.cwd,
            agentId: binding.agentId,
            sessionKey: binding.sessionKey,
            envHash: binding.envHash,
          }
        : undefined,
      systemRunPlan: plan ?? undefined,
      cwd: binding.cwd,
      nodeId: params.nodeId ?? null,
      host,
      security: params.security ?? null,
      ask,
      allowedDecisions: allowed,
      agentId: binding.agentId,
      resolvedPath,
      agentResolvedPath: agentResolvedPath ?? undefined,
      sessionKey: binding.sessionKey,
      turnSourceChannel: params.turnSourceChannel ?? undefined,
      turnSourceTo: params.turnSourceTo ?? undefined,
      turnSourceAccountId: params.turnSourceAccountId ?? undefined,
      turnSourceThreadId: params.turnSourceThreadId ?? undefined,
    };
    for (const key of Object.keys(request)) if (request[key] === undefined) delete request[key]; // sent absent, not null
    const sizeBytes = utf8Bytes(JSON.stringify(request));
    if (sizeBytes > MAX_APPROVAL_REQUEST_BYTES) {
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        `approval request is ${sizeBytes} bytes, above the limit of ${MAX_APPROVAL_REQUEST_BYTES}; refused`,
        approvalReasonDetails('APPROVAL_TOO_LARGE'),
      );
    }
    const replacedBytes = existing?.sizeBytes ?? 0;
    if (this.liveBytes - replacedBytes + sizeBytes > MAX_APPROVAL_BYTES_TOTAL) {
      throw new GatewayMethodError(
        'UNAVAILABLE',
        `approval records hold more than ${MAX_APPROVAL_BYTES_TOTAL} bytes; retry once some are decided`,
        approvalReasonDetails('APPROVAL_LIMIT'),
        true,
      );
    }
    if (existing) this.deleteRecord(id);
    const claimed = params.askFallback ?? planAskFallback(plan);
    const record: ApprovalRecord = {
      id,
      request,
      createdAtMs,
      expiresAtMs,
      requester,
      allowed,
      claimedAskFallback: claimed,
      sizeBytes,
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
    this.liveBytes += sizeBytes;
    return record;
  }

  /** The request flow: deliver to approval clients, answer at once with null when there are none. */
  async request(call: MethodCall<ApprovalRequestParams>): Promise<ExecApprovalOutcome> {
    const record = this.create(call.params, call.conn);
    if (!this.hasAudience(record.requester)) {
      // Nobody who may decide can be asked: askFallback decides here, at the gateway (issue 9 finding 4).
      this.finish(record, null, 'no-approval-route');
      return { ...this.outcome(record), deliveryRoute: 'none' };
    }
    record.timer = setTimeout(() => this.finish(record, null, 'timeout'), Math.max(0, record.expiresAtMs - this.now()));
    record.timer.unref();
    this.host?.broadcast(
      'exec.approval.requested',
      {
        approvalKind: 'exec',
        id: record.id,
        request: record.request,
        createdAtMs: record.createdAtMs,
        expiresAtMs: record.expiresAtMs,
      },
      this.audience(record.requester),
    );
    if (call.params.twoPhase) {
      call.sendInterim({
        status: 'accepted',
        id: record.id,
        deliveryRoute: 'approval-client',
        createdAtMs: record.createdAtMs,
        expiresAtMs: record.expiresAtMs,
      });
    }
    await this.waitFor(record);
    return this.outcome(record);
  }

  resolve(idOrPrefix: string, decision: ApprovalDecision, conn: GatewayConnection): { ok: true } {
    const record = this.lookup(idOrPrefix, { pendingOnly: true, conn });
    this.decide(record, decision, conn);
    return { ok: true };
  }

  /** The record with exactly this id, pending or still remembered after its end; no prefixes. */
  find(id: string, conn?: GatewayConnection): ApprovalRecord | undefined {
    const record = this.records.get(id);
    return record && (!conn || isApprovalVisibleTo(record, conn)) ? record : undefined;
  }

  /**
   * `approval.resolve` (the CLI's `approvals resolve`): the same decision and authorization as exec.approval.resolve
   * for a pending approval. Repeating the recorded decision is answered `applied: false`; anything else on a finished
   * approval is an error, so a caller never mistakes someone else's decision for its own.
   */
  settle(
    id: string,
    decision: ApprovalDecision,
    conn: GatewayConnection,
  ): { applied: boolean; record: ApprovalRecord } {
    const record = this.find(id, conn);
    if (!record) throw approvalNotFound();
    this.refuseSelfResolve(record, conn);
    if (record.status === 'pending') {
      this.decide(record, decision, conn);
      return { applied: true, record };
    }
    if (record.status === 'expired' || record.decision === null) {
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        `approval ${record.id} expired without a decision`,
        approvalReasonDetails('APPROVAL_EXPIRED'),
      );
    }
    if (record.decision === decision) return { applied: false, record };
    const by = record.resolver ? ` by ${record.resolver.kind}:${record.resolver.id}` : '';
    throw new GatewayMethodError(
      'INVALID_REQUEST',
      `approval ${record.id} was already resolved with ${record.decision}${by}`,
      approvalReasonDetails('APPROVAL_ALREADY_RESOLVED', { decision: record.decision }),
    );
  }

  /** A request is never resolved by its requester: same connection, same device, or (without a device) same credential. */
  private refuseSelfResolve(record: ApprovalRecord, conn: GatewayConnection): void {
    const match = requesterMatch(record.requester, conn);
    if (match === null) return;
    const message =
      match === 'connection'
        ? 'an approval cannot be resolved by the connection that requested it'
        : match === 'device'
          ? 'an approval cannot be resolved by the device that requested it'
          : `an approval cannot be resolved by its requester: this connection has no device identity and authenticated with ${describeCredential(credentialOf(conn))} as the requester; resolve it from another paired device (e.g. the Clawdesk tray)`;
    throw new GatewayMethodError('INVALID_REQUEST', message, approvalReasonDetails('APPROVAL_SELF_RESOLVE', { match }));
  }

  /** Resolves a pending approval: never by its requester, only with a decision it offers. */
  private decide(record: ApprovalRecord, decision: ApprovalDecision, conn: GatewayConnection): void {
    this.refuseSelfResolve(record, conn);
    if (!record.allowed.includes(decision)) {
      throw new GatewayMethodError(
        'INVALID_REQUEST',
        `decision ${decision} is not allowed for this approval (allowed: ${record.allowed.join(', ')})`,
        approvalReasonDetails(
          decision === 'allow-always' ? 'APPROVAL_ALLOW_ALWAYS_UNAVAILABLE' : 'APPROVAL_DECISION_NOT_ALLOWED',
        ),
      );
    }
    this.finish(record, decision, 'user', conn.client.displayName ?? conn.client.id, resolverOf(conn));
  }

  /**
   * The gate in front of `node.invoke system.run` (docs/protocol.md § Approvals). Only the fields a node host
   * knows are forwarded: a node acts on approval fields it is sent, so none may pass unchecked. Without an approval
   * claim the node's own policy decides. With one (`approved` / `approvalDecision`), `runId` must name a decided
   * approval for this node, from the same device (or connection), with the same argv, cwd, agent, session and
   * environment. `approvalSource: "ask-fallback"` is the requester saying nobody answered: it is forwarded once, for a
   * request that ended undecided, and the node applies its own askFallback.
   */
  gateSystemRun(input: {
    conn: GatewayConnection;
    nodeId: string;
    params: Record<string, unknown>;
  }): Record<string, unknown> {
    const { conn, nodeId, params } = input;
    const out = forwardedRunParams(params);
    const source = params.approvalSource ?? null;
    if (source !== null && source !== 'ask-fallback')
      throw bindingError('INVALID_APPROVAL_SOURCE', 'approval source invalid (only "ask-fallback" is accepted)');
    const claims =
      params.approved === true || (params.approvalDecision !== undefined && params.approvalDecision !== null);
    if (source !== null && (claims || params.approved !== undefined))
      throw bindingError('APPROVAL_SOURCE_MISMATCH', 'approval source cannot be combined with explicit approval');
    if (source === null && !claims) return out;

    const runId = typeof params.runId === 'string' && params.runId ? params.runId : null;
    if (!runId) throw bindingError('MISSING_RUN_ID', 'approved system.run needs runId naming the approval');
    const record = this.records.get(runId);
    if (!record) throw bindingError('UNKNOWN_APPROVAL_ID', 'unknown or expired approval id');
    const grace = this.options.resolvedGraceMs ?? RESOLVED_GRACE_MS;

    if (source === 'ask-fallback') {
      if (record.status === 'pending' || record.decision === 'deny')
        throw bindingError('APPROVAL_REQUIRED', 'approval required');
      if (record.decision !== null)
        throw bindingError('APPROVAL_SOURCE_MISMATCH', 'approval source does not match approval record');
      // Ask-fallback follows the end of the request at once (the requester's wait returned "no decision").
      if (this.now() > (record.resolvedAtMs ?? 0) + grace) throw bindingError('APPROVAL_EXPIRED', 'approval expired');
      const backendReplay = this.checkRequester(record, conn, nodeId);
      checkSameRun(record, params);
      if (record.consumed) throw bindingError('APPROVAL_CONSUMED', 'ask fallback was already used');
      record.consumed = true;
      if (backendReplay) record.replayDeviceId = conn.deviceId;
      out.approvalSource = 'ask-fallback';
      out.runId = record.id;
      if (record.plan) out.systemRunPlan = record.plan;
      return out;
    }

    // An allow-once from askFallback at expiry stays usable for the grace period after it.
    const usableUntil =
      record.fallback?.decision === 'allow-once'
        ? Math.max(record.expiresAtMs, (record.resolvedAtMs ?? 0) + grace)
        : record.expiresAtMs;
    const timedOut = record.terminalReason === 'timeout' && record.fallback?.decision !== 'allow-once';
    if (timedOut || this.now() > usableUntil) throw bindingError('APPROVAL_EXPIRED', 'approval expired');
    const backendReplay = this.checkRequester(record, conn, nodeId);

    // The decision is the gateway's record, never what the requester sends (issue 9 finding 4).
    let decision: ApprovalDecision | null = record.decision;
    if (record.status === 'pending' || decision === 'deny')
      throw bindingError('APPROVAL_REQUIRED', 'approval required');
    if (decision === null) {
      // Nobody decided: the gateway's askFallback, applied when the request ended, is the only answer.
      const fallback = record.fallback ?? this.fallbackFor(record);
      if (fallback.decision !== 'allow-once') {
        throw bindingError(
          'APPROVAL_REQUIRED',
          `approval required: nobody decided, and askFallback=${fallback.askFallback} denies the run`,
        );
      }
      decision = 'allow-once';
    }
    checkSameRun(record, params);

    if (decision === 'allow-once') {
      if (record.consumed) throw bindingError('APPROVAL_CONSUMED', 'allow-once approval was already used');
      record.consumed = true;
    }
    if (backendReplay) record.replayDeviceId = conn.deviceId;
    out.approved = true;
    out.approvalDecision = decision;
    out.runId = record.id;
    if (record.plan) out.systemRunPlan = record.plan;
    return out;
  }

  /** That a replay comes from the approved request's requester, for its node. True for a backend replay. */
  private checkRequester(record: ApprovalRecord, conn: GatewayConnection, nodeId: string): boolean {
    if (record.binding.nodeId !== nodeId)
      throw bindingError('APPROVAL_NODE_MISMATCH', 'approval was requested for another node');
    const sameRequester = record.requester.deviceId
      ? conn.deviceId === record.requester.deviceId
      : conn.connId === record.requester.connId;
    const backendReplay = !sameRequester && this.isBackendReplay(record, conn);
    if (!sameRequester && !backendReplay)
      throw bindingError('APPROVAL_DEVICE_MISMATCH', 'approval was requested by another device');
    return backendReplay;
  }

  /**
   * `exec.approval.list`: the most recent pending approvals, at most `limit` (≤ MAX_APPROVAL_LIST_ENTRIES) and at most
   * MAX_APPROVAL_LIST_BYTES serialized, oldest first among those; a bare array, as the openclaw CLI requires.
   */
  list(limit = MAX_APPROVAL_LIST_ENTRIES, conn?: GatewayConnection): MethodResultInput<'exec.approval.list'> {
    const newestFirst = this.pendingRecords()
      .filter((r) => !conn || isApprovalVisibleTo(r, conn))
      .reverse(); // creation order (a re-filed id moves to the end)
    const out: MethodResultInput<'exec.approval.list'> = [];
    let bytes = 2;
    for (const r of newestFirst) {
      if (out.length >= Math.min(limit, MAX_APPROVAL_LIST_ENTRIES)) break;
      const item = { id: r.id, request: r.request, createdAtMs: r.createdAtMs, expiresAtMs: r.expiresAtMs };
      const size = r.sizeBytes + 128;
      if (bytes + size > MAX_APPROVAL_LIST_BYTES) break;
      bytes += size;
      out.push(item);
    }
    return out.reverse();
  }

  methods(): MethodDefinition[] {
    return [
      implementMethod('exec.approval.request', (call) => this.request(call)),
      implementMethod('exec.approval.resolve', ({ params, conn }) => this.resolve(params.id, params.decision, conn)),
      implementMethod('exec.approval.get', ({ params, conn }) => {
        const r = this.lookup(params.id, { pendingOnly: false, conn });
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
      }),
      implementMethod('exec.approval.list', ({ params, conn }) => this.list(params.limit, conn)),
      implementMethod('exec.approval.waitDecision', async ({ params, conn }) => {
        const r = this.lookup(params.id, { pendingOnly: false, conn });
        await this.waitFor(r);
        return this.outcome(r);
      }),
    ];
  }
}
