import { safeEqualSecret } from '../protocol/secret-compare';

export type AuthMode = 'none' | 'token' | 'password';

export interface GatewayAuthConfig {
  mode: AuthMode;
  token?: string;
  password?: string;
}

export function validateAuthConfig(auth: GatewayAuthConfig): void {
  if (auth.mode === 'token' && !auth.token) {
    throw new Error(
      'auth mode "token" needs a token (--token, OPENCLAW_GATEWAY_TOKEN, or gateway.auth.token in openclaw.json)',
    );
  }
  if (auth.mode === 'password' && !auth.password) {
    throw new Error(
      'auth mode "password" needs a password (--password, OPENCLAW_GATEWAY_PASSWORD, or gateway.auth.password in openclaw.json)',
    );
  }
}

export type SharedAuthOutcome =
  | { kind: 'ok'; method: 'none' | 'token' | 'password' }
  | { kind: 'absent'; detailCode: 'AUTH_TOKEN_MISSING' | 'AUTH_PASSWORD_MISSING' }
  | { kind: 'mismatch'; detailCode: 'AUTH_TOKEN_MISMATCH' | 'AUTH_PASSWORD_MISMATCH' };

export function checkSharedSecret(
  auth: GatewayAuthConfig,
  provided: { token?: string; password?: string } | undefined,
): SharedAuthOutcome {
  switch (auth.mode) {
    case 'none':
      return { kind: 'ok', method: 'none' };
    case 'token':
      if (!provided?.token) return { kind: 'absent', detailCode: 'AUTH_TOKEN_MISSING' };
      return safeEqualSecret(provided.token, auth.token)
        ? { kind: 'ok', method: 'token' }
        : { kind: 'mismatch', detailCode: 'AUTH_TOKEN_MISMATCH' };
    case 'password':
      if (!provided?.password) return { kind: 'absent', detailCode: 'AUTH_PASSWORD_MISSING' };
      return safeEqualSecret(provided.password, auth.password)
        ? { kind: 'ok', method: 'password' }
        : { kind: 'mismatch', detailCode: 'AUTH_PASSWORD_MISMATCH' };
  }
}

export interface RateLimitOptions {
  /** Failures allowed within the window before the peer is locked out. */
  maxFailures: number;
  windowMs: number;
  lockoutMs: number;
  /** Bound on tracked peers so a spray of addresses cannot grow memory without limit. */
  maxTrackedAddresses: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  maxFailures: 10,
  windowMs: 60_000,
  lockoutMs: 60_000,
  maxTrackedAddresses: 10_000,
};

interface FailureRecord {
  failures: number[];
  lockedUntil: number;
}

/**
 * Auth failure limiter, per peer key (`PeerIdentity.key` in peer-user.ts): the peer's OS user where the OS tells
 * (Linux), else its address. So another local user's wrong guesses lock out that user, never the owner, and
 * a lockout is not dodged by switching between 127.x.y.z addresses. Loopback is not exempt: a local web page
 * or process can guess too.
 */
export class AuthRateLimiter {
  private readonly records = new Map<string, FailureRecord>();
  private lastPrunedAt = 0;

  constructor(
    private readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until the peer may try again, or 0. */
  retryAfter(peerKey: string): number {
    const record = this.records.get(peerKey);
    if (!record) return 0;
    return Math.max(0, record.lockedUntil - this.now());
  }

  recordFailure(peerKey: string): void {
    const now = this.now();
    let record = this.records.get(peerKey);
    if (!record) {
      if (this.records.size >= this.options.maxTrackedAddresses) {
        this.records.delete(this.records.keys().next().value as string);
      }
      record = { failures: [], lockedUntil: 0 };
      this.records.set(peerKey, record);
    }
    record.failures = record.failures.filter((t) => now - t < this.options.windowMs);
    record.failures.push(now);
    if (record.failures.length >= this.options.maxFailures) {
      record.lockedUntil = now + this.options.lockoutMs;
      record.failures = [];
    }
  }

  /**
   * True when no peer is locked out or has failures in the window: then a connect with the right secret cannot
   * touch the limiter, and the caller may skip working out who the peer is. Stale records are pruned here (at most
   * once a second).
   */
  isIdle(): boolean {
    if (this.records.size === 0) return true;
    const now = this.now();
    if (now - this.lastPrunedAt >= 1_000) {
      this.lastPrunedAt = now;
      for (const [key, record] of this.records) {
        if (record.lockedUntil <= now && record.failures.every((t) => now - t >= this.options.windowMs))
          this.records.delete(key);
      }
    }
    return this.records.size === 0;
  }

  recordSuccess(peerKey: string): void {
    const record = this.records.get(peerKey);
    if (record && record.lockedUntil <= this.now()) this.records.delete(peerKey);
  }
}
