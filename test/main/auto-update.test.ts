// The updater end to end on loopback: the real electron-updater (AppImageUpdater, its ElectronAppAdapter and
// ElectronHttpExecutor) against a feed served by a node http server, with a stand-in `electron` whose net.request
// behaves like Electron's (./electron-net-stand-in.ts). Nothing of electron-updater is mocked.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AppImageUpdater } from 'electron-updater';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CHECK_INTERVAL_MS,
  realTimers,
  restartBlockers,
  setupAutoUpdate,
  WAIT_POLL_MS,
  type AutoUpdate,
  type AutoUpdateDeps,
  type UpdaterLike,
  type UpdateTimers,
} from '../../main/auto-update';
import { createMainTranslator } from '../../main/main-i18n';
import { setupShutdown } from '../../main/shutdown';
import { trayMenu, type TrayActions, type TrayInputs } from '../../main/tray-model';
import { journalPathFor } from '../../gateway/state/state-transaction';
import { FakeDialog, waitFor } from './fakes';
import { installElectronStandIn, type ElectronStandIn } from './electron-net-stand-in';

const sha512 = (data: Buffer | string) => createHash('sha512').update(data).digest('base64');
const arch = process.arch === 'x64' ? '' : `-${process.arch}`;
const channelFile = (channel: 'latest' | 'beta') => `${channel}-linux${arch}.yml`;
/** A stand-in AppImage: run by the installer step, it records that it ran and with which install flag. */
const appImageBytes = (version: string) =>
  Buffer.from(
    `#!/bin/sh\n# Clawdesk ${version}\nprintf '%s' "${version} $APPIMAGE_SILENT_INSTALL" > "$CLAWDESK_TEST_MARKER"\n`,
  );

interface Release {
  version: string;
  file?: string;
  /** The bytes served; by default the genuine build the sha512 describes. */
  served?: Buffer;
  genuine?: Buffer;
}

function channelYaml(release: Release): string {
  const file = release.file ?? `Clawdesk-${release.version}-x86_64.AppImage`;
  const genuine = release.genuine ?? appImageBytes(release.version);
  const digest = sha512(genuine);
  return [
    `version: ${release.version}`,
    'files:',
    `  - url: ${file}`,
    `    sha512: ${digest}`,
    `    size: ${genuine.length}`,
    `path: ${file}`,
    `sha512: ${digest}`,
    "releaseDate: '2026-12-01T00:00:00.000Z'",
    '',
  ].join('\n');
}

/** The update feed: channel files and builds by name, a mode for outages, every request seen. */
class FeedServer {
  readonly requests: string[] = [];
  mode: 'ok' | '500' | 'hang' = 'ok';
  private readonly files = new Map<string, Buffer | string>();
  private readonly hung = new Set<http.ServerResponse>();
  private server?: http.Server;
  url = '';

  publish(channel: 'latest' | 'beta', release: Release): void {
    const file = release.file ?? `Clawdesk-${release.version}-x86_64.AppImage`;
    this.files.set(`/${channelFile(channel)}`, channelYaml(release));
    this.files.set(`/${file}`, release.served ?? release.genuine ?? appImageBytes(release.version));
  }

