import { KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeJsonAtomic } from '../fs/atomic-file';
import {
  InvalidKeyError,
  deviceIdFromPublicKey,
  fromB64,
  generateEd25519KeyPair,
  keyPairMatches,
  privateKeyFromPem,
  privateKeyFromRaw,
  publicKeyFromPem,
  publicKeyFromRaw,
  rawPrivateKey,
  rawPublicKey,
  signPayload,
  toB64Url,
  verifyPayload,
} from '../protocol/ed25519';
import { IDENTITY_RECORD_FILE } from './identity-record';
import { SecretStoreError } from './secret-errors';
import type { SecretStore } from './secret-store';

/**
 * Clawdesk's own Ed25519 device identity (one per app, never shared with the openclaw CLI:
 * docs/state-and-secrets.md § Clawdesk's secrets) and the device tokens it holds as a client. Both live in the
 * SecretStore; a small public record beside it remembers that an identity exists, so a locked or vanished keychain is
 * reported instead of silently minting a new identity (which would make every gateway ask to pair again).
 */
export interface DeviceIdentity {
  /** Lowercase hex SHA-256 of the raw public key. */
  readonly deviceId: string;
  /** Raw 32-byte public key, b64url: what `connect.params.device.publicKey` carries. */
  readonly publicKey: string;
  readonly createdAtMs: number;
  readonly privateKey: KeyObject;
}

export interface DeviceToken {
  token: string;
  role: string;
  scopes: string[];
  updatedAtMs: number;
}

export const IDENTITY_SECRET = 'device-identity';
export const TOKENS_SECRET = 'device-tokens';
const MAX_IDENTITY_FILE_BYTES = 64 * 1024;

export class IdentityUnavailableError extends Error {
  readonly code = 'identity-unavailable';
  constructor(
    readonly deviceId: string,
    override readonly cause: SecretStoreError,
  ) {
    super(
      `Clawdesk's device identity ${deviceId.slice(0, 12)}… is kept in a secret store that is ${cause.code === 'locked' ? 'locked' : 'not available'} (${cause.message}). ` +
        'Clawdesk will not create a new identity, because every gateway would then ask to pair again. Unlock the keychain and retry.',
    );
    this.name = 'IdentityUnavailableError';
  }
}

export class IdentityMissingError extends Error {
  readonly code = 'identity-missing';
  constructor(readonly deviceId: string) {
    super(
      `Clawdesk's device identity ${deviceId.slice(0, 12)}… was recorded but is no longer in the secret store. ` +
        'Restore the keychain entry, or confirm creating a new identity (gateways will ask to pair this device again).',
    );
    this.name = 'IdentityMissingError';
  }
}

export class IdentityImportError extends Error {
  readonly code = 'identity-import-failed';
  constructor(message: string) {
    super(message);
    this.name = 'IdentityImportError';
  }
}

/** The store holds an identity entry that does not parse or does not match its own key. Never overwritten silently. */
export class IdentityCorruptError extends Error {
  readonly code = 'identity-corrupt';
  constructor(message: string) {
    super(message);
    this.name = 'IdentityCorruptError';
  }
}

export function signWithIdentity(identity: DeviceIdentity, payload: string): string {
  return signPayload(identity.privateKey, payload);
}

export function exportPublicKeyB64Url(identity: DeviceIdentity): string {
  return identity.publicKey;
}

export function identityFromPrivateKey(privateKey: KeyObject, createdAtMs: number): DeviceIdentity {
  const raw = rawPublicKey(privateKey);
  return Object.freeze({ deviceId: deviceIdFromPublicKey(raw), publicKey: toB64Url(raw), createdAtMs, privateKey });
}

export function generateDeviceIdentity(now = Date.now()): DeviceIdentity {
  return identityFromPrivateKey(generateEd25519KeyPair().privateKey, now);
}

interface StoredIdentity {
  version: 1;
  deviceId: string;
  publicKey: string;
  privateKey: string;
  createdAtMs: number;
  importedFrom?: string;
}

interface IdentityRecord {
  version: 1;
  deviceId: string;
  publicKey: string;
  createdAtMs: number;
  importedFrom?: string;
}

interface StoredTokens {
  version: 1;
  deviceId: string;
  gateways: Record<string, Record<string, DeviceToken>>;
}

export type ImportedIdentityFormat = 'openclaw' | 'macos-app';

export interface ImportIdentityResult {
  identity: DeviceIdentity;
  format: ImportedIdentityFormat;
  /** The file's own deviceId did not match its key; the derived one (what gateways check) was kept. */
  deviceIdCorrected: boolean;
  /** The same identity was already in the store. */
  alreadyPresent: boolean;
  sourceRemoved: boolean;
}

