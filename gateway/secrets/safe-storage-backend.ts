import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeJsonAtomic } from '../fs/atomic-file';
import { DATA_KEY_BYTES, KeyCustodian } from './key-custodian';
import { BackendAttempt, SecretStoreUnavailableError, SecretVaultCorruptError } from './secret-errors';

/**
 * The part of Electron's `safeStorage` Clawdesk uses. `main/` passes the real object; gateway code never imports
 * electron. Electron's SafeStorage is assignable to this.
 */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only in Electron: which keyring safeStorage is using ("basic_text" means a hard-coded password). */
  getSelectedStorageBackend?(): string;
  /**
   * Electron 45's asynchronous API (the synchronous calls above are deprecated there and block the main process
   * while the keychain answers). Used whenever present.
   */
  isAsyncEncryptionAvailable?(): Promise<boolean>;
  encryptStringAsync?(plainText: string): Promise<Buffer>;
  decryptStringAsync?(encrypted: Buffer): Promise<{ result: string; shouldReEncrypt: boolean }>;
}

export const SAFE_STORAGE_KEY_FILE = 'vault-key.safe-storage.json';

/** Linux safeStorage backends that do not protect anything: basic_text encrypts with a constant password. */
const UNPROTECTED_LINUX_BACKENDS = new Set(['basic_text', 'unknown']);

interface SealedKeyFile {
  version: 1;
  keyId: string;
  storageBackend?: string;
  sealedKey: string;
}

/** Keeps the data key in a file, encrypted by Electron's safeStorage (Keychain / DPAPI / libsecret or kwallet). */
export class SafeStorageCustodian implements KeyCustodian {
  readonly kind = 'safe-storage' as const;
  readonly weak = false;
  readonly label = "Electron's safeStorage";
  private readonly keyFile: string;

  constructor(
    private readonly safeStorage: SafeStorageLike,
    dir: string,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {
    this.keyFile = path.join(dir, SAFE_STORAGE_KEY_FILE);
  }

  private available(): Promise<boolean> {
    const s = this.safeStorage;
    return s.isAsyncEncryptionAvailable ? s.isAsyncEncryptionAvailable() : Promise.resolve(s.isEncryptionAvailable());
  }

  private encrypt(plainText: string): Promise<Buffer> {
    const s = this.safeStorage;
    return s.encryptStringAsync ? s.encryptStringAsync(plainText) : Promise.resolve(s.encryptString(plainText));
  }

  private decrypt(encrypted: Buffer): Promise<{ result: string; shouldReEncrypt: boolean }> {
    const s = this.safeStorage;
    return s.decryptStringAsync
      ? s.decryptStringAsync(encrypted)
      : Promise.resolve({ result: s.decryptString(encrypted), shouldReEncrypt: false });
  }

  async probe(): Promise<BackendAttempt> {
    try {
      if (!(await this.available())) {
        return {
          backend: 'safe-storage',
          outcome: 'unavailable',
          detail: 'safeStorage reports encryption is not available',
        };
      }
      const storage = this.safeStorage.getSelectedStorageBackend?.();
      if (this.platform === 'linux' && (storage === undefined || UNPROTECTED_LINUX_BACKENDS.has(storage))) {
        return {
          backend: 'safe-storage',
          outcome: 'unavailable',
          detail: `safeStorage uses "${storage ?? 'an unknown backend'}", which does not protect the key`,
        };
      }
      const value = randomBytes(16).toString('base64url');
      if ((await this.decrypt(await this.encrypt(value))).result !== value) {
        return {
          backend: 'safe-storage',
          outcome: 'unavailable',
          detail: 'safeStorage canary decrypted to different content',
        };
      }
      return {
        backend: 'safe-storage',
        outcome: 'ok',
        detail: `canary encrypted and decrypted${storage ? ` (${storage})` : ''}`,
      };
    } catch (error) {
      return {
        backend: 'safe-storage',
        outcome: 'unavailable',
        detail: `safeStorage failed: ${(error as Error).message}`,
      };
    }
  }

  async loadKey(keyId: string): Promise<Buffer | null> {
    const read = await readJsonFile<SealedKeyFile>(this.keyFile, { parse: parseSealedKeyFile, maxBytes: 64 * 1024 });
    if (read.kind === 'missing') return null;
    if (read.kind === 'corrupt')
      throw new SecretVaultCorruptError(`${read.error}; moved aside to ${read.quarantinedTo}`);
    if (read.value.keyId !== keyId) return null;
    let decoded: { result: string; shouldReEncrypt: boolean };
    try {
      decoded = await this.decrypt(Buffer.from(read.value.sealedKey, 'base64'));
    } catch (error) {
      throw new SecretStoreUnavailableError(`safeStorage could not decrypt the data key: ${(error as Error).message}`);
    }
    const key = Buffer.from(decoded.result, 'base64');
    if (key.length !== DATA_KEY_BYTES) return null;
    // The OS key was rotated (or a better one is available): seal the data key again; the old file still works.
    if (decoded.shouldReEncrypt) await this.storeKey(keyId, key).catch(() => undefined);
    return key;
  }

  async storeKey(keyId: string, key: Buffer): Promise<void> {
    const sealed: SealedKeyFile = {
      version: 1,
      keyId,
      storageBackend: this.safeStorage.getSelectedStorageBackend?.(),
      sealedKey: (await this.encrypt(key.toString('base64'))).toString('base64'),
    };
    await writeJsonAtomic(this.keyFile, sealed);
  }

  async deleteKey(keyId: string): Promise<void> {
    const read = await readJsonFile<SealedKeyFile>(this.keyFile, { parse: parseSealedKeyFile, maxBytes: 64 * 1024 });
    if (read.kind === 'ok' && read.value.keyId === keyId) await fs.rm(this.keyFile, { force: true });
  }
}

function parseSealedKeyFile(value: unknown): SealedKeyFile {
  const v = value as Partial<SealedKeyFile> | null;
  if (!v || v.version !== 1 || typeof v.keyId !== 'string' || typeof v.sealedKey !== 'string') {
    throw new Error('expected {version:1, keyId, sealedKey}');
  }
  return v as SealedKeyFile;
}
