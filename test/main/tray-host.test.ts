// Tray host detection (issue 13 defect 4) against a real session bus: a private dbus-daemon per test, the same
// daemon dbus-run-session starts. "With a tray host" means something really owns org.kde.StatusNotifierWatcher.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionBus, sessionBusNameHasOwner, sessionBusSocket } from '../../main/session-bus';
import {
  detectTrayHost,
  STATUS_NOTIFIER_WATCHER,
  TrayHostMonitor,
  traylessMenu,
  traylessTitle,
  type TrayHost,
} from '../../main/tray-host';

const daemons: ChildProcess[] = [];
const owners: SessionBus[] = [];
afterEach(() => {
  for (const owner of owners.splice(0)) owner.close();
  for (const daemon of daemons.splice(0)) daemon.kill('SIGTERM');
});

/** A fresh session bus; resolves with the environment a desktop session would give the app. */
async function sessionBus(): Promise<NodeJS.ProcessEnv> {
  const daemon = spawn('dbus-daemon', ['--session', '--nofork', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  daemons.push(daemon);
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    daemon.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    daemon.once('error', reject);
    daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}`)));
  });
  return { DBUS_SESSION_BUS_ADDRESS: address };
}

async function ownWatcher(env: NodeJS.ProcessEnv): Promise<SessionBus> {
  const owner = await SessionBus.connect(sessionBusSocket(env)!);
  owners.push(owner);
  expect(await owner.requestName(STATUS_NOTIFIER_WATCHER)).toBe(1);
  return owner;
}

const probe = (env: NodeJS.ProcessEnv) => (name: string) => sessionBusNameHasOwner(name, env);

describe('tray host on the session bus (real dbus-daemon)', () => {
  it('no StatusNotifierWatcher (Fedora GNOME without the extension): absent', async () => {
    const env = await sessionBus();
    expect(await detectTrayHost('linux', probe(env))).toEqual({
      state: 'absent',
      detail: `nothing owns ${STATUS_NOTIFIER_WATCHER} on the session bus`,
    });
  });

  it('a StatusNotifierWatcher owned (KDE, GNOME with AppIndicator): present', async () => {
    const env = await sessionBus();
    await ownWatcher(env);
    expect((await detectTrayHost('linux', probe(env))).state).toBe('present');
  });

  it('no session bus at all: unknown, with the reason (treated as no tray)', async () => {
    const host = await detectTrayHost('linux', probe({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' }));
    expect(host.state).toBe('unknown');
    expect(host.detail).toMatch(/ENOENT/);
    expect((await detectTrayHost('linux', probe({}))).detail).toMatch(/DBUS_SESSION_BUS_ADDRESS is not set/);
  });

  it('Windows and macOS always have one (the bus is not asked)', async () => {
    const never = () => Promise.reject(new Error('asked'));
    expect((await detectTrayHost('win32', never)).state).toBe('present');
    expect((await detectTrayHost('darwin', never)).state).toBe('present');
  });

  it('the host going away (extension turned off) and coming back is reported', async () => {
    const env = await sessionBus();
    const owner = await ownWatcher(env);
    const changes: Array<[TrayHost['state'], TrayHost['state'] | undefined]> = [];
    const monitor = new TrayHostMonitor({
      platform: 'linux',
      nameHasOwner: probe(env),
      intervalMs: 60_000,
      onChange: (h, p) => changes.push([h.state, p?.state]),
    });
    await monitor.start();
    expect(monitor.visible()).toBe(true);
    owner.close();
    // The bus drops the name when its owner's connection closes: poll until it is seen gone.
    while ((await monitor.check()).state === 'present');
    expect(monitor.visible()).toBe(false);
    await ownWatcher(env);
    expect((await monitor.check()).state).toBe('present');
    monitor.stop();
    expect(changes).toEqual([
      ['present', undefined],
      ['absent', 'present'],
      ['present', 'absent'],
    ]);
  });
});

describe('the dashboard without a tray', () => {
  it('its menu keeps Quit and the pending approvals reachable; the title carries the counts', () => {
    const calls: string[] = [];
    const menu = traylessMenu(
      { pendingApprovals: 2, pendingPairings: 0 },
      {
        showApproval: () => calls.push('approval'),
        explain: () => calls.push('explain'),
        quit: () => calls.push('quit'),
      },
    );
    const items = (menu[0].submenu as Electron.MenuItemConstructorOptions[]).filter((i) => i.id);
    expect(items.map((i) => [i.id, i.label, i.enabled ?? true])).toEqual([
      ['approvals', 'Review 2 waiting approvals…', true],
      ['why-no-tray', 'Why is there no tray icon?', true],
      ['quit', 'Quit Clawdesk', true],
    ]);
    for (const item of items) (item.click as () => void)();
    expect(calls).toEqual(['approval', 'explain', 'quit']);
    expect(traylessTitle('Clawdesk', { pendingApprovals: 2, pendingPairings: 1 })).toBe(
      'Clawdesk — 2 approvals waiting, 1 pairing request',
    );
    expect(traylessTitle('Clawdesk', { pendingApprovals: 0, pendingPairings: 0 })).toBe('Clawdesk');
  });
});
