import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadClawdeskIdentity, type ClawdeskIdentity } from '../../gateway/identity/clawdesk-identity';
import { VAULT_FILE, vaultExists } from '../../gateway/secrets/secret-store';
import { ApprovalHistory } from '../../main/approval-history';
import { DashboardService } from '../../main/dashboard-service';
import { KeyStorageConsent } from '../../main/key-storage-consent';
import { KEY_STORAGE_SETTINGS_FILE, KeyStorageSettings } from '../../main/key-storage-settings';
import { registerIpcHandlers, type IpcRejectedError } from '../../main/ipc/ipc-router';
import { LogBuffer } from '../../main/log-buffer';
import { FakeDialog, FakeIpcMain, senderEvent, tick } from './fakes';

/**
 * The consent flow wired as main/index.ts wires it, with the real identity loader (keytar absent, no safeStorage:
 * the Linux desktop with no keyring) and the real settings file; only the dialog is a fake.
 */
async function setup(options: { settingsFile?: string } = {}) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-keystore-'));
  const dataDir = path.join(home, 'state', 'clawdesk');
  const settingsFile = options.settingsFile ?? path.join(home, 'userdata', KEY_STORAGE_SETTINGS_FILE);
  const corrupt: string[] = [];
  const settings = new KeyStorageSettings(settingsFile, { onProblem: (m) => corrupt.push(m) });
  await settings.load();
  const load = () =>
    loadClawdeskIdentity({
      dataDir,
      keytar: null,
      whenUnavailable: 'ephemeral',
      allowPlaintextFallback: settings.plaintextKeyFileAccepted(dataDir),
    });
  let identity: ClawdeskIdentity = await load();
  let reloads = 0;
  const dialog = new FakeDialog();
  const consent = new KeyStorageConsent({
    dialog: dialog.api,
    dataDir,
    settings,
    identity: () => ({
      persistence: identity.persistence,
      warning: identity.warning,
      deviceId: identity.signer.deviceId,
    }),
    vaultExists,
    reloadIdentity: async () => {
      reloads += 1;
      identity = await load();
    },
  });
  return {
    home,
    dataDir,
    settingsFile,
    settings,
    corrupt,
    dialog,
    consent,
    reloads: () => reloads,
    identity: () => identity,
  };
}