export interface DeviceIdentityStoreOptions {
  /** Clawdesk's data dir (where the public identity record lives). */
  dir: string;
  /** Opens the secret store; called lazily and once. */
  openStore: () => Promise<SecretStore>;
  now?: () => number;
}

export class DeviceIdentityStore {
  private storePromise: Promise<SecretStore> | undefined;
  private readonly recordPath: string;
  private readonly now: () => number;

  constructor(private readonly options: DeviceIdentityStoreOptions) {
    this.recordPath = path.join(options.dir, IDENTITY_RECORD_FILE);
    this.now = options.now ?? Date.now;
  }

  /** The public record of the identity Clawdesk owns, if one was ever created or imported. */
  async recordedIdentity(): Promise<IdentityRecord | undefined> {
    const read = await readJsonFile<IdentityRecord>(this.recordPath, {
      parse: parseRecord,
      maxBytes: MAX_IDENTITY_FILE_BYTES,
    });
    return read.kind === 'ok' ? read.value : undefined;
  }

  /**
   * Returns the identity, creating one only on a true first run. If an identity was recorded before and the store is
   * locked/unavailable, or the secret vanished, this throws rather than minting a replacement (unless the user chose
   * `allowRegenerate`).
   */
  async loadOrCreateIdentity(opts: { allowRegenerate?: boolean } = {}): Promise<DeviceIdentity> {
    const record = await this.recordedIdentity();
    const store = await this.store(record);
    const stored = await readStoredIdentity(store);
    if (stored) {
      if (!record || record.deviceId !== stored.deviceId) await this.writeRecord(stored);
      return stored;
    }
    if (record && !opts.allowRegenerate) throw new IdentityMissingError(record.deviceId);
    const identity = generateDeviceIdentity(this.now());
    await writeVerifiedIdentity(store, identity);
    await this.writeRecord(identity);
    // Tokens belong to a deviceId; a new identity starts with none.
    await store.delete(TOKENS_SECRET);
    return identity;
  }

  /**
   * Imports OpenClaw's `identity/device.json` ({version:1, deviceId, publicKeyPem, privateKeyPem, createdAtMs}) or
   * the macOS app's ({deviceId, publicKey, privateKey: raw base64, createdAtMs}). The deviceId is kept; the source
   * file is removed only after the store's copy has been read back and proven to sign.
   */
  async importIdentityFile(
    filePath: string,
    opts: { replaceExisting?: boolean; removeSource?: boolean } = {},
  ): Promise<ImportIdentityResult> {
    const parsed = await parseIdentityFile(filePath);
    const identity = identityFromPrivateKey(parsed.privateKey, parsed.createdAtMs ?? this.now());
    const record = await this.recordedIdentity();
    const store = await this.store(record);
    const existing = await readStoredIdentity(store);
    const alreadyPresent = existing?.deviceId === identity.deviceId;
    if (existing && !alreadyPresent && !opts.replaceExisting) {
      throw new IdentityImportError(
        `Clawdesk already has identity ${existing.deviceId.slice(0, 12)}…; importing ${identity.deviceId.slice(0, 12)}… would replace it ` +
          '(gateways paired with the current one would ask again). Pass replaceExisting to do it anyway.',
      );
    }
    if (existing && !alreadyPresent) {
      // Keep the replaced key retrievable rather than destroying it.
      await store.set(`${IDENTITY_SECRET}.replaced.${existing.deviceId.slice(0, 16)}`, serializeIdentity(existing));
    }
    if (!alreadyPresent) {
      await writeVerifiedIdentity(store, identity, path.resolve(filePath));
      await store.delete(TOKENS_SECRET);
    }
    const verified = await readStoredIdentity(store);
    if (!verified || verified.deviceId !== identity.deviceId || !provesKey(verified, identity.publicKey)) {
      throw new IdentityImportError(
        `the secret store did not give back a working copy of ${identity.deviceId}; ${filePath} was left in place`,
      );
    }
    await this.writeRecord(verified, path.resolve(filePath));
    let sourceRemoved = false;
    if (opts.removeSource !== false) {
      await removePrivateKeyFile(filePath);
      sourceRemoved = true;
    }
    return {
      identity: verified,
      format: parsed.format,
      deviceIdCorrected: parsed.deviceIdCorrected,
      alreadyPresent,
      sourceRemoved,
    };
  }

  async getDeviceToken(gatewayUrl: string, role: string): Promise<DeviceToken | null> {
    const { identity, tokens } = await this.tokens();
    if (!identity) return null;
    return tokens.gateways[gatewayKey(gatewayUrl)]?.[role] ?? null;
  }

