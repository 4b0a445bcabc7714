/** Typed failures of the secret store, so callers (and doctor) can say exactly what is wrong and what to do. */

export type SecretStoreErrorCode = 'unavailable' | 'locked' | 'too-large' | 'key-missing' | 'vault-corrupt';

export abstract class SecretStoreError extends Error {
  abstract readonly code: SecretStoreErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No keychain can be reached (no session bus, no Secret Service, no default collection, keytar not built...). */
export class SecretStoreUnavailableError extends SecretStoreError {
  readonly code = 'unavailable';
  constructor(
    message: string,
    readonly attempts: readonly BackendAttempt[] = [],
  ) {
    super(message);
  }
}

/** A keychain is there but refuses writes until the user unlocks it (reads then return nothing, not an error). */
export class SecretStoreLockedError extends SecretStoreError {
  readonly code = 'locked';
  constructor(
    message: string,
    readonly attempts: readonly BackendAttempt[] = [],
  ) {
    super(message);
  }
}

export class SecretTooLargeError extends SecretStoreError {
  readonly code = 'too-large';
  constructor(
    readonly secretName: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`secret "${secretName}" is ${bytes} bytes, over the ${limit}-byte limit`);
  }
}

/** The vault exists but its data key is gone from the backend that held it: the secrets cannot be decrypted. */
export class SecretKeyMissingError extends SecretStoreError {
  readonly code = 'key-missing';
  constructor(message: string) {
    super(message);
  }
}

export class SecretVaultCorruptError extends SecretStoreError {
  readonly code = 'vault-corrupt';
  constructor(message: string) {
    super(message);
  }
}

/** One step of the backend chain, for the message and for doctor. */
export interface BackendAttempt {
  backend: 'keytar' | 'safe-storage' | 'plaintext-file';
  outcome: 'ok' | 'unavailable' | 'locked' | 'skipped';
  detail: string;
}