describe('accepting a key file readable only by me', () => {
  it('explains the in-memory key and offers the key file; nothing is written before the user answers', async () => {
    const { consent, dataDir, settingsFile, dialog } = await setup();
    expect(await consent.view()).toMatchObject({
      backend: 'in memory only',
      available: false,
      ephemeral: { keyFileOffered: true, keyFileAccepted: false },
    });
    expect(dialog.shown).toEqual([]);
    expect(existsSync(settingsFile)).toBe(false);
    expect(await vaultExists(dataDir)).toBe(false);
  });

  it('Yes: the decision is saved (0600), the identity reloads into the key file, and a restart remembers it', async () => {
    const { consent, dialog, settingsFile, dataDir, reloads, identity } = await setup();
    const ephemeralId = identity().signer.deviceId;
    const decided = consent.acceptPlaintextKeyFile();
    const box = await dialog.box(0);
    expect(box.options.type).toBe('warning');
    expect(box.options.buttons).toEqual(['No', 'Keep the key in a file']);
    expect(box.options.defaultId).toBe(0);
    expect(box.options.cancelId).toBe(0);
    expect(box.options.detail).toMatch(/unencrypted/);
    box.answer(1);
    const result = await decided;
    expect(result.accepted).toBe(true);
    expect(result.secrets).toMatchObject({ backend: 'file (0600, accepted by you)', available: true });
    expect(result.secrets.ephemeral).toBeUndefined();
    expect(reloads()).toBe(1);
    expect(identity().persistence).toBe('plaintext-file');
    expect(identity().signer.deviceId).not.toBe(ephemeralId);

    if (process.platform !== 'win32') expect(statSync(settingsFile).mode & 0o777).toBe(0o600);
    const saved = JSON.parse(readFileSync(settingsFile, 'utf8'));
    expect(Object.keys(saved.plaintextKeyFile)).toEqual([path.resolve(dataDir)]);
    // The settings file holds a decision, never key material.
    expect(readFileSync(settingsFile, 'utf8')).not.toMatch(/"key"|privateKey/);

    // Next start: the decision is read back and the same identity comes out of the key file.
    const again = new KeyStorageSettings(settingsFile);
    await again.load();
    expect(again.plaintextKeyFileAccepted(dataDir)).toBe(true);
    expect(again.plaintextKeyFileAccepted(path.join(path.dirname(dataDir), 'other-profile'))).toBe(false);
    const restarted = await loadClawdeskIdentity({
      dataDir,
      keytar: null,
      whenUnavailable: 'ephemeral',
      allowPlaintextFallback: again.plaintextKeyFileAccepted(dataDir),
    });
    expect(restarted.persistence).toBe('plaintext-file');
    expect(restarted.signer.deviceId).toBe(identity().signer.deviceId);

    // Once accepted there is nothing left to accept.
    await expect(consent.acceptPlaintextKeyFile()).rejects.toThrow(/nothing to accept/);
    expect(dialog.shown).toHaveLength(1);
  });

  it('No, and Esc (cancelId): nothing is saved, the identity is not reloaded, the key stays in memory', async () => {
    const { consent, dialog, settingsFile, dataDir, reloads, identity } = await setup();
    const ephemeralId = identity().signer.deviceId;

    const saidNo = consent.acceptPlaintextKeyFile();
    (await dialog.box(0)).answer(0);
    expect(await saidNo).toMatchObject({
      accepted: false,
      secrets: { backend: 'in memory only', ephemeral: { keyFileOffered: true } },
    });

    const escaped = consent.acceptPlaintextKeyFile();
    (await dialog.box(1)).cancel();
    expect((await escaped).accepted).toBe(false);

    expect(existsSync(settingsFile)).toBe(false);
    expect(reloads()).toBe(0);
    expect(identity().signer.deviceId).toBe(ephemeralId);
    expect(await vaultExists(dataDir)).toBe(false);
  });

  it('a second click while the box is open shares the one question', async () => {
    const { consent, dialog } = await setup();
    const first = consent.acceptPlaintextKeyFile();
    const second = consent.acceptPlaintextKeyFile();
    (await dialog.box(0)).answer(0);
    expect(await first).toEqual(await second);
    await tick();
    expect(dialog.shown).toHaveLength(1);
  });

  it('an identity already stored under a keychain that cannot be opened: no key file is offered and no dialog is shown', async () => {
    const { consent, dialog, dataDir, settingsFile } = await setup();
    // A vault exists (as if created while the keychain worked): a key file would mean a new identity.
    writeFileSync(path.join(dataDir, VAULT_FILE), '{}');
    expect(await vaultExists(dataDir)).toBe(true);
    expect((await consent.view()).ephemeral).toEqual({ keyFileOffered: false, keyFileAccepted: false });
    await expect(consent.acceptPlaintextKeyFile()).rejects.toThrow(/cannot be opened now/);
    expect(dialog.shown).toEqual([]);
    expect(existsSync(settingsFile)).toBe(false);
  });

  it('the decision cannot be saved: the error reaches the user and the identity is not reloaded', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-keystore-'));
    writeFileSync(path.join(home, 'not-a-dir'), '');
    const { consent, dialog, reloads, identity, corrupt } = await setup({
      settingsFile: path.join(home, 'not-a-dir', KEY_STORAGE_SETTINGS_FILE),
    });
    // Unreadable at start: reported, nothing accepted, and the app still starts.
    expect(corrupt).toEqual([expect.stringMatching(/cannot be read/)]);
    const decided = consent.acceptPlaintextKeyFile();
    (await dialog.box(0)).answer(1);
    await expect(decided).rejects.toThrow();
    expect(reloads()).toBe(0);
    expect(identity().persistence).toBe('ephemeral');
    expect((await consent.view()).ephemeral?.keyFileOffered).toBe(true);
  });

  it('a corrupt settings file is moved aside and accepts nothing', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-keystore-'));
    const settingsFile = path.join(home, KEY_STORAGE_SETTINGS_FILE);
    const dataDir = path.join(home, 'state', 'clawdesk');
    for (const content of [
      '{"version":1,"plaintextKeyFile":{',
      `{"version":1,"plaintextKeyFile":{"${dataDir}":{"acceptedAtMs":"yes"}}}`,
      '[]',
    ]) {
      writeFileSync(settingsFile, content);
      const corrupt: string[] = [];
      const settings = new KeyStorageSettings(settingsFile, { onProblem: (m) => corrupt.push(m) });
      await settings.load();
      expect(settings.plaintextKeyFileAccepted(dataDir), content).toBe(false);
      expect(corrupt, content).toHaveLength(1);
      expect(existsSync(settingsFile)).toBe(false);
    }
    expect(readdirSync(home).filter((n) => n.startsWith(`${KEY_STORAGE_SETTINGS_FILE}.corrupt-`))).toHaveLength(3);
  });
});

