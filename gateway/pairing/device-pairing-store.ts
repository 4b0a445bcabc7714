import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, serialize, sweepOrphanedTempFiles, writeJsonAtomic } from '../fs/atomic-file';
import type { ErrorDetails, PairingReason } from '../protocol/error-codes';
import type { redactedPairedDevice } from '../protocol/method-schemas';
import { isOperatorScope, normalizeScopes, scopeSatisfied, scopesCovered } from '../protocol/scopes';
import { safeEqualSecret } from '../protocol/secret-compare';

export const PENDING_TTL_MS = 5 * 60_000;
/**
 * Bounds on pending pairing requests (issue 9 finding 14): per source (the peer's OS user where the OS tells, else
 * its address) and overall. A new request beyond a bound drops the oldest pending one of that source (or overall),
 * so a flood only ever displaces the flooder's own requests first and the store stays small.
 */
export const MAX_PENDING_PAIRING_PER_SOURCE = 16;
export const MAX_PENDING_PAIRING_TOTAL = 64;

export type { PairingReason } from '../protocol/error-codes';

const optionalString = z.string().optional();
const stringList = z.array(z.string()).optional();

const tokenEntrySchema = z.looseObject({
  token: z.string().min(1),
  role: z.string().min(1),
  scopes: z.array(z.string()),
  createdAtMs: z.number(),
  rotatedAtMs: z.number().optional(),
  revokedAtMs: z.number().optional(),
  lastUsedAtMs: z.number().optional(),
});

/** What a pending request and a paired record both say about the device (OpenClaw's field names). */
const deviceFields = {
  deviceId: z.string().min(1),
  publicKey: z.string().min(1),
  displayName: optionalString,
  platform: optionalString,
  deviceFamily: optionalString,
  clientId: optionalString,
  clientMode: optionalString,
  role: optionalString,
  roles: stringList,
  scopes: stringList,
  remoteIp: optionalString,
};

const pendingRequestSchema = z.looseObject({
  requestId: z.string().min(1),
  ...deviceFields,
  silent: z.boolean().optional(),
  isRepair: z.boolean().optional(),
  ts: z.number(),
});

const pairedDeviceSchema = z.looseObject({
  ...deviceFields,
  approvedScopes: stringList,
  tokens: z.record(z.string(), tokenEntrySchema).optional(),
  createdAtMs: z.number(),
  approvedAtMs: z.number(),
});

export type DeviceTokenEntry = z.infer<typeof tokenEntrySchema>;
export type PendingPairingRequest = z.infer<typeof pendingRequestSchema>;
export type PairedDevice = z.infer<typeof pairedDeviceSchema>;

/** Maps keyed by requestId / deviceId (OpenClaw's shape); a legacy array is accepted and converted. */
function mapOf<T extends z.ZodType>(entry: T, key: string) {
  return (value: unknown): Record<string, z.infer<T>> => {
    const entries: unknown[] = Array.isArray(value)
      ? value
      : value && typeof value === 'object'
        ? Object.values(value as Record<string, unknown>)
        : (() => {
            throw new Error('expected an object map');
          })();
    // No prototype: ids such as "__proto__" or "constructor" must be plain keys, never inherited members.
    const out: Record<string, z.infer<T>> = Object.create(null);
    for (const raw of entries) {
      const parsed = entry.parse(raw) as Record<string, unknown>;
      out[String(parsed[key])] = parsed as z.infer<T>;
    }
    return out;
  };
}

export class PairingError extends Error {
  constructor(
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
  }
}

export interface CorruptFileReport {
  file: string;
  error: string;
  quarantinedTo: string;
}

export interface PairingRequestInput {
  deviceId: string;
  publicKey: string;
  role: string;
  scopes: readonly string[];
  displayName?: string;
  platform?: string;
  deviceFamily?: string;
  clientId?: string;
  clientMode?: string;
  remoteIp?: string;
  /** Who filed it, for the per-source cap (kept in memory only); defaults to remoteIp. */
  source?: string;
  silent: boolean;
}

export interface DevicePairingStoreOptions {
  now?: () => number;
}

