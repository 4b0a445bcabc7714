// The built dist/main/index.js booted with the stand-in Electron (test/main/electron-stub.cjs), which enforces what
// Electron 45 enforces (ready-only APIs, privileged schemes first, recorded webPreferences and preload, safeStorage,
// notification actions by platform, per-platform runs). Linux runs get a private session bus, with or without a
// StatusNotifier host, exactly as the app will ask it.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { probeGatewayPort } from '../../main/gateway-ownership';
import { SessionBus, sessionBusSocket } from '../../main/session-bus';
import { STATUS_NOTIFIER_WATCHER } from '../../main/tray-host';
import { INVOKE_METHODS, invokeChannel } from '../../common/ipc-contract';
import { localGatewayTlsFingerprint } from '../../gateway/server/gateway-tls';
import { freePort } from '../helpers/free-port';
import { disposeCertificate, makeSelfSignedCertificate, startTlsFront } from '../remote/helpers/tls';

const root = path.resolve(__dirname, '..', '..');
const cleanups: Array<() => void | Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Report = { kind: string; data: any };

async function privateBus(withTrayHost: boolean): Promise<string> {
  const daemon = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  cleanups.push(() => void daemon.kill('SIGTERM'));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    daemon.stdout.on('data', (d: Buffer) => (out += d.toString()).includes('\n') && resolve(out.trim()));
    daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}`)));
  });
  if (withTrayHost) {
    const owner = await SessionBus.connect(sessionBusSocket({ DBUS_SESSION_BUS_ADDRESS: address })!);
    cleanups.push(() => owner.close());
    expect(await owner.requestName(STATUS_NOTIFIER_WATCHER)).toBe(1);
  }
  return address;
}

interface Booted {
  child: ChildProcess;
  port: number;
  /** The app's environment (its HOME, state dir, port and token), for a CLI beside it. */
  env: NodeJS.ProcessEnv;
  reports: Report[];
  of(kind: string): any[];
  /** Resolves with the first report (from now or already seen) that matches. */
  waitFor(match: (r: Report) => boolean, what: string): Promise<Report>;
  send(command: string): void;
  exited: Promise<number | null>;
}

async function boot(options: {
  platform: 'linux' | 'darwin' | 'win32';
  bus?: string;
  env?: Record<string, string>;
  /** Files to put in userData before the app starts (name → content). */
  userData?: Record<string, string>;
  /** Files to put in Clawdesk's data dir (`<state dir>/clawdesk`) before the app starts. */
  dataDir?: Record<string, string>;
  /** Files to put in the state dir (e.g. openclaw.json) before the app starts. */
  state?: Record<string, string>;
  /** How the tray's tooltip says "running" in the app's language, before the port. */
  runningText?: string;
}): Promise<Booted> {
  if (!existsSync(path.join(root, 'dist', 'main', 'index.js')))
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      { cwd: root },
    );
  const home = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-root-'));
  // Registered first, so it runs last: after the app below is gone and no longer writes into the home.
  cleanups.push(() => rmSync(home, { recursive: true, force: true }));
  const port = await freePort();
  for (const [name, content] of Object.entries(options.userData ?? {})) {
    mkdirSync(path.join(home, 'userdata'), { recursive: true });
    writeFileSync(path.join(home, 'userdata', name), content);
  }
  for (const [name, content] of Object.entries(options.state ?? {})) {
    mkdirSync(path.join(home, 'state'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(home, 'state', name), content, { mode: 0o600 });
  }
  for (const [name, content] of Object.entries(options.dataDir ?? {})) {
    mkdirSync(path.join(home, 'state', 'clawdesk'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(home, 'state', 'clawdesk', name), content, { mode: 0o600 });
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    USERPROFILE: home,
    OPENCLAW_STATE_DIR: path.join(home, 'state'),
    OPENCLAW_GATEWAY_PORT: String(port),
    OPENCLAW_GATEWAY_TOKEN: 'root-test-token-0123456789',
    STUB_USER_DATA: path.join(home, 'userdata'),
    STUB_PLATFORM: options.platform,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    ...options.env,
  };
  delete env.DBUS_SESSION_BUS_ADDRESS;
  if (options.bus) env.DBUS_SESSION_BUS_ADDRESS = options.bus;
  const child = spawn(
    process.execPath,
    ['-r', path.join(__dirname, 'electron-stub.cjs'), path.join(root, 'dist', 'main', 'index.js')],
    // In the temp home: a win32 run joins POSIX paths with path.win32 ("\\tmp\\…\\state"), which on this host is
    // a relative name and would otherwise land in the repository.
    { cwd: home, env, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
  cleanups.push(() => {
    child.kill('SIGKILL');
    return gone;
  });
  const reports: Report[] = [];
  const waiters: Array<{ match: (r: Report) => boolean; resolve: (r: Report) => void }> = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let buffer = '';
  child.stdout.on('data', (data: Buffer) => {
    buffer += data.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!line.startsWith('STUB ')) continue;
      const entry = JSON.parse(line.slice(5)) as Report;
      reports.push(entry);
      for (const w of waiters.filter((w) => w.match(entry))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(entry);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const booted: Booted = {
    child,
    port,
    env,
    reports,
    of: (kind) => reports.filter((r) => r.kind === kind).map((r) => r.data),
    waitFor: (match, what) =>
      new Promise<Report>((resolve, reject) => {
        const seen = reports.find(match);
        if (seen) return resolve(seen);
        const timer = setTimeout(() => reject(new Error(`no ${what} within 20 s; stderr: ${stderr}`)), 20_000);
        waiters.push({ match, resolve: (r) => (clearTimeout(timer), resolve(r)) });
        void exited.then((code) => reject(new Error(`app exited ${code} before ${what}: ${stderr}`)));
      }),
    send: (command) => child.stdin.write(`${command}\n`),
    exited,
  };
  await booted.waitFor(
    (r) =>
      r.kind === 'tooltip' && String(r.data).includes(`${options.runningText ?? 'Gateway running on port'} ${port}`),
    'running gateway',
  );
  return booted;
}

/** What every run must show: Electron's rules kept, secure windows, the async safeStorage only. */
function expectElectronRulesKept(app: Booted): void {
  expect(app.of('error-before-ready')).toEqual([]);
  expect(app.of('safe-storage-sync-call')).toEqual([]);
  for (const window of app.of('window')) {
    expect(window.webPreferences).toMatchObject({ contextIsolation: true, nodeIntegration: false, sandbox: true });
    expect(window.preloadExists).toBe(true);
  }
}

describe('main/index.ts (the built entry, with the enforcing stand-in Electron)', { timeout: 60_000 }, () => {
  it('Linux with a tray host: guards, app protocol, every IPC channel, the embedded gateway and the tray; no window at start', async () => {
    const app = await boot({ platform: 'linux', bus: await privateBus(true) });
    expect(app.of('permission-request')).toEqual([false]);
    expect(app.of('permission-check')).toEqual([false]);
    expect(app.of('protocol')).toEqual(['clawdesk']);
    expect((app.of('ipc') as string[]).sort()).toEqual(INVOKE_METHODS.map(invokeChannel).sort());
    expect(app.of('menu').at(-1)).toContain('Stop gateway');
    expect(await probeGatewayPort(app.port)).toEqual({ kind: 'openclaw', url: `ws://127.0.0.1:${app.port}` });
    expectElectronRulesKept(app);
    app.send('state');
    expect((await app.waitFor((r) => r.kind === 'state', 'state')).data).toEqual([]);
  });

  it('the tray speaks the OS language (German here), asked of Electron only once it is ready', async () => {
    const app = await boot({
      platform: 'linux',
      bus: await privateBus(true),
      env: { STUB_LOCALE: 'de-DE' },
      runningText: 'Gateway läuft auf Port',
    });
    const menu = await app.waitFor(
      (r) => r.kind === 'menu' && (r.data as string[]).includes('Gateway stoppen'),
      'German tray menu',
    );
    expect(menu.data).toEqual(expect.arrayContaining(['Offene Freigaben (0)', 'Clawdesk beenden']));
    expectElectronRulesKept(app);
  });

  it('the dashboard’s language chosen last time is the tray’s from the start; a new choice redraws it, null is the OS’s again', async () => {
    const app = await boot({
      platform: 'linux',
      bus: await privateBus(false),
      env: { STUB_LOCALE: 'de-DE' },
      userData: { 'language.json': '{"language":"fr"}' },
      runningText: 'Passerelle active sur le port',
    });
    const menuWith = (label: string) =>
      app.waitFor((r) => r.kind === 'menu' && (r.data as string[]).includes(label), `tray menu with "${label}"`);
    await menuWith('Quitter Clawdesk');
    // Never the OS's German before the remembered French.
    expect(app.of('menu').some((labels) => (labels as string[]).includes('Clawdesk beenden'))).toBe(false);
    const window = (await app.waitFor((r) => r.kind === 'window' && r.data.title === 'Clawdesk', 'dashboard window'))
      .data;
    await app.waitFor((r) => r.kind === 'load-url' && r.data.id === window.id, 'dashboard page');
    const invoke = async (method: string, args: unknown[]) => {
      const seen = app.of('invoke-result').length;
      app.send(`invoke ${window.id} ${invokeChannel(method as never)} ${JSON.stringify(args)}`);
      await app.waitFor(() => app.of('invoke-result').length > seen, `${method} answered`);
      return app.of('invoke-result')[seen];
    };
    expect(await invoke('setLanguage', ['ja'])).toMatchObject({ ok: true });
    await menuWith('Clawdesk を終了');
    expect(await invoke('setLanguage', [null])).toMatchObject({ ok: true });
    await menuWith('Clawdesk beenden');
    expect(await invoke('setLanguage', ['<b>'])).toMatchObject({ ok: false });
    expectElectronRulesKept(app);
  });

  it('the theme chosen last time is applied to nativeTheme before any window opens; a damaged file means the OS setting', async () => {
    const dark = await boot({
      platform: 'linux',
      bus: await privateBus(true),
      userData: { 'appearance.json': '{"theme":"dark"}' },
    });
    await dark.waitFor((r) => r.kind === 'native-theme' && r.data === 'dark', 'native theme dark');
    const themeAt = dark.reports.findIndex((r) => r.kind === 'native-theme');
    const firstWindow = dark.reports.findIndex((r) => r.kind === 'window');
    expect(firstWindow === -1 || themeAt < firstWindow).toBe(true);
    expectElectronRulesKept(dark);

    const damaged = await boot({
      platform: 'linux',
      bus: await privateBus(true),
      userData: { 'appearance.json': '{"theme":"purple"}' },
    });
    await damaged.waitFor((r) => r.kind === 'native-theme' && r.data === 'system', 'native theme system');
    expect(damaged.of('native-theme')).toEqual(['system']);
  });

  it('Linux without a tray host (Fedora GNOME): the dashboard opens at start with Quit and the approvals; closing minimises; Quit stops the gateway', async () => {
    const app = await boot({ platform: 'linux', bus: await privateBus(false) });
    const window = (await app.waitFor((r) => r.kind === 'window' && r.data.title === 'Clawdesk', 'dashboard window'))
      .data;
    expect(app.of('load-url')).toContainEqual({ id: window.id, url: 'clawdesk://app/index.html#status' });
    const menu = (await app.waitFor((r) => r.kind === 'window-menu' && r.data.id === window.id, 'dashboard menu')).data
      .labels;
    expect(menu).toEqual(
      expect.arrayContaining(['No approvals waiting', 'Quit Clawdesk', 'Why is there no tray icon?']),
    );
    expectElectronRulesKept(app);
    app.send('close-windows');
    await app.waitFor((r) => r.kind === 'window-minimize' && r.data === window.id, 'minimise instead of close');
    expect(app.of('window-closed')).toEqual([]);
    app.send('quit');
    expect(await app.exited).toBe(0);
    expect(await probeGatewayPort(app.port)).toMatchObject({ kind: 'free' });
  });

  it('bad input at start reaches the person: a damaged settings file and history lines are notices in the dashboard, with what to do', async () => {
    const app = await boot({
      platform: 'linux',
      bus: await privateBus(false),
      userData: {
        'appearance.json': '{"theme":"purple"}',
        'approval-history.jsonl': '{"not json\n',
      },
    });
    const window = (await app.waitFor((r) => r.kind === 'window' && r.data.title === 'Clawdesk', 'dashboard window'))
      .data;
    await app.waitFor((r) => r.kind === 'load-url' && r.data.id === window.id, 'dashboard page');
    const invoke = async (id: number, method: string, args: unknown[]) => {
      const seen = app.of('invoke-result').length;
      app.send(`invoke ${id} ${invokeChannel(method as never)} ${JSON.stringify(args)}`);
      await app.waitFor(() => app.of('invoke-result').length > seen, `${method} answered`);
      return app.of('invoke-result')[seen];
    };
    const status = await invoke(window.id, 'getStatus', []);
    expect(status.ok).toBe(true);
    const notices = status.value.notices as Array<{ id: string; message: string; fix: string }>;
    expect(notices.map((n) => n.id).sort()).toEqual(['approval-history', 'settings:appearance']);
    expect(notices.find((n) => n.id === 'settings:appearance')!.message).toMatch(
      /^Clawdesk's appearance settings were damaged and moved to .*appearance\.json\.corrupt-/,
    );
    expect(notices.find((n) => n.id === 'approval-history')!.fix).toContain('every new decision are kept');
    // The tray counts them too (menu and tooltip), for a person who never opens the dashboard.
    await app.waitFor(
      (r) => r.kind === 'menu' && (r.data as string[]).includes('2 problems to fix: open the dashboard'),
      'tray item for the notices',
    );
    // Read and dismissed: gone from main, not only from the page.
    const dismissed = await invoke(window.id, 'dismissNotice', ['settings:appearance']);
    expect(dismissed.value.notices.map((n: { id: string }) => n.id)).toEqual(['approval-history']);
    // A sender that is not one of Clawdesk's windows is refused, as the real router refuses it.
    expect(await invoke(9999, 'getStatus', [])).toMatchObject({ ok: false });
    expect(await invoke(window.id, 'dismissNotice', [{ id: 'x' }])).toMatchObject({ ok: false });
  });

  it('a notice raised before the language is known (a damaged appearance.json) is counted in German in the tray', async () => {
    const app = await boot({
      platform: 'linux',
      bus: await privateBus(true),
      env: { STUB_LOCALE: 'de-DE' },
      userData: { 'appearance.json': '{"theme":"purple"}' },
      runningText: 'Gateway läuft auf Port',
    });
    await app.waitFor(
      (r) => r.kind === 'tooltip' && String(r.data).includes('1 Problem zu beheben'),
      'German tray tooltip counting the notice',
    );
    await app.waitFor(
      (r) => r.kind === 'menu' && (r.data as string[]).includes('1 Problem zu beheben: Dashboard öffnen'),
      'German tray item for the notice',
    );
    expectElectronRulesKept(app);
  });

  it('… and the dashboard lists it in German, with the path as it is; in Arabic once chosen, the path isolated', async () => {
    const app = await boot({
      platform: 'linux',
      bus: await privateBus(false),
      env: { STUB_LOCALE: 'de-DE' },
      userData: { 'appearance.json': '{"theme":"purple"}' },
      runningText: 'Gateway läuft auf Port',
    });
    const window = (await app.waitFor((r) => r.kind === 'window' && r.data.title === 'Clawdesk', 'dashboard window'))
      .data;
    await app.waitFor((r) => r.kind === 'load-url' && r.data.id === window.id, 'dashboard page');
    const invoke = async (method: string, args: unknown[]) => {
      const seen = app.of('invoke-result').length;
      app.send(`invoke ${window.id} ${invokeChannel(method as never)} ${JSON.stringify(args)}`);
      await app.waitFor(() => app.of('invoke-result').length > seen, `${method} answered`);
      return app.of('invoke-result')[seen];
    };
    const notice = async () =>
      ((await invoke('getStatus', [])).value.notices as Array<{ message: string; fix: string; lang: string }>)[0];
    const german = await notice();
    expect(german).toMatchObject({
      lang: 'de',
      message: expect.stringMatching(
        /^Clawdesks Einstellungen für Darstellung waren beschädigt und wurden nach \/\S+\/appearance\.json\.corrupt-\S+ verschoben\.$/,
      ),
      fix: 'Das Design folgt dem Betriebssystem, bis du wieder eines wählst.',
    });
    const movedTo = / nach (\S+) verschoben/.exec(german.message)![1];
    expect(await invoke('setLanguage', ['ar'])).toMatchObject({ ok: true });
    const arabic = await notice();
    expect(arabic.lang).toBe('ar');
    expect(arabic.message).toContain(`\u2068${movedTo}\u2069`);
    expect(arabic.message).toContain('المظهر');
    expectElectronRulesKept(app);
  });

  it('Linux with no session bus at all: treated as no tray (the window opens)', async () => {
    const app = await boot({ platform: 'linux' });
    await app.waitFor((r) => r.kind === 'window' && r.data.title === 'Clawdesk', 'dashboard window');
    expectElectronRulesKept(app);
  });

  it('Windows: AppUserModelID first; shutdown/log-off (query-session-end, session-end) stops the gateway gracefully', async () => {
    const app = await boot({ platform: 'win32' });
    expect(app.reports[0]).toEqual({ kind: 'aumid', data: 'ai.clawdesk.app' });
    expectElectronRulesKept(app);
    app.send('session-end logoff');
    expect(
      (await app.waitFor((r) => r.kind === 'query-session-end', 'query-session-end')).data.listeners,
    ).toBeGreaterThan(0);
    // Windows ends the process itself after session-end; the gateway must already be closing by then.
    const deadline = Date.now() + 10_000;
    while ((await probeGatewayPort(app.port)).kind !== 'free')
      if (Date.now() > deadline) throw new Error('the gateway still serves after session-end');
  });

  it('saved gateways on other machines are connected at start and shown in the tray, a changed certificate as such', async () => {
    const cert = makeSelfSignedCertificate();
    const impostor = makeSelfSignedCertificate();
    const front = await startTlsFront(cert, await freePort());
    cleanups.push(() => front.close());
    cleanups.push(() => (disposeCertificate(cert), disposeCertificate(impostor)));
    const gateways = {
      version: 1,
      primary: 'office',
      gateways: [
        // Pinned to a certificate the server does not present: refused before anything is sent.
        {
          name: 'office',
          transport: 'direct',
          url: `wss://127.0.0.1:${front.port}`,
          tlsFingerprint: impostor.fingerprint,
          auth: 'none',
          runner: false,
          addedAtMs: 1,
        },
        {
          name: 'lab',
          transport: 'direct',
          url: `ws://127.0.0.1:${await freePort()}`,
          auth: 'none',
          runner: false,
          addedAtMs: 2,
        },
      ],
    };
    const app = await boot({
      platform: 'linux',
      bus: await privateBus(true),
      dataDir: { 'gateways.json': JSON.stringify(gateways) },
    });
    const menu = await app.waitFor(
      (r) => r.kind === 'menu' && (r.data as string[]).includes('office — certificate changed!'),
      'the changed certificate in the tray',
    );
    expect(menu.data).toContain('Gateways on other machines');
    expect((menu.data as string[]).some((label) => /^lab — (connecting|reconnecting)$/.test(label))).toBe(true);
    await app.waitFor(
      (r) => r.kind === 'tooltip' && String(r.data).includes('1 gateway needs attention'),
      'the tooltip counting it',
    );
    expect(front.bytesForwarded()).toBe(0);
    expectElectronRulesKept(app);
  });

  it('gateway.tls in openclaw.json: the embedded gateway serves wss://, and the local CLI reaches it pinned', async () => {
    const app = await boot({
      platform: 'linux',
      bus: await privateBus(true),
      state: { 'openclaw.json': JSON.stringify({ gateway: { tls: { enabled: true } } }) },
    });
    const stateDir = app.env.OPENCLAW_STATE_DIR!;
    const pin = await localGatewayTlsFingerprint(stateDir, { enabled: true });
    expect(pin).toMatch(/^[0-9a-f]{64}$/);
    expect(await probeGatewayPort(app.port)).toMatchObject({ kind: 'other' });
    expect(await probeGatewayPort(app.port, { tlsFingerprint: pin })).toEqual({
      kind: 'openclaw',
      url: `wss://127.0.0.1:${app.port}`,
    });
    // The person's CLI finds wss:// and the pin in the same state dir (as `openclaw` does with gateway.tls).
    const cli = spawnSync(process.execPath, [path.join(root, 'bin', 'clawdesk.js'), 'devices', 'list', '--json'], {
      env: app.env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toHaveProperty('paired');
    expectElectronRulesKept(app);
  });

  it('macOS: no Dock icon, an Edit menu, no window at start', async () => {
    const app = await boot({ platform: 'darwin' });
    expect(app.of('dock-hidden')).toHaveLength(1);
    expect(app.of('app-menu')).toHaveLength(1);
    expect(app.of('window')).toEqual([]);
    expectElectronRulesKept(app);
  });
});
