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
/**
 * At most this many requests are open (being presented or delivered) at once. A gateway that floods events gets the
 * rest ignored, unanswered: nobody decided them, so nothing of theirs runs on this client's word.
 */
export const MAX_OPEN_APPROVALS = 64;
/** Ids already handled and remembered, so a repeated event (or a re-listing) never asks twice. */
const REMEMBERED_IDS = 2048;
/** A request longer than this (its JSON) cannot be reviewed by a person; it is not presented. */
export const MAX_APPROVAL_REQUEST_CHARS = 64 * 1024;
/** The longest a decision waits for the gateway to be reachable again (the request's expiry bounds it first). */
const MAX_DELIVERY_WAIT_MS = 3600_000;

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
      // A request without a usable expiry gets the whole prompt time: NaN here once made the timer fire at once, so
      // askFallback decided before the person could see the prompt.
      const untilExpiry = Number.isFinite(event.expiresAtMs) ? event.expiresAtMs - Date.now() - 1000 : Infinity;
      const budget = Math.min(options.promptTimeoutMs ?? DEFAULT_PROMPT_TIMEOUT_MS, Math.max(0, untilExpiry));
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

  /** Ids handled (decided, ignored, withdrawn), oldest first: a Set keeps insertion order. */
  const handled = new Set<string>();
  const remember = (id: string) => {
    handled.delete(id);
    handled.add(id);
    if (handled.size > REMEMBERED_IDS) handled.delete(handled.values().next().value as string);
  };
  let ignoredSinceLastWarning = 0;
  const ignore = (id: string, why: string) => {
    remember(id);
    // One line per burst, not one per event: a flood must not flood the log as well.
    if (ignoredSinceLastWarning++ === 0) log('warn', `ignoring exec approval requests: ${why}`, { id });
  };

  /**
   * The session to deliver a decision on: the live one, or the next one after an outage (a decision made while the
   * gateway was unreachable is delivered once it is back). undefined when the request expired, was withdrawn, or
   * the client stopped meanwhile.
   */
  const sessionFor = (event: ExecApprovalRequestedEvent, signal: AbortSignal): Promise<GatewaySession | undefined> => {
    const now = live.session;
    if (now || signal.aborted) return Promise.resolve(signal.aborted ? undefined : now);
    return new Promise((resolve) => {
      const remaining = Number.isFinite(event.expiresAtMs) ? event.expiresAtMs - Date.now() : 0;
      const done = (session?: GatewaySession) => {
        clearTimeout(timer);
        live.off('status', onStatus);
        signal.removeEventListener('abort', onAbort);
        resolve(session);
      };
      const onStatus = (status: SessionStatus) => {
        if (status.state === 'connected') done(status.session);
        else if (status.state === 'stopped') done();
      };
      const onAbort = () => done();
      const timer = setTimeout(done, Math.min(Math.max(0, remaining), MAX_DELIVERY_WAIT_MS));
      live.on('status', onStatus);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  };

  const onRequested = async (event: ExecApprovalRequestedEvent) => {
    if (!event || typeof event.id !== 'string' || !event.id || active.has(event.id) || handled.has(event.id)) return;
    if (!event.request || typeof event.request !== 'object' || typeof event.request.command !== 'string')
      return ignore(event.id, 'a request without a command');
    if (active.size >= MAX_OPEN_APPROVALS)
      return ignore(event.id, `more than ${MAX_OPEN_APPROVALS} open at once (they expire unanswered)`);
    let size = Infinity;
    try {
      size = JSON.stringify(event).length;
    } catch {
      // Not serializable: not reviewable either.
    }
    if (size > MAX_APPROVAL_REQUEST_CHARS)
      return ignore(event.id, `a request over ${MAX_APPROVAL_REQUEST_CHARS} characters cannot be reviewed`);
    ignoredSinceLastWarning = 0;
    const abort = new AbortController();
    active.set(event.id, abort);
    try {
      const { decision, source, fallback } = await decide(event, abort.signal);
      if (abort.signal.aborted) return; // resolved elsewhere meanwhile
      // Told before the gateway is: its exec.approval.resolved broadcast can reach the app's other session before this
      // request's answer, and the app's history must already know the decision was askFallback's, not the person's.
      options.onOutcome?.({ id: event.id, decision, source, fallback });
      if (decision === null) return;
      // A session that drops while the answer is on its way: the answer goes again on the next one.
      for (let attempt = 0; ; attempt++) {
        const session = await sessionFor(event, abort.signal);
        if (!session) {
          if (!abort.signal.aborted)
            options.onOutcome?.({ id: event.id, decision, source, fallback, error: 'the gateway was not reachable' });
          return;
        }
        try {
          await session.request('exec.approval.resolve', { id: event.id, decision }, { timeoutMs: 10_000 });
          return;
        } catch (error) {
          if (session.closed && attempt < 3 && !abort.signal.aborted) continue;
          options.onOutcome?.({ id: event.id, decision, source, fallback, error: (error as Error).message });
          log('debug', 'exec.approval.resolve failed (already resolved elsewhere?)', {
            id: event.id,
            error: String(error),
          });
          return;
        }
      }
    } finally {
      active.delete(event.id);
      remember(event.id);
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
      if (name === 'exec.approval.requested') void onRequested(payload as ExecApprovalRequestedEvent);
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
        // Ones still open here (on screen, or decided and waiting for this session) are not asked again.
        for (const item of items) void onRequested(item);
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
