// Start at login: the OS login item (macOS, Windows) or an XDG autostart entry (Linux); a refusal is shown.
import type { AppLike, DialogLike } from './electron-facades';
import { LoginItem } from './login-item';
import { englishMain, type MainTranslate } from './main-i18n';
import type { MainLog } from './main-log';

export interface StartAtLoginDeps {
  app: AppLike & Pick<Electron.App, 'isPackaged' | 'getAppPath'>;
  platform: NodeJS.Platform;
  configHome: string;
  execPath: string;
  /** $APPIMAGE, set by the AppImage runtime. */
  appImage?: string;
  dialog: DialogLike;
  /** The setting changed, or a change failed (the tray shows the checkbox). */
  onChange(): void;
  log: MainLog;
  /** Main's words in the person's language (main/main-language.ts, late-bound); English when absent. */
  translate?: MainTranslate;
}

export interface StartAtLogin {
  get(): boolean;
  set(enabled: boolean): void;
}

export function setupStartAtLogin(deps: StartAtLoginDeps): StartAtLogin {
  const loginItem = new LoginItem(deps.app, deps.platform, {
    configHome: deps.configHome,
    execPath: deps.execPath,
    // Inside an AppImage, execPath is under a /tmp/.mount_* that goes away; the runtime names the file in $APPIMAGE.
    appImage: deps.app.isPackaged ? deps.appImage : undefined,
    // `electron .` in development: the binary alone would start Electron's default app at login.
    appPath: deps.app.isPackaged ? undefined : deps.app.getAppPath(),
  });
  return {
    get: () => loginItem.get(),
    set: (enabled) =>
      void loginItem.set(enabled).then(deps.onChange, (error) => {
        deps.log('error', `start at login: ${(error as Error).message}`);
        deps.onChange();
        const t = deps.translate ?? englishMain;
        void deps.dialog.showMessageBox({
          type: 'warning',
          title: t('menu.startAtLogin'),
          message: t('startAtLogin.notChanged'),
          detail: (error as Error).message,
        });
      }),
  };
}
