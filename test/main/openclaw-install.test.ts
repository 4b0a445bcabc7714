import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocateResult } from '../../gateway/openclaw/install';
import { INSTALL_MARKER, PINNED_OPENCLAW_VERSION } from '../../gateway/openclaw/installer';
import type { GatewayController } from '../../main/gateway-controller';
import { setupGatewayModes } from '../../main/gateway-mode-setup';
import { IPC_ARG_SCHEMAS } from '../../main/ipc/ipc-schemas';
import {
  installThenResume,
  OpenclawInstallService,
  type OpenclawInstallServiceOptions,
} from '../../main/openclaw-install';
import { controllableInstaller, fakeOpenclawInstall, type FakeInstallRun } from '../helpers/fake-openclaw-installer';
import { FakeDialog } from './fakes';

/**
 * "Install OpenClaw" as the app runs it (main/openclaw-install.ts): one at a time, progress and Cancel, the pinned
 * version as a remembered setting that can only be plain semver, removal of only what Clawdesk installed, and never
 * under a gateway that runs from it. The installer itself runs real npm in test/openclaw/installer.test.ts.
 */

const dirs: string[] = [];
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdesk-oc-install-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const MISSING: LocateResult = {
  ok: false,
  code: 'install-missing',
  reason: 'no OpenClaw install found',
  fix: 'Install it.',
  tried: [],
};

/** A controllable installer: each run waits for the test (or a cancel). */
function harness(patch: Partial<OpenclawInstallServiceOptions> = {}) {
  const userData = tmp();
  const dataDir = tmp();
  let located: LocateResult = MISSING;
  let busy: string | undefined;
  let notified = 0;
  const logs: string[] = [];
  const runs: FakeInstallRun[] = [];
  const service = new OpenclawInstallService({
    settingsFile: path.join(userData, 'openclaw-install.json'),
    dataDir,
    locate: () => located,
    busyReason: () => busy,
    install: controllableInstaller(path.join(dataDir, 'openclaw'), {
      started: (run) => runs.push(run),
      installed: (install) => (located = { ok: true, install }),
    }),
    notify: () => notified++,
    log: (level, message) => logs.push(`${level}: ${message}`),
    now: () => 1_000,
    ...patch,
  });
  return {
    service,
    userData,
    dataDir,
    runs,
    logs,
    notified: () => notified,
    setBusy: (reason: string | undefined) => (busy = reason),
  };
}

