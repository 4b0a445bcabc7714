import { createCipheriv, createDecipheriv, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SECRET_DIR_MODE, serialize, writeFileAtomic, writeJsonAtomic } from '../fs/atomic-file';
import { IDENTITY_RECORD_FILE } from './identity-record';
import { DATA_KEY_BYTES, KeyCustodian, SecretBackendKind } from './key-custodian';
import { KeytarCustodian, KeytarLike, loadKeytar } from './keytar-backend';
import { PlaintextKeyFileCustodian } from './plaintext-key-file';
import { SafeStorageCustodian, SafeStorageLike } from './safe-storage-backend';
import {
  BackendAttempt,
  SecretKeyMissingError,
  SecretStoreError,
  SecretStoreLockedError,
  SecretStoreUnavailableError,
  SecretTooLargeError,
  SecretVaultCorruptError,
} from './secret-errors';

/**
 * Clawdesk's secrets: one AES-256-GCM encrypted file (the vault) whose 32-byte data key is the only thing kept in
 * the keychain. The backend holding the key is chosen once, by a canary write/read/delete, and then stays: if it
 * later fails, opening fails with a typed error instead of quietly starting over somewhere weaker.
 */
export interface SecretStore {
  readonly backend: SecretBackendKind;
  /** True when the key sits in a plain 0600 file (the user accepted this). */
  readonly weak: boolean;
  readonly vaultPath: string;
  get(name: string): Promise<string | null>;
  set(name: string, value: string): Promise<void>;
  delete(name: string): Promise<boolean>;
  names(): Promise<string[]>;
}

export const VAULT_FILE = 'secrets.vault.json';
export const BACKEND_RECORD_FILE = 'secret-backend.json';
export const MAX_SECRET_BYTES = 64 * 1024;
export const MAX_VAULT_BYTES = 2 * 1024 * 1024;
const SECRET_NAME = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;

export interface OpenSecretStoreOptions {
  /** Clawdesk's data dir; holds the vault, the backend record and (for the file modes) the key file. */
  dir: string;
  /** undefined: load the real keytar module; null: act as if keytar is not installed. */
  keytar?: KeytarLike | null;
  /** Electron's safeStorage, passed in by the app (the CLI has none). */
  safeStorage?: SafeStorageLike;
  /** The user's decision to accept the 0600 file mode when no protected backend works. Never default it to true. */
  allowPlaintextFallback?: boolean;
  /** When the key sits in the weak file and a protected backend now works, move the key there (default true). */
  upgradeWeakBackend?: boolean;
  canaryTimeoutMs?: number;
  platform?: NodeJS.Platform;
  now?: () => number;
}

/** What doctor shows: written whenever the backend is chosen or changes. Not secret. */
export interface SecretBackendRecord {
  version: 1;
  backend: SecretBackendKind;
  weak: boolean;
  keyId: string;
  chosenAtMs: number;
  plaintextAcceptedAtMs?: number;
  attempts: BackendAttempt[];
}

