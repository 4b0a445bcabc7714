// Start at login (issue 13 defect 5): what the OS is told to start. On Linux the autostart entry is started by
// GLib's own desktop-entry parser (`gio launch`, as gnome-session does), with a stand-in for the app binary, so the
// quoting is checked by the real consumer.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LoginItem, LoginItemUnsupportedError } from '../../main/login-item';

type Recorded = Electron.Settings[];
function fakeApp(recorded: Recorded = []) {
  let open = false;
  let registered: { path?: string; args?: string[] } = {};
  return {
    recorded,
    app: {
      // As Electron on Windows: the item is found only under the same path and arguments it was registered with.
      getLoginItemSettings: (options?: Electron.LoginItemSettingsOptions) =>
        ({
          openAtLogin:
            open &&
            (options?.path ?? '') === (registered.path ?? '') &&
            JSON.stringify(options?.args ?? []) === JSON.stringify(registered.args ?? []),
        }) as Electron.LoginItemSettings,
      setLoginItemSettings: (settings: Electron.Settings) => {
        recorded.push(settings);
        open = Boolean(settings.openAtLogin);
        registered = { path: settings.path, args: settings.args };
      },
    },
  };
}

/** Starts the autostart entry with GLib's parser and returns the argv the program received. */
async function launchWithGio(desktopFile: string, out: string): Promise<string[]> {
  await promisify(execFile)('gio', ['launch', desktopFile], { timeout: 10_000 });
  const deadline = Date.now() + 10_000;
  while (!existsSync(out) || !readFileSync(out, 'utf8').endsWith('END\n')) {
    if (Date.now() > deadline) throw new Error('the autostart program did not run');
    await new Promise((r) => setImmediate(r));
  }
  return readFileSync(out, 'utf8').split('\n').slice(0, -2);
}

function standIn(dir: string, name: string, out: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "$0" "$@" END > '${out}'\n`);
  chmodSync(file, 0o755);
  return file;
}

describe('Start at login: Linux', () => {
  it('an AppImage starts $APPIMAGE at login, never the /tmp/.mount_* binary that disappears', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-login-'));
    const out = path.join(home, 'argv.txt');
    const appImage = standIn(path.join(home, 'My Apps'), 'Clawdesk-0.1.0-x86_64.AppImage', out);
    const item = new LoginItem(fakeApp().app, 'linux', {
      configHome: path.join(home, '.config'),
      execPath: '/tmp/.mount_ClawdeXyZ12/clawdesk-desktop',
      appImage,
    });
    await item.set(true);
    const desktopFile = path.join(home, '.config', 'autostart', 'clawdesk.desktop');
    expect(readFileSync(desktopFile, 'utf8')).not.toContain('.mount_');
    expect(await launchWithGio(desktopFile, out)).toEqual([appImage]);
  });

  it('development (npm start): the Electron binary with the app folder, quoted so GLib reads it back exactly', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-login-'));
    const out = path.join(home, 'argv.txt');
    const electron = standIn(path.join(home, 'node_modules', 'electron', 'dist'), 'electron', out);
    const appPath = path.join(home, `work "dir" with $HOME \`x\` \\ and 100%`);
    const item = new LoginItem(fakeApp().app, 'linux', {
      configHome: path.join(home, '.config'),
      execPath: electron,
      appPath,
    });
    await item.set(true);
    expect(item.get()).toBe(true);
    expect(await launchWithGio(path.join(home, '.config', 'autostart', 'clawdesk.desktop'), out)).toEqual([
      electron,
      appPath,
    ]);
  });
});

describe('Start at login: Windows and macOS', () => {
  it('Windows development: registers the Electron binary with the app folder, and reads it back under the same', async () => {
    const { app, recorded } = fakeApp();
    const item = new LoginItem(app, 'win32', {
      configHome: '',
      execPath: 'C:\\dev\\node_modules\\electron\\dist\\electron.exe',
      appPath: 'C:\\dev\\clawdesk',
    });
    await item.set(true);
    expect(recorded).toEqual([
      { openAtLogin: true, path: 'C:\\dev\\node_modules\\electron\\dist\\electron.exe', args: ['C:\\dev\\clawdesk'] },
    ]);
    expect(item.get()).toBe(true);
  });

  it('Windows installed: the app itself, no arguments', async () => {
    const { app, recorded } = fakeApp();
    const item = new LoginItem(app, 'win32', {
      configHome: '',
      execPath: 'C:\\Users\\u\\AppData\\Local\\Programs\\Clawdesk\\Clawdesk.exe',
    });
    await item.set(true);
    expect(recorded[0]).toEqual({
      openAtLogin: true,
      path: 'C:\\Users\\u\\AppData\\Local\\Programs\\Clawdesk\\Clawdesk.exe',
      args: [],
    });
  });

  it('macOS development: refused with words for the person (a login item would open bare Electron.app)', async () => {
    const { app, recorded } = fakeApp();
    const item = new LoginItem(app, 'darwin', {
      configHome: '',
      execPath: '/dev/node_modules/electron/dist/Electron.app/Contents/MacOS/Electron',
      appPath: '/dev/clawdesk',
    });
    await expect(item.set(true)).rejects.toBeInstanceOf(LoginItemUnsupportedError);
    await expect(item.set(true)).rejects.toThrow(/installed Clawdesk app/);
    expect(recorded).toEqual([]);
    expect(item.get()).toBe(false);
  });
});
