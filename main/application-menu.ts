// macOS: Clawdesk is a menu-bar app (LSUIElement), so no Dock icon; without a Dock icon there is no default menu,
// and without an Edit menu copy and paste do not work in its windows.
import type { MenuFactory } from './electron-facades';

export interface ApplicationMenuDeps {
  platform: NodeJS.Platform;
  app: { dock?: Pick<Electron.Dock, 'hide'> };
  Menu: MenuFactory & { setApplicationMenu(menu: Electron.Menu | null): void };
}

export function setupApplicationMenu(deps: ApplicationMenuDeps): void {
  if (deps.platform !== 'darwin') return;
  deps.app.dock?.hide();
  deps.Menu.setApplicationMenu(
    deps.Menu.buildFromTemplate([{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }]),
  );
}