describe('acceptPlaintextKeyStorage over IPC', () => {
  async function wire() {
    const base = await setup();
    const service = new DashboardService({
      version: '0.0.0-test',
      platform: 'linux',
      status: () => ({
        gateway: { state: 'running', port: 1, owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' } },
        secretsBackend: 'in memory only',
      }),
      pendingPairingCount: () => 0,
      controlGateway: async () => undefined,
      startAtLogin: { get: () => false, set: () => undefined },
      gateway: () => undefined,
      approvals: { pending: () => [], current: () => undefined, decide: () => false },
      history: new ApprovalHistory(path.join(base.home, 'approval-history.jsonl')),
      logs: new LogBuffer(),
      secrets: () => base.consent.view(),
      acceptPlaintextKeyStorage: () => base.consent.acceptPlaintextKeyFile(),
      openExternal: async () => false,
    });
    const ipc = new FakeIpcMain();
    const rejected: IpcRejectedError[] = [];
    registerIpcHandlers({
      ipcMain: ipc.api,
      handlers: service,
      isOwnWebContents: (id) => id === 1,
      onRejected: (_m, e) => rejected.push(e),
    });
    return { ...base, ipc, rejected };
  }

  it('from the dashboard: asks natively and saves on Yes', async () => {
    const { ipc, dialog, settings, dataDir } = await wire();
    const call = ipc.invoke('clawdesk:acceptPlaintextKeyStorage', senderEvent());
    (await dialog.box(0)).answer(1);
    expect(await call).toMatchObject({ accepted: true, secrets: { backend: 'file (0600, accepted by you)' } });
    expect(settings.plaintextKeyFileAccepted(dataDir)).toBe(true);
  });

  it('a foreign sender is rejected before any dialog', async () => {
    const { ipc, dialog, rejected, settingsFile } = await wire();
    for (const event of [
      senderEvent({ webContentsId: 7 }),
      senderEvent({ subframe: true }),
      senderEvent({ url: 'https://evil.example/' }),
      senderEvent({ noFrame: true }),
    ]) {
      await expect(ipc.invoke('clawdesk:acceptPlaintextKeyStorage', event)).rejects.toThrow(
        /sender is not a Clawdesk window/,
      );
    }
    await tick();
    expect(dialog.shown).toEqual([]);
    expect(rejected.map((e) => e.reason)).toEqual(Array(4).fill('untrusted-sender'));
    expect(existsSync(settingsFile)).toBe(false);
  });

  it('arguments are rejected before any dialog (the method takes none)', async () => {
    const { ipc, dialog, rejected, settingsFile } = await wire();
    for (const args of [[true], ['yes'], [{ accept: true }]]) {
      await expect(ipc.invoke('clawdesk:acceptPlaintextKeyStorage', senderEvent(), ...args)).rejects.toThrow(
        /invalid arguments/,
      );
    }
    await tick();
    expect(dialog.shown).toEqual([]);
    expect(rejected.map((e) => e.reason)).toEqual(Array(3).fill('invalid-arguments'));
    expect(existsSync(settingsFile)).toBe(false);
  });
});
