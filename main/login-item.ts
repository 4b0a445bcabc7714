import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../gateway/fs/atomic-file';
import type { AppLike } from './electron-facades';

/**
 * "Start at login". macOS and Windows use the OS login items; Electron has none on Linux, so there it is an XDG
 * autostart entry (~/.config/autostart/clawdesk.desktop).
 */
export class LoginItem {
  constructor(
    private readonly app: Pick<AppLike, 'getLoginItemSettings' | 'setLoginItemSettings'>,
    private readonly platform: NodeJS.Platform,
    private readonly linux: { configHome: string; execPath: string },
  ) {}

  private get desktopFile(): string {
    return path.join(this.linux.configHome, 'autostart', 'clawdesk.desktop');
  }

  get(): boolean {
    if (this.platform === 'linux') return existsSync(this.desktopFile);
    return this.app.getLoginItemSettings().openAtLogin;
  }

  async set(enabled: boolean): Promise<void> {
    if (this.platform !== 'linux') {
      this.app.setLoginItemSettings({ openAtLogin: enabled });
      return;
    }
    if (!enabled) {
      rmSync(this.desktopFile, { force: true });
      return;
    }
    const exec = /[\s"'\\]/.test(this.linux.execPath) ? `"${this.linux.execPath.replace(/(["`$\\])/g, '\\$1')}"` : this.linux.execPath;
    const entry = ['[Desktop Entry]', 'Type=Application', 'Name=Clawdesk', `Exec=${exec}`, 'X-GNOME-Autostart-enabled=true', 'NoDisplay=false', ''].join('\n');
    await writeFileAtomic(this.desktopFile, entry, { mode: 0o644 });
  }
}