  async start(): Promise<this> {
    this.server = http.createServer((request, response) => {
      const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
      this.requests.push(pathname);
      if (this.mode === 'hang') return void this.hung.add(response);
      if (this.mode === '500') return void response.writeHead(500, { 'content-type': 'text/plain' }).end('down');
      const body = this.files.get(pathname);
      if (body === undefined) return void response.writeHead(404).end();
      response.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/`;
    return this;
  }

  /** Ends the requests left hanging (the client sees the connection reset). */
  releaseHung(): void {
    for (const response of this.hung) response.socket?.destroy();
    this.hung.clear();
  }

  async close(): Promise<void> {
    this.releaseHung();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** `every` is stepped by the test (fire); `after` is real (the check timeout, the install watchdog). */
function steppedTimers(): UpdateTimers & { fire(ms: number): void; intervals(): number[] } {
  const every: Array<{ ms: number; run: () => void; live: boolean }> = [];
  return {
    every(ms, run) {
      const entry = { ms, run, live: true };
      every.push(entry);
      return () => (entry.live = false);
    },
    after: realTimers.after,
    fire(ms) {
      for (const entry of every.filter((e) => e.live && e.ms === ms)) entry.run();
    },
    intervals: () => every.filter((e) => e.live).map((e) => e.ms),
  };
}

const base: TrayInputs = {
  gateway: 'running',
  port: 18789,
  owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' },
  pendingApprovals: [],
  pendingPairings: [],
  startAtLogin: false,
};
const noActions: TrayActions = {
  showApproval: () => undefined,
  showPairing: () => undefined,
  openDashboard: () => undefined,
  startGateway: () => undefined,
  stopGateway: () => undefined,
  restartGateway: () => undefined,
  setStartAtLogin: () => undefined,
  quit: () => undefined,
};
const trayLabels = (update: AutoUpdate) =>
  trayMenu({ ...base, update: update.trayView() }, noActions)
    .filter((item) => item.label)
    .map((item) => item.label);

let dir: string;
let electron: ElectronStandIn;
let feed: FeedServer;
const disposers: Array<() => unknown> = [];

beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-update-'));
  for (const sub of ['userdata', 'resources', 'cache', 'apps']) mkdirSync(path.join(dir, sub));
  writeFileSync(path.join(dir, 'apps', 'Clawdesk.AppImage'), appImageBytes('1.0.0'), { mode: 0o755 });
  // Where electron-updater reads app-update.yml (ElectronAppAdapter: process.resourcesPath) and caches downloads.
  Object.defineProperty(process, 'resourcesPath', {
    value: path.join(dir, 'resources'),
    configurable: true,
    writable: true,
  });
  vi.stubEnv('XDG_CACHE_HOME', path.join(dir, 'cache'));
  vi.stubEnv('APPIMAGE', path.join(dir, 'apps', 'Clawdesk.AppImage'));
  vi.stubEnv('CLAWDESK_TEST_MARKER', path.join(dir, 'installed'));
  electron = installElectronStandIn({ version: '1.0.0', isPackaged: true, userData: path.join(dir, 'userdata') });
  feed = await new FeedServer().start();
  writeFeedFile(feed.url);
});

afterEach(async () => {
  for (const dispose of disposers.splice(0).reverse()) await dispose();
  await feed.close();
  electron.restore();
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

function writeFeedFile(url: string): void {
  writeFileSync(
    path.join(dir, 'resources', 'app-update.yml'),
    `provider: generic\nurl: ${url}\nupdaterCacheDirName: clawdesk-updater\n`,
  );
}

interface Harness {
  update: AutoUpdate;
  updaters: UpdaterLike[];
  logs: string[];
  timers: ReturnType<typeof steppedTimers>;
  dialog: FakeDialog;
}

async function setup(overrides: Partial<AutoUpdateDeps> = {}): Promise<Harness> {
  const logs: string[] = [];
  const updaters: UpdaterLike[] = [];
  const timers = steppedTimers();
  const dialog = new FakeDialog();
  const update = await setupAutoUpdate({
    app: electron.app,
    platform: 'linux',
    userDataDir: electron.app.userData,
    feedFile: () => path.join(dir, 'resources', 'app-update.yml'),
    createUpdater: () => {
      // electron-updater's own class, built the way its autoUpdater is (no options: ElectronAppAdapter, Electron net).
      const updater = new AppImageUpdater();
      updaters.push(updater);
      return updater;
    },
    busy: () => undefined,
    drainThen: async (install) => install(),
    dialog: dialog.api,
    onChange: () => undefined,
    log: (level, message) => logs.push(`${level} ${message}`),
    timers,
    checkTimeoutMs: 10_000,
    allowLoopbackHttp: true,
    ...overrides,
  });
  disposers.push(() => update.dispose());
  return { update, updaters, logs, timers, dialog };
}

const pendingFile = (name: string) => path.join(dir, 'cache', 'clawdesk-updater', 'pending', name);

describe('auto-update against a loopback feed (real electron-updater)', () => {
  it('finds a newer build, downloads it, checks its sha512 → ready, and the tray offers "Restart to update"', async () => {
    feed.publish('latest', { version: '1.1.0' });
    const { update, updaters } = await setup();
    expect(trayLabels(update)).not.toContain('Restart to update');

    await update.check();

    expect(update.state()).toEqual({ kind: 'ready', version: '1.1.0' });
    expect(feed.requests).toContain(`/${channelFile('latest')}`);
    expect(feed.requests).toContain('/Clawdesk-1.1.0-x86_64.AppImage');
    // Through Electron's net, on electron-updater's own session.
    expect(electron.requests.length).toBeGreaterThan(0);
    expect(new Set(electron.requests.map((r) => r.partition))).toEqual(new Set(['electron-updater']));
    expect(readFileSync(pendingFile('Clawdesk-1.1.0-x86_64.AppImage'))).toEqual(appImageBytes('1.1.0'));
    expect(trayLabels(update)).toEqual(expect.arrayContaining(['Update 1.1.0 ready', 'Restart to update']));
    // Nothing that weakens the checks was switched on.
    expect(updaters[0]).toMatchObject({ allowDowngrade: false, channel: 'latest', allowPrerelease: false });
    expect((updaters[0] as unknown as { forceDevUpdateConfig: boolean }).forceDevUpdateConfig).toBe(false);
  });

  it('a tampered build (bytes that do not match the sha512 in the feed) is refused: an error naming the checksum, nothing ready', async () => {
    feed.publish('latest', { version: '1.1.0', served: Buffer.from('#!/bin/sh\necho owned\n') });
    const { update, logs } = await setup();

    await update.check();

    const state = update.state();
    expect(state).toMatchObject({ kind: 'download-failed', version: '1.1.0' });
    expect(state.kind === 'download-failed' && state.reason).toMatch(/sha512 checksum mismatch/);
    expect(feed.requests).toContain('/Clawdesk-1.1.0-x86_64.AppImage');
    expect(existsSync(pendingFile('Clawdesk-1.1.0-x86_64.AppImage'))).toBe(false);
    expect(trayLabels(update)).not.toContain('Restart to update');
    expect(trayLabels(update).join('\n')).toMatch(/Update 1\.1\.0 refused: sha512 checksum mismatch/);
    expect(logs.join('\n')).toMatch(/update 1\.1\.0 refused: sha512 checksum mismatch/);
  });

  it('an older build on the feed is not offered, on stable or beta (allowDowngrade stays false)', async () => {
    electron.app.version = '2.0.0';
    feed.publish('latest', { version: '1.5.0' });
    feed.publish('beta', { version: '1.9.0-beta.1' });
    const { update, updaters } = await setup();

    await update.check();
    expect(update.state()).toEqual({ kind: 'up-to-date', latest: '1.5.0' });

    await update.setChannel('beta');
    await update.check();
    expect(update.state()).toEqual({ kind: 'up-to-date', latest: '1.9.0-beta.1' });
    expect(updaters[0].allowDowngrade).toBe(false);
    expect(feed.requests).toContain(`/${channelFile('beta')}`);
    expect(feed.requests.filter((r) => r.endsWith('.AppImage'))).toEqual([]);
    expect(trayLabels(update)).toContain('Up to date (2.0.0)');
  });

  it('channels: beta reads the beta channel file and gets the pre-release, stable does not; the choice survives a new start', async () => {
    feed.publish('latest', { version: '1.0.0' });
    feed.publish('beta', { version: '1.1.0-beta.1' });
    const first = await setup();
    expect(first.update.channel()).toBe('stable');

    await first.update.check();
    expect(first.update.state()).toEqual({ kind: 'up-to-date', latest: '1.0.0' });
    expect(feed.requests).toEqual([`/${channelFile('latest')}`]);

    feed.requests.length = 0;
    await first.update.setChannel('beta');
    await first.update.check(); // setChannel started a check; this one shares it
    expect(feed.requests[0]).toBe(`/${channelFile('beta')}`);
    expect(first.update.state()).toEqual({ kind: 'ready', version: '1.1.0-beta.1' });
    expect(first.updaters[0]).toMatchObject({ channel: 'beta', allowPrerelease: true, allowDowngrade: false });
    expect(JSON.parse(readFileSync(path.join(dir, 'userdata', 'update.json'), 'utf8'))).toEqual({ channel: 'beta' });
    first.update.dispose();

    // A new start: the channel comes from update.json, and the first request is for the beta channel.
    feed.requests.length = 0;
    const second = await setup();
    expect(second.update.channel()).toBe('beta');
    expect(second.update.trayView().channel).toBe('beta');
    await second.update.check();
    expect(feed.requests[0]).toBe(`/${channelFile('beta')}`);

    feed.requests.length = 0;
    await second.update.setChannel('stable');
    await second.update.check();
    expect(feed.requests).toEqual([`/${channelFile('latest')}`]);
    expect(second.updaters[0]).toMatchObject({ channel: 'latest', allowPrerelease: false, allowDowngrade: false });
    expect(JSON.parse(readFileSync(path.join(dir, 'userdata', 'update.json'), 'utf8'))).toEqual({ channel: 'stable' });
  });

  it('a feed that refuses connections or answers 500 → "check failed" with the reason, retried on the next scheduled check', async () => {
    // Nothing listens on this port any more.
    const gone = await new FeedServer().start();
    await gone.close();
    writeFeedFile(gone.url);
    const refused = await setup();
    await refused.update.check();
    expect(refused.update.state()).toEqual({ kind: 'check-failed', reason: 'net::ERR_CONNECTION_REFUSED' });
    expect(trayLabels(refused.update)).toContain('Update check failed: net::ERR_CONNECTION_REFUSED');
    refused.update.dispose();

    writeFeedFile(feed.url);
    feed.publish('latest', { version: '1.0.0' });
    feed.mode = '500';
    const { update, timers } = await setup();
    update.start();
    await update.check(); // the check start() began
    expect(update.state()).toMatchObject({ kind: 'check-failed' });
    expect(update.state().kind === 'check-failed' && (update.state() as { reason: string }).reason).toMatch(/^500 /);
    expect(timers.intervals()).toEqual([CHECK_INTERVAL_MS]);
    expect(CHECK_INTERVAL_MS).toBe(4 * 60 * 60 * 1000);

    feed.mode = 'ok';
    const before = feed.requests.length;
    timers.fire(CHECK_INTERVAL_MS);
    await update.check();
    expect(feed.requests.length).toBeGreaterThan(before);
    expect(update.state()).toEqual({ kind: 'up-to-date', latest: '1.0.0' });
  });

  it('a feed that never answers is timed out by the wrapper; the check ends, and a later one works', async () => {
    feed.publish('latest', { version: '1.0.0' });
    feed.mode = 'hang';
    const { update } = await setup({ checkTimeoutMs: 300 });
    const started = Date.now();
    await update.check();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(update.state()).toEqual({
      kind: 'check-failed',
      reason: 'no answer from the update feed within 300 ms',
      own: { why: 'timeout', seconds: 0.3 },
    });
    expect(feed.requests).toEqual([`/${channelFile('latest')}`]);

    // The hung request ends (electron-updater keeps sharing it until then); the next checks get an answer.
    feed.mode = 'ok';
    feed.releaseHung();
    await waitFor(async () => {
      await update.check();
      return update.state().kind === 'up-to-date';
    }, 'a check after the hung one');
  });

  it('"Restart to update" while an approval waits: no quitAndInstall; once it is answered, prompts then gateway drain, then quitAndInstall', async () => {
    feed.publish('latest', { version: '1.1.0' });
    const order: string[] = [];
    const pending = ['approval'];
    let shutdownDrainThen: ((install: () => void) => Promise<void>) | undefined;
    const harness = await setup({
      busy: () => restartBlockers({ approvals: pending.length, pairings: 0, stateDirs: [] }),
      drainThen: (install) => shutdownDrainThen!(install),
    });
    const shutdown = setupShutdown({
      app: electron.app as unknown as Electron.App,
      platform: 'linux',
      BrowserWindow: class {} as unknown as new () => Electron.BrowserWindow,
      preloadPath: '/nonexistent',
      drainPrompts: async () => {
        order.push('drain prompts');
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
      stopGateway: async () => {
        order.push('stop gateway');
        await new Promise((resolve) => setTimeout(resolve, 50));
      },
      onQuitting: () => order.push('quitting'),
      log: () => undefined,
    });
    shutdownDrainThen = shutdown.drainThen;
    const { update, updaters, timers, dialog } = harness;
    await update.check();
    expect(update.state()).toEqual({ kind: 'ready', version: '1.1.0' });
    const updater = updaters[0];
    const quitAndInstall = updater.quitAndInstall.bind(updater);
    updater.quitAndInstall = (silent, runAfter) => {
      order.push(`quitAndInstall(${silent}, ${runAfter})`);
      quitAndInstall(silent, runAfter);
    };

    await update.restartToUpdate();

    expect(order).toEqual([]);
    expect(update.state()).toEqual({ kind: 'waiting', version: '1.1.0', reason: '1 approval is waiting' });
    expect(trayLabels(update)).not.toContain('Restart to update');
    expect(trayLabels(update)).toEqual(
      expect.arrayContaining(['Update 1.1.0 waits: 1 approval is waiting', 'Cancel restart to update']),
    );
    const box = await dialog.box(0);
    expect(box.options.message).toBe('Clawdesk restarts once nothing is waiting for you');
    expect(box.options.detail).toMatch(/^1 approval is waiting\. Clawdesk never restarts while an approval/);
    // Still waiting on the next polls while the approval is there.
    timers.fire(WAIT_POLL_MS);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(order).toEqual([]);
    expect(existsSync(path.join(dir, 'installed'))).toBe(false);

    pending.length = 0;
    timers.fire(WAIT_POLL_MS);
    await waitFor(() => electron.app.calls.includes('quit'), 'the installer quits the app');

    expect(order).toEqual(['quitting', 'drain prompts', 'stop gateway', 'quitAndInstall(true, true)']);
    // The installer's quit went through untouched: no preventDefault, no app.exit from the shutdown.
    expect(electron.app.calls).toEqual(['quit', 'before-quit:passed']);
    // AppImageUpdater put the verified build in place of $APPIMAGE and started it.
    expect(readFileSync(path.join(dir, 'apps', 'Clawdesk.AppImage'))).toEqual(appImageBytes('1.1.0'));
    await waitFor(() => existsSync(path.join(dir, 'installed')), 'the new build started');
    await waitFor(() => readFileSync(path.join(dir, 'installed'), 'utf8') === '1.1.0 true', 'the new build ran');
    expect(update.state()).toEqual({ kind: 'installing', version: '1.1.0' });
  });

  it('not packaged (development): no check is made, the feed sees no request, and the log says why', async () => {
    electron.app.isPackaged = false;
    feed.publish('latest', { version: '9.0.0' });
    const { update, updaters, logs } = await setup();
    update.start();
    await update.check();
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(updaters).toEqual([]);
    expect(feed.requests).toEqual([]);
    expect(electron.requests).toEqual([]);
    expect(update.state()).toEqual({ kind: 'off', reason: 'not a packaged build', own: { why: 'not-packaged' } });
    expect(logs).toContain(
      'info updates are off: this is not a packaged build (development), so no update check is made',
    );
    expect(trayLabels(update)).toContain('Updates off: not a packaged build');
    expect(trayLabels(update)).not.toContain('Restart to update');
  });

  it('a plain-http feed on another host is refused before any request (only loopback, only in tests)', async () => {
    writeFeedFile('http://updates.example.invalid/clawdesk/');
    const { update, updaters, logs } = await setup();
    update.start();
    await update.check();
    expect(updaters).toEqual([]);
    expect(electron.requests).toEqual([]);
    expect(update.state()).toEqual({ kind: 'off', reason: 'the update feed is refused', own: { why: 'feed-refused' } });
    expect(logs.join('\n')).toContain('updates are off: the feed url must be https://, not http://');

    // And the loopback allowance is for tests only: without it, even 127.0.0.1 over http is refused.
    writeFeedFile(feed.url);
    const strict = await setup({ allowLoopbackHttp: false });
    expect(strict.update.state()).toEqual({
      kind: 'off',
      reason: 'the update feed is refused',
      own: { why: 'feed-refused' },
    });
    expect(strict.updaters).toEqual([]);
  });
});

describe('"Restart to update" waiting, in the person’s language', () => {
  for (const id of ['de', 'ar'] as const) {
    it(`${id}: the dialog, its one button and the tray line are ${id}; the button stays the only (default) one`, async () => {
      const t = createMainTranslator(id, { report: (message) => expect.fail(message) });
      feed.publish('latest', { version: '1.1.0' });
      const { update, dialog } = await setup({
        translate: t,
        busy: () => restartBlockers({ approvals: 1, pairings: 2, stateDirs: [] }, t),
      });
      await update.check();
      expect(update.state()).toEqual({ kind: 'ready', version: '1.1.0' });
      await update.restartToUpdate();
      const why = `${t('update.blockApprovals', { count: 1 })}, ${t('update.blockPairings', { count: 2 })}`;
      expect(update.state()).toEqual({ kind: 'waiting', version: '1.1.0', reason: why });
      const box = await dialog.box(0);
      expect(box.options).toMatchObject({
        type: 'info',
        title: t('menu.restartToUpdate'),
        message: t('update.waitMessage'),
        buttons: [t('update.ok')],
      });
      // As in English: one button, no other default or cancel than it.
      expect(box.options.defaultId).toBeUndefined();
      expect(box.options.cancelId).toBeUndefined();
      expect(box.options.detail).toBe(
        t('update.waitDetail', { why, version: '1.1.0', cancel: t('menu.cancelRestart') }),
      );
      expect(box.options.detail).toContain('1.1.0');
      expect(box.options.detail).not.toMatch(/restarts|approval|waiting/);
      expect(update.trayView().status).toBe(t('update.statusWaiting', { version: '1.1.0', reason: why }));
      expect(update.trayView().status).not.toMatch(/waits|approval/);
      update.cancelRestart();
    });
  }
  it('English is what it was', async () => {
    expect(await restartBlockers({ approvals: 1, pairings: 2, stateDirs: [] }, createMainTranslator('en'))).toBe(
      '1 approval is waiting, 2 pairing requests are waiting',
    );
    expect(await restartBlockers({ approvals: 3, pairings: 0, stateDirs: [] }, createMainTranslator('ru'))).toBe(
      '3 запроса ждут подтверждения',
    );
  });
});

describe('what holds a restart (restartBlockers)', () => {
  it('approvals, pairings, and a state migration whose process is alive; a dead one does not hold it', async () => {
    expect(await restartBlockers({ approvals: 0, pairings: 0, stateDirs: [] })).toBeUndefined();
    expect(await restartBlockers({ approvals: 2, pairings: 1, stateDirs: [] })).toBe(
      '2 approvals are waiting, 1 pairing request is waiting',
    );
    const stateDir = path.join(dir, 'state');
    mkdirSync(stateDir);
    const journal = (pid: number) =>
      writeFileSync(
        journalPathFor(stateDir),
        JSON.stringify({ version: 1, kind: 'clawdesk-state-transaction', pid, hostname: os.hostname(), ops: [] }),
        { mode: 0o600 },
      );
    // The test runner's parent process: alive, and not this process.
    journal(process.ppid);
    expect(await restartBlockers({ approvals: 0, pairings: 0, stateDirs: [stateDir] })).toBe(
      `a state migration (pid ${process.ppid}) is running`,
    );
    // A pid that cannot exist: an interrupted migration, recovered at the next start.
    journal(2 ** 22 + 12345);
    expect(await restartBlockers({ approvals: 0, pairings: 0, stateDirs: [stateDir] })).toBeUndefined();
  });
});