/** A writer that is still alive (another process, e.g. the CLI) may be about to rename its temp file. */
/** Opaque device tokens: 32 random bytes, b64url (docs/protocol.md § Pairing). */
export function mintDeviceToken(): string {
  return randomBytes(32).toString('base64url');
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...(b ?? [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function union(...lists: (readonly string[] | undefined)[]): string[] {
  return [...new Set(lists.flatMap((l) => l ?? []))];
}

function rolesOf(record: { role?: string; roles?: string[] }): string[] {
  return union(record.roles, record.role ? [record.role] : []);
}

/** The scopes a role may carry: operator.* for operators, `<role>.*` for others (docs/protocol.md § Pairing). */
function scopeBelongsToRole(scope: string, role: string): boolean {
  return role === 'operator' ? isOperatorScope(scope) : scope.startsWith(`${role}.`);
}

/**
 * Device pairing state (`devices/pending.json`, `devices/paired.json`), held in memory and written through
 * atomically. A mutation resolves only once its write is durable, so nothing acknowledged is lost.
 */
export class DevicePairingStore {
  private pending: Record<string, PendingPairingRequest> = Object.create(null);
  /** requestId → source, for the per-source cap; requests read back from disk fall back to their remoteIp. */
  private readonly sources = new Map<string, string>();
  /** A pending.json-only write not yet started: requests filed meanwhile share it (no fsync per request). */
  private queuedPendingWrite?: Promise<void>;
  private paired: Record<string, PairedDevice> = Object.create(null);
  readonly corruptFiles: CorruptFileReport[] = [];
  private readonly now: () => number;

  private constructor(
    readonly stateDir: string,
    options: DevicePairingStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get pendingPath(): string {
    return path.join(this.stateDir, 'devices', 'pending.json');
  }

  get pairedPath(): string {
    return path.join(this.stateDir, 'devices', 'paired.json');
  }

  static async open(stateDir: string, options: DevicePairingStoreOptions = {}): Promise<DevicePairingStore> {
    const store = new DevicePairingStore(stateDir, options);
    await store.reload();
    return store;
  }

  /** Re-reads both files (corrupt ones are quarantined and reported, and the store starts empty for them). */
  async reload(): Promise<void> {
    const pending = await readJsonFile(this.pendingPath, { parse: mapOf(pendingRequestSchema, 'requestId') });
    const paired = await readJsonFile(this.pairedPath, { parse: mapOf(pairedDeviceSchema, 'deviceId') });
    for (const [file, result] of [
      [this.pendingPath, pending],
      [this.pairedPath, paired],
    ] as const) {
      if (result.kind === 'corrupt')
        this.corruptFiles.push({ file, error: result.error, quarantinedTo: result.quarantinedTo });
    }
    this.pending = pending.kind === 'ok' ? pending.value : Object.create(null);
    this.paired = paired.kind === 'ok' ? paired.value : Object.create(null);
    this.sources.clear();
    this.prunePending();
    // A file written by an older version (or by hand) may hold more than the cap: the newest stay.
    const byAge = Object.values(this.pending).sort((a, b) => a.ts - b.ts);
    for (const old of byAge.slice(0, Math.max(0, byAge.length - MAX_PENDING_PAIRING_TOTAL)))
      this.dropPending(old.requestId);
    await this.sweepDeadWriterTemps();
  }

  /** Temp files of writes cut short by a crash hold copies of tokens (revoked ones too): they do not stay. */
  private async sweepDeadWriterTemps(): Promise<void> {
    await sweepOrphanedTempFiles(this.pendingPath);
    await sweepOrphanedTempFiles(this.pairedPath);
  }

  private prunePending(): boolean {
    const cutoff = this.now() - PENDING_TTL_MS;
    let changed = false;
    for (const [id, request] of Object.entries(this.pending)) {
      if (request.ts < cutoff) {
        this.dropPending(id);
        changed = true;
      }
    }
    return changed;
  }

  /**
   * Writes both files. The state is captured when the write starts, not when it was asked for, so a write queued
   * behind another never puts back an older state than one already written.
   */
  private persist(): Promise<void> {
    return serialize(path.join(this.stateDir, 'devices'), async () => {
      const pending = structuredClone(this.pending);
      const paired = structuredClone(this.paired);
      // paired.json first: a crash between the two renames must not drop an approved request from both files.
      await writeJsonAtomic(this.pairedPath, paired);
      await writeJsonAtomic(this.pendingPath, pending);
    });
  }

  /**
   * Writes pending.json only (a filed request changes nothing else). Callers that arrive while a write is queued
   * join it; each still resolves only once a write holding its request is durable.
   */
  private persistPending(): Promise<void> {
    if (this.queuedPendingWrite) return this.queuedPendingWrite;
    const write = serialize(path.join(this.stateDir, 'devices'), async () => {
      if (this.queuedPendingWrite === write) this.queuedPendingWrite = undefined;
      await writeJsonAtomic(this.pendingPath, structuredClone(this.pending));
    });
    this.queuedPendingWrite = write;
    return write;
  }

  private dropPending(requestId: string): void {
    delete this.pending[requestId];
    this.sources.delete(requestId);
  }

  private sourceOf(request: PendingPairingRequest): string {
    return this.sources.get(request.requestId) ?? request.remoteIp ?? 'unknown';
  }

  /** Makes room for one more request from `source`: its oldest beyond the per-source cap, then the oldest overall. */
  private enforcePendingCaps(source: string): void {
    const byAge = Object.values(this.pending).sort((a, b) => a.ts - b.ts);
    const fromSource = byAge.filter((r) => this.sourceOf(r) === source);
    for (const old of fromSource.slice(0, Math.max(0, fromSource.length - (MAX_PENDING_PAIRING_PER_SOURCE - 1))))
      this.dropPending(old.requestId);
    const remaining = Object.values(this.pending).sort((a, b) => a.ts - b.ts);
    for (const old of remaining.slice(0, Math.max(0, remaining.length - (MAX_PENDING_PAIRING_TOTAL - 1))))
      this.dropPending(old.requestId);
  }

  getPaired(deviceId: string): PairedDevice | undefined {
    return this.paired[deviceId];
  }

  listPaired(): PairedDevice[] {
    return Object.values(this.paired);
  }

  listPending(): PendingPairingRequest[] {
    this.prunePending();
    return Object.values(this.pending);
  }

  getPending(requestId: string): PendingPairingRequest | undefined {
    this.prunePending();
    return this.pending[requestId];
  }

  /** Roles of non-revoked token entries, bounded by the approved roles. A tokenless record has none (docs/protocol.md § Pairing). */
  effectiveRoles(device: PairedDevice): string[] {
    const approved = rolesOf(device);
    const tokenRoles = Object.values(device.tokens ?? {})
      .filter((t) => t.revokedAtMs === undefined)
      .map((t) => t.role);
    return tokenRoles.filter((role) => approved.includes(role));
  }

  approvedScopes(device: PairedDevice): string[] {
    return device.approvedScopes ?? device.scopes ?? [];
  }

  /** Why this connect needs (re)pairing, or null when the paired record covers it (docs/protocol.md § Pairing). */
  pairingReason(
    input: {
      deviceId: string;
      publicKey: string;
      role: string;
      scopes: readonly string[];
      platform?: string;
      deviceFamily?: string;
    },
    normalize: (v?: string) => string,
  ): PairingReason | null {
    const device = this.paired[input.deviceId];
    if (!device || device.publicKey !== input.publicKey) return 'not-paired';
    if (device.platform && normalize(device.platform) !== normalize(input.platform)) return 'metadata-upgrade';
    if (device.deviceFamily && normalize(device.deviceFamily) !== normalize(input.deviceFamily))
      return 'metadata-upgrade';
    if (!this.effectiveRoles(device).includes(input.role)) return 'role-upgrade';
    if (input.scopes.length > 0) {
      const approved = this.approvedScopes(device);
      if (approved.length === 0 || !scopesCovered(approved, input.scopes)) return 'scope-upgrade';
    }
    return null;
  }

  /** Files or refreshes a pending request (docs/protocol.md § Pairing). */
  async requestPairing(input: PairingRequestInput): Promise<{ request: PendingPairingRequest; created: boolean }> {
    const filed = this.fileRequest(input);
    await this.persistPending();
    return filed;
  }

  /**
   * The gateway's own silent approval for the owner's machine: files the request and approves it in one durable
   * write (a first connect otherwise pays for two rounds of fsyncs).
   */
  async pairSilently(input: PairingRequestInput): Promise<{ request: PendingPairingRequest; device: PairedDevice }> {
    const { request } = this.fileRequest({ ...input, silent: true });
    const device = this.applyApproval(request.requestId, { callerScopes: input.scopes, trusted: true });
    await this.persist();
    return { request, device };
  }

  private fileRequest(input: PairingRequestInput): { request: PendingPairingRequest; created: boolean } {
    this.prunePending();
    const forDevice = Object.values(this.pending).filter((r) => r.deviceId === input.deviceId);
    const only = forDevice.length === 1 ? forDevice[0] : undefined;
    if (
      only &&
      only.publicKey === input.publicKey &&
      only.role === input.role &&
      sameList(only.roles, [input.role]) &&
      sameList(only.scopes, input.scopes)
    ) {
      only.ts = this.now();
      only.silent = Boolean(only.silent) && input.silent;
      only.remoteIp = input.remoteIp ?? only.remoteIp;
      return { request: only, created: false };
    }
    for (const old of forDevice) this.dropPending(old.requestId);
    const source = input.source ?? input.remoteIp ?? 'unknown';
    this.enforcePendingCaps(source);
    const samePublicKey = forDevice.filter((r) => r.publicKey === input.publicKey);
    const request: PendingPairingRequest = {
      requestId: randomUUID(),
      deviceId: input.deviceId,
      publicKey: input.publicKey,
      displayName: input.displayName,
      platform: input.platform,
      deviceFamily: input.deviceFamily,
      clientId: input.clientId,
      clientMode: input.clientMode,
      role: input.role,
      roles: union([input.role], ...samePublicKey.map((r) => rolesOf(r))),
      scopes: union(input.scopes, ...samePublicKey.map((r) => r.scopes)),
      remoteIp: input.remoteIp,
      silent: input.silent,
      isRepair: this.paired[input.deviceId] !== undefined,
      ts: this.now(),
    };
    this.pending[request.requestId] = request;
    this.sources.set(request.requestId, source);
    return { request, created: true };
  }

  /**
   * Approves a pending request (docs/protocol.md § Pairing). `callerScopes` are the approver's session scopes; `trusted` is
   * the gateway's own silent approval, where the device approves what it asked for.
   */
  async approve(
    requestId: string,
    approver: { callerScopes: readonly string[]; trusted?: boolean },
  ): Promise<{ request: PendingPairingRequest; device: PairedDevice }> {
    const request = this.getPending(requestId);
    const device = this.applyApproval(requestId, approver);
    await this.persist();
    return { request: request!, device };
  }

  /** Validates, then applies an approval in memory; throws before changing anything. */
  private applyApproval(
    requestId: string,
    approver: { callerScopes: readonly string[]; trusted?: boolean },
  ): PairedDevice {
    const request = this.getPending(requestId);
    if (!request) throw new PairingError('unknown requestId', { requestId });
    const roles = rolesOf(request);
    const scopes = request.scopes ?? [];
    for (const scope of scopes) {
      if (!roles.some((role) => scopeBelongsToRole(scope, role)))
        throw new PairingError(`invalid scope for requested roles: ${scope}`);
    }
    if (!approver.trusted) {
      for (const scope of scopes) {
        if (isOperatorScope(scope) && !scopeSatisfied(approver.callerScopes, scope))
          throw new PairingError(`missing scope: ${scope}`);
      }
      if (roles.some((role) => role !== 'operator') && !approver.callerScopes.includes('operator.admin')) {
        throw new PairingError('missing scope: operator.admin');
      }
    }
    const now = this.now();
    const existing = this.paired[request.deviceId];
    const keepExisting = existing && existing.publicKey === request.publicKey;
    const approvedScopes = normalizeScopes(union(keepExisting ? this.approvedScopes(existing) : [], scopes));
    const tokens: Record<string, DeviceTokenEntry> = keepExisting ? { ...(existing.tokens ?? {}) } : {};
    for (const role of roles) {
      const previous = tokens[role];
      tokens[role] = {
        token: mintDeviceToken(),
        role,
        scopes: approvedScopes.filter((s) => scopeBelongsToRole(s, role)),
        createdAtMs: previous?.createdAtMs ?? now,
        ...(previous ? { rotatedAtMs: now } : {}),
      };
    }
    const device: PairedDevice = {
      ...(keepExisting ? existing : {}),
      deviceId: request.deviceId,
      publicKey: request.publicKey,
      displayName: request.displayName ?? (keepExisting ? existing.displayName : undefined),
      platform: request.platform,
      deviceFamily: request.deviceFamily,
      clientId: request.clientId,
      clientMode: request.clientMode,
      role: request.role,
      roles: union(keepExisting ? rolesOf(existing) : [], roles),
      scopes: approvedScopes,
      approvedScopes,
      remoteIp: request.remoteIp,
      tokens,
      createdAtMs: keepExisting ? existing.createdAtMs : now,
      approvedAtMs: now,
    };
    this.paired[request.deviceId] = device;
    this.dropPending(requestId);
    return device;
  }

  async reject(requestId: string): Promise<PendingPairingRequest> {
    const request = this.getPending(requestId);
    if (!request) throw new PairingError('unknown requestId', { requestId });
    this.dropPending(requestId);
    await this.persistPending();
    return request;
  }

  async remove(deviceId: string): Promise<PairedDevice> {
    const device = this.paired[deviceId];
    if (!device) throw new PairingError('unknown deviceId', { deviceId });
    delete this.paired[deviceId];
    for (const request of Object.values(this.pending))
      if (request.deviceId === deviceId) this.dropPending(request.requestId);
    await this.persist();
    return device;
  }

  /** A token for (device, role) covering `scopes`: reused while it covers them, else minted within the approved baseline. */
  async ensureDeviceToken(deviceId: string, role: string, scopes: readonly string[]): Promise<DeviceTokenEntry | null> {
    const device = this.paired[deviceId];
    if (!device || !rolesOf(device).includes(role)) return null;
    const approved = this.approvedScopes(device);
    const current = device.tokens?.[role];
    // A revoked token is never revived here: revocation is undone only by an explicit rotate or re-approval.
    if (!current || current.revokedAtMs !== undefined) return null;
    if (scopesCovered(current.scopes, scopes) && scopesCovered(approved, current.scopes.filter(isOperatorScope)))
      return current;
    if (!scopesCovered(approved, scopes)) return null;
    const now = this.now();
    const next: DeviceTokenEntry = {
      ...current,
      token: mintDeviceToken(),
      scopes: normalizeScopes(union(current.scopes, scopes)).filter(
        (s) => scopeBelongsToRole(s, role) && scopeSatisfied(approved, s),
      ),
      rotatedAtMs: now,
    };
    device.tokens = { ...device.tokens, [role]: next };
    await this.persist();
    return next;
  }

  /** Constant-time check of a presented device token; revoked tokens never verify. */
  verifyDeviceToken(deviceId: string, role: string, token: string): DeviceTokenEntry | null {
    const entry = this.paired[deviceId]?.tokens?.[role];
    if (!entry || entry.revokedAtMs !== undefined) return null;
    return safeEqualSecret(token, entry.token) ? entry : null;
  }

  async rotateToken(
    deviceId: string,
    role: string,
    scopes: readonly string[] | undefined,
    callerScopes: readonly string[],
  ): Promise<DeviceTokenEntry & { rotatedAtMs: number }> {
    const device = this.paired[deviceId];
    const denied = () => new PairingError('device token rotation denied', { deviceId, role });
    if (!device || !rolesOf(device).includes(role)) throw denied();
    const approved = this.approvedScopes(device);
    const wanted = normalizeScopes(
      scopes ?? device.tokens?.[role]?.scopes ?? approved.filter((s) => scopeBelongsToRole(s, role)),
    );
    if (!wanted.every((s) => scopeBelongsToRole(s, role) && scopeSatisfied(approved, s))) throw denied();
    if (!wanted.filter(isOperatorScope).every((s) => scopeSatisfied(callerScopes, s))) throw denied();
    const now = this.now();
    const previous = device.tokens?.[role];
    const entry = {
      token: mintDeviceToken(),
      role,
      scopes: wanted,
      createdAtMs: previous?.createdAtMs ?? now,
      rotatedAtMs: now,
    };
    device.tokens = { ...device.tokens, [role]: entry };
    await this.persist();
    return entry;
  }

  async revokeToken(deviceId: string, role: string): Promise<number> {
    const entry = this.paired[deviceId]?.tokens?.[role];
    if (!entry) throw new PairingError('unknown device token', { deviceId, role });
    entry.revokedAtMs = entry.revokedAtMs ?? this.now();
    await this.persist();
    return entry.revokedAtMs;
  }

  /** Writes connection metadata back to the record (docs/protocol.md § Pairing), only when it changed. */
  async touchMetadata(
    deviceId: string,
    meta: { displayName?: string; clientId?: string; clientMode?: string; remoteIp?: string },
  ): Promise<void> {
    const device = this.paired[deviceId];
    if (!device) return;
    let changed = false;
    for (const key of ['displayName', 'clientId', 'clientMode', 'remoteIp'] as const) {
      const value = meta[key];
      if (value !== undefined && device[key] !== value) {
        device[key] = value;
        changed = true;
      }
    }
    if (changed) await this.persist();
  }
}

/** The shape `device.pair.list` exposes: no token strings, no approvedScopes (docs/protocol.md § Pairing). */
export function redactPairedDevice(device: PairedDevice): z.input<typeof redactedPairedDevice> {
  const { tokens, approvedScopes: _approved, ...rest } = device;
  return {
    ...rest,
    tokens: Object.values(tokens ?? {}).map(({ token: _token, ...meta }) => meta),
  };
}
