import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NewRemoteGatewayInput, RemoteGatewaysView } from '../../common/ipc-contract';
import { ApprovalHistory } from '../../main/approval-history';
import { ApprovalQueue } from '../../main/approval-queue';
import { DashboardService } from '../../main/dashboard-service';
import { LogBuffer } from '../../main/log-buffer';
import {
  axeViolations,
  emit,
  openAppPage,
  overflowing,
  REPO_ROOT,
  settled,
  startRendererBench,
  type RendererBench,
} from './renderer-harness';

/**
 * The Gateways view and the prompt's gateway row in headless Chromium, through the real preload bridge and IPC
 * router, with main's side of the gateways stood in by fixed states (test/main/remote-gateways.test.ts drives the
 * real ones against real gateways).
 */

const artifacts = path.join(REPO_ROOT, 'test-artifacts', 'renderer');
const FINGERPRINT = 'ab'.repeat(32);
const VIEW: RemoteGatewaysView = {
  warnings: [],
  gateways: [
    {
      name: 'home',
      address: 'wss://192.168.1.20:18789',
      transport: 'direct',
      primary: true,
      runner: true,
      readOnly: false,
      auth: 'token',
      trust: { kind: 'pin', fingerprint: FINGERPRINT },
      state: 'connected',
      approvals: { state: 'connected' },
      runnerState: { state: 'connected' },
    },
    {
      name: 'vps',
      address: 'ssh me@vps.example → 127.0.0.1:18789',
      transport: 'ssh',
      primary: false,
      runner: false,
      readOnly: false,
      auth: 'device-token',
      trust: { kind: 'ssh' },
      state: 'pairing-required',
      approvals: { state: 'pairing-required', detail: 'pairing required' },
      pairing: { requestId: 'req-7f3a', command: 'openclaw devices approve req-7f3a' },
      problem: {
        message: '"vps" waits for this device to be approved.',
        fix: 'Run openclaw devices approve req-7f3a.',
      },
    },
    {
      name: 'office',
      address: 'wss://office.example:18789',
      transport: 'direct',
      primary: false,
      runner: false,
      readOnly: false,
      auth: 'token',
      trust: { kind: 'pin', fingerprint: 'cd'.repeat(32) },
      state: 'pin-mismatch',
      approvals: { state: 'pin-mismatch', detail: 'the certificate does not match the pinned one' },
      problem: {
        message: 'The certificate of "office" has changed: it is not the one you trusted.',
        fix: 'Remove this gateway and add it again once you have compared the fingerprint.',
      },
    },
  ],
};

let bench: RendererBench;
let service: DashboardService;
let root: string;
const added: NewRemoteGatewayInput[] = [];
const rejected: string[] = [];

