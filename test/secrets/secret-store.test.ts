import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEYCHAIN_SERVICES } from '../../gateway/secrets/keytar-backend';
import {
  SecretKeyMissingError,
  SecretStoreLockedError,
  SecretStoreUnavailableError,
  SecretTooLargeError,
  SecretVaultCorruptError,
} from '../../gateway/secrets/secret-errors';
import { MAX_SECRET_BYTES, openSecretStore, readSecretBackendRecord } from '../../gateway/secrets/secret-store';
import { FakeKeytar, FakeSafeStorage } from './fakes';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-secrets-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('keychain service names', () => {
  it('are not prefixes of each other (keytar on Windows matches services by prefix, case-insensitively)', () => {
    const names = Object.values(KEYCHAIN_SERVICES).map((n) => n.toLowerCase());
    for (const a of names) for (const b of names) if (a !== b) expect(b.startsWith(a)).toBe(false);
  });
});

describe('openSecretStore backend choice', () => {
  it('chooses keytar after a canary write/read/delete, and keeps exactly one small keychain item', async () => {
    const keytar = new FakeKeytar();
    const store = await openSecretStore({ dir, keytar });
    expect(store.backend).toBe('keytar');
    expect(keytar.calls.slice(0, 3)).toEqual([
      `set ${KEYCHAIN_SERVICES.canary}`,
      `get ${KEYCHAIN_SERVICES.canary}`,
      `delete ${KEYCHAIN_SERVICES.canary}`,
    ]);
    await store.set('a', 'x'.repeat(10_000));
    await store.set('b', 'y');
    expect([...keytar.items.keys()].map((k) => k.split('\0')[0])).toEqual([KEYCHAIN_SERVICES.dataKey]);
    const [value] = [...keytar.items.values()];
    expect(Buffer.from(value, 'base64')).toHaveLength(32);
    expect(await store.get('a')).toHaveLength(10_000);
    // Neither the file nor its decoded ciphertext holds the plaintext. (A short probe such as 'yyy' would be a
    // coin toss: random base64 of this size contains any given three characters about one time in twenty.)
    const vault = readFileSync(store.vaultPath, 'utf8');
    const plaintext = 'x'.repeat(64);
    expect(vault).not.toContain(plaintext);
    expect(Buffer.from(JSON.parse(vault).data, 'base64').includes(plaintext)).toBe(false);
  });

  it('a locked keyring (reads say null, writes fail) is "locked", never "empty"', async () => {
    const keytar = new FakeKeytar();
    keytar.mode = 'locked';
    await expect(openSecretStore({ dir, keytar })).rejects.toBeInstanceOf(SecretStoreLockedError);
    expect(existsSync(path.join(dir, 'secrets.vault.json'))).toBe(false);
  });

  it('a keychain that accepts writes but reads back nothing is treated as locked', async () => {
    const keytar = new FakeKeytar();
    keytar.mode = 'forgetful';
    const error = await openSecretStore({ dir, keytar }).catch((e) => e);
    expect(error).toBeInstanceOf(SecretStoreLockedError);
    expect(error.message).toContain('keytar: locked (canary written but read back as nothing)');
  });

  it('falls back to safeStorage inside the app when keytar is unavailable', async () => {
    const keytar = new FakeKeytar();
    keytar.mode = 'no-bus';
    const store = await openSecretStore({ dir, keytar, safeStorage: new FakeSafeStorage(), platform: 'linux' });
    expect(store.backend).toBe('safe-storage');
    expect(store.weak).toBe(false);
    await store.set('k', 'v');
    const reopened = await openSecretStore({ dir, keytar, safeStorage: new FakeSafeStorage(), platform: 'linux' });
    expect(await reopened.get('k')).toBe('v');
    const sealed = JSON.parse(readFileSync(path.join(dir, 'vault-key.safe-storage.json'), 'utf8'));
    expect(sealed.storageBackend).toBe('gnome_libsecret');
  });

  it('does not count safeStorage on Linux with basic_text (a constant password) as protection', async () => {
    const error = await openSecretStore({
      dir,
      keytar: null,
      safeStorage: new FakeSafeStorage(true, 'basic_text'),
      platform: 'linux',
    }).catch((e) => e);
    expect(error).toBeInstanceOf(SecretStoreUnavailableError);
    expect(error.message).toContain(
      'safe-storage: unavailable (safeStorage uses "basic_text", which does not protect the key)',
    );
  });

  it('never enters the weak file mode without the acceptance flag', async () => {
    const error = await openSecretStore({ dir, keytar: null }).catch((e) => e);
    expect(error).toBeInstanceOf(SecretStoreUnavailableError);
    expect(error.code).toBe('unavailable');
    expect(error.attempts.map((a: { backend: string; outcome: string }) => `${a.backend}:${a.outcome}`)).toEqual([
      'keytar:unavailable',
      'safe-storage:skipped',
    ]);
    expect(existsSync(path.join(dir, 'vault-key.plaintext.json'))).toBe(false);

    const weak = await openSecretStore({ dir, keytar: null, allowPlaintextFallback: true });
    expect(weak.backend).toBe('plaintext-file');
    expect(weak.weak).toBe(true);
    expect(statSync(path.join(dir, 'vault-key.plaintext.json')).mode & 0o777).toBe(0o600);
    const record = await readSecretBackendRecord(dir);
    expect(record).toMatchObject({ kind: 'ok', record: { backend: 'plaintext-file', weak: true } });
  });

  it('once a vault is in the keychain, a keychain outage is an error, not a reason to start over', async () => {
    const keytar = new FakeKeytar();
    const store = await openSecretStore({ dir, keytar });
    await store.set('token', 't1');
    keytar.mode = 'no-bus';
    await expect(openSecretStore({ dir, keytar, allowPlaintextFallback: true })).rejects.toThrow(
      "Clawdesk's secrets are protected by the OS keychain, which is unavailable: canary write failed: Cannot autolaunch D-Bus without X11 $DISPLAY",
    );
    keytar.mode = 'ok';
    expect(await (await openSecretStore({ dir, keytar })).get('token')).toBe('t1');
  });

  it('a vault whose key vanished from the keychain is reported and left untouched', async () => {
    const keytar = new FakeKeytar();
    await (await openSecretStore({ dir, keytar })).set('x', '1');
    const before = readFileSync(path.join(dir, 'secrets.vault.json'), 'utf8');
    keytar.items.clear();
    await expect(openSecretStore({ dir, keytar, allowPlaintextFallback: true })).rejects.toBeInstanceOf(
      SecretKeyMissingError,
    );
    expect(readFileSync(path.join(dir, 'secrets.vault.json'), 'utf8')).toBe(before);
  });

  it('a corrupt vault is an error and is never replaced', async () => {
    writeFileSync(path.join(dir, 'secrets.vault.json'), '{"version":1,"backend":"keytar"');
    await expect(openSecretStore({ dir, keytar: new FakeKeytar() })).rejects.toBeInstanceOf(SecretVaultCorruptError);
    expect(readFileSync(path.join(dir, 'secrets.vault.json'), 'utf8')).toBe('{"version":1,"backend":"keytar"');
  });

  it('a tampered vault fails authentication', async () => {
    const keytar = new FakeKeytar();
    const store = await openSecretStore({ dir, keytar });
    await store.set('x', 'secret');
    const vault = JSON.parse(readFileSync(store.vaultPath, 'utf8'));
    const data = Buffer.from(vault.data, 'base64');
    data[0] ^= 1;
    writeFileSync(store.vaultPath, JSON.stringify({ ...vault, data: data.toString('base64') }));
    await expect(openSecretStore({ dir, keytar })).rejects.toBeInstanceOf(SecretKeyMissingError);
  });

  it('rejects oversized secrets with a typed error and keeps the old value', async () => {
    const store = await openSecretStore({ dir, keytar: new FakeKeytar() });
    await store.set('big', 'small');
    const error = await store.set('big', 'z'.repeat(MAX_SECRET_BYTES + 1)).catch((e) => e);
    expect(error).toBeInstanceOf(SecretTooLargeError);
    expect(error.code).toBe('too-large');
    expect(await store.get('big')).toBe('small');
  });

  it('serializes concurrent writes in one process without losing any', async () => {
    const store = await openSecretStore({ dir, keytar: new FakeKeytar() });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`k${i}`, String(i))));
    expect(await store.names()).toHaveLength(20);
    expect(await store.delete('k3')).toBe(true);
    expect(await store.delete('k3')).toBe(false);
    expect(await store.get('k3')).toBeNull();
  });

  it('two first runs racing for the same dir end up sharing one vault', async () => {
    const keytar = new FakeKeytar();
    const [a, b] = await Promise.all([openSecretStore({ dir, keytar }), openSecretStore({ dir, keytar })]);
    await a.set('from-a', '1');
    expect(await b.get('from-a')).toBe('1');
    expect([...keytar.items.keys()].filter((k) => k.startsWith(KEYCHAIN_SERVICES.dataKey))).toHaveLength(1);
  });
});
