import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AppEvent,
  ControlUiResult,
  GatewayModeId,
  MigrationProgressView,
  MigrationView,
} from '../../common/ipc-contract';
import type { LocateResult } from '../../gateway/openclaw/install';
import { PINNED_OPENCLAW_VERSION } from '../../gateway/openclaw/installer';
import { ApprovalHistory } from '../../main/approval-history';
import { DashboardService, type MigrationHooks } from '../../main/dashboard-service';
import { LogBuffer } from '../../main/log-buffer';
import { OpenclawInstallService } from '../../main/openclaw-install';
import { controllableInstaller, type FakeInstallRun } from '../helpers/fake-openclaw-installer';
import {
  axeViolations,
  openAppPage,
  overflowing,
  REPO_ROOT,
  startRendererBench,
  type ProbedPage,
  type RendererBench,
} from './renderer-harness';

/**
 * The dashboard's long tasks in headless Chromium, through the real bridge, router, DashboardService and
 * OpenclawInstallService: "Install OpenClaw" with its progress bar, Cancel and pinned version, the state migration's
 * bar and Cancel, and the Control UI button of the OpenClaw modes. Only the installer's and the migration's work is
 * stood in for (each proven against real npm and real trees in its own suite); the events reach the page as main's
 * broadcast sends them.
 */

const artifacts = path.join(REPO_ROOT, 'test-artifacts', 'renderer');
let bench: RendererBench;
let service: DashboardService;
let installs: OpenclawInstallService;
let page: ProbedPage | undefined;
const rejectedIpc: string[] = [];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdesk-long-tasks-'));

let installRun: FakeInstallRun | undefined;
let installed: LocateResult = {
  ok: false,
  code: 'install-missing',
  reason: 'OpenClaw is not installed',
  fix: 'Install it from here.',
  tried: [],
};
let gatewayMode: GatewayModeId = 'clawdesk-builtin';
let gatewayState: 'running' | 'attached' | 'stopped' = 'running';
let gatewayWarning: { message: string; fix: string } | undefined;
let controlUi: ControlUiResult = { opened: true };
let controlUiCalls = 0;
let migrationRun: { hooks: MigrationHooks; finish(view: MigrationView): void } | undefined;

async function broadcast(topics: AppEvent['topics']): Promise<void> {
  const shown = page;
  if (!shown || shown.isClosed()) return;
  await shown
    .evaluate((payload: AppEvent) => (window as any).__clawdeskEmit(payload), { type: 'changed', topics } as AppEvent)
    .catch(() => undefined);
}

