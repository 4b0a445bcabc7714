import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../gateway/fs/atomic-file';
import type { AppLike } from './electron-facades';

export interface LoginItemEnvironment {
  /** $XDG_CONFIG_HOME (or ~/.config): where the Linux autostart entry goes. */
  configHome: string;
  /** process.execPath: the Electron binary (inside an AppImage, a path under a /tmp/.mount_* that goes away). */
  execPath: string;
  /** $APPIMAGE, set by the AppImage runtime to the .AppImage file itself: what must be started at login. */
  appImage?: string;
  /**
   * Development only (app.isPackaged false): the app folder `electron .` was started with. The bare Electron binary
   * would start Electron's default app, not Clawdesk, so it is passed as the argument.
   */
  appPath?: string;
}

/** Thrown by set() where the OS cannot start this build at login; the message is for the person. */
export class LoginItemUnsupportedError extends Error {}

/**
 * "Start at login". macOS and Windows use the OS login items; Electron has none on Linux, so there it is an XDG
 * autostart entry (~/.config/autostart/clawdesk.desktop).
 */
export class LoginItem {
  constructor(
    private readonly app: Pick<AppLike, 'getLoginItemSettings' | 'setLoginItemSettings'>,
    private readonly platform: NodeJS.Platform,
    private readonly env: LoginItemEnvironment,
  ) {}

  private get desktopFile(): string {
    return path.join(this.env.configHome, 'autostart', 'clawdesk.desktop');
  }

  /** What the OS must run at login: the AppImage file, else the binary, plus the app folder in development. */
  command(): { file: string; args: string[] } {
    const file = this.platform === 'linux' && this.env.appImage ? this.env.appImage : this.env.execPath;
    return { file, args: this.env.appPath ? [this.env.appPath] : [] };
  }

  get(): boolean {
    if (this.platform === 'linux') return existsSync(this.desktopFile);
    if (this.platform === 'win32') {
      const { file, args } = this.command();
      return this.app.getLoginItemSettings({ path: file, args }).openAtLogin;
    }
    if (this.env.appPath) return false;
    return this.app.getLoginItemSettings().openAtLogin;
  }

  async set(enabled: boolean): Promise<void> {
    const { file, args } = this.command();
    if (this.platform === 'win32') {
      this.app.setLoginItemSettings({ openAtLogin: enabled, path: file, args });
      return;
    }
    if (this.platform !== 'linux') {
      // macOS login items name an app bundle and take no arguments: in development that bundle is Electron.app,
      // which would open Electron's default app at login instead of Clawdesk.
      if (this.env.appPath && enabled) {
        throw new LoginItemUnsupportedError(
          'Start at login works in the installed Clawdesk app. This development build (npm start) runs inside Electron.app, which macOS would start without Clawdesk.',
        );
      }
      this.app.setLoginItemSettings({ openAtLogin: enabled });
      return;
    }
    if (!enabled) {
      rmSync(this.desktopFile, { force: true });
      return;
    }
    const exec = [file, ...args].map(desktopExecArgument).join(' ');
    const entry = [
      '[Desktop Entry]',
      'Type=Application',
      'Name=Clawdesk',
      `Exec=${exec}`,
      'X-GNOME-Autostart-enabled=true',
      'NoDisplay=false',
      '',
    ].join('\n');
    await writeFileAtomic(this.desktopFile, entry, { mode: 0o644 });
  }
}

/**
 * One argument of a Desktop Entry `Exec` key (Desktop Entry Specification, "The Exec key"): quoted when it holds a
 * reserved character, with `"`, `` ` ``, `$` and `\` escaped inside the quotes; `%` is doubled (field codes). The
 * key's value is a string, whose own escaping (`\\` for a backslash) applies on top, so every backslash is doubled.
 */
export function desktopExecArgument(value: string): string {
  const escaped = value.replace(/%/g, '%%');
  const quoted = /[\s"'\\><~|&;$*?#()`]/.test(escaped) ? `"${escaped.replace(/(["`$\\])/g, '\\$1')}"` : escaped;
  return quoted.replace(/\\/g, '\\\\');
}
