import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DeviceIdentityStore,
  IdentityImportError,
  IdentityMissingError,
  IdentityUnavailableError,
  exportPublicKeyB64Url,
  generateDeviceIdentity,
  signWithIdentity,
} from '../../gateway/secrets/device-identity';
import {
  deviceIdFromPublicKey,
  fromB64,
  generateEd25519KeyPair,
  privateKeyFromRaw,
  publicKeyFromRaw,
  rawPrivateKey,
  rawPublicKey,
  verifyPayload,
} from '../../gateway/protocol/ed25519';
import { openSecretStore } from '../../gateway/secrets/secret-store';
import { FakeKeytar } from './fakes';

let dir: string;
let keytar: FakeKeytar;
const identities = () =>
  new DeviceIdentityStore({ dir, openStore: () => openSecretStore({ dir, keytar, canaryTimeoutMs: 1000 }) });

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-identity-'));
  keytar = new FakeKeytar();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ed25519 primitives', () => {
  it('derives deviceId as sha256 hex of the raw key, matching a real openclaw 2026.9.6 capture', () => {
    const frames = JSON.parse(readFileSync(path.resolve(__dirname, '../fixtures/frames/device-pairing.json'), 'utf8'));
    const device = frames[1].frame.params.device;
    expect(deviceIdFromPublicKey(fromB64(device.publicKey))).toBe(device.id);
  });

  it('round-trips raw keys and verifies only the exact payload', () => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const raw = rawPublicKey(publicKey);
    expect(raw).toHaveLength(32);
    expect(rawPublicKey(publicKeyFromRaw(raw)).equals(raw)).toBe(true);
    expect(rawPrivateKey(privateKeyFromRaw(rawPrivateKey(privateKey))).equals(rawPrivateKey(privateKey))).toBe(true);
    const identity = generateDeviceIdentity();
    const payload = 'v3|id|cli|cli|operator|operator.read|1|tok|nonce|linux|linux';
    const sig = signWithIdentity(identity, payload);
    expect(sig).toMatch(/^[A-Za-z0-9_-]{86}$/);
    expect(verifyPayload(fromB64(exportPublicKeyB64Url(identity)), payload, sig)).toBe(true);
    expect(verifyPayload(fromB64(identity.publicKey), `${payload}x`, sig)).toBe(false);
    expect(verifyPayload(fromB64(identity.publicKey), payload, 'not base64!')).toBe(false);
    expect(identity.deviceId).toBe(createHash('sha256').update(fromB64(identity.publicKey)).digest('hex'));
  });
});

describe('DeviceIdentityStore', () => {
  it('creates one identity and returns the same one afterwards', async () => {
    const a = await identities().loadOrCreateIdentity();
    const b = await identities().loadOrCreateIdentity();
    expect(b.deviceId).toBe(a.deviceId);
    expect(JSON.parse(readFileSync(path.join(dir, 'device-identity.json'), 'utf8'))).toMatchObject({
      deviceId: a.deviceId,
    });
    expect(readFileSync(path.join(dir, 'device-identity.json'), 'utf8')).not.toContain('privateKey');
  });

  it('refuses to mint a new identity while the keychain is locked or gone', async () => {
    const original = await identities().loadOrCreateIdentity();
    keytar.mode = 'locked';
    const locked = await identities()
      .loadOrCreateIdentity()
      .catch((e) => e);
    expect(locked).toBeInstanceOf(IdentityUnavailableError);
    expect(locked.deviceId).toBe(original.deviceId);
    keytar.mode = 'no-bus';
    await expect(identities().loadOrCreateIdentity()).rejects.toBeInstanceOf(IdentityUnavailableError);
    keytar.mode = 'ok';
    expect((await identities().loadOrCreateIdentity()).deviceId).toBe(original.deviceId);
  });

  it('refuses to replace an identity that vanished from the store unless the user confirms', async () => {
    const original = await identities().loadOrCreateIdentity();
    const store = await openSecretStore({ dir, keytar });
    await store.delete('device-identity');
    await expect(identities().loadOrCreateIdentity()).rejects.toBeInstanceOf(IdentityMissingError);
    const fresh = await identities().loadOrCreateIdentity({ allowRegenerate: true });
    expect(fresh.deviceId).not.toBe(original.deviceId);
  });

  it('keeps device tokens per gateway and role, and clears only the one asked for', async () => {
    const ids = identities();
    await ids.loadOrCreateIdentity();
    await ids.setDeviceToken('ws://127.0.0.1:18789/', 'operator', 'tok-op', ['operator.admin', 'operator.read']);
    await ids.setDeviceToken('ws://127.0.0.1:18789', 'node', 'tok-node', []);
    await ids.setDeviceToken('wss://gw.example:443', 'operator', 'tok-remote', ['operator.read']);
    expect(await ids.getDeviceToken('WS://127.0.0.1:18789', 'operator')).toMatchObject({
      token: 'tok-op',
      scopes: ['operator.admin', 'operator.read'],
    });
    expect(await ids.clearDeviceToken('ws://127.0.0.1:18789', 'operator')).toBe(true);
    expect(await ids.getDeviceToken('ws://127.0.0.1:18789', 'operator')).toBeNull();
    expect(await ids.getDeviceToken('ws://127.0.0.1:18789', 'node')).toMatchObject({ token: 'tok-node' });
    expect((await ids.listDeviceTokens()).map((t) => t.token).sort()).toEqual(['tok-node', 'tok-remote']);
    await expect(ids.setDeviceToken('ws://x', 'operator', '', [])).rejects.toThrow(/empty device token/);
  });

  it('drops tokens that belong to a previous deviceId when an identity is regenerated', async () => {
    const ids = identities();
    await ids.loadOrCreateIdentity();
    await ids.setDeviceToken('ws://127.0.0.1:1', 'operator', 'old', []);
    await (await openSecretStore({ dir, keytar })).delete('device-identity');
    await identities().loadOrCreateIdentity({ allowRegenerate: true });
    expect(await identities().getDeviceToken('ws://127.0.0.1:1', 'operator')).toBeNull();
  });
});