interface VaultFile {
  version: 1;
  backend: SecretBackendKind;
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

interface VaultContent {
  version: 1;
  secrets: Record<string, string>;
}

export async function openSecretStore(options: OpenSecretStoreOptions): Promise<SecretStore> {
  const dir = path.resolve(options.dir);
  await ensurePrivateDir(dir);
  const vaultPath = path.join(dir, VAULT_FILE);
  const now = options.now ?? Date.now;

  const existing = await readVaultFile(vaultPath);
  if (existing) return openExistingVault(dir, vaultPath, existing, options, now);

  const attempts: BackendAttempt[] = [];
  let chosen = await firstWorkingCustodian(dir, options, attempts);
  if (!chosen) {
    if (!options.allowPlaintextFallback) throw noProtectedBackendError(attempts);
    chosen = new PlaintextKeyFileCustodian(dir);
    const attempt = await chosen.probe();
    attempts.push(attempt);
    if (attempt.outcome !== 'ok')
      throw new SecretStoreUnavailableError(`cannot write the key file: ${attempt.detail}`, attempts);
  }

  const keyId = randomUUID();
  const key = randomBytes(DATA_KEY_BYTES);
  await storeVerifiedKey(chosen, keyId, key);
  const created = await createVaultExclusively(vaultPath, chosen.kind, keyId, key);
  if (!created) {
    // Another Clawdesk process created the vault first: drop our key and use theirs.
    await chosen.deleteKey(keyId).catch(() => undefined);
    const theirs = await readVaultFile(vaultPath);
    if (!theirs) throw new SecretVaultCorruptError(`${vaultPath} vanished while it was being created`);
    return openExistingVault(dir, vaultPath, theirs, options, now);
  }
  await writeBackendRecord(dir, {
    version: 1,
    backend: chosen.kind,
    weak: chosen.weak,
    keyId,
    chosenAtMs: now(),
    ...(chosen.weak ? { plaintextAcceptedAtMs: now() } : {}),
    attempts,
  });
  return new VaultSecretStore(vaultPath, chosen, keyId, key);
}

/** Reads the backend record for doctor; never throws. */
export async function readSecretBackendRecord(
  dir: string,
): Promise<{ kind: 'missing' } | { kind: 'ok'; record: SecretBackendRecord } | { kind: 'corrupt'; error: string }> {
  try {
    const text = await fs.readFile(path.join(dir, BACKEND_RECORD_FILE), 'utf8');
    const record = JSON.parse(text) as SecretBackendRecord;
    if (record?.version !== 1 || typeof record.backend !== 'string')
      return { kind: 'corrupt', error: 'unexpected shape' };
    return { kind: 'ok', record };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', error: (error as Error).message };
  }
}

export function vaultExists(dir: string): Promise<boolean> {
  return fs.access(path.join(dir, VAULT_FILE)).then(
    () => true,
    () => false,
  );
}

/** The protected backends in chain order: keytar, then (inside the app) safeStorage. Missing ones are recorded as attempts. */
function protectedCustodians(dir: string, options: OpenSecretStoreOptions): Array<KeyCustodian | BackendAttempt> {
  const keytar = custodianFor('keytar', dir, options);
  const safeStorage = options.safeStorage
    ? custodianFor('safe-storage', dir, options)
    : { error: 'only available inside the Electron app' };
  return [
    'error' in keytar ? { backend: 'keytar', outcome: 'unavailable', detail: keytar.error } : keytar,
    'error' in safeStorage ? { backend: 'safe-storage', outcome: 'skipped', detail: safeStorage.error } : safeStorage,
  ];
}

/** Probes the chain in order; the first backend whose canary passes wins. */
async function firstWorkingCustodian(
  dir: string,
  options: OpenSecretStoreOptions,
  attempts: BackendAttempt[],
): Promise<KeyCustodian | undefined> {
  for (const entry of protectedCustodians(dir, options)) {
    if (!('probe' in entry)) {
      attempts.push(entry);
      continue;
    }
    const attempt = await entry.probe();
    attempts.push(attempt);
    if (attempt.outcome === 'ok') return entry;
  }
  return undefined;
}

function custodianFor(
  kind: SecretBackendKind,
  dir: string,
  options: OpenSecretStoreOptions,
): KeyCustodian | { error: string } {
  switch (kind) {
    case 'keytar': {
      const keytar =
        options.keytar === undefined
          ? loadKeytar()
          : options.keytar
            ? { keytar: options.keytar }
            : { error: 'keytar is not installed' };
      return keytar.keytar
        ? new KeytarCustodian({ keytar: keytar.keytar, canaryTimeoutMs: options.canaryTimeoutMs })
        : { error: keytar.error };
    }
    case 'safe-storage':
      return options.safeStorage
        ? new SafeStorageCustodian(options.safeStorage, dir, options.platform ?? process.platform)
        : { error: "Electron's safeStorage is only available inside the Clawdesk app" };
    case 'plaintext-file':
      return new PlaintextKeyFileCustodian(dir);
  }
}

export function describeAttempts(attempts: readonly BackendAttempt[]): string {
  return attempts.map((a) => `${a.backend}: ${a.outcome} (${a.detail})`).join('; ');
}

function noProtectedBackendError(attempts: BackendAttempt[]): SecretStoreError {
  const locked = attempts.some((a) => a.outcome === 'locked');
  const tried = describeAttempts(attempts);
  const accept =
    'Clawdesk can keep its secrets under a key in a file readable only by you (0600) instead, but only if you accept that (allowPlaintextFallback).';
  if (locked) {
    return new SecretStoreLockedError(
      `The OS keychain is locked. Unlock it and retry. ${accept} Tried: ${tried}`,
      attempts,
    );
  }
  return new SecretStoreUnavailableError(`No OS keychain is available. ${accept} Tried: ${tried}`, attempts);
}

async function openExistingVault(
  dir: string,
  vaultPath: string,
  vault: VaultFile,
  options: OpenSecretStoreOptions,
  now: () => number,
): Promise<SecretStore> {
  const custodian = custodianFor(vault.backend, dir, options);
  if ('error' in custodian) {
    throw new SecretStoreUnavailableError(
      `Clawdesk's secrets are protected by ${vault.backend}, which is unavailable: ${custodian.error}`,
    );
  }
  const attempt = await custodian.probe();
  if (attempt.outcome !== 'ok') {
    const message = `Clawdesk's secrets are protected by ${custodian.label}, which is ${attempt.outcome === 'locked' ? 'locked' : 'unavailable'}: ${attempt.detail}`;
    throw attempt.outcome === 'locked'
      ? new SecretStoreLockedError(message, [attempt])
      : new SecretStoreUnavailableError(message, [attempt]);
  }
  const key = await custodian.loadKey(vault.keyId);
  if (!key) {
    throw new SecretKeyMissingError(
      `the data key for ${vaultPath} (key ${vault.keyId}) is missing from ${custodian.label}; the vault cannot be opened. It was left untouched.`,
    );
  }
  try {
    decryptVault(vault, key);
  } catch {
    throw new SecretKeyMissingError(
      `the key in ${custodian.label} does not open ${vaultPath}; the vault was left untouched`,
    );
  }
  let store = new VaultSecretStore(vaultPath, custodian, vault.keyId, key);
  // A weak copy of the key left by an interrupted upgrade must not outlive it.
  if (!custodian.weak) await new PlaintextKeyFileCustodian(dir).deleteKey(vault.keyId).catch(() => undefined);
  if (custodian.weak && options.upgradeWeakBackend !== false) {
    store = (await upgradeWeakVault(dir, store, options, now)) ?? store;
  }
  return store;
}

/** Moves the data key from the 0600 file into a protected backend once one works; the vault is re-sealed for it. */
async function upgradeWeakVault(
  dir: string,
  weakStore: VaultSecretStore,
  options: OpenSecretStoreOptions,
  now: () => number,
): Promise<VaultSecretStore | undefined> {
  const attempts: BackendAttempt[] = [];
  const custodian = await firstWorkingCustodian(dir, options, attempts);
  if (!custodian) return undefined;
  try {
    await storeVerifiedKey(custodian, weakStore.keyId, weakStore.key);
  } catch {
    return undefined;
  }
  await weakStore.resealFor(custodian.kind);
  await writeBackendRecord(dir, {
    version: 1,
    backend: custodian.kind,
    weak: false,
    keyId: weakStore.keyId,
    chosenAtMs: now(),
    attempts,
  });
  await new PlaintextKeyFileCustodian(dir).deleteKey(weakStore.keyId);
  return new VaultSecretStore(weakStore.vaultPath, custodian, weakStore.keyId, weakStore.key);
}

async function storeVerifiedKey(custodian: KeyCustodian, keyId: string, key: Buffer): Promise<void> {
  await custodian.storeKey(keyId, key);
  const readBack = await custodian.loadKey(keyId);
  if (!readBack || readBack.length !== key.length || !timingSafeEqual(readBack, key)) {
    await custodian.deleteKey(keyId).catch(() => undefined);
    throw new SecretStoreLockedError(`${custodian.label} accepted the data key but did not give it back`);
  }
}

class VaultSecretStore implements SecretStore {
  readonly backend: SecretBackendKind;
  readonly weak: boolean;

