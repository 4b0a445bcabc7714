import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DiscoveredGatewaysView,
  InvokeMethod,
  NewRemoteGatewayInput,
  RemoteGatewaysView,
} from '../../common/ipc-contract';
import { ApprovalHistory } from '../../main/approval-history';
import { DashboardService } from '../../main/dashboard-service';
import { LogBuffer } from '../../main/log-buffer';
import { LOCALES, PSEUDO_LOCALE } from '../../renderer/i18n';
import {
  axeViolations,
  emit,
  openAppPage,
  overflowing,
  REPO_ROOT,
  settled,
  startRendererBench,
  type ProbedPage,
  type RendererBench,
} from './renderer-harness';
import { hardCoded, uiText } from './untranslated';

/**
 * "Found on this network" in the Gateways view, in headless Chromium through the real preload bridge and IPC router,
 * with main's discovery stood in by lists the test chooses (test/main/discovered-gateways.test.ts drives the real one
 * against a real advertiser). The lists reach the page as they are: the page's own limits are what is tested here.
 */

const artifacts = path.join(REPO_ROOT, 'test-artifacts', 'renderer');
const FINGERPRINT = 'c3'.repeat(32);
const COLONS = FINGERPRINT.toUpperCase().match(/../g)!.join(':');
const NO_SAVED: RemoteGatewaysView = { gateways: [], warnings: [] };
const BOX = {
  name: 'Box in the attic',
  instanceName: 'box (OpenClaw)',
  host: '192.168.1.20',
  port: 18789,
  tls: true,
  url: 'wss://192.168.1.20:18789',
  fingerprintHint: FINGERPRINT,
  plaintextRefused: false,
  suggestedName: 'box',
};
const PLAIN = {
  name: 'plain',
  instanceName: 'plain (OpenClaw)',
  host: '192.168.1.30',
  port: 18789,
  tls: false,
  url: 'ws://192.168.1.30:18789',
  plaintextRefused: true,
  sshPort: 2222,
  suggestedName: 'plain',
};
const HOSTILE_NAME = `\u202egpj.exe\u202c\u2066<script>window.__ran=1</script><img src=x onerror="window.__ran=2">${'W'.repeat(10_000)}`;
/** Everything a page may call that changes something or reaches out: none of it may happen on "Add…". */
const ACTING: readonly InvokeMethod[] = [
  'addRemoteGateway',
  'removeRemoteGateway',
  'setPrimaryRemoteGateway',
  'setRemoteGatewayRunner',
  'openExternal',
  'controlGateway',
];

let bench: RendererBench;
let service: DashboardService;
let root: string;
let found: DiscoveredGatewaysView = { browsing: true, gateways: [BOX, PLAIN], dropped: 0 };
const added: NewRemoteGatewayInput[] = [];
const rejected: string[] = [];

beforeAll(async () => {
  bench = await startRendererBench();
  mkdirSync(artifacts, { recursive: true });
  root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-renderer-found-'));
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
    approvals: { pending: () => [], current: () => undefined, decide: () => false },
    history: new ApprovalHistory(path.join(root, 'history.jsonl')),
    logs: new LogBuffer(),
    secrets: () => ({ backend: 'libsecret', available: true, detail: '' }),
    acceptPlaintextKeyStorage: async () => ({
      accepted: false,
      secrets: { backend: 'libsecret', available: true, detail: '' },
    }),
    openExternal: async () => false,
    remoteGateways: {
      view: async () => NO_SAVED,
      add: async (input) => {
        added.push(input);
        return { saved: false, reason: 'not-trusted', message: 'Not saved: not trusted.', gateways: NO_SAVED };
      },
      remove: async () => NO_SAVED,
      setPrimary: async () => NO_SAVED,
      setRunner: async () => NO_SAVED,
    },
    discoveredGateways: { list: async () => found },
  });
});

afterAll(async () => {
  await bench?.close();
  rmSync(root, { recursive: true, force: true });
});

const open = (locale?: string) => openAppPage(bench, service, { hash: '#gateways', locale, rejected });
const entries = '[data-testid="discovered-gateways"] [data-testid="discovered-gateway"]';
const acted = (page: ProbedPage) => ACTING.map((m) => `${m}: ${page.ipc.calls(m)}`);
const nothingActed = ACTING.map((m) => `${m}: 0`);