  async listDeviceTokens(): Promise<Array<{ gateway: string } & DeviceToken>> {
    const { tokens } = await this.tokens();
    return Object.entries(tokens.gateways).flatMap(([gateway, roles]) =>
      Object.values(roles).map((t) => ({ gateway, ...t })),
    );
  }

  /** Stores the token a gateway issued (hello-ok.auth.deviceToken) with the scopes it covers, per gateway and role. */
  async setDeviceToken(gatewayUrl: string, role: string, token: string, scopes: readonly string[]): Promise<void> {
    if (!token) throw new TypeError('refusing to store an empty device token');
    const { identity, tokens } = await this.tokens();
    if (!identity) throw new Error('Clawdesk has no device identity yet; call loadOrCreateIdentity() first');
    const key = gatewayKey(gatewayUrl);
    tokens.gateways[key] = {
      ...tokens.gateways[key],
      [role]: { token, role, scopes: [...scopes], updatedAtMs: this.now() },
    };
    await (await this.store()).set(TOKENS_SECRET, JSON.stringify(tokens));
  }

  /**
   * On a token mismatch clear only this role's token for this gateway, keep the keypair, and re-pair
   * (docs/state-and-secrets.md § Clawdesk's secrets).
   */
  async clearDeviceToken(gatewayUrl: string, role: string): Promise<boolean> {
    const { tokens } = await this.tokens();
    const key = gatewayKey(gatewayUrl);
    if (!tokens.gateways[key]?.[role]) return false;
    delete tokens.gateways[key][role];
    if (Object.keys(tokens.gateways[key]).length === 0) delete tokens.gateways[key];
    await (await this.store()).set(TOKENS_SECRET, JSON.stringify(tokens));
    return true;
  }

  private async tokens(): Promise<{ identity: DeviceIdentity | null; tokens: StoredTokens }> {
    const store = await this.store();
    const identity = await readStoredIdentity(store);
    const empty: StoredTokens = { version: 1, deviceId: identity?.deviceId ?? '', gateways: {} };
    if (!identity) return { identity, tokens: empty };
    const raw = await store.get(TOKENS_SECRET);
    if (!raw) return { identity, tokens: empty };
    try {
      const parsed = JSON.parse(raw) as StoredTokens;
      // Tokens issued to another deviceId are useless and dangerous to send; treat them as absent.
      if (parsed?.version !== 1 || parsed.deviceId !== identity.deviceId || typeof parsed.gateways !== 'object') {
        return { identity, tokens: empty };
      }
      return { identity, tokens: parsed };
    } catch {
      return { identity, tokens: empty };
    }
  }

  private async store(record?: IdentityRecord): Promise<SecretStore> {
    this.storePromise ??= this.options.openStore();
    try {
      return await this.storePromise;
    } catch (error) {
      this.storePromise = undefined;
      const known = record ?? (await this.recordedIdentity());
      if (known && error instanceof SecretStoreError) throw new IdentityUnavailableError(known.deviceId, error);
      throw error;
    }
  }

  private async writeRecord(identity: DeviceIdentity, importedFrom?: string): Promise<void> {
    const record: IdentityRecord = {
      version: 1,
      deviceId: identity.deviceId,
      publicKey: identity.publicKey,
      createdAtMs: identity.createdAtMs,
      ...(importedFrom ? { importedFrom } : {}),
    };
    await writeJsonAtomic(this.recordPath, record);
  }
}

/** Normalizes a gateway URL so `ws://127.0.0.1:18789/` and `WS://127.0.0.1:18789` share tokens. */
export function gatewayKey(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`not a gateway URL: ${url}`);
  }
  const pathname = parsed.pathname.replace(/\/+$/, '');
  return `${parsed.protocol}//${parsed.host}${pathname}`;
}

function serializeIdentity(identity: DeviceIdentity, importedFrom?: string): string {
  const stored: StoredIdentity = {
    version: 1,
    deviceId: identity.deviceId,
    publicKey: identity.publicKey,
    privateKey: toB64Url(rawPrivateKey(identity.privateKey)),
    createdAtMs: identity.createdAtMs,
    ...(importedFrom ? { importedFrom } : {}),
  };
  return JSON.stringify(stored);
}

async function writeVerifiedIdentity(
  store: SecretStore,
  identity: DeviceIdentity,
  importedFrom?: string,
): Promise<void> {
  await store.set(IDENTITY_SECRET, serializeIdentity(identity, importedFrom));
  const back = await readStoredIdentity(store);
  if (!back || back.deviceId !== identity.deviceId || !provesKey(back, identity.publicKey)) {
    throw new IdentityImportError('the secret store did not give back the identity that was just written');
  }
}