  constructor(
    readonly vaultPath: string,
    custodian: KeyCustodian,
    readonly keyId: string,
    readonly key: Buffer,
  ) {
    this.backend = custodian.kind;
    this.weak = custodian.weak;
  }

  async get(name: string): Promise<string | null> {
    checkName(name);
    const content = await this.read();
    return Object.prototype.hasOwnProperty.call(content.secrets, name) ? content.secrets[name] : null;
  }

  async names(): Promise<string[]> {
    return Object.keys((await this.read()).secrets).sort();
  }

  set(name: string, value: string): Promise<void> {
    checkName(name);
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > MAX_SECRET_BYTES) return Promise.reject(new SecretTooLargeError(name, bytes, MAX_SECRET_BYTES));
    return this.update((content) => {
      content.secrets[name] = value;
      return true;
    }).then(() => undefined);
  }

  delete(name: string): Promise<boolean> {
    checkName(name);
    return this.update((content) => {
      if (!Object.prototype.hasOwnProperty.call(content.secrets, name)) return false;
      delete content.secrets[name];
      return true;
    });
  }

  /** Rewrites the vault header (and its authenticated data) for a new key holder. */
  resealFor(backend: SecretBackendKind): Promise<void> {
    return serialize(this.vaultPath, async () => {
      const content = await this.read();
      await writeFileAtomic(this.vaultPath, serializeVault(backend, this.keyId, this.key, content));
    });
  }