async function until<T>(probe: () => T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('OpenclawInstallService', () => {
  it('one install at a time, with progress, Cancel until the swap, and the outcome said', async () => {
    const h = harness();
    await h.service.load();
    expect(h.service.view()).toMatchObject({
      available: true,
      installed: null,
      problem: 'no OpenClaw install found',
      fix: 'Install it.',
      pinnedVersion: PINNED_OPENCLAW_VERSION,
      testedVersion: PINNED_OPENCLAW_VERSION,
      removable: false,
      progress: null,
    });
    const first = h.service.install();
    const run = await until(() => h.runs[0]);
    expect(run.version).toBe(PINNED_OPENCLAW_VERSION);
    expect(h.service.view().blocked).toBe('An install is running.');
    // A second click while it runs starts nothing.
    const second = await h.service.install();
    expect(h.runs).toHaveLength(1);
    expect(second.progress).toMatchObject({ phase: 'fetch', cancellable: true });

    run.onProgress({ phase: 'install', fraction: 0.5, message: 'fetched 100 packages' });
    expect(h.service.view().progress).toEqual({
      phase: 'install',
      fraction: 0.5,
      message: 'fetched 100 packages',
      cancellable: true,
    });
    run.onProgress({ phase: 'activate', fraction: 0.96, message: 'activating' });
    // From the swap on, a cancel would leave a half-swapped tree: refused.
    expect(h.service.cancel()).toBe(false);
    expect(run.signal.aborted).toBe(false);
    run.done();
    const after = await first;
    expect(after.progress).toBeNull();
    expect(after.installed).toMatchObject({ openclawVersion: PINNED_OPENCLAW_VERSION, source: 'clawdesk-data-dir' });
    expect(after.lastResult).toEqual({
      ok: true,
      message: `OpenClaw ${PINNED_OPENCLAW_VERSION} with Node v26.10.0 is installed.`,
      atMs: 1_000,
    });
    expect(h.notified()).toBeGreaterThanOrEqual(4);
    expect(h.service.cancel()).toBe(false);

    // Cancelled early: nothing changed, and it says so.
    const again = h.service.install();
    const run2 = await until(() => h.runs[1]);
    expect(h.service.cancel()).toBe(true);
    expect(run2.signal.aborted).toBe(true);
    expect((await again).lastResult).toMatchObject({
      ok: false,
      message: 'The OpenClaw install was cancelled.',
      fix: 'Nothing changed.',
    });
  });

  it('progress steps do not spawn a node --version each: one locate per install, fresh again once it ends', async () => {
    let locates = 0;
    const h = harness({ locate: () => (locates++, MISSING) });
    const running = h.service.install();
    const run = await until(() => h.runs[0]);
    for (let i = 0; i < 50; i++) {
      run.onProgress({ phase: 'install', fraction: i / 100, message: `fetched ${i} packages` });
      h.service.view();
    }
    expect(locates).toBe(1);
    run.done();
    await running;
    // The install changed what is there: the next view looks again.
    h.service.view();
    expect(locates).toBe(2);
  });

  it('never installs or removes under a gateway that runs from the install', async () => {
    const h = harness();
    h.setBusy('OpenClaw’s gateway is running from Clawdesk’s install.');
    const view = await h.service.install();
    expect(h.runs).toHaveLength(0);
    expect(view.lastResult).toMatchObject({
      ok: false,
      message: 'OpenClaw’s gateway is running from Clawdesk’s install.',
    });
    expect(view.blocked).toBe('OpenClaw’s gateway is running from Clawdesk’s install.');
    const removal = await h.service.uninstall();
    expect(removal.lastResult).toMatchObject({ ok: false, fix: 'Stop OpenClaw’s gateway first, then remove it.' });
  });

  it('the pinned version: plain semver only, remembered atomically, back to the tested one removes the file', async () => {
    const h = harness();
    await h.service.load();
    for (const bad of [
      'latest',
      'file:../x',
      '^2026.9.6',
      '2026.9',
      'https://evil/openclaw.tgz',
      '1.2.3 --registry=x',
      '',
    ])
      await expect(h.service.setPinnedVersion(bad), bad).rejects.toThrow(/not a plain version/);
    const file = path.join(h.userData, 'openclaw-install.json');
    expect(fs.existsSync(file)).toBe(false);
    await h.service.setPinnedVersion('2026.10.1-beta.2');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({ version: 1, pinnedVersion: '2026.10.1-beta.2' });
    // A new run reads it back, and installs that version.
    const next = harness({ settingsFile: file });
    await next.service.load();
    expect(next.service.pinnedVersion()).toBe('2026.10.1-beta.2');
    void next.service.install();
    expect((await until(() => next.runs[0])).version).toBe('2026.10.1-beta.2');
    next.service.cancel();
    await h.service.setPinnedVersion(null);
    expect(fs.existsSync(file)).toBe(false);
    expect(h.service.pinnedVersion()).toBe(PINNED_OPENCLAW_VERSION);
  });

  it('a corrupt or hand-edited settings file means the tested version, and is said', async () => {
    const h = harness();
    const file = path.join(h.userData, 'openclaw-install.json');
    fs.writeFileSync(file, JSON.stringify({ version: 1, pinnedVersion: 'latest' }));
    await h.service.load();
    expect(h.service.pinnedVersion()).toBe(PINNED_OPENCLAW_VERSION);
    expect(h.logs.join('\n')).toMatch(/using the tested version/);
  });

  it('the IPC schema refuses a pin that is not plain semver before the service sees it', () => {
    const schema = IPC_ARG_SCHEMAS.setOpenclawPinnedVersion;
    expect(schema.safeParse(['2026.9.6']).success).toBe(true);
    expect(schema.safeParse([null]).success).toBe(true);
    for (const bad of ['latest', 'file:x', '2026.9.6 ', '1.2.3\n--x', 'x'.repeat(100)])
      expect(schema.safeParse([bad]).success, bad).toBe(false);
  });

  it('removes only an install Clawdesk made (its marker), and says what it did', async () => {
    const h = harness({ install: undefined });
    const root = path.join(h.dataDir, 'openclaw');
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'mine.txt'), 'keep');
    const refused = await h.service.uninstall();
    expect(refused.lastResult).toMatchObject({ ok: false });
    expect(refused.lastResult?.message).toMatch(/was not installed by Clawdesk/);
    expect(fs.readFileSync(path.join(root, 'mine.txt'), 'utf8')).toBe('keep');
    expect(refused.removable).toBe(true);

    fs.writeFileSync(path.join(root, INSTALL_MARKER), JSON.stringify({ openclaw: { version: '2026.9.6' } }));
    const removed = await h.service.uninstall();
    expect(removed.lastResult).toMatchObject({ ok: true });
    expect(removed.lastResult?.message).toMatch(/removed; OpenClaw’s own settings and data are untouched/);
    expect(removed.removable).toBe(false);
    expect(fs.readdirSync(h.dataDir)).toEqual([]);
  });
});

