// The dashboard window, and what stands in for the tray when there is none (Linux desktops without a
// StatusNotifier host, e.g. Fedora GNOME): the dashboard opens at start, a menu holds Quit and the waiting
// approvals, the counts go in its title, and closing it minimises instead (a hidden window would leave the app
// invisible).
import { DASHBOARD_VIEW_IDS, type DashboardViewId } from '../common/ipc-contract';
import { PRODUCT_NAME } from './app-identity';

const DASHBOARD_URL = 'clawdesk://app/index.html';
import type { DialogLike, MenuFactory } from './electron-facades';
import { NO_TRAY_HOST_HELP, TrayHostMonitor, traylessMenu, traylessTitle, type TraylessCounts } from './tray-host';
import type { LogBuffer } from './log-buffer';

export interface DashboardWindowDeps {
  platform: NodeJS.Platform;
  createWindow(options: Electron.BrowserWindowConstructorOptions): Electron.BrowserWindow;
  Menu: MenuFactory;
  dialog: DialogLike;
  /** macOS: `app.focus({ steal: true })` (an LSUIElement app is not brought forward by focus()). */
  stealFocus(): void;
  quit(): void;
  nameHasOwner(name: string): Promise<boolean>;
  counts(): TraylessCounts;
  showApproval(): void;
  /** The tray host came back: the tray shows its state again. */
  refreshTray(): void;
  logs: LogBuffer;
  /** The dashboard window is gone (what only it used, such as the gateway discovery, can stop). */
  onClosed?(): void;
}

export interface DashboardWindow {
  /** Shows the dashboard (created if needed), at `view` when given; an open dashboard stays where it is otherwise. */
  open(view?: DashboardViewId): void;
  /** Title and menu follow the counts and whether a tray host is there. */
  update(): void;
  trayHost: TrayHostMonitor;
  /** From now on closing the window closes it (the app is quitting). */
  quitting(): void;
  /** The dashboard window when it is open (a parent for dialogs started from it). */
  current(): Electron.BrowserWindow | undefined;
}

export function setupDashboardWindow(deps: DashboardWindowDeps): DashboardWindow {
  let quitting = false;
  let dashboard: Electron.BrowserWindow | undefined;
  const explainNoTray = () =>
    void deps.dialog.showMessageBox({
      type: 'info',
      title: 'No tray icon',
      message: 'Why is there no tray icon?',
      detail: NO_TRAY_HOST_HELP,
    });
  const update = () => {
    if (!dashboard || dashboard.isDestroyed()) return;
    const trayless = !trayHost.visible();
    dashboard.setTitle(trayless ? traylessTitle(PRODUCT_NAME, deps.counts()) : PRODUCT_NAME);
    if (deps.platform !== 'darwin') {
      dashboard.setMenu(
        trayless
          ? deps.Menu.buildFromTemplate(
              traylessMenu(deps.counts(), { showApproval: deps.showApproval, explain: explainNoTray, quit: deps.quit }),
            )
          : null,
      );
    }
  };
  const open = (view?: DashboardViewId) => {
    // Only a known view id ever reaches the URL (the tray passes constants; anything else opens the overview).
    const fragment = view && (DASHBOARD_VIEW_IDS as readonly string[]).includes(view) ? view : undefined;
    if (dashboard && !dashboard.isDestroyed()) {
      // Same document, new fragment: the page switches view on 'hashchange' without reloading.
      if (fragment) void dashboard.loadURL(`${DASHBOARD_URL}#${fragment}`);
      if (dashboard.isMinimized()) dashboard.restore();
      dashboard.show();
      dashboard.focus();
      if (deps.platform === 'darwin') deps.stealFocus();
      return;
    }
    const window = deps.createWindow({ width: 1100, height: 760, title: PRODUCT_NAME });
    dashboard = window;
    window.on('close', (event) => {
      if (quitting || trayHost.visible()) return;
      event.preventDefault();
      window.minimize();
    });
    window.once('closed', () => {
      if (dashboard === window) dashboard = undefined;
      deps.onClosed?.();
    });
    window.once('ready-to-show', () => {
      window.show();
      if (deps.platform === 'darwin') deps.stealFocus();
    });
    update();
    void window.loadURL(`${DASHBOARD_URL}#${fragment ?? 'status'}`);
  };
  const trayHost: TrayHostMonitor = new TrayHostMonitor({
    platform: deps.platform,
    nameHasOwner: deps.nameHasOwner,
    onChange: (host, previous) => {
      deps.logs.add(
        'app',
        host.state === 'present' ? 'info' : 'warn',
        `tray host: ${host.state} (${host.detail})${host.state === 'present' ? '' : `. ${NO_TRAY_HOST_HELP}`}`,
      );
      if (host.state !== 'present') open();
      else if (previous) deps.refreshTray();
      update();
    },
  });
  return {
    open,
    update,
    trayHost,
    quitting: () => void (quitting = true),
    current: () => (dashboard && !dashboard.isDestroyed() ? dashboard : undefined),
  };
}
