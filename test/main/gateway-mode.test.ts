import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findInstalledService,
  findOpenclawOnPath,
  locatePreferredInstall,
  openclawServiceNames,
  proposeGatewayMode,
  type OpenclawFindings,
} from '../../gateway/openclaw/discovery';
import type { LocateResult } from '../../gateway/openclaw/install';
import { firstRunQuestion, GatewayModeSettings, resolveGatewayMode } from '../../main/gateway-mode';
import { FakeDialog } from './fakes';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
function tmp(prefix = 'clawdesk-mode-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** An npm-shaped openclaw package whose engines accept the Node running this test. */
function fakePackage(root: string): string {
  const pkg = path.join(root, 'lib', 'node_modules', 'openclaw');
  fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
  fs.writeFileSync(
    path.join(pkg, 'package.json'),
    JSON.stringify({ name: 'openclaw', version: '9.9.9-test', engines: { node: `>=${process.versions.node}` } }),
  );
  fs.writeFileSync(path.join(pkg, 'openclaw.mjs'), '');
  return pkg;
}

const missing: LocateResult = { ok: false, code: 'install-missing', reason: 'not here', fix: 'install it', tried: [] };
const installed: LocateResult = {
  ok: true,
  install: {
    root: '/opt/oc',
    entry: '/opt/oc/node_modules/openclaw/openclaw.mjs',
    packageDir: '/opt/oc/node_modules/openclaw',
    openclawVersion: '2026.9.6',
    nodeRange: '>=26.1.0',
    nodeBin: '/opt/oc/node',
    nodeVersion: 'v26.1.0',
    source: 'clawdesk-data-dir',
  },
};
function findings(patch: Partial<OpenclawFindings>): OpenclawFindings {
  return { port: 18789, install: missing, probe: { kind: 'free' }, ...patch };
}

describe('the first-run proposal', () => {
  it('nothing of OpenClaw: the built-in gateway', () => {
    expect(proposeGatewayMode(findings({})).mode).toBe('clawdesk-builtin');
  });

  it('an install Clawdesk can run: supervised, naming the version and runtime', () => {
    const proposal = proposeGatewayMode(findings({ install: installed }));
    expect(proposal.mode).toBe('openclaw-supervised');
    expect(proposal.reason).toContain('2026.9.6');
    expect(proposal.reason).toContain('v26.1.0');
  });

  it('an install that cannot run yet (wrong Node) is still OpenClaw, and says why', () => {
    const proposal = proposeGatewayMode(
      findings({
        install: {
          ok: false,
          code: 'node-unsupported',
          reason: 'needs Node >=26.1.0; /usr/bin/node is v20',
          fix: 'x',
          tried: [],
        },
      }),
    );
    expect(proposal).toMatchObject({ mode: 'openclaw-supervised' });
    expect(proposal.reason).toContain('v20');
  });

  it('a gateway already running, or OpenClaw’s own service installed: attach (one owner), even with an install', () => {
    const running = proposeGatewayMode(
      findings({
        install: installed,
        probe: { kind: 'openclaw', url: 'ws://127.0.0.1:18789' },
        runningOwner: { pid: 4242, name: 'node' },
        runningService: { manager: 'systemd', name: 'openclaw-gateway.service' },
      }),
    );
    expect(running.mode).toBe('openclaw-external');
    expect(running.reason).toContain('openclaw-gateway.service');
    const service = proposeGatewayMode(
      findings({ install: installed, service: { manager: 'launchd', name: 'ai.openclaw.gateway' } }),
    );
    expect(service.mode).toBe('openclaw-external');
    expect(service.reason).toContain('ai.openclaw.gateway');
  });
});

describe('finding what the machine has', () => {
  it('OpenClaw’s service names per profile, as its installer derives them', () => {
    expect(openclawServiceNames()).toEqual({
      systemdUnit: 'openclaw-gateway.service',
      launchAgent: 'ai.openclaw.gateway',
      windowsTask: 'OpenClaw Gateway',
    });
    expect(openclawServiceNames('default')).toEqual(openclawServiceNames());
    expect(openclawServiceNames('work')).toEqual({
      systemdUnit: 'openclaw-gateway-work.service',
      launchAgent: 'ai.openclaw.work',
      windowsTask: 'OpenClaw Gateway (work)',
    });
  });

  it('an installed service: the systemd user unit, the LaunchAgent plist, the scheduled task', async () => {
    const home = tmp();
    const env = { HOME: home };
    expect(await findInstalledService({ env, platform: 'linux', homedir: home })).toBeUndefined();
    const unitDir = path.join(home, '.config', 'systemd', 'user');
    fs.mkdirSync(unitDir, { recursive: true });
    fs.writeFileSync(path.join(unitDir, 'openclaw-gateway.service'), '[Unit]\n');
    expect(await findInstalledService({ env, platform: 'linux', homedir: home })).toMatchObject({
      manager: 'systemd',
      name: 'openclaw-gateway.service',
    });
    // Another profile has its own unit.
    expect(await findInstalledService({ env, platform: 'linux', homedir: home, profile: 'work' })).toBeUndefined();

    expect(await findInstalledService({ env, platform: 'darwin', homedir: home })).toBeUndefined();
    fs.mkdirSync(path.join(home, 'Library', 'LaunchAgents'), { recursive: true });
    fs.writeFileSync(path.join(home, 'Library', 'LaunchAgents', 'ai.openclaw.gateway.plist'), '<plist/>');
    expect(await findInstalledService({ env, platform: 'darwin', homedir: home })).toMatchObject({
      manager: 'launchd',
      name: 'ai.openclaw.gateway',
    });

    const asked: string[] = [];
    const windowsTaskExists = async (name: string) => (asked.push(name), name === 'OpenClaw Gateway');
    expect(await findInstalledService({ env, platform: 'win32', homedir: home, windowsTaskExists })).toMatchObject({
      manager: 'schtasks',
      name: 'OpenClaw Gateway',
    });
    expect(
      await findInstalledService({ env, platform: 'win32', homedir: home, profile: 'work', windowsTaskExists }),
    ).toBeUndefined();
    expect(asked).toEqual(['OpenClaw Gateway', 'OpenClaw Gateway (work)']);
  });

  it('the openclaw on PATH (npm’s bin symlink) is an install, with the node beside it checked against engines', () => {
    const prefix = tmp();
    const pkg = fakePackage(prefix);
    const bin = path.join(prefix, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(path.join(pkg, 'openclaw.mjs'), path.join(bin, 'openclaw'));
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const env = { PATH: `${tmp()}${path.delimiter}${bin}` };
    expect(findOpenclawOnPath(env, 'linux')).toEqual({
      packageDir: fs.realpathSync(pkg),
      nodeBin: path.join(bin, 'node'),
    });

    // Nothing in Clawdesk's data dir: the PATH install is used.
    const found = locatePreferredInstall({}, { dataDir: tmp(), env, platform: 'linux' });
    expect(found).toMatchObject({ ok: true, install: { source: 'path', openclawVersion: '9.9.9-test' } });
    // A chosen install wins over both; a broken one is reported, not replaced by another.
    const broken = tmp();
    fs.mkdirSync(path.join(broken, 'node_modules', 'openclaw'), { recursive: true });
    fs.writeFileSync(path.join(broken, 'node_modules', 'openclaw', 'openclaw.mjs'), '');
    fs.writeFileSync(
      path.join(broken, 'node_modules', 'openclaw', 'package.json'),
      JSON.stringify({ name: 'openclaw', version: '1.0.0' }),
    );
    expect(locatePreferredInstall({ installPath: broken }, { dataDir: tmp(), env, platform: 'linux' })).toMatchObject({
      ok: false,
      code: 'install-broken',
    });
    // A script called openclaw that is not the package is not an install.
    const other = tmp();
    fs.writeFileSync(path.join(other, 'openclaw'), '#!/bin/sh\n', { mode: 0o755 });
    expect(findOpenclawOnPath({ PATH: other }, 'linux')).toBeUndefined();
  });
});

describe('the remembered choice', () => {
  it('is written atomically, read back, and a corrupt file means "ask again"', async () => {
    const dir = tmp();
    const file = path.join(dir, 'gateway-mode.json');
    const problems: string[] = [];
    const settings = new GatewayModeSettings(file, { now: () => 1234, onProblem: (m) => problems.push(m) });
    expect(await settings.load()).toBeUndefined();
    await settings.choose('openclaw-supervised', { installPath: 'rel/oc' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual({
      version: 1,
      mode: 'openclaw-supervised',
      chosenAtMs: 1234,
      installPath: path.resolve('rel/oc'),
    });
    expect(fs.readdirSync(dir)).toEqual(['gateway-mode.json']);
    expect(await new GatewayModeSettings(file).load()).toMatchObject({ mode: 'openclaw-supervised' });
    expect(new GatewayModeSettings(file).installPreference()).toEqual({});

    fs.writeFileSync(file, '{"version":1,"mode":"something-else","chosenAtMs":1}');
    const reread = new GatewayModeSettings(file, { onProblem: (m) => problems.push(m) });
    expect(await reread.load()).toBeUndefined();
    expect(problems.join('\n')).toMatch(/asked again/);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('never writes through a symlink: the link is replaced, its target untouched', async () => {
    const dir = tmp();
    const target = path.join(dir, 'elsewhere.json');
    fs.writeFileSync(target, 'keep');
    const file = path.join(dir, 'gateway-mode.json');
    fs.symlinkSync(target, file);
    await new GatewayModeSettings(file).choose('clawdesk-builtin');
    expect(fs.readFileSync(target, 'utf8')).toBe('keep');
    expect(fs.lstatSync(file).isSymbolicLink()).toBe(false);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).mode).toBe('clawdesk-builtin');
  });
});

describe('choosing at start', () => {
  const discover = async () => findings({ install: installed });

  it('first run: proposes, and remembers the person’s answer; the next start asks nothing', async () => {
    const file = path.join(tmp(), 'gateway-mode.json');
    const dialog = new FakeDialog();
    const settings = new GatewayModeSettings(file);
    const resolving = resolveGatewayMode({ settings, discover, dialog: dialog.api });
    const box = await dialog.box(0);
    expect(box.options.message).toBe('Use OpenClaw (supervised)?');
    expect(box.options.buttons).toEqual([
      'Use OpenClaw (supervised)',
      'Use OpenClaw (external)',
      'Use Clawdesk (built-in)',
      'Decide later',
    ]);
    box.answer(2);
    expect(await resolving).toMatchObject({ mode: 'clawdesk-builtin', origin: 'chosen' });
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).mode).toBe('clawdesk-builtin');

    const again = new FakeDialog();
    expect(await resolveGatewayMode({ settings: new GatewayModeSettings(file), discover, dialog: again.api })).toEqual({
      mode: 'clawdesk-builtin',
      origin: 'remembered',
    });
    expect(again.shown).toHaveLength(0);
  });

  it('"Decide later" (or Esc) uses the proposal for this run only and asks again next time', async () => {
    const file = path.join(tmp(), 'gateway-mode.json');
    const dialog = new FakeDialog();
    const resolving = resolveGatewayMode({ settings: new GatewayModeSettings(file), discover, dialog: dialog.api });
    (await dialog.box(0)).cancel();
    expect(await resolving).toMatchObject({ mode: 'openclaw-supervised', origin: 'proposed' });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('nothing installed: offers to install OpenClaw; installed, it is supervised and remembered', async () => {
    const file = path.join(tmp(), 'gateway-mode.json');
    const dialog = new FakeDialog();
    let installs = 0;
    const resolving = resolveGatewayMode({
      settings: new GatewayModeSettings(file),
      discover: async () => findings({}),
      dialog: dialog.api,
      install: async () => {
        installs++;
      },
    });
    const box = await dialog.box(0);
    expect(box.options.buttons).toEqual([
      'Use Clawdesk (built-in)',
      'Install OpenClaw',
      'Use OpenClaw (supervised)',
      'Use OpenClaw (external)',
      'Decide later',
    ]);
    expect(box.options.detail).toMatch(/no administrator rights/);
    box.answer(1);
    expect(await resolving).toMatchObject({ mode: 'openclaw-supervised', origin: 'chosen' });
    expect(installs).toBe(1);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).mode).toBe('openclaw-supervised');
  });

  it('a failed install is shown with its fix; the built-in gateway runs this time only, nothing is remembered', async () => {
    const file = path.join(tmp(), 'gateway-mode.json');
    const dialog = new FakeDialog();
    const resolving = resolveGatewayMode({
      settings: new GatewayModeSettings(file),
      discover: async () => findings({}),
      dialog: dialog.api,
      install: async () => {
        throw Object.assign(new Error('npm install failed (exit 1)'), { fix: 'Check the network connection.' });
      },
    });
    (await dialog.box(0)).answer(1);
    const failure = await dialog.box(1);
    expect(failure.options).toMatchObject({ type: 'error', title: 'OpenClaw was not installed' });
    expect(failure.options.detail).toContain('npm install failed (exit 1)');
    expect(failure.options.detail).toContain('Check the network connection.');
    failure.answer(0);
    expect(await resolving).toMatchObject({ mode: 'clawdesk-builtin', origin: 'proposed' });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('no install offer when OpenClaw is there (or broken: that needs its own fix)', () => {
    expect(firstRunQuestion({ mode: 'openclaw-supervised', reason: 'x' }).options.buttons).not.toContain(
      'Install OpenClaw',
    );
  });

  it('the question puts the proposal first and its reason in the detail', () => {
    const q = firstRunQuestion({ mode: 'openclaw-external', reason: 'a gateway already answers on port 1' });
    expect(q.answers).toEqual(['openclaw-external', 'openclaw-supervised', 'clawdesk-builtin', undefined]);
    expect(q.options.cancelId).toBe(3);
    expect(q.options.detail).toContain('a gateway already answers on port 1');
  });
});