describe('gateways found on this network, in the dashboard', () => {
  it('lists each one: its name, host:port, whether it announces TLS, the announced fingerprint; axe clean', async () => {
    found = { browsing: true, gateways: [BOX, PLAIN], dropped: 0 };
    const page = await open();
    await page.waitForSelector(entries);
    expect(await page.textContent('#gw-found-h')).toBe('Found on this network');
    const cards = await page.$$eval(entries, (els) =>
      els.map((el) => ({
        name: el.querySelector('.card-title bdi')?.textContent,
        address: el.querySelector('[data-testid="discovered-address"]')?.textContent,
        addressDir: el.querySelector('[data-testid="discovered-address"]')?.getAttribute('dir'),
        tls: el.querySelector('[data-testid="discovered-tls"]')?.textContent,
        fingerprint: el.querySelector('dd bdi[dir="ltr"] code.fingerprint')?.textContent ?? null,
        button: el.querySelector('button')?.getAttribute('aria-label'),
      })),
    );
    expect(cards).toEqual([
      {
        name: 'Box in the attic',
        address: '192.168.1.20:18789',
        addressDir: 'ltr',
        tls: 'Announced',
        fingerprint: COLONS,
        button: 'Add Box in the attic…',
      },
      {
        name: 'plain',
        address: '192.168.1.30:18789',
        addressDir: 'ltr',
        tls: 'Not announced (plaintext)',
        fingerprint: null,
        button: 'Add plain…',
      },
    ]);
    expect(await page.textContent(`${entries}:nth-child(1) dl`)).toContain('Announced fingerprint (not verified)');
    expect(await page.textContent(`${entries}:nth-child(2)`)).toContain('only through an SSH tunnel');
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.screenshot({ path: path.join(artifacts, `gateways-found-${scheme}.png`), fullPage: true });
      expect(await axeViolations(page), scheme).toEqual([]);
      expect(await overflowing(page), scheme).toEqual([]);
    }
    expect(page.errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('“Add…” only fills in the form: the announced fingerprint shown as unverified, sent as a hint, never as a pin', async () => {
    found = { browsing: true, gateways: [BOX, PLAIN], dropped: 0 };
    const page = await open();
    await page.waitForSelector(entries);
    expect(await page.isHidden('#gw-add-hint')).toBe(true);
    await page.click(`${entries}:nth-child(1) button`);
    expect(await page.inputValue('#gw-add-name')).toBe('box');
    expect(await page.inputValue('#gw-add-where')).toBe('wss://192.168.1.20:18789');
    expect(await page.inputValue('#gw-add-fingerprint')).toBe(COLONS);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('gw-add-name');
    // Said to come from the network, unverified, with what Clawdesk will do about it.
    const hint = (await page.textContent('#gw-add-hint'))!;
    expect(await page.isVisible('#gw-add-hint')).toBe(true);
    expect(hint).toContain('Fingerprint from the network, not verified:');
    expect(hint).toContain('if it differs, nothing is saved');
    expect(await page.getAttribute('#gw-add-hint bdi', 'dir')).toBe('ltr');
    expect(await page.getAttribute('#gw-add-fingerprint', 'aria-describedby')).toBe('gw-add-hint');
    // Nothing was asked of main but lists: no add, no connect.
    await settled(page);
    expect(acted(page)).toEqual(nothingActed);
    expect(added).toEqual([]);

    // What was filled in survives a redraw of the view (a saved gateway changed state).
    await emit(page, 'gateways');
    await settled(page);
    await page.waitForSelector(entries);
    expect(await page.inputValue('#gw-add-where')).toBe('wss://192.168.1.20:18789');
    expect(acted(page)).toEqual(nothingActed);

    // Only the person's submit sends it, and the announced fingerprint goes as a hint for main's trust on first use.
    await page.click('.gateway-add button[type="submit"]');
    await page.waitForSelector('#status-line.error');
    expect(added).toEqual([
      {
        name: 'box',
        url: 'wss://192.168.1.20:18789',
        auth: 'token',
        advertisedFingerprint: FINGERPRINT,
        runner: false,
      },
    ]);
    // A fingerprint the person typed (read on the gateway machine) is theirs: a pin, and the hint note goes.
    await page.fill('#gw-add-fingerprint', 'ab'.repeat(32));
    expect(await page.isHidden('#gw-add-hint')).toBe(true);
    await page.click('.gateway-add button[type="submit"]');
    await expect.poll(() => added.length).toBe(2);
    expect(added.at(-1)).toEqual({
      name: 'box',
      url: 'wss://192.168.1.20:18789',
      auth: 'token',
      tlsFingerprint: 'ab'.repeat(32),
      runner: false,
    });
    expect(added).toHaveLength(2);

    // A plaintext one the transport rule refuses is filled in as an SSH target for the person to complete.
    await page.click(`${entries}:nth-child(2) button`);
    expect(await page.inputValue('#gw-add-where')).toBe('192.168.1.30:2222');
    expect(await page.inputValue('#gw-add-fingerprint')).toBe('');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('gw-add-where');
    expect(page.ipc.calls('addRemoteGateway')).toBe(2);
    expect(rejected).toEqual([]);
    await page.close();
  }, 60_000);

  it('the list follows the network without touching the form; goodbye takes an entry away', async () => {
    found = { browsing: true, gateways: [BOX], dropped: 0 };
    const page = await open();
    await page.waitForSelector(entries);
    await page.fill('#gw-add-name', 'typed-by-hand');
    await page.focus('#gw-add-name');
    const rendersBefore = page.ipc.calls('listRemoteGateways');
    found = { browsing: true, gateways: [BOX, { ...PLAIN, name: 'newcomer' }], dropped: 3 };
    await emit(page, 'discovered-gateways');
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, entries);
    expect(await page.textContent(`${entries}:nth-child(2) .card-title`)).toBe('newcomer');
    expect(await page.textContent('[data-testid="discovered-gateways"]')).toContain(
      '3 more announcements were ignored',
    );
    // Only that part was redrawn: the form keeps what was typed and the focus; the saved list was not fetched again.
    expect(await page.inputValue('#gw-add-name')).toBe('typed-by-hand');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('gw-add-name');
    expect(page.ipc.calls('listRemoteGateways')).toBe(rendersBefore);
    found = { browsing: true, gateways: [{ ...PLAIN, name: 'newcomer' }], dropped: 0 };
    await emit(page, 'discovered-gateways');
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 1, entries);
    expect(await page.textContent(`${entries} .card-title`)).toBe('newcomer');
    found = { browsing: true, gateways: [], dropped: 0 };
    await emit(page, 'discovered-gateways');
    await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 0, entries);
    expect(await page.textContent('[data-testid="discovered-gateways"] .empty')).toMatch(/No gateway has announced/);
    // mDNS unavailable: said so, with main's reason.
    found = { browsing: false, gateways: [], dropped: 0, problem: 'cannot listen for mDNS: EADDRINUSE' };
    await emit(page, 'discovered-gateways');
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="discovered-gateways"] .warning')?.textContent?.includes('EADDRINUSE'),
    );
    expect(acted(page)).toEqual(nothingActed);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('hostile names (BiDi controls, 10,000 characters, markup) are inert text, cut short, and fill nothing but text', async () => {
    found = {
      browsing: true,
      gateways: [
        {
          ...BOX,
          name: HOSTILE_NAME,
          instanceName: HOSTILE_NAME,
          suggestedName: `<b>x</b>\u202e${'n'.repeat(500)}`,
          fingerprintHint: `${FINGERPRINT}<script>window.__ran=3</script>`,
        },
      ],
      dropped: 0,
    };
    const page = await open();
    await page.waitForSelector(entries);
    const shown = await page.$eval(entries, (el) => ({
      scripts: el.querySelectorAll('script, img, b').length,
      title: el.querySelector('.card-title bdi')!.textContent,
      isolated: el.querySelector('.card-title bdi') !== null,
      text: el.textContent,
      label: el.querySelector('button')!.getAttribute('aria-label')!,
      fingerprint: el.querySelector('code.fingerprint')!.textContent,
    }));
    expect(shown.scripts).toBe(0);
    expect(shown.isolated).toBe(true);
    expect([...shown.title].length).toBeLessThanOrEqual(64);
    // The controls dropped, the markup kept as the characters it is, cut at 64 with an ellipsis.
    const cleaned = HOSTILE_NAME.replace(/[\u202e\u202c\u2066]/g, '');
    expect(shown.title).toBe(`${[...cleaned].slice(0, 63).join('')}…`);
    expect(shown.text).not.toMatch(/[\u202a-\u202e\u2066-\u2069\u200e\u200f]/);
    expect(shown.text.length).toBeLessThan(1_000);
    expect(shown.label.length).toBeLessThan(200);
    expect(shown.fingerprint).toBe(COLONS);
    await page.click(`${entries} button`);
    const name = await page.inputValue('#gw-add-name');
    expect([...name].length).toBeLessThanOrEqual(64);
    expect(name).not.toMatch(/[\u202a-\u202e]/);
    expect(await page.inputValue('#gw-add-fingerprint')).toBe(COLONS);
    expect(await page.evaluate(() => (window as any).__ran)).toBeUndefined();
    expect(await page.locator('form.gateway-add script, form.gateway-add b').count()).toBe(0);
    expect(await overflowing(page)).toEqual([]);
    expect(acted(page)).toEqual(nothingActed);
    expect(page.errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('German and the pseudo-locale: every word from the catalogue', async () => {
    found = { browsing: true, gateways: [BOX, PLAIN], dropped: 2 };
    const de = await open('de-DE');
    await de.waitForSelector(entries);
    expect(await de.textContent('#gw-found-h')).toBe('In diesem Netzwerk gefunden');
    expect(await de.textContent(`${entries}:nth-child(1) [data-testid="discovered-tls"]`)).toBe('Angekündigt');
    await de.click(`${entries}:nth-child(1) button`);
    expect(await de.textContent('#gw-add-hint')).toContain('nicht geprüft');
    expect(await axeViolations(de)).toEqual([]);
    expect(await overflowing(de)).toEqual([]);
    await de.close();

    const page = await open();
    await page.waitForSelector(entries);
    await page.selectOption('#locale-choice', PSEUDO_LOCALE);
    await page.waitForFunction((id) => document.documentElement.lang === id, PSEUDO_LOCALE);
    await page.waitForSelector(entries);
    await page.click(`${entries}:nth-child(1) button`);
    const placeholder = 'wss://192.168.1.20:18789';
    const text = (await uiText(page)).filter((s) => s !== placeholder);
    expect(text.length).toBeGreaterThan(10);
    expect(hardCoded(text)).toEqual([]);
    expect(LOCALES.find((l) => l.id === PSEUDO_LOCALE)).toBeDefined();
    expect(await overflowing(page)).toEqual([]);
    await page.close();
  }, 60_000);
});
