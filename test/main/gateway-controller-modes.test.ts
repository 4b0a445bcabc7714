import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectGateway } from '../../gateway/client/gateway-client';
import { locateOpenclawInstall, type LocateResult } from '../../gateway/openclaw/install';
import { probeGatewayPort } from '../../gateway/openclaw/port-owner';
import { ApprovalQueue } from '../../main/approval-queue';
import { GatewayController, type OpenclawModeOptions } from '../../main/gateway-controller';
import type { GatewayMode } from '../../main/gateway-mode';
import { setupGatewayModes } from '../../main/gateway-mode-setup';
import { MessageBoxPresenter } from '../../main/message-box-presenter';
import { NativeApprover } from '../../main/native-approver';
import { trayMenu } from '../../main/tray-model';
import type { PowerMonitorLike } from '../../main/electron-facades';
import { freePort } from '../helpers/free-port';
import { FakeDialog } from './fakes';

const TOKEN = 'controller-modes-token-0123456789';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  // A cleanup that throws at once (rmSync racing a child that still writes its log) is caught like one that rejects.
  for (const cleanup of cleanups.splice(0).reverse()) await (async () => cleanup())().catch(() => undefined);
});
function tmp(prefix = 'clawdesk-modes-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

function controller(port: number, mode: GatewayMode, openclaw?: OpenclawModeOptions) {
  const dialog = new FakeDialog();
  const queue = new ApprovalQueue({
    presenter: new MessageBoxPresenter(dialog.api, { minDecisionMs: 0 }),
    blocker: () => undefined,
    fallback: () => null,
  });
  const logs: string[] = [];
  let changes = 0;
  const c = new GatewayController({
    port,
    mode,
    openclaw,
    stateDir: tmp(),
    token: TOKEN,
    approver: new NativeApprover(queue),
    probeTimeoutMs: 1000,
    log: (level, message) => logs.push(`${level}: ${message}`),
    onChange: () => changes++,
  });
  cleanups.push(() => c.stop());
  return { c, logs, dialog, changes: () => changes };
}

/** A fake openclaw install (run by the Node running this test) whose gateway never answers. */
function neverReadyInstall(): LocateResult {
  const root = tmp('clawdesk-fake-oc-');
  const pkg = path.join(root, 'node_modules', 'openclaw');
  fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
  fs.writeFileSync(
    path.join(pkg, 'package.json'),
    JSON.stringify({ name: 'openclaw', version: '0.0.0-never-ready', engines: { node: `>=${process.versions.node}` } }),
  );
  fs.writeFileSync(path.join(pkg, 'openclaw.mjs'), 'setInterval(() => {}, 1 << 30);\n');
  return locateOpenclawInstall({ installPath: root, nodePath: process.execPath });
}

describe('gateway modes in the controller', () => {
  it('OpenClaw (external) with nothing on the port: an error with the fix, and no gateway of its own', async () => {
    const port = await freePort();
    const { c } = controller(port, 'openclaw-external');
    await c.start();
    const status = c.status();
    expect(status).toMatchObject({
      state: 'error',
      mode: 'openclaw-external',
      modeLabel: 'OpenClaw (external)',
      startedByClawdesk: false,
    });
    expect(status.error).toContain(`no OpenClaw gateway answers on port ${port}`);
    expect(status.fix).toMatch(/openclaw gateway/);
    expect(c.session()).toBeUndefined();
    // Never a silent fallback to the built-in gateway.
    expect(await probeGatewayPort(port)).toEqual({ kind: 'free' });
    const menu = trayMenu(
      {
        gateway: status.state,
        port,
        owner: status.owner,
        error: status.error,
        fix: status.fix,
        pendingApprovals: [],
        pendingPairings: [],
        startAtLogin: false,
        mode: { current: status.mode, label: status.modeLabel, choices: [] },
      },
      {
        showApproval: () => undefined,
        showPairing: () => undefined,
        openDashboard: () => undefined,
        startGateway: () => undefined,
        stopGateway: () => undefined,
        restartGateway: () => undefined,
        setStartAtLogin: () => undefined,
        quit: () => undefined,
      },
    );
    expect(menu.find((i) => i.id === 'mode')?.label).toBe('Gateway: OpenClaw (external)');
    expect(menu.find((i) => i.id === 'fix')?.label).toMatch(/^Fix: Start OpenClaw/);
  });

  it('OpenClaw (external) attaches to a gateway it did not start, as node and approver, and leaves it running', async () => {
    const port = await freePort();
    const owner = controller(port, 'clawdesk-builtin');
    await owner.c.start();
    expect(owner.c.status()).toMatchObject({ state: 'running', startedByClawdesk: true });
    const { c, dialog } = controller(port, 'openclaw-external');
    await c.start();
    expect(c.status()).toMatchObject({ state: 'attached', mode: 'openclaw-external', startedByClawdesk: false });
    expect(c.session()).toBeDefined();

    const requester = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: TOKEN,
      scopes: ['operator.admin'],
      displayName: 'agent',
    });
    cleanups.push(() => requester.close());
    const nodes = await requester.request('node.list', {});
    expect(nodes.nodes.filter((n) => n.displayName === 'Clawdesk' && n.connected).length).toBe(2);
    const pending = requester.request(
      'exec.approval.request',
      {
        command: 'ls',
        cwd: '/tmp',
        host: 'gateway',
        security: 'allowlist',
        ask: 'on-miss',
        timeoutMs: 60_000,
        twoPhase: true,
      },
      { expectFinal: true, timeoutMs: 30_000 },
    );
    // Both controllers are approval clients; either one's dialog may ask first.
    const box = await Promise.race([dialog.box(0), owner.dialog.box(0)]);
    box.answer(0);
    expect((await pending).decision).toBe('allow-once');

    // Quit (stop) leaves what Clawdesk did not start running.
    await c.stop();
    expect(c.status().state).toBe('stopped');
    expect(owner.c.status().state).toBe('running');
    expect((await probeGatewayPort(port)).kind).toBe('openclaw');
  });

  it('OpenClaw (supervised) without an install: an error naming the fix, nothing started, no fallback', async () => {
    const port = await freePort();
    const dataDir = tmp();
    const { c } = controller(port, 'openclaw-supervised', {
      locate: () => locateOpenclawInstall({ dataDir }),
      logFile: path.join(dataDir, 'logs', 'openclaw-gateway.log'),
    });
    await c.start();
    expect(c.status()).toMatchObject({ state: 'error', mode: 'openclaw-supervised', startedByClawdesk: false });
    expect(c.status().error).toContain('OpenClaw is not installed');
    expect(c.status().fix).toMatch(/npm install --prefix/);
    expect(await probeGatewayPort(port)).toEqual({ kind: 'free' });
  });

  it('OpenClaw (supervised) with a broken install or a Node runtime of the wrong version: the reason and the fix, no fallback', async () => {
    const port = await freePort();
    const root = tmp('clawdesk-bad-oc-');
    const pkg = path.join(root, 'node_modules', 'openclaw');
    fs.mkdirSync(pkg, { recursive: true });
    fs.writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'openclaw', version: '2026.9.6', engines: { node: '>=99.0.0' } }),
    );
    fs.writeFileSync(path.join(pkg, 'openclaw.mjs'), '');
    const locate = () => locateOpenclawInstall({ installPath: root, nodePath: process.execPath });
    const { c } = controller(port, 'openclaw-supervised', { locate, logFile: path.join(root, 'gw.log') });
    // No dist/: a partial copy.
    await c.start();
    expect(c.status()).toMatchObject({ state: 'error', mode: 'openclaw-supervised' });
    expect(c.status().error).toContain('no dist/');
    expect(c.status().fix).toMatch(/Reinstall OpenClaw with npm/);
    fs.mkdirSync(path.join(pkg, 'dist'));
    await c.start();
    expect(c.status().state).toBe('error');
    expect(c.status().error).toContain(`needs Node >=99.0.0; ${process.execPath} is v${process.versions.node}`);
    expect(c.status().fix).toMatch(/supported Node runtime/);
    expect(c.supervisorStatus()).toBeUndefined();
    expect(await probeGatewayPort(port)).toEqual({ kind: 'free' });
  });

  it('OpenClaw (supervised) whose child never answers: stopped, shown with the log to read, not restarted', async () => {
    const port = await freePort();
    const found = neverReadyInstall();
    const logFile = path.join(tmp(), 'gw.log');
    const { c } = controller(port, 'openclaw-supervised', {
      locate: () => found,
      env: { PATH: process.env.PATH, HOME: tmp() },
      logFile,
      supervisor: { readyTimeoutMs: 1_500 },
    });
    await c.start();
    const status = c.status();
    expect(status).toMatchObject({ state: 'error', mode: 'openclaw-supervised', logFile });
    expect(status.error).toMatch(/did not answer hello-ok/);
    expect(status.fix).toContain(logFile);
    expect(c.supervisorStatus()).toMatchObject({ state: 'failed', code: 'not-ready' });
    expect(c.logTail()).toContain('state failed');
    expect(await probeGatewayPort(port)).toEqual({ kind: 'free' });
  });

  it('the dashboard’s log view: OpenClaw’s output and the supervisor’s notes, announced throttled', async () => {
    const port = await freePort();
    const root = tmp('clawdesk-talky-oc-');
    const pkg = path.join(root, 'node_modules', 'openclaw');
    fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
    fs.writeFileSync(
      path.join(pkg, 'package.json'),
      JSON.stringify({ name: 'openclaw', version: '0.0.0-talky', engines: { node: `>=${process.versions.node}` } }),
    );
    fs.writeFileSync(
      path.join(pkg, 'openclaw.mjs'),
      'for (let i = 0; i < 200; i++) console.log(`hello from openclaw ${i}`);\nsetInterval(() => {}, 1 << 30);\n',
    );
    const userDataDir = tmp();
    let announced = 0;
    const modes = setupGatewayModes({
      userDataDir,
      dataDir: tmp(),
      port,
      env: { PATH: process.env.PATH, HOME: tmp() },
      dialog: new FakeDialog().api,
      log: () => undefined,
      notifyLog: () => announced++,
    });
    // The person pointed Clawdesk at this install.
    await modes.settings.choose('openclaw-supervised', { installPath: root, nodePath: process.execPath });
    const { c } = controller(port, 'openclaw-supervised', {
      ...modes.openclaw,
      supervisor: { ...modes.openclaw.supervisor, readyTimeoutMs: 3_000 },
    });
    expect(c.gatewayLog()).toEqual({ mode: 'openclaw-supervised', file: modes.openclaw.logFile, text: '' });
    await c.start();
    expect(c.status()).toMatchObject({ state: 'error', logFile: modes.openclaw.logFile });
    const view = c.gatewayLog(64 * 1024);
    expect(view.text).toContain('hello from openclaw 199');
    expect(view.text).toContain('state failed');
    expect(c.gatewayLog(100).text.length).toBeLessThanOrEqual(100);
    const deadline = Date.now() + 10_000;
    while (announced === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // Throttled: far fewer announcements than lines.
    expect(announced).toBeGreaterThan(0);
    expect(announced).toBeLessThan(200);
    await c.setMode('clawdesk-builtin');
    expect(c.gatewayLog()).toEqual({ mode: 'clawdesk-builtin', file: undefined, text: '' });
  });

  it('switching modes stops only what Clawdesk started, then starts the new mode', async () => {
    const port = await freePort();
    const dataDir = tmp();
    const { c } = controller(port, 'clawdesk-builtin', {
      locate: () => locateOpenclawInstall({ dataDir }),
      logFile: path.join(dataDir, 'gw.log'),
    });
    await c.start();
    expect(c.status()).toMatchObject({ state: 'running', mode: 'clawdesk-builtin' });
    await c.setMode('openclaw-supervised');
    expect(c.status()).toMatchObject({ state: 'error', mode: 'openclaw-supervised' });
    expect(await probeGatewayPort(port)).toEqual({ kind: 'free' });
    await c.setMode('clawdesk-builtin');
    expect(c.status()).toMatchObject({ state: 'running', mode: 'clawdesk-builtin' });
    // Stopped stays stopped across a switch.
    await c.stop();
    await c.setMode('openclaw-external');
    expect(c.status()).toMatchObject({ state: 'stopped', mode: 'openclaw-external' });
  });

  it('the tray switch remembers the mode, and a resume from sleep reconnects a dropped attachment', async () => {
    const port = await freePort();
    const userDataDir = tmp();
    const dialog = new FakeDialog();
    const modes = setupGatewayModes({
      userDataDir,
      dataDir: tmp(),
      port,
      env: { PATH: '' },
      dialog: dialog.api,
      log: () => undefined,
    });
    const owner = controller(port, 'clawdesk-builtin');
    await owner.c.start();
    const { c } = controller(port, 'clawdesk-builtin', modes.openclaw);
    await modes.switchTo(c, 'openclaw-external');
    expect(JSON.parse(fs.readFileSync(path.join(userDataDir, 'gateway-mode.json'), 'utf8')).mode).toBe(
      'openclaw-external',
    );
    expect(modes.trayMode(c)).toMatchObject({ current: 'openclaw-external', label: 'OpenClaw (external)' });
    await c.start();
    expect(c.status().state).toBe('attached');

    const power = new EventEmitter();
    modes.watchPower(power as unknown as Pick<PowerMonitorLike, 'on'>, c);
    // The gateway went away while the machine slept, and is back when it wakes.
    await owner.c.restart();
    const deadline = Date.now() + 30_000;
    while (c.session() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(c.session()).toBeUndefined();
    power.emit('resume');
    while (!c.session() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(c.session()).toBeDefined();
    expect(c.status().state).toBe('attached');
  });
});
