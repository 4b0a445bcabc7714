// Electron 45 deprecates the synchronous safeStorage calls (they block the main process while the keychain
// answers): the app's custodian must use the async ones. The stand-in has Electron 45's shape (checked against
// electron.d.ts by `satisfies`) and its sync calls throw, so any sync use fails here (issue 13 defect 8).
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SAFE_STORAGE_KEY_FILE, SafeStorageCustodian } from '../../gateway/secrets/safe-storage-backend';

function asyncOnlySafeStorage(state: {
  available: boolean;
  backend: 'gnome_libsecret' | 'basic_text';
  rotate?: boolean;
}) {
  const seal = (s: string, k: number) => Buffer.from(Buffer.from(s, 'utf8').map((b) => b ^ k));
  let key = 0x5a;
  const calls: string[] = [];
  const sync = (name: string) => () => {
    throw new Error(`synchronous safeStorage.${name} used`);
  };
  const api = {
    isEncryptionAvailable: sync('isEncryptionAvailable') as () => boolean,
    encryptString: sync('encryptString') as (s: string) => Buffer,
    decryptString: sync('decryptString') as (b: Buffer) => string,
    getSelectedStorageBackend: () => state.backend,
    setUsePlainTextEncryption: () => undefined,
    async isAsyncEncryptionAvailable() {
      calls.push('isAsyncEncryptionAvailable');
      return state.available;
    },
    async encryptStringAsync(plainText: string) {
      calls.push('encryptStringAsync');
      return Buffer.concat([Buffer.from([key]), seal(plainText, key)]);
    },
    async decryptStringAsync(encrypted: Buffer) {
      calls.push('decryptStringAsync');
      const used = encrypted[0];
      const result = seal(encrypted.subarray(1).toString('latin1'), used).toString('latin1');
      return { result: Buffer.from(result, 'latin1').toString('utf8'), shouldReEncrypt: used !== key };
    },
    rotate() {
      key = 0x33;
    },
  } satisfies Electron.SafeStorage & { rotate(): void };
  return { api, calls };
}

describe('SafeStorageCustodian on Electron 45 (async safeStorage)', () => {
  it('probes, seals and unseals the data key with the async calls only', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-ss-'));
    const { api, calls } = asyncOnlySafeStorage({ available: true, backend: 'gnome_libsecret' });
    const custodian = new SafeStorageCustodian(api, dir, 'linux');
    expect(await custodian.probe()).toMatchObject({ outcome: 'ok' });
    const key = Buffer.alloc(32, 7);
    await custodian.storeKey('k1', key);
    expect((await custodian.loadKey('k1'))?.equals(key)).toBe(true);
    expect(new Set(calls)).toEqual(new Set(['isAsyncEncryptionAvailable', 'encryptStringAsync', 'decryptStringAsync']));
  });

  it('unavailable and basic_text are refused, not used', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-ss-'));
    expect(
      await new SafeStorageCustodian(
        asyncOnlySafeStorage({ available: false, backend: 'gnome_libsecret' }).api,
        dir,
        'linux',
      ).probe(),
    ).toMatchObject({ outcome: 'unavailable' });
    expect(
      (
        await new SafeStorageCustodian(
          asyncOnlySafeStorage({ available: true, backend: 'basic_text' }).api,
          dir,
          'linux',
        ).probe()
      ).detail,
    ).toContain('basic_text');
  });

  it('a rotated OS key (shouldReEncrypt) re-seals the data key; it still opens', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-ss-'));
    const { api } = asyncOnlySafeStorage({ available: true, backend: 'gnome_libsecret' });
    const custodian = new SafeStorageCustodian(api, dir, 'linux');
    const key = Buffer.alloc(32, 9);
    await custodian.storeKey('k1', key);
    const before = readFileSync(path.join(dir, SAFE_STORAGE_KEY_FILE), 'utf8');
    api.rotate();
    expect((await custodian.loadKey('k1'))?.equals(key)).toBe(true);
    const after = readFileSync(path.join(dir, SAFE_STORAGE_KEY_FILE), 'utf8');
    expect(after).not.toBe(before);
    expect(Buffer.from(JSON.parse(after).sealedKey, 'base64')[0]).toBe(0x33);
    expect((await custodian.loadKey('k1'))?.equals(key)).toBe(true);
  });
});