  private update(mutate: (content: VaultContent) => boolean): Promise<boolean> {
    return serialize(this.vaultPath, async () => {
      const content = await this.read();
      const changed = mutate(content);
      if (!changed) return false;
      const text = serializeVault(this.backend, this.keyId, this.key, content);
      if (text.length > MAX_VAULT_BYTES) throw new SecretTooLargeError('(vault)', text.length, MAX_VAULT_BYTES);
      await writeFileAtomic(this.vaultPath, text);
      return true;
    });
  }

  /** Re-read on every operation: the app and one-shot CLI commands share the vault and see each other's writes. */
  private async read(): Promise<VaultContent> {
    const vault = await readVaultFile(this.vaultPath);
    if (!vault) throw new SecretVaultCorruptError(`${this.vaultPath} disappeared`);
    if (vault.keyId !== this.keyId)
      throw new SecretKeyMissingError(`${this.vaultPath} was replaced by a vault with another key`);
    try {
      return decryptVault(vault, this.key);
    } catch (error) {
      throw new SecretVaultCorruptError(`${this.vaultPath} does not decrypt: ${(error as Error).message}`);
    }
  }
}

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) throw new TypeError(`invalid secret name "${name}"`);
}

function aad(backend: SecretBackendKind, keyId: string): Buffer {
  return Buffer.from(`clawdesk-vault|1|${backend}|${keyId}`, 'utf8');
}

function serializeVault(backend: SecretBackendKind, keyId: string, key: Buffer, content: VaultContent): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(backend, keyId));
  const data = Buffer.concat([cipher.update(JSON.stringify(content), 'utf8'), cipher.final()]);
  const vault: VaultFile = {
    version: 1,
    backend,
    keyId,
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return `${JSON.stringify(vault, null, 2)}\n`;
}

function decryptVault(vault: VaultFile, key: Buffer): VaultContent {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(vault.iv, 'base64'));
  decipher.setAAD(aad(vault.backend, vault.keyId));
  decipher.setAuthTag(Buffer.from(vault.tag, 'base64'));
  const plain = Buffer.concat([decipher.update(Buffer.from(vault.data, 'base64')), decipher.final()]).toString('utf8');
  const content = JSON.parse(plain) as VaultContent;
  if (content?.version !== 1 || typeof content.secrets !== 'object' || content.secrets === null)
    throw new Error('unexpected content');
  return content;
}

