import path from 'node:path';
import { nodePlatform } from '../node-host/node-host';
import { createEphemeralDeviceSigner, type DeviceSigner } from '../protocol/device-auth';
import {
  DeviceIdentityStore,
  exportPublicKeyB64Url,
  IdentityMissingError,
  IdentityUnavailableError,
  signWithIdentity,
} from '../secrets/device-identity';
import type { SafeStorageLike } from '../secrets/safe-storage-backend';
import type { KeytarLike } from '../secrets/keytar-backend';
import { PLAINTEXT_KEY_FILE } from '../secrets/plaintext-key-file';
import { openSecretStore, type SecretStore } from '../secrets/secret-store';
import { SecretStoreError } from '../secrets/secret-errors';

/** Where Clawdesk keeps its own (non-OpenClaw) state inside a state dir: the vault and the identity record. */
export function clawdeskDataDir(stateDir: string): string {
  return path.join(stateDir, 'clawdesk');
}

export type IdentityPersistence = 'keytar' | 'safe-storage' | 'plaintext-file' | 'ephemeral';

export interface ClawdeskIdentity {
  signer: DeviceSigner;
  persistence: IdentityPersistence;
  /** Set when the identity is weaker than a keychain one, in words for the user (no command-line advice). */
  warning?: string;
  /** Device tokens this identity holds as a client (absent for an ephemeral identity). */
  store?: DeviceIdentityStore;
}

export interface LoadClawdeskIdentityOptions {
  dataDir: string;
  /** Electron's safeStorage (the app only). */
  safeStorage?: SafeStorageLike;
  /** The user's explicit choice to keep the key in a 0600 file when no keychain works. Never defaulted on. */
  allowPlaintextFallback?: boolean;
  /**
   * When no protected store can hold the key: `ephemeral` uses an in-memory key for this run (fine for the embedded
   * runner, which talks only to its own gateway on loopback and is trusted by id); `fail` refuses (a node paired
   * with another gateway would otherwise come back as a new device and flood the owner with pairing prompts).
   */
  whenUnavailable: 'ephemeral' | 'fail';
  /** Tests: a keytar stand-in, or null for "not installed". */
  keytar?: KeytarLike | null;
}

export class IdentityNotPersistableError extends Error {}

/** What a person at a terminal can do about a missing keychain (the app offers its own button instead). */
export const CLI_KEYCHAIN_HINT =
  'Unlock or install a keychain (on Linux: gnome-keyring or KeePassXC with the Secret Service enabled, in a desktop session), ' +
  'or accept a key file readable only by you with --allow-plaintext-keys.';

function signerOf(identity: Parameters<typeof signWithIdentity>[0]): DeviceSigner {
  return {
    deviceId: identity.deviceId,
    publicKey: exportPublicKeyB64Url(identity),
    sign: (payload) => signWithIdentity(identity, payload),
  };
}

/**
 * Clawdesk's device identity: the Ed25519 key lives in the OS keychain (via the encrypted vault whose data key is the
 * only keychain item). It is never regenerated behind the user's back when the keychain goes away.
 */
export async function loadClawdeskIdentity(options: LoadClawdeskIdentityOptions): Promise<ClawdeskIdentity> {
  let store: SecretStore | undefined;
  try {
    store = await openSecretStore({
      dir: options.dataDir,
      safeStorage: options.safeStorage,
      allowPlaintextFallback: options.allowPlaintextFallback,
      ...(options.keytar !== undefined ? { keytar: options.keytar } : {}),
    });
    const opened = store;
    const identityStore = new DeviceIdentityStore({ dir: options.dataDir, openStore: async () => opened });
    const identity = await identityStore.loadOrCreateIdentity();
    return {
      signer: signerOf(identity),
      persistence: opened.backend,
      ...(opened.weak
        ? {
            warning: `Clawdesk's device key is kept in a file readable only by you (${path.join(options.dataDir, PLAINTEXT_KEY_FILE)}), not in a keychain.`,
          }
        : {}),
      store: identityStore,
    };
  } catch (error) {
    const known =
      error instanceof SecretStoreError ||
      error instanceof IdentityUnavailableError ||
      error instanceof IdentityMissingError;
    if (!known) throw error;
    const reason = (error as Error).message;
    if (options.whenUnavailable === 'fail') {
      throw new IdentityNotPersistableError(
        `Clawdesk's device identity cannot be kept: ${reason}. ${CLI_KEYCHAIN_HINT}`,
      );
    }
    return {
      signer: createEphemeralDeviceSigner(),
      persistence: 'ephemeral',
      warning: `No keychain could hold Clawdesk's device key (${reason}); it lives only in memory for this run.`,
    };
  }
}

/**
 * The identity a one-shot CLI command presents: Clawdesk's keychain identity when one can be had, else none
 * (device-less, like the real openclaw CLI with a shared token). Never a key file the user did not agree to.
 */
export async function cliDeviceSigner(
  stateDir: string,
  options: {
    noDevice?: boolean;
    /** No keychain: keep Clawdesk's key in a 0600 file rather than connect device-less. */
    allowPlaintextKeys?: boolean;
    /** Told why the CLI connects without a device when it was not asked to (no keychain). */
    onDeviceless?: (reason: string) => void;
  } = {},
): Promise<DeviceSigner | undefined> {
  if (options.noDevice) return undefined;
  try {
    return (
      await loadClawdeskIdentity({
        dataDir: clawdeskDataDir(stateDir),
        allowPlaintextFallback: options.allowPlaintextKeys,
        whenUnavailable: 'fail',
      })
    ).signer;
  } catch (error) {
    if (error instanceof IdentityNotPersistableError) {
      options.onDeviceless?.(error.message);
      return undefined;
    }
    throw error;
  }
}

/**
 * The client metadata every Clawdesk component presents with Clawdesk's device identity (the node, the desktop app's
 * approval client, `clawdesk approvals ...`). OpenClaw's gateway pins a paired device's platform and device family and
 * answers any difference with "device identity changed and must be re-approved" (Clawdesk's does the same), so one
 * identity must present one metadata everywhere.
 */
export function clawdeskDeviceMetadata(): { platform: string; deviceFamily: string } {
  return nodePlatform();
}

/**
 * What an approval client must hold to see and resolve agent approvals: OpenClaw 2026.9.6 shows an agent-originated
 * request only to `operator.admin` (docs/protocol.md), and resolving needs `operator.approvals`.
 */
export const APPROVER_SCOPES: readonly string[] = ['operator.admin', 'operator.approvals'];
