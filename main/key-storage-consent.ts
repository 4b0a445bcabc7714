import type { DialogLike, MessageBoxOptions } from './electron-facades';
import type { IdentityStatus } from './gateway-controller';
import type { KeyStorageDecisionView, SecretsBackendId, SecretsView } from '../common/ipc-contract';
import { englishMain, type MainTranslate } from './main-i18n';

export interface KeyStorageConsentDeps {
  dialog: DialogLike;
  /** Clawdesk's data dir for the active state dir: where the vault (and an accepted key file) live. */
  dataDir: string;
  settings: {
    plaintextKeyFileAccepted(dataDir: string): boolean;
    acceptPlaintextKeyFile(dataDir: string): Promise<void>;
  };
  /** How the device key is held now (undefined before the first load). */
  identity(): IdentityStatus | undefined;
  /** Whether an identity vault exists in `dataDir`: then it is locked or unavailable, and a key file would not help. */
  vaultExists(dataDir: string): Promise<boolean>;
  /** Reloads the identity with the new decision (the gateway controller restarts what runs). */
  reloadIdentity(): Promise<void>;
  /** The dialog's words in the person's language; English when absent. */
  translate?: MainTranslate;
}

const BACKEND_NAMES = {
  keytar: 'OS keychain',
  'safe-storage': 'Electron safeStorage',
  'plaintext-file': 'file (0600, accepted by you)',
  ephemeral: 'in memory only',
} as const;

/** The key storage in English words, for support bundles and the log. */
export function keyStorageName(identity: IdentityStatus | undefined): string {
  return identity ? BACKEND_NAMES[identity.persistence] : 'not loaded yet';
}

/** The key storage as the dashboard names it in its own language (renderer/locales: secrets.backendName.*). */
export function keyStorageId(identity: IdentityStatus | undefined): SecretsBackendId {
  return identity ? identity.persistence : 'not-loaded';
}

/** The native confirmation: No is first, the default, and what Esc or closing the box answers. */
export function plaintextKeyFileConfirmation(
  t: MainTranslate = englishMain,
): MessageBoxOptions & { yesResponse: number } {
  return {
    type: 'warning',
    title: t('keyFile.title'),
    message: t('keyFile.message'),
    detail: t('keyFile.detail'),
    buttons: [t('keyFile.no'), t('keyFile.yes')],
    defaultId: 0,
    cancelId: 0,
    noLink: true,
    yesResponse: 1,
  };
}

/**
 * The one place the weaker key storage can be entered from the app: the Secrets view shows why the key is only in
 * memory, and accepting a 0600 key file takes an explicit Yes in a native dialog. Nothing here ever switches on
 * its own.
 */
export class KeyStorageConsent {
  private asking?: Promise<KeyStorageDecisionView>;

  constructor(private readonly deps: KeyStorageConsentDeps) {}

  async view(): Promise<SecretsView> {
    const identity = this.deps.identity();
    if (!identity)
      return {
        backend: 'not loaded yet',
        backendId: 'not-loaded',
        available: false,
        detail: 'The device identity loads when the gateway starts.',
      };
    const backend = keyStorageName(identity);
    const backendId = keyStorageId(identity);
    const detail =
      identity.warning ??
      `Device ${identity.deviceId.slice(0, 16)}…: the private key is held by the ${backend}, never in plaintext on disk.`;
    if (identity.persistence !== 'ephemeral') return { backend, backendId, available: true, detail };
    const keyFileAccepted = this.deps.settings.plaintextKeyFileAccepted(this.deps.dataDir);
    const keyFileOffered = !keyFileAccepted && !(await this.deps.vaultExists(this.deps.dataDir));
    return { backend, backendId, available: false, detail, ephemeral: { keyFileOffered, keyFileAccepted } };
  }

  /** A second click while the box is open shares the same question. */
  acceptPlaintextKeyFile(): Promise<KeyStorageDecisionView> {
    this.asking ??= this.ask().finally(() => {
      this.asking = undefined;
    });
    return this.asking;
  }

  private async ask(): Promise<KeyStorageDecisionView> {
    // Checked again here, not trusted from the page: the situation may have changed since it was rendered.
    const before = await this.view();
    if (!before.ephemeral)
      throw new Error(`The device key is already kept by the ${before.backend}; there is nothing to accept.`);
    if (before.ephemeral.keyFileAccepted) throw new Error('A key file was already accepted for this state directory.');
    if (!before.ephemeral.keyFileOffered) {
      throw new Error(
        'Your device identity is already stored, protected by a keychain that cannot be opened now. Unlock it and reopen Clawdesk; a key file would mean a new identity and is not offered.',
      );
    }
    const { yesResponse, ...options } = plaintextKeyFileConfirmation(this.deps.translate);
    const { response } = await this.deps.dialog.showMessageBox(options);
    if (response !== yesResponse) return { accepted: false, secrets: before };
    await this.deps.settings.acceptPlaintextKeyFile(this.deps.dataDir);
    await this.deps.reloadIdentity();
    return { accepted: true, secrets: await this.view() };
  }
}
