import { EventEmitter } from 'node:events';
import {
  connectGateway,
  GatewayClientError,
  type GatewayClientOptions,
  type GatewaySession,
} from '../client/gateway-client';

/**
 * Keeps one protocol session alive: reconnects with jittered exponential backoff (1 s doubling to 30 s, ±20 %, so the
 * runners and approvers of one gateway do not come back in lockstep after it restarts), retries on 1012/1013/4001 and
 * transport errors, and stops on the connect errors a retry cannot fix (docs/remote-gateways.md § Staying connected).
 * `reconnectNow()` skips a pending wait (resume from sleep, the network came back).
 */

/** Detail codes after which the reference client stops reconnecting. */
export const TERMINAL_CONNECT_CODES = new Set([
  'AUTH_TOKEN_MISSING',
  'AUTH_BOOTSTRAP_TOKEN_INVALID',
  'AUTH_PASSWORD_MISSING',
  'AUTH_PASSWORD_MISMATCH',
  'AUTH_RATE_LIMITED',
  'CONTROL_UI_DEVICE_IDENTITY_REQUIRED',
  'DEVICE_IDENTITY_REQUIRED',
  'AUTH_TOKEN_MISMATCH',
  'AUTH_TOKEN_NOT_CONFIGURED',
  'PROTOCOL_MISMATCH',
  // Clawdesk's own: a pinned certificate changed (gateway/remote/tls-pin.ts). Never retried into a silent re-pin.
  'TLS_FINGERPRINT_MISMATCH',
]);

export interface ReconnectOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Each wait is the backoff times 1 ± this (default 0.2; 0 for none). */
  jitter?: number;
  /** 0..1; injectable for tests. */
  random?: () => number;
  /**
   * Calls reconnectNow() on the session from outside, also while its first connect is still pending (when the
   * runner's and the approval client's handles do not exist yet): the remote service's network-change watcher.
   */
  nudges?: ReconnectNudges;
  /** How long a live session gets to answer the ping a nudge sends before it is taken for dead (default 5 s). */
  probeTimeoutMs?: number;
}

/** What a nudge did to one session. */
export type NudgeResult = 'reconnecting' | 'probing' | 'nothing';

/** A fan-out of "reconnect now" to the sessions subscribed (gateway/remote/remote-gateway-service.ts). */
export class ReconnectNudges {
  private readonly listeners = new Set<() => NudgeResult>();

  subscribe(listener: () => NudgeResult): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** How many waiting sessions try again now, and how many live ones are pinged. */
  nudge(): { reconnecting: number; probing: number } {
    const counts = { reconnecting: 0, probing: 0 };
    for (const listener of [...this.listeners]) {
      try {
        const result = listener();
        if (result !== 'nothing') counts[result]++;
      } catch {
        // One session's trouble is not the others'.
      }
    }
    return counts;
  }
}

export type SessionStatus =
  | { state: 'connecting' }
  | { state: 'connected'; session: GatewaySession }
  | { state: 'waiting'; retryInMs: number; error: string; pairingRequestId?: string }
  | { state: 'stopped'; error?: string; code?: string };

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

export class ReconnectingSession extends EventEmitter {
  private stopped = false;
  private current?: GatewaySession;
  private timer?: NodeJS.Timeout;
  private backoff: number;
  private deviceToken?: string;
  private triedDeviceToken = false;
  private unsubscribeNudges?: () => void;
  /** Set when a live session failed its ping: its close is followed by an attempt at once, not a backoff wait. */
  private deadSession?: GatewaySession;
  status: SessionStatus = { state: 'connecting' };

  constructor(
    private readonly options: GatewayClientOptions,
    private readonly reconnect: ReconnectOptions = {},
  ) {
    super();
    this.backoff = reconnect.initialBackoffMs ?? 1000;
  }

  /** Resolves on the first hello-ok, rejects on a terminal error before it (later drops reconnect). */
  start(): Promise<GatewaySession> {
    return new Promise((resolve, reject) => {
      const onStatus = (status: SessionStatus) => {
        if (status.state === 'connected') {
          this.off('status', onStatus);
          resolve(status.session);
        } else if (status.state === 'stopped') {
          this.off('status', onStatus);
          reject(new Error(status.error ?? 'stopped'));
        }
      };
      this.on('status', onStatus);
      this.unsubscribeNudges ??= this.reconnect.nudges?.subscribe(() =>
        this.reconnectNow() ? 'reconnecting' : this.probe() ? 'probing' : 'nothing',
      );
      void this.attempt();
    });
  }

  get session(): GatewaySession | undefined {
    return this.current && !this.current.closed ? this.current : undefined;
  }