describe('the dashboard’s Install, then the gateway that waited for it', () => {
  function gateway(mode: string, state: string) {
    let starts = 0;
    return {
      gatewayMode: () => mode,
      status: () => ({ state }),
      start: async () => void starts++,
      starts: () => starts,
    };
  }

  it('starts the supervised mode that was in error for want of an install, and nothing else', async () => {
    for (const [mode, state, expected] of [
      ['openclaw-supervised', 'error', 1],
      ['openclaw-supervised', 'stopped', 0],
      ['openclaw-supervised', 'running', 0],
      ['clawdesk-builtin', 'error', 0],
      ['openclaw-external', 'error', 0],
    ] as const) {
      const h = harness();
      const g = gateway(mode, state);
      const done = installThenResume(h.service, g);
      (await until(() => h.runs[0])).done();
      expect((await done).lastResult?.ok, `${mode} ${state}`).toBe(true);
      expect(g.starts(), `${mode} ${state}`).toBe(expected);
    }
    // A failed install starts nothing.
    const h = harness();
    const g = gateway('openclaw-supervised', 'error');
    const done = installThenResume(h.service, g);
    (await until(() => h.runs[0])).fail(new Error('npm failed'));
    expect((await done).lastResult?.ok).toBe(false);
    expect(g.starts()).toBe(0);
  });
});

describe('first run: "Install OpenClaw" shows its progress and then supervises it', () => {
  /** A machine with nothing of OpenClaw; the person answers "Install OpenClaw" to the first-run question. */
  async function firstRunInstall(install: Parameters<typeof setupGatewayModes>[0]['install']) {
    const dialog = new FakeDialog();
    let shown = 0;
    const modes = setupGatewayModes({
      userDataDir: tmp(),
      dataDir: tmp(),
      port: 1,
      env: { PATH: '', HOME: tmp() },
      dialog: dialog.api,
      log: () => undefined,
      showInstallProgress: () => shown++,
      install,
    });
    const chosen: string[] = [];
    const controller = {
      setMode: async (mode: string) => void chosen.push(mode),
      gatewayMode: () => 'clawdesk-builtin',
      status: () => ({ state: 'stopped' }),
    } as unknown as GatewayController;
    const started = modes.chooseAtStart(controller);
    const box = await dialog.box(0);
    box.answer((box.options.buttons ?? []).indexOf('Install OpenClaw'));
    return { modes, dialog, chosen, started, shown: () => shown };
  }

  it('the answer "Install OpenClaw" opens the progress, installs the pinned version, and chooses supervised', async () => {
    const versions: string[] = [];
    const run = await firstRunInstall(async ({ version, onProgress }) => {
      versions.push(version);
      onProgress({ phase: 'done', fraction: 1, message: 'done' });
      return fakeOpenclawInstall(version, tmp());
    });
    await run.started;
    expect(run.shown()).toBe(1);
    expect(versions).toEqual([PINNED_OPENCLAW_VERSION]);
    expect(run.chosen).toEqual(['openclaw-supervised']);
    expect(run.modes.settings.current()?.mode).toBe('openclaw-supervised');
  });

  it('a failed install is shown with its reason and fix; nothing is remembered', async () => {
    const run = await firstRunInstall(async () => {
      throw Object.assign(new Error('npm install failed (exit 1): ETIMEDOUT'), { fix: 'Check the network.' });
    });
    const error = await run.dialog.box(1);
    expect(error.options.detail).toContain('npm install failed (exit 1): ETIMEDOUT.');
    expect(error.options.detail).toContain('Check the network.');
    error.answer(0);
    await run.started;
    expect(run.chosen).toEqual(['clawdesk-builtin']);
    expect(run.modes.settings.current()).toBeUndefined();
    expect(run.modes.installs.view().lastResult).toMatchObject({ ok: false, fix: 'Check the network.' });
  });
});
