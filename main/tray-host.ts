import type { MenuItemOptions } from './electron-facades';

/**
 * Whether a tray icon can be seen. Electron 45's Linux tray is a StatusNotifierItem: it shows only where a
 * StatusNotifier host runs, which registers `org.kde.StatusNotifierWatcher` on the session bus (KDE, most other
 * desktops; GNOME only with the AppIndicator extension, which Fedora does not install). Without one the app would be
 * invisible, so the dashboard opens at start and carries what the tray menu would (Quit, pending approvals).
 */
export const STATUS_NOTIFIER_WATCHER = 'org.kde.StatusNotifierWatcher';

export type TrayHostState = 'present' | 'absent' | 'unknown';
export interface TrayHost {
  state: TrayHostState;
  detail: string;
}

export const NO_TRAY_HOST_HELP =
  'No tray (StatusNotifier host) was found on this desktop, so Clawdesk keeps its window open instead of a tray icon. ' +
  'Closing the window minimises it; use Clawdesk → Quit to quit. To get the tray icon on GNOME, install and turn on the ' +
  '"AppIndicator and KStatusNotifierItem Support" extension (package gnome-shell-extension-appindicator on Fedora, ' +
  'Debian and Ubuntu), then log out and in again.';

export async function detectTrayHost(
  platform: NodeJS.Platform,
  nameHasOwner: (name: string) => Promise<boolean>,
): Promise<TrayHost> {
  // Windows' notification area and the macOS menu bar are always there.
  if (platform !== 'linux') return { state: 'present', detail: `${platform} always has a tray` };
  try {
    return (await nameHasOwner(STATUS_NOTIFIER_WATCHER))
      ? { state: 'present', detail: `${STATUS_NOTIFIER_WATCHER} is on the session bus` }
      : { state: 'absent', detail: `nothing owns ${STATUS_NOTIFIER_WATCHER} on the session bus` };
  } catch (error) {
    return { state: 'unknown', detail: `could not ask the session bus: ${(error as Error).message}` };
  }
}

export interface TrayHostMonitorOptions {
  platform: NodeJS.Platform;
  nameHasOwner(name: string): Promise<boolean>;
  /** How often to look again on Linux (the extension can be turned off, the host can crash). */
  intervalMs?: number;
  onChange(host: TrayHost, previous: TrayHost | undefined): void;
}

/** Detects the host at start and watches it on Linux; reports every change of state. */
export class TrayHostMonitor {
  private current?: TrayHost;
  private timer?: NodeJS.Timeout;

  constructor(private readonly options: TrayHostMonitorOptions) {}

  host(): TrayHost | undefined {
    return this.current;
  }

  /** True only when a host is known to be there: "unknown" is treated like "absent" (being visible is safe). */
  visible(): boolean {
    return this.current?.state === 'present';
  }

  async start(): Promise<TrayHost> {
    const host = await this.check();
    if (this.options.platform === 'linux') {
      this.timer = setInterval(() => void this.check(), this.options.intervalMs ?? 30_000);
      this.timer.unref();
    }
    return host;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async check(): Promise<TrayHost> {
    const host = await detectTrayHost(this.options.platform, this.options.nameHasOwner);
    const previous = this.current;
    this.current = host;
    if (previous?.state !== host.state) this.options.onChange(host, previous);
    return host;
  }
}

export interface TraylessCounts {
  pendingApprovals: number;
  pendingPairings: number;
}

/** The dashboard's title without a tray: the counts the tray icon would carry. */
export function traylessTitle(product: string, counts: TraylessCounts): string {
  const parts: string[] = [];
  if (counts.pendingApprovals > 0)
    parts.push(`${counts.pendingApprovals} approval${counts.pendingApprovals === 1 ? '' : 's'} waiting`);
  if (counts.pendingPairings > 0)
    parts.push(`${counts.pendingPairings} pairing request${counts.pendingPairings === 1 ? '' : 's'}`);
  return parts.length > 0 ? `${product} — ${parts.join(', ')}` : product;
}

export interface TraylessActions {
  showApproval(): void;
  explain(): void;
  quit(): void;
}

/** The dashboard window's menu bar without a tray: Quit and the pending approvals stay reachable. */
export function traylessMenu(counts: TraylessCounts, actions: TraylessActions): MenuItemOptions[] {
  const approvals = counts.pendingApprovals;
  return [
    {
      label: '&Clawdesk',
      submenu: [
        {
          id: 'approvals',
          label:
            approvals > 0
              ? `Review ${approvals} waiting approval${approvals === 1 ? '' : 's'}…`
              : 'No approvals waiting',
          enabled: approvals > 0,
          click: () => actions.showApproval(),
        },
        { type: 'separator' },
        { id: 'why-no-tray', label: 'Why is there no tray icon?', click: () => actions.explain() },
        { type: 'separator' },
        { id: 'quit', label: 'Quit Clawdesk', accelerator: 'CmdOrCtrl+Q', click: () => actions.quit() },
      ],
    },
    { role: 'editMenu' },
  ];
}