  private setStatus(status: SessionStatus): void {
    this.status = status;
    this.emit('status', status);
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    this.setStatus({ state: 'connecting' });
    const opts = { ...this.options };
    if (this.triedDeviceToken && this.deviceToken) {
      delete opts.token;
      opts.deviceToken = this.deviceToken;
    }
    let session: GatewaySession;
    try {
      session = await connectGateway(opts);
    } catch (error) {
      this.onConnectError(error);
      return;
    }
    if (this.stopped) {
      await session.close(1000, 'stopping');
      return;
    }
    this.current = session;
    this.backoff = this.reconnect.initialBackoffMs ?? 1000;
    if (session.deviceToken) this.deviceToken = session.deviceToken;
    session.on('close', (code: number, reason: string) => {
      if (this.current === session) this.current = undefined;
      this.emit('disconnected', code, reason);
      if (this.stopped) return;
      if (this.deadSession === session) {
        this.deadSession = undefined;
        this.setStatus({ state: 'waiting', retryInMs: 0, error: 'no answer to a ping after the network changed' });
        void this.attempt();
        return;
      }
      this.schedule(`connection closed (${code}${reason ? ` ${reason}` : ''})`);
    });
    this.setStatus({ state: 'connected', session });
  }

  private onConnectError(error: unknown): void {
    if (this.stopped) return;
    const e = error as GatewayClientError;
    const code = e instanceof GatewayClientError ? e.detailCode : undefined;
    const message = (error as Error).message;
    // One retry with the device token we were issued, and only to a loopback gateway
    // (docs/remote-gateways.md § Staying connected).
    if (
      code === 'AUTH_TOKEN_MISMATCH' &&
      this.deviceToken &&
      !this.triedDeviceToken &&
      isLoopbackUrl(this.options.url)
    ) {
      this.triedDeviceToken = true;
      void this.attempt();
      return;
    }
    if (code === 'PAIRING_REQUIRED') {
      // Waiting for an operator: no fast loop, but no giving up either (checklist: retry after backoff).
      const requestId = (e.error?.details as { requestId?: string } | undefined)?.requestId;
      this.schedule(message, this.reconnect.maxBackoffMs ?? 30_000, requestId);
      return;
    }
    if (code && TERMINAL_CONNECT_CODES.has(code)) {
      this.stopped = true;
      this.unsubscribeNudges?.();
      this.setStatus({ state: 'stopped', error: message, code });
      return;
    }
    this.schedule(message);
  }

  private schedule(error: string, delay?: number, pairingRequestId?: string): void {
    const base = delay ?? this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.reconnect.maxBackoffMs ?? 30_000);
    const jitter = Math.min(1, Math.max(0, this.reconnect.jitter ?? 0.2));
    const wait = Math.max(0, Math.round(base * (1 + (2 * (this.reconnect.random ?? Math.random)() - 1) * jitter)));
    this.setStatus({ state: 'waiting', retryInMs: wait, error, pairingRequestId });
    this.timer = setTimeout(() => void this.attempt(), wait);
  }

  /**
   * Ends a pending wait now, with the backoff back at its start: the machine woke up or the network changed, so the
   * last failure says nothing about this attempt. A live session is left alone; it reports its own loss.
   */
  reconnectNow(): boolean {
    if (this.stopped || this.status.state !== 'waiting') return false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.backoff = this.reconnect.initialBackoffMs ?? 1000;
    void this.attempt();
    return true;
  }

  /**
   * Checks that a live session still reaches the gateway (a WebSocket ping): after the network changed, a
   * connection can be dead without either side having said so, and nothing else would notice it for minutes. No
   * pong in time, and the session is dropped and replaced at once. True when a probe was sent.
   */
  probe(timeoutMs = this.reconnect.probeTimeoutMs ?? 5000): boolean {
    const session = this.session;
    if (this.stopped || !session || this.status.state !== 'connected') return false;
    const ws = session.ws;
    const timer = setTimeout(() => {
      ws.off('pong', onPong);
      if (this.current !== session || session.closed) return;
      this.deadSession = session;
      ws.terminate();
    }, timeoutMs);
    const onPong = () => clearTimeout(timer);
    ws.once('pong', onPong);
    session.once('close', () => clearTimeout(timer));
    try {
      ws.ping();
    } catch {
      // A socket that cannot even send is dead: the timer above replaces it.
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeNudges?.();
    clearTimeout(this.timer);
    const s = this.current;
    this.current = undefined;
    if (s) await s.close(1000, 'client stopping');
    this.setStatus({ state: 'stopped' });
  }
}
