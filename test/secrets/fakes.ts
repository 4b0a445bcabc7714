import type { KeytarLike } from '../../gateway/secrets/keytar-backend';
import type { SafeStorageLike } from '../../gateway/secrets/safe-storage-backend';

/**
 * An in-memory keytar that reproduces what libsecret does in each state, as observed against gnome-keyring:
 * no bus → every call throws; locked → writes throw, reads return null, deletes return false.
 */
export class FakeKeytar implements KeytarLike {
  readonly items = new Map<string, string>();
  mode: 'ok' | 'no-bus' | 'locked' | 'forgetful' = 'ok';
  calls: string[] = [];

  async getPassword(service: string, account: string): Promise<string | null> {
    this.calls.push(`get ${service}`);
    if (this.mode === 'no-bus') throw new Error('Cannot autolaunch D-Bus without X11 $DISPLAY');
    if (this.mode === 'locked' || this.mode === 'forgetful') return null;
    return this.items.get(`${service}\0${account}`) ?? null;
  }

  async setPassword(service: string, account: string, password: string): Promise<void> {
    this.calls.push(`set ${service}`);
    if (this.mode === 'no-bus') throw new Error('Cannot autolaunch D-Bus without X11 $DISPLAY');
    if (this.mode === 'locked') throw new Error('Cannot create an item in a locked collection');
    this.items.set(`${service}\0${account}`, password);
  }

  async deletePassword(service: string, account: string): Promise<boolean> {
    this.calls.push(`delete ${service}`);
    if (this.mode === 'no-bus') throw new Error('Cannot autolaunch D-Bus without X11 $DISPLAY');
    if (this.mode === 'locked') return false;
    return this.items.delete(`${service}\0${account}`);
  }
}

/** A safeStorage that really transforms data (XOR), so a decrypt with the wrong instance is visible. */
export class FakeSafeStorage implements SafeStorageLike {
  constructor(
    public available = true,
    public backend: string | undefined = 'gnome_libsecret',
  ) {}
  isEncryptionAvailable(): boolean {
    return this.available;
  }
  encryptString(plainText: string): Buffer {
    return Buffer.from(Buffer.from(plainText, 'utf8').map((b) => b ^ 0x5a));
  }
  decryptString(encrypted: Buffer): string {
    return Buffer.from(encrypted.map((b) => b ^ 0x5a)).toString('utf8');
  }
  getSelectedStorageBackend(): string {
    return this.backend ?? 'unknown';
  }
}