async function until<T>(probe: () => T | undefined | false, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function open(hash: string, locale?: string): Promise<ProbedPage> {
  page = await openAppPage(bench, service, { hash, locale, rejected: rejectedIpc });
  await page.waitForSelector(`#content[data-view="${hash.slice(1)}"]`);
  return page;
}

async function statusLine(p: Page): Promise<string> {
  return (await p.textContent('#status-line')) ?? '';
}

beforeAll(async () => {
  bench = await startRendererBench();
  fs.mkdirSync(artifacts, { recursive: true });
  installs = new OpenclawInstallService({
    settingsFile: path.join(tmp, 'userdata', 'openclaw-install.json'),
    dataDir: path.join(tmp, 'data'),
    locate: () => installed,
    busyReason: () => undefined,
    install: controllableInstaller(path.join(tmp, 'data', 'openclaw'), {
      started: (run) => (installRun = run),
      installed: (install) => (installed = { ok: true, install }),
    }),
    notify: () => void broadcast(['openclaw-install']),
    log: () => undefined,
  });
  await installs.load();
  service = new DashboardService({
    version: '0.1.0',
    platform: 'linux',
    status: () => ({
      gateway: {
        state: gatewayState,
        port: 18789,
        url: 'ws://127.0.0.1:18789',
        owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' },
        mode: gatewayMode,
        warning: gatewayWarning,
      },
      secretsBackend: 'test',
    }),
    pendingPairingCount: () => 0,
    controlGateway: async () => undefined,
    openControlUi: async () => {
      controlUiCalls++;
      return controlUi;
    },
    startAtLogin: { get: () => false, set: () => undefined },
    openclawInstall: installs,
    gateway: () => undefined,
    approvals: { pending: () => [], current: () => undefined, decide: () => false },
    history: new ApprovalHistory(path.join(tmp, 'approval-history.jsonl')),
    logs: new LogBuffer(),
    state: {
      scan: async () => ({ dirs: [], findings: [] }),
      migrate: (dryRun, hooks) =>
        dryRun
          ? Promise.resolve({
              dryRun,
              applied: false,
              steps: [{ action: 'move', detail: 'sessions/ (2,000 files)' }],
            })
          : new Promise<MigrationView>((resolve) => {
              migrationRun = { hooks: hooks!, finish: resolve };
              hooks!.signal.addEventListener('abort', () =>
                resolve({
                  dryRun,
                  applied: false,
                  steps: [{ action: 'cancelled', detail: 'the migration was cancelled; everything was rolled back' }],
                }),
              );
            }),
    },
    secrets: () => ({ backend: 'test', available: true, detail: '' }),
    acceptPlaintextKeyStorage: async () => ({
      accepted: false,
      secrets: { backend: 'test', available: true, detail: '' },
    }),
    openExternal: async () => false,
    notify: (topics) => void broadcast(topics),
  });
}, 120_000);

afterAll(async () => {
  await bench?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('long tasks in the dashboard', () => {
  it('Install OpenClaw: a progress bar that moves without rebuilding the overview, Cancel that changes nothing', async () => {
    const p = await open('#status');
    expect(await p.textContent('[data-testid="openclaw-installed"]')).toBe('Not installed');
    await p.click(`button:has-text("Install OpenClaw ${PINNED_OPENCLAW_VERSION}")`);
    const run = await until(() => installRun, 'the install to start');
    expect(run.version).toBe(PINNED_OPENCLAW_VERSION);
    await p.waitForSelector('#openclaw-install-bar');
    const statusCalls = p.ipc.calls('getStatus');
    run.onProgress({ phase: 'install', fraction: 0.42, message: 'fetched 120 packages' });
    await p.waitForFunction(
      () => document.querySelector('[data-testid="openclaw-install-percent"]')?.textContent === '42%',
    );
    expect(await p.getAttribute('#openclaw-install-bar', 'value')).toBe('0.42');
    expect(await p.textContent('#openclaw-install .progress-detail')).toBe('fetched 120 packages');
    // Only the tile was rebuilt: the overview's other calls were not made again.
    expect(p.ipc.calls('getStatus')).toBe(statusCalls);
    // While it runs the other actions wait, and the page stays accessible.
    expect(await p.isDisabled(`button:has-text("Install OpenClaw")`)).toBe(true);
    expect(await axeViolations(p)).toEqual([]);
    await p.screenshot({ path: path.join(artifacts, 'openclaw-install-progress.png'), fullPage: true });

    // Cancel keeps focus on the tile's controls and ends the run with nothing changed.
    await p.focus('#openclaw-install-cancel');
    await p.click('#openclaw-install-cancel');
    await p.waitForSelector('[data-testid="openclaw-result"]');
    expect(run.signal.aborted).toBe(true);
    expect(await p.textContent('[data-testid="openclaw-result"]')).toBe(
      'The OpenClaw install was cancelled. Nothing changed.',
    );
    expect(await p.$('#openclaw-install-bar')).toBeNull();
    expect(await p.textContent('[data-testid="openclaw-installed"]')).toBe('Not installed');
    await p.waitForFunction(() => /failed/.test(document.querySelector('#status-line')?.textContent ?? ''));
    expect(await statusLine(p)).toContain('cancelled');
    expect(p.errors).toEqual([]);
    await p.close();
    installRun = undefined;
  });

  it('the pinned version: a bad one is refused with the reason, a good one is remembered and installed', async () => {
    const p = await open('#status');
    await p.fill('#openclaw-pin', 'latest');
    await p.click('button:has-text("Save version")');
    await p.waitForFunction(() =>
      /not a plain version/.test(document.querySelector('#status-line')?.textContent ?? ''),
    );
    expect(installs.pinnedVersion()).toBe(PINNED_OPENCLAW_VERSION);
    // The IPC router refuses it too: a page cannot hand npm a tag, a URL or a path.
    await expect(p.evaluate(() => (window as any).clawdesk.setOpenclawPinnedVersion('file:../evil'))).rejects.toThrow();
    expect(rejectedIpc.splice(0).join('\n')).toContain('setOpenclawPinnedVersion');

    await p.fill('#openclaw-pin', '2026.10.1');
    await p.click('button:has-text("Save version")');
    await p.waitForSelector('button:has-text("Install OpenClaw 2026.10.1")');
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'userdata', 'openclaw-install.json'), 'utf8'))).toEqual({
      version: 1,
      pinnedVersion: '2026.10.1',
    });
    await p.click('button:has-text("Install OpenClaw 2026.10.1")');
    const run = await until(() => installRun, 'the install to start');
    expect(run.version).toBe('2026.10.1');
    run.onProgress({ phase: 'activate', fraction: 0.96, message: 'activating' });
    // The swap has begun: Cancel is gone, the bar stays.
    await p.waitForFunction(
      () => document.querySelector('[data-testid="openclaw-install-percent"]')?.textContent === '96%',
    );
    expect(await p.$('#openclaw-install-cancel')).toBeNull();
    run.done();
    await p.waitForFunction(
      () =>
        document.querySelector('[data-testid="openclaw-installed"]')?.textContent ===
        'OpenClaw 2026.10.1 on Node.js v26.10.0',
    );
    expect(await p.textContent('[data-testid="openclaw-result"]')).toBe(
      'OpenClaw 2026.10.1 with Node v26.10.0 is installed.',
    );
    expect(await p.textContent('#openclaw-tile .meta')).toBe('installed by Clawdesk');

    // Back to the tested version: the settings file goes away.
    await p.fill('#openclaw-pin', '');
    await p.click('button:has-text("Save version")');
    await p.waitForSelector(`button:has-text("Install OpenClaw ${PINNED_OPENCLAW_VERSION}")`);
    expect(fs.existsSync(path.join(tmp, 'userdata', 'openclaw-install.json'))).toBe(false);
    expect(p.errors).toEqual([]);
    await p.close();
    installRun = undefined;
  });

  it('the OpenClaw tile in German and Arabic: translated, right-to-left, nothing overflowing', async () => {
    for (const locale of ['de-DE', 'ar-EG']) {
      const p = await open('#status', locale);
      const tile = (await p.textContent('#openclaw-tile')) ?? '';
      expect(tile).toContain(locale === 'de-DE' ? 'Zu installierende Version' : 'الإصدار المراد تثبيته');
      expect(await p.getAttribute('html', 'dir')).toBe(locale === 'ar-EG' ? 'rtl' : 'ltr');
      expect(await axeViolations(p)).toEqual([]);
      expect(await overflowing(p)).toEqual([]);
      await p.screenshot({ path: path.join(artifacts, `openclaw-tile-${locale}.png`), fullPage: true });
      await p.close();
    }
  });

  it('Open OpenClaw Control UI: shown in an OpenClaw mode, enabled once attached, its failure and fix said', async () => {
    gatewayMode = 'clawdesk-builtin';
    let p = await open('#status');
    expect(await p.$('button:has-text("Open OpenClaw Control UI")')).toBeNull();
    await p.close();

    gatewayMode = 'openclaw-external';
    gatewayState = 'stopped';
    p = await open('#status');
    expect(await p.isDisabled('button:has-text("Open OpenClaw Control UI")')).toBe(true);
    await p.close();

    gatewayState = 'attached';
    controlUi = { opened: true };
    // A gateway that runs but will refuse work says so, with the fix, in its tile.
    gatewayWarning = {
      message: 'OpenClaw will not start, or refuses every command, while /s/exec-approvals.json exists',
      fix: 'Run `openclaw doctor --fix`.',
    };
    p = await open('#status');
    expect(await p.textContent('[data-testid="gateway-warning"]')).toBe(
      'OpenClaw will not start, or refuses every command, while /s/exec-approvals.json exists. Run `openclaw doctor --fix`.',
    );
    gatewayWarning = undefined;
    await p.click('button:has-text("Open OpenClaw Control UI")');
    await p.waitForFunction(() => /done/.test(document.querySelector('#status-line')?.textContent ?? ''));
    expect(controlUiCalls).toBe(1);

    controlUi = {
      opened: false,
      error: 'OpenClaw gave no dashboard link',
      fix: 'Run `openclaw doctor`, then try again.',
    };
    await p.click('button:has-text("Open OpenClaw Control UI")');
    await p.waitForFunction(() => /failed/.test(document.querySelector('#status-line')?.textContent ?? ''));
    expect(await statusLine(p)).toBe(
      'Open OpenClaw Control UI failed: OpenClaw gave no dashboard link Run `openclaw doctor`, then try again.',
    );
    expect(controlUiCalls).toBe(2);
    expect(p.errors).toEqual([]);
    await p.close();
    gatewayMode = 'clawdesk-builtin';
    gatewayState = 'running';
  });

  it('state migration: the bar moves with no new scan, Cancel rolls back, and the outcome stays on screen', async () => {
    const p = await open('#state');
    await p.click('button:has-text("Preview migration")');
    await p.waitForSelector('button:has-text("Migrate now")');
    await p.click('button:has-text("Migrate now")');
    const run = await until(() => migrationRun, 'the migration to start');
    const scans = p.ipc.calls('getState');
    const progress: Omit<MigrationProgressView, 'cancellable'> = {
      phase: 'staging',
      strategy: 'cross-volume',
      files: 500,
      totalFiles: 2000,
      bytes: 250 * 1024 * 1024,
      totalBytes: 1000 * 1024 * 1024,
      elapsedMs: 1000,
      bytesPerSecond: 250 * 1024 * 1024,
      etaMs: 3000,
    };
    run.hooks.onProgress(progress);
    await p.waitForFunction(
      () => document.querySelector('[data-testid="migration-bar-percent"]')?.textContent === '25%',
    );
    expect(await p.textContent('#migration-bar .progress-detail')).toBe('Copying: 500 of 2,000 files');
    expect(p.ipc.calls('getState')).toBe(scans);
    expect(await p.isDisabled('button:has-text("Preview migration")')).toBe(true);
    expect(await axeViolations(p)).toEqual([]);

    expect(await p.$('#migration-bar-cancel')).not.toBeNull();

    // Committing: it can no longer be undone, so there is no Cancel; then it is done and says so.
    run.hooks.onProgress({ ...progress, phase: 'committing', files: 2000, bytes: progress.totalBytes });
    await p.waitForFunction(
      () => document.querySelector('[data-testid="migration-bar-percent"]')?.textContent === '100%',
    );
    expect(await p.$('#migration-bar-cancel')).toBeNull();
    migrationRun = undefined;
    run.finish({ dryRun: false, applied: true, steps: [{ action: 'move', detail: 'sessions/ (2,000 files)' }] });
    await p.waitForFunction(() => document.querySelector('#migration h4')?.textContent === 'Migration applied');
    expect(await p.$('#migration-bar')).toBeNull();
    // A later re-render (the `state` topic) keeps the outcome.
    await broadcast(['state']);
    await p.waitForFunction(() => document.querySelector('#migration h4')?.textContent === 'Migration applied');

    // Another run, cancelled while it can still roll back.
    await p.click('button:has-text("Preview migration")');
    await p.click('button:has-text("Migrate now")');
    const second = await until(() => migrationRun, 'the second migration to start');
    second.hooks.onProgress(progress);
    await p.waitForSelector('#migration-bar-cancel');
    await p.click('#migration-bar-cancel');
    await p.waitForFunction(() => /cancelled/.test(document.querySelector('#migration')?.textContent ?? ''));
    expect(second.hooks.signal.aborted).toBe(true);
    expect(await p.textContent('#migration h4')).toBe('Nothing was migrated');
    expect(await p.$('#migration-bar')).toBeNull();
    expect(p.errors).toEqual([]);
    await p.close();
  });

  it('no IPC call from the pages was rejected', () => {
    expect(rejectedIpc).toEqual([]);
  });
});
