import type { GatewayClientOptions, GatewaySession } from '../client/gateway-client';
import type { ExecAskFallback } from '../protocol/exec-vocabulary';
import { ExecApprovalsStore } from '../exec/approvals-file';
import { askFallbackDecision, resolveExecPolicy, type ApprovalDecision } from '../exec/policy';
import type { DeviceSigner } from '../protocol/device-auth';
import { CLAWDESK_VERSION } from '../version';
import { APPROVER_SCOPES, clawdeskDeviceMetadata } from '../identity/clawdesk-identity';
import { ReconnectingSession, type ReconnectOptions, type SessionStatus } from '../node-host/reconnecting-session';
import type { Approver, ExecApprovalRequestedEvent } from './approver';

/**
 * An approval client (docs/protocol.md § Approvals): connects as an operator holding operator.admin and
 * operator.approvals (OpenClaw's gateway shows agent approvals only to admins:
 * docs/protocol.md § Who sees an exec approval) and advertising `caps: ["exec-approvals"]`, receives
 * `exec.approval.requested`, asks an Approver, and resolves. When the approver cannot present, or gives no answer in
 * time, askFallback decides; a missing answer never becomes an allow.
 */

/** How long a person has to answer when nothing else is said (the request's expiry also bounds it). */
export const DEFAULT_PROMPT_TIMEOUT_MS = 120_000;

export interface ApprovalClientOutcome {
  id: string;
  /**
   * null: nobody answered and askFallback is `allowlist`, so this client leaves the request to expire and the node
   * decides by its own allowlist (the requester replays it as `approvalSource: "ask-fallback"`).
   */
  decision: ApprovalDecision | null;
  source: 'approver' | 'fallback';
  /** The askFallback that decided, when source is `fallback`. */
  fallback?: ExecAskFallback;
  error?: string;
}

export interface ApprovalClientOptions {
  url: string;
  token?: string;
  password?: string;
  identity?: DeviceSigner;
  approver: Approver;
  /** askFallback for a request; defaults to the local exec-approvals.json policy for its agent (or deny). */
  askFallback?: (event: ExecApprovalRequestedEvent) => ExecAskFallback | Promise<ExecAskFallback>;
  /** The state dir whose exec-approvals.json gives askFallback when no function is passed. */
  stateDir?: string;
  /** How long a person has to answer; the request's expiry also bounds it. Default 120 s. */
  promptTimeoutMs?: number;
  clientId?: string;
  clientMode?: string;
  displayName?: string;
  reconnect?: ReconnectOptions;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /**
   * Called when this client has decided, just before it resolves at the gateway; called a second time, with `error`,
   * if the gateway did not take the decision (e.g. resolved elsewhere first).
   */
  onOutcome?: (outcome: ApprovalClientOutcome) => void;
  /** A remote gateway's extras: its certificate pin and the device token it issued (gateway/remote/). */
  connection?: Pick<GatewayClientOptions, 'verifyServerCertificate' | 'deviceToken'>;
  /** Aborting stops the client, also while its first connect is still pending (start() then rejects). */
  signal?: AbortSignal;
  onStatus?: (status: SessionStatus) => void;
}

export interface ApprovalClientHandle {
  session(): GatewaySession | undefined;
  status(): SessionStatus;
  /** Ends a pending reconnect wait now (resume from sleep, network back); false when none is pending. */
  reconnectNow(): boolean;
  stop(): Promise<void>;
}