beforeAll(async () => {
  bench = await startRendererBench();
  mkdirSync(artifacts, { recursive: true });
  root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-renderer-gw-'));
  const queue = new ApprovalQueue({
    presenter: { present: () => new Promise(() => undefined) },
    blocker: () => undefined,
    fallback: () => null,
  });
  // A request from the gateway "home", waiting in the app's queue as main/remote-gateways.ts puts it there.
  void queue.request(
    {
      id: 'req-1',
      request: { commandArgv: ['/bin/ls', '-la'], host: 'node', nodeId: 'laptop', agentId: 'main' },
      createdAtMs: Date.now(),
      expiresAtMs: Date.now() + 600_000,
    },
    { gateway: 'home', address: 'wss://192.168.1.20:18789' },
  );
  service = new DashboardService({
    version: '0.1.0',
    platform: 'linux',
    status: () => ({
      gateway: { state: 'running', port: 18789, owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' } },
      secretsBackend: 'libsecret (Secret Service)',
    }),
    pendingPairingCount: () => 0,
    controlGateway: async () => undefined,
    startAtLogin: { get: () => false, set: () => undefined },
    gateway: () => undefined,
    approvals: { pending: () => queue.pending(), current: () => queue.current(), decide: () => false },
    history: new ApprovalHistory(path.join(root, 'history.jsonl')),
    logs: new LogBuffer(),
    secrets: () => ({ backend: 'libsecret', available: true, detail: '' }),
    acceptPlaintextKeyStorage: async () => ({
      accepted: false,
      secrets: { backend: 'libsecret', available: true, detail: '' },
    }),
    openExternal: async () => false,
    remoteGateways: {
      view: async () => VIEW,
      add: async (input) => {
        added.push(input);
        return {
          saved: false,
          reason: 'not-trusted',
          message: 'Not saved: the certificate was not trusted.',
          gateways: VIEW,
        };
      },
      remove: async () => VIEW,
      setPrimary: async () => VIEW,
      setRunner: async () => VIEW,
    },
  });
});

afterAll(async () => {
  await bench?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('gateways on other machines, in the dashboard', () => {
  it('a card per gateway in both themes: state in words, address, trust, primary, runner; axe clean', async () => {
    const page = await openAppPage(bench, service, { hash: '#gateways', rejected });
    await page.waitForSelector('#content[data-view="gateways"] [data-testid="gateway-home"]');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: path.join(artifacts, `gateways-${scheme}.png`), fullPage: true });
      expect(await axeViolations(page), scheme).toEqual([]);
      expect(await overflowing(page), scheme).toEqual([]);
    }
    const states = await page.$$eval('[data-testid="gateway-remote-state"]', (els) => els.map((e) => e.textContent));
    expect(states).toEqual(['Connected', 'Waiting for pairing approval', 'Certificate changed']);
    const home = (await page.textContent('[data-testid="gateway-home"]'))!;
    expect(home).toContain('wss://192.168.1.20:18789');
    expect(home).toContain(FINGERPRINT.match(/.{2}/g)!.join(':'));
    expect(await page.textContent('[data-testid="gateway-pairing"]')).toContain('openclaw devices approve req-7f3a');
    // The changed certificate is an alert, with what to do.
    const alert = (await page.textContent('[data-testid="gateway-office"] [role="alert"]:not(.health)'))!;
    expect(alert).toMatch(/has changed/);
    expect(alert).toMatch(/Remove this gateway and add it again/);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('the overview leads with a changed certificate under "Needs you"; a remote request’s card names its gateway', async () => {
    const page = await openAppPage(bench, service, { hash: '#status', rejected });
    await page.waitForSelector('[data-testid="pin-mismatch"]');
    expect(await page.textContent('[data-testid="pin-mismatch"]')).toContain('office');
    // The request waiting from "home" names it on its card, before the command.
    expect(await page.textContent('[data-testid="approval-origin"]')).toBe(
      'From the gateway: home · wss://192.168.1.20:18789',
    );
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('an open dashboard switches to the Gateways view when main changes its fragment (the tray’s gateway lines)', async () => {
    const page = await openAppPage(bench, service, { hash: '#status', rejected });
    await page.waitForSelector('#content[data-view="status"]');
    // What BrowserWindow.loadURL does for the same document with another fragment: an in-page navigation.
    await page.evaluate(() => {
      location.hash = '#gateways';
    });
    await page.waitForSelector('#content[data-view="gateways"] [data-testid="gateway-home"]');
    expect(await page.getAttribute('#tab-gateways', 'aria-current')).toBeTruthy();
    // An unknown fragment leaves the view as it is.
    await page.evaluate(() => {
      location.hash = '#nothing-here';
    });
    await page.waitForFunction(() => location.hash === '#nothing-here');
    expect(await page.getAttribute('#content', 'data-view')).toBe('gateways');
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('adding sends the form to main and empties the secret field; main’s refusal is shown', async () => {
    const page = await openAppPage(bench, service, { hash: '#gateways', rejected });
    await page.waitForSelector('#gw-add-name');
    await page.fill('#gw-add-name', 'lab');
    await page.fill('#gw-add-where', 'wss://10.0.0.5:18789');
    await page.fill('#gw-add-secret', 'typed-secret');
    await page.check('#gw-add-runner');
    await page.click('.gateway-add button[type="submit"]');
    await page.waitForSelector('#status-line.error');
    expect(await page.textContent('#status-line')).toContain('the certificate was not trusted');
    expect(added.at(-1)).toEqual({
      name: 'lab',
      url: 'wss://10.0.0.5:18789',
      auth: 'token',
      secret: 'typed-secret',
      runner: true,
    });
    expect(await page.inputValue('#gw-add-secret')).toBe('');
    await emit(page, 'gateways');
    await settled(page);
    expect(rejected).toEqual([]);
    await page.close();
  }, 60_000);

  it('German: the view in German, in the dark theme, axe clean', async () => {
    const page = await openAppPage(bench, service, { hash: '#gateways', locale: 'de-DE', rejected });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForSelector('[data-testid="gateway-home"]');
    expect(await page.textContent('#tab-gateways')).toBe('Entfernte Gateways');
    const states = await page.$$eval('[data-testid="gateway-remote-state"]', (els) => els.map((e) => e.textContent));
    expect(states).toEqual(['Verbunden', 'Wartet auf Freigabe der Kopplung', 'Zertifikat geändert']);
    await page.screenshot({ path: path.join(artifacts, 'gateways-de-dark.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    expect(await overflowing(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('the prompt names the gateway and its address apart from the request’s own rows', async () => {
    const page = await openAppPage(bench, service, { hash: '#prompt', rejected });
    await page.waitForSelector('[data-testid="prompt-origin"]');
    expect(await page.textContent('#prompt-title')).toBe('Allow this command from the gateway "home"?');
    expect(await page.textContent('[data-testid="prompt-origin"]')).toBe(
      'Asked by the gateway' + 'home · wss://192.168.1.20:18789',
    );
    // Before the command and the context rows (Agent, Host).
    const order = await page.$$eval('main.prompt > *', (els) =>
      els.map((e) => e.tagName + (e.className ? `.${e.className}` : '')),
    );
    expect(order.indexOf('SECTION.prompt-origin')).toBeLessThan(order.indexOf('DL.context'));
    await page.screenshot({ path: path.join(artifacts, 'prompt-remote-gateway.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  }, 60_000);
});