function provesKey(identity: DeviceIdentity, publicKey: string): boolean {
  const challenge = `clawdesk-identity-check|${identity.deviceId}|${Date.now()}`;
  return (
    identity.publicKey === publicKey &&
    verifyPayload(fromB64(publicKey), challenge, signWithIdentity(identity, challenge))
  );
}

async function readStoredIdentity(store: SecretStore): Promise<DeviceIdentity | null> {
  const raw = await store.get(IDENTITY_SECRET);
  if (!raw) return null;
  let stored: StoredIdentity;
  try {
    stored = JSON.parse(raw) as StoredIdentity;
  } catch {
    throw new IdentityCorruptError('the stored device identity is not valid JSON; it was left untouched');
  }
  let identity: DeviceIdentity;
  try {
    identity = identityFromPrivateKey(
      privateKeyFromRaw(fromB64(String(stored?.privateKey))),
      Number(stored.createdAtMs),
    );
  } catch (error) {
    throw new IdentityCorruptError(
      `the stored device identity has an unusable key (${(error as Error).message}); it was left untouched`,
    );
  }
  if (identity.deviceId !== stored.deviceId || identity.publicKey !== stored.publicKey) {
    throw new IdentityCorruptError('the stored device identity does not match its own key; it was left untouched');
  }
  return identity;
}

interface ParsedIdentityFile {
  format: ImportedIdentityFormat;
  privateKey: KeyObject;
  createdAtMs?: number;
  deviceIdCorrected: boolean;
}

export async function parseIdentityFile(filePath: string): Promise<ParsedIdentityFile> {
  let text: string;
  try {
    const stat = await fs.stat(filePath);
    if (!stat.isFile()) throw new IdentityImportError(`${filePath} is not a regular file`);
    if (stat.size > MAX_IDENTITY_FILE_BYTES)
      throw new IdentityImportError(`${filePath} is ${stat.size} bytes; an identity file is far smaller`);
    text = await fs.readFile(filePath, 'utf8');
  } catch (error) {
    if (error instanceof IdentityImportError) throw error;
    throw new IdentityImportError(`cannot read ${filePath}: ${(error as Error).message}`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new IdentityImportError(`${filePath} is not valid JSON (${(error as Error).message}); nothing was imported`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json))
    throw new IdentityImportError(`${filePath} is not an identity object`);
  try {
    let format: ImportedIdentityFormat;
    let privateKey: KeyObject;
    let publicKey: KeyObject;
    if (typeof json.privateKeyPem === 'string' && typeof json.publicKeyPem === 'string') {
      format = 'openclaw';
      privateKey = privateKeyFromPem(json.privateKeyPem);
      publicKey = publicKeyFromPem(json.publicKeyPem);
    } else if (typeof json.privateKey === 'string' && typeof json.publicKey === 'string') {
      format = 'macos-app';
      privateKey = privateKeyFromRaw(fromB64(json.privateKey));
      publicKey = publicKeyFromRaw(fromB64(json.publicKey));
    } else {
      throw new IdentityImportError(
        `${filePath} is neither OpenClaw's identity (publicKeyPem/privateKeyPem) nor the macOS app's (publicKey/privateKey)`,
      );
    }
    if (!keyPairMatches(privateKey, publicKey)) {
      throw new IdentityImportError(
        `${filePath}: the private key does not belong to the public key; nothing was imported`,
      );
    }
    const derived = deviceIdFromPublicKey(publicKey);
    const createdAtMs =
      typeof json.createdAtMs === 'number' && Number.isFinite(json.createdAtMs) ? json.createdAtMs : undefined;
    return {
      format,
      privateKey,
      createdAtMs,
      deviceIdCorrected: typeof json.deviceId === 'string' && json.deviceId !== derived,
    };
  } catch (error) {
    if (error instanceof IdentityImportError) throw error;
    if (error instanceof InvalidKeyError) throw new IdentityImportError(`${filePath}: ${error.message}`);
    throw error;
  }
}

/** Overwrites the private key bytes before unlinking (best effort on copy-on-write filesystems). */
async function removePrivateKeyFile(filePath: string): Promise<void> {
  try {
    const handle = await fs.open(filePath, 'r+');
    try {
      const { size } = await handle.stat();
      await handle.write(Buffer.alloc(size, 0), 0, size, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Read-only file or filesystem: unlinking below is what matters.
  }
  await fs.rm(filePath, { force: true });
}

function parseRecord(value: unknown): IdentityRecord {
  const v = value as Partial<IdentityRecord> | null;
  if (!v || v.version !== 1 || typeof v.deviceId !== 'string' || typeof v.publicKey !== 'string') {
    throw new Error('expected {version:1, deviceId, publicKey}');
  }
  return v as IdentityRecord;
}