export async function startApprovalClient(options: ApprovalClientOptions): Promise<ApprovalClientHandle> {
  const log = options.log ?? (() => undefined);
  const active = new Map<string, AbortController>();
  const store = options.stateDir ? new ExecApprovalsStore({ stateDir: options.stateDir }) : undefined;

  const fallbackFor = async (event: ExecApprovalRequestedEvent): Promise<ExecAskFallback> => {
    try {
      if (options.askFallback) return await options.askFallback(event);
      if (store) return resolveExecPolicy((await store.read()).file, event.request.agentId || '*').askFallback;
    } catch (error) {
      log('warn', 'could not read askFallback; denying', { error: String(error) });
    }
    return 'deny';
  };

  const decide = async (
    event: ExecApprovalRequestedEvent,
    signal: AbortSignal,
  ): Promise<Omit<ApprovalClientOutcome, 'id' | 'error'>> => {
    const allowed = event.request.allowedDecisions ?? ['allow-once', 'allow-always', 'deny'];
    if (options.approver.canPresent()) {
      const budget = Math.min(
        options.promptTimeoutMs ?? DEFAULT_PROMPT_TIMEOUT_MS,
        Math.max(0, event.expiresAtMs - Date.now() - 1000),
      );
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), budget);
      const both = AbortSignal.any([signal, timeout.signal]);
      try {
        const answer = await options.approver.present(event, both);
        if (answer && !both.aborted) {
          // "Always" where only once is offered (ask=always) is still the person's yes for this run.
          const decision = allowed.includes(answer) ? answer : answer === 'allow-always' ? 'allow-once' : 'deny';
          return { decision, source: 'approver' };
        }
      } catch (error) {
        log('warn', 'approver failed; using askFallback', { error: String(error) });
      } finally {
        clearTimeout(timer);
      }
    }
    // No answer: askFallback. `allowlist` is for the node to judge (it alone resolves what would run), so nothing
    // is resolved here: at expiry the requester replays the run as ask-fallback and the node's allowlist decides.
    const fallback = await fallbackFor(event);
    if (fallback === 'allowlist') return { decision: null, source: 'fallback', fallback };
    return { decision: askFallbackDecision(fallback, false), source: 'fallback', fallback };
  };

  const onRequested = async (session: GatewaySession, event: ExecApprovalRequestedEvent) => {
    if (!event?.id || active.has(event.id)) return;
    const abort = new AbortController();
    active.set(event.id, abort);
    try {
      const { decision, source, fallback } = await decide(event, abort.signal);
      if (abort.signal.aborted && source === 'approver') return;
      if (abort.signal.aborted) return; // resolved elsewhere meanwhile
      // Told before the gateway is: its exec.approval.resolved broadcast can reach the app's other session before this
      // request's answer, and the app's history must already know the decision was askFallback's, not the person's.
      options.onOutcome?.({ id: event.id, decision, source, fallback });
      if (decision === null) return;
      try {
        await session.request('exec.approval.resolve', { id: event.id, decision }, { timeoutMs: 10_000 });
      } catch (error) {
        options.onOutcome?.({ id: event.id, decision, source, fallback, error: (error as Error).message });
        log('debug', 'exec.approval.resolve failed (already resolved elsewhere?)', {
          id: event.id,
          error: String(error),
        });
      }
    } finally {
      active.delete(event.id);
    }
  };

  const live = new ReconnectingSession(
    {
      url: options.url,
      token: options.token,
      password: options.password,
      device: options.identity,
      clientId: options.clientId ?? 'gateway-client',
      clientMode: options.clientMode ?? 'backend',
      clientVersion: CLAWDESK_VERSION,
      displayName: options.displayName ?? 'Clawdesk approvals',
      // Clawdesk's node and approval client share one identity: the same pinned metadata for both roles.
      ...clawdeskDeviceMetadata(),
      role: 'operator',
      scopes: [...APPROVER_SCOPES],
      caps: ['exec-approvals'],
      startupRetries: 20,
      ...options.connection,
    },
    options.reconnect,
  );
  if (options.signal?.aborted) throw new Error('stopped before it connected');
  options.signal?.addEventListener('abort', () => void live.stop(), { once: true });
  live.on('status', (status: SessionStatus) => {
    options.onStatus?.(status);
    if (status.state !== 'connected') {
      if (status.state === 'waiting') log('warn', `approval client: ${status.error}`);
      return;
    }
    const session = status.session;
    session.on('event', (name: string, payload: unknown) => {
      if (name === 'exec.approval.requested') void onRequested(session, payload as ExecApprovalRequestedEvent);
      else if (name === 'exec.approval.resolved') active.get((payload as { id?: string })?.id ?? '')?.abort();
    });
    // Requests that arrived while we were away; prompts still open from before that the gateway no longer lists
    // (resolved elsewhere, or closed by a restart: OpenClaw cancels a dead generation's approvals) are withdrawn.
    const openBefore = new Set(active.keys());
    session
      .request('exec.approval.list', {}, { timeoutMs: 10_000 })
      // Read as unknown: the gateway may be OpenClaw's, whose list items this checks one by one in onRequested.
      .then((list: unknown) => {
        const items: ExecApprovalRequestedEvent[] = Array.isArray(list) ? list : [];
        const listed = new Set(items.map((item) => item?.id));
        for (const id of openBefore) if (!listed.has(id)) active.get(id)?.abort();
        for (const item of items) void onRequested(session, item);
      })
      .catch(() => undefined);
  });
  await live.start();
  return {
    session: () => live.session,
    status: () => live.status,
    reconnectNow: () => live.reconnectNow(),
    stop: async () => {
      for (const a of active.values()) a.abort();
      await live.stop();
    },
  };
}
