import type { BackendAttempt } from './secret-errors';

export type SecretBackendKind = 'keytar' | 'safe-storage' | 'plaintext-file';

/**
 * Holds the vault's 32-byte data key, and nothing else: one small item per vault keeps keychain prompts to one
 * (macOS) and stays far below Windows' 2,560-byte credential limit.
 */
export interface KeyCustodian {
  readonly kind: SecretBackendKind;
  /** True for the 0600-file mode, which any process running as the user can read. */
  readonly weak: boolean;
  /** Human name for messages ("the OS keychain (Secret Service)"). */
  readonly label: string;
  /** Canary write, read back and delete: the only reliable test (a locked keyring answers reads with null). */
  probe(): Promise<BackendAttempt>;
  loadKey(keyId: string): Promise<Buffer | null>;
  storeKey(keyId: string, key: Buffer): Promise<void>;
  deleteKey(keyId: string): Promise<void>;
}

export const DATA_KEY_BYTES = 32;
