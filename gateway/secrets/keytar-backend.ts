import { randomBytes } from 'node:crypto';
import { DATA_KEY_BYTES, KeyCustodian } from './key-custodian';
import {
  BackendAttempt,
  SecretStoreLockedError,
  SecretStoreUnavailableError,
  SecretTooLargeError,
} from './secret-errors';

/** The subset of keytar Clawdesk uses; tests pass fakes, production passes the real module. */
export interface KeytarLike {
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  deletePassword(service: string, account: string): Promise<boolean>;
}

/**
 * Keychain service names. keytar's Windows lookup matches service names by prefix, so none of these may be a
 * prefix of another (compared case-insensitively, as Windows does).
 */
export const KEYCHAIN_SERVICES = {
  dataKey: 'Clawdesk Vault Key',
  canary: 'Clawdesk Keychain Canary',
} as const;

/** Windows Credential Manager's blob limit; other keychains allow more, but the data key never comes close. */
export const KEYCHAIN_ITEM_LIMIT_BYTES = 2560;

export const DEFAULT_CANARY_TIMEOUT_MS = 15_000;

export type KeytarLoadResult = { keytar: KeytarLike; error?: undefined } | { keytar?: undefined; error: string };

let cachedLoad: KeytarLoadResult | undefined;

/** Loads the native keytar module once; it is optional, so a missing or unbuilt module is a reason, not a crash. */
export function loadKeytar(): KeytarLoadResult {
  if (cachedLoad) return cachedLoad;
  try {
    const mod = require('keytar') as KeytarLike & { default?: KeytarLike };
    const keytar = typeof mod.setPassword === 'function' ? mod : mod.default;
    cachedLoad = keytar ? { keytar } : { error: 'the keytar module has no setPassword()' };
  } catch (error) {
    cachedLoad = { error: `the keytar module could not be loaded: ${(error as Error).message.split('\n')[0]}` };
  }
  return cachedLoad;
}

/** Locked keychains and refused/unanswered prompts; everything else means the keychain is not reachable. */
export function classifyKeytarError(message: string): 'locked' | 'unavailable' {
  return /locked|interaction is not allowed|user canceled|cancelled|dismissed|passphrase|not unlocked/i.test(message)
    ? 'locked'
    : 'unavailable';
}

export interface KeytarCustodianOptions {
  keytar: KeytarLike;
  /** A keychain that shows an unlock prompt waits for the user; a probe that waits this long counts as locked. */
  canaryTimeoutMs?: number;
}

export class KeytarCustodian implements KeyCustodian {
  readonly kind = 'keytar' as const;
  readonly weak = false;
  readonly label = 'the OS keychain';
  private readonly keytar: KeytarLike;
  private readonly canaryTimeoutMs: number;

  constructor(options: KeytarCustodianOptions) {
    this.keytar = options.keytar;
    this.canaryTimeoutMs = options.canaryTimeoutMs ?? DEFAULT_CANARY_TIMEOUT_MS;
  }

  async probe(): Promise<BackendAttempt> {
    const account = `canary-${process.pid}-${randomBytes(6).toString('hex')}`;
    const value = randomBytes(16).toString('base64url');
    try {
      await this.withTimeout(this.keytar.setPassword(KEYCHAIN_SERVICES.canary, account, value), 'write');
    } catch (error) {
      const detail = (error as Error).message;
      return { backend: 'keytar', outcome: classifyKeytarError(detail), detail: `canary write failed: ${detail}` };
    }
    let readBack: string | null;
    try {
      readBack = await this.withTimeout(this.keytar.getPassword(KEYCHAIN_SERVICES.canary, account), 'read');
    } catch (error) {
      const detail = (error as Error).message;
      await this.keytar.deletePassword(KEYCHAIN_SERVICES.canary, account).catch(() => false);
      return { backend: 'keytar', outcome: classifyKeytarError(detail), detail: `canary read failed: ${detail}` };
    }
    const deleted = await this.withTimeout(
      this.keytar.deletePassword(KEYCHAIN_SERVICES.canary, account),
      'delete',
    ).catch((error: Error) => error);
    if (readBack !== value) {
      return {
        backend: 'keytar',
        outcome: 'locked',
        detail:
          readBack === null ? 'canary written but read back as nothing' : 'canary read back with different content',
      };
    }
    if (deleted instanceof Error) {
      return {
        backend: 'keytar',
        outcome: classifyKeytarError(deleted.message),
        detail: `canary delete failed: ${deleted.message}`,
      };
    }
    return { backend: 'keytar', outcome: 'ok', detail: 'canary written, read back and deleted' };
  }

  async loadKey(keyId: string): Promise<Buffer | null> {
    let stored: string | null;
    try {
      stored = await this.withTimeout(this.keytar.getPassword(KEYCHAIN_SERVICES.dataKey, keyId), 'read');
    } catch (error) {
      throw this.typedError(error as Error);
    }
    if (stored === null) return null;
    const key = Buffer.from(stored, 'base64');
    return key.length === DATA_KEY_BYTES ? key : null;
  }

  async storeKey(keyId: string, key: Buffer): Promise<void> {
    const encoded = key.toString('base64');
    if (Buffer.byteLength(encoded) > KEYCHAIN_ITEM_LIMIT_BYTES) {
      throw new SecretTooLargeError(
        `${KEYCHAIN_SERVICES.dataKey}/${keyId}`,
        Buffer.byteLength(encoded),
        KEYCHAIN_ITEM_LIMIT_BYTES,
      );
    }
    try {
      await this.withTimeout(this.keytar.setPassword(KEYCHAIN_SERVICES.dataKey, keyId, encoded), 'write');
    } catch (error) {
      throw this.typedError(error as Error);
    }
  }

  async deleteKey(keyId: string): Promise<void> {
    try {
      await this.withTimeout(this.keytar.deletePassword(KEYCHAIN_SERVICES.dataKey, keyId), 'delete');
    } catch (error) {
      throw this.typedError(error as Error);
    }
  }

  private typedError(error: Error): Error {
    if (error instanceof SecretStoreLockedError || error instanceof SecretStoreUnavailableError) return error;
    const kind = classifyKeytarError(error.message);
    const message = `the OS keychain is ${kind}: ${error.message}`;
    return kind === 'locked' ? new SecretStoreLockedError(message) : new SecretStoreUnavailableError(message);
  }

  private withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new SecretStoreLockedError(
              `the OS keychain did not answer a ${what} within ${this.canaryTimeoutMs} ms (is it waiting for an unlock prompt?)`,
            ),
          ),
        this.canaryTimeoutMs,
      );
      timer.unref();
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}