/** Missing → undefined. A vault that is not ours to parse is an error, never a reason to start a new one. */
async function readVaultFile(vaultPath: string): Promise<VaultFile | undefined> {
  let text: string;
  try {
    const stat = await fs.stat(vaultPath);
    if (!stat.isFile()) throw new SecretVaultCorruptError(`${vaultPath} is not a regular file`);
    if (stat.size > MAX_VAULT_BYTES)
      throw new SecretVaultCorruptError(`${vaultPath} is ${stat.size} bytes, over the ${MAX_VAULT_BYTES}-byte limit`);
    text = await fs.readFile(vaultPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let vault: Partial<VaultFile>;
  try {
    vault = JSON.parse(text) as Partial<VaultFile>;
  } catch (error) {
    throw new SecretVaultCorruptError(
      `${vaultPath} is not valid JSON (${(error as Error).message}); it was left untouched`,
    );
  }
  const backends: SecretBackendKind[] = ['keytar', 'safe-storage', 'plaintext-file'];
  if (
    vault?.version !== 1 ||
    !backends.includes(vault.backend as SecretBackendKind) ||
    typeof vault.keyId !== 'string' ||
    typeof vault.iv !== 'string' ||
    typeof vault.tag !== 'string' ||
    typeof vault.data !== 'string'
  ) {
    throw new SecretVaultCorruptError(`${vaultPath} has an unexpected shape; it was left untouched`);
  }
  return vault as VaultFile;
}

/** Publishes a new vault only if none exists (link() fails on an existing name), so two first runs cannot clobber. */
async function createVaultExclusively(
  vaultPath: string,
  backend: SecretBackendKind,
  keyId: string,
  key: Buffer,
): Promise<boolean> {
  const temp = `${vaultPath}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  await writeFileAtomic(temp, serializeVault(backend, keyId, key, { version: 1, secrets: {} }));
  try {
    await fs.link(temp, vaultPath);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // Filesystems without hard links: fall back to check-then-rename (a much narrower race than none).
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS') {
      if (await vaultExists(path.dirname(vaultPath))) return false;
      await fs.rename(temp, vaultPath);
      return true;
    }
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

async function writeBackendRecord(dir: string, record: SecretBackendRecord): Promise<void> {
  await writeJsonAtomic(path.join(dir, BACKEND_RECORD_FILE), record);
}

async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: SECRET_DIR_MODE });
  const stat = await fs.stat(dir);
  if (!stat.isDirectory()) throw new SecretStoreUnavailableError(`${dir} is not a directory`);
}

/** What doctor reports about Clawdesk's secrets; read-only apart from the canary item (written and deleted). */
export interface SecretStoreStatus {
  dir: string;
  vault: 'missing' | 'present' | 'corrupt';
  vaultError?: string;
  /** The backend holding the vault's key (from the vault itself). */
  backend?: SecretBackendKind;
  weak: boolean;
  record?: SecretBackendRecord;
  /** Canary results: the vault's own backend, or the chain a first start would try. */
  probes: BackendAttempt[];
  /** The public record of Clawdesk's device identity, if one exists. */
  identityDeviceId?: string;
}

export async function inspectSecretStore(
  options: Pick<OpenSecretStoreOptions, 'dir' | 'keytar' | 'safeStorage' | 'canaryTimeoutMs' | 'platform'> & {
    probe?: boolean;
  },
): Promise<SecretStoreStatus> {
  const dir = path.resolve(options.dir);
  const status: SecretStoreStatus = { dir, vault: 'missing', weak: false, probes: [] };
  const record = await readSecretBackendRecord(dir);
  if (record.kind === 'ok') status.record = record.record;
  try {
    const identity = JSON.parse(await fs.readFile(path.join(dir, IDENTITY_RECORD_FILE), 'utf8')) as {
      deviceId?: unknown;
    };
    if (typeof identity?.deviceId === 'string') status.identityDeviceId = identity.deviceId;
  } catch {
    // no identity recorded (or unreadable): nothing to report here
  }
  let vault: VaultFile | undefined;
  try {
    vault = await readVaultFile(path.join(dir, VAULT_FILE));
  } catch (error) {
    status.vault = 'corrupt';
    status.vaultError = (error as Error).message;
    return status;
  }
  if (vault) {
    status.vault = 'present';
    status.backend = vault.backend;
    status.weak = vault.backend === 'plaintext-file';
  }
  if (options.probe === false) return status;
  if (vault) {
    const custodian = custodianFor(vault.backend, dir, options);
    status.probes.push(
      'error' in custodian
        ? { backend: vault.backend, outcome: 'unavailable', detail: custodian.error }
        : await custodian.probe(),
    );
  } else {
    await firstWorkingCustodian(dir, options, status.probes);
  }
  return status;
}