function writeOpenClawIdentity(file: string, opts: { wrongDeviceId?: boolean } = {}) {
  const { privateKey, publicKey } = generateEd25519KeyPair();
  const deviceId = deviceIdFromPublicKey(publicKey);
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      deviceId: opts.wrongDeviceId ? 'f'.repeat(64) : deviceId,
      publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }),
      privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
      createdAtMs: 1_700_000_000_000,
    }),
    { mode: 0o600 },
  );
  return deviceId;
}

describe('importIdentityFile', () => {
  it("imports OpenClaw's identity/device.json keeping the deviceId, then removes the key file", async () => {
    const file = path.join(dir, 'device.json');
    const deviceId = writeOpenClawIdentity(file);
    const result = await identities().importIdentityFile(file);
    expect(result).toMatchObject({
      format: 'openclaw',
      deviceIdCorrected: false,
      alreadyPresent: false,
      sourceRemoved: true,
    });
    expect(result.identity.deviceId).toBe(deviceId);
    expect(result.identity.createdAtMs).toBe(1_700_000_000_000);
    expect(existsSync(file)).toBe(false);
    expect((await identities().loadOrCreateIdentity()).deviceId).toBe(deviceId);
  });

  it("imports the macOS app's raw-key identity", async () => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const file = path.join(dir, 'mac device.json');
    writeFileSync(
      file,
      JSON.stringify({
        deviceId: deviceIdFromPublicKey(publicKey),
        publicKey: rawPublicKey(publicKey).toString('base64'),
        privateKey: rawPrivateKey(privateKey).toString('base64'),
        createdAtMs: 5,
      }),
    );
    const result = await identities().importIdentityFile(file);
    expect(result.format).toBe('macos-app');
    expect(result.identity.deviceId).toBe(deviceIdFromPublicKey(publicKey));
  });

  it('keeps the key file when the keychain copy cannot be made', async () => {
    const file = path.join(dir, 'device.json');
    writeOpenClawIdentity(file);
    keytar.mode = 'locked';
    await expect(identities().importIdentityFile(file)).rejects.toThrow();
    expect(existsSync(file)).toBe(true);
  });

  it('reports a stored deviceId that does not match the key, and keeps the derived one', async () => {
    const file = path.join(dir, 'device.json');
    const deviceId = writeOpenClawIdentity(file, { wrongDeviceId: true });
    const result = await identities().importIdentityFile(file);
    expect(result.deviceIdCorrected).toBe(true);
    expect(result.identity.deviceId).toBe(deviceId);
  });

  it('rejects mismatched, truncated and foreign files with a clear message and touches nothing', async () => {
    const a = generateEd25519KeyPair();
    const b = generateEd25519KeyPair();
    const mismatched = path.join(dir, 'mismatch.json');
    writeFileSync(
      mismatched,
      JSON.stringify({
        version: 1,
        publicKeyPem: a.publicKey.export({ format: 'pem', type: 'spki' }),
        privateKeyPem: b.privateKey.export({ format: 'pem', type: 'pkcs8' }),
      }),
    );
    await expect(identities().importIdentityFile(mismatched)).rejects.toThrow(
      'the private key does not belong to the public key',
    );
    const truncated = path.join(dir, 'truncated.json');
    writeFileSync(truncated, '{"version":1,"publicKeyPem":"-----BEGIN');
    await expect(identities().importIdentityFile(truncated)).rejects.toThrow(/is not valid JSON/);
    const foreign = path.join(dir, 'foreign.json');
    writeFileSync(foreign, '{"hello":"world"}');
    await expect(identities().importIdentityFile(foreign)).rejects.toBeInstanceOf(IdentityImportError);
    for (const f of [mismatched, truncated, foreign]) expect(existsSync(f)).toBe(true);
    expect(await identities().recordedIdentity()).toBeUndefined();
  });

  it('will not silently replace an existing identity', async () => {
    const current = await identities().loadOrCreateIdentity();
    const file = path.join(dir, 'device.json');
    const other = writeOpenClawIdentity(file);
    await expect(identities().importIdentityFile(file)).rejects.toThrow(/already has identity/);
    expect(existsSync(file)).toBe(true);
    const replaced = await identities().importIdentityFile(file, { replaceExisting: true });
    expect(replaced.identity.deviceId).toBe(other);
    const store = await openSecretStore({ dir, keytar });
    expect(await store.names()).toContain(`device-identity.replaced.${current.deviceId.slice(0, 16)}`);
  });
});
