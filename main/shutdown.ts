// Quit and the end of the OS session both drain: pending prompts end (askFallback applies, nothing is allowed),
// then the gateway and runner stop, then the app exits. An update drains the same way and then hands over to the
// installer (drainThen), whose own quit must then go through untouched.
import type { MainLog } from './main-log';
import { secureWebPreferences } from './window-security';

type WindowConstructor = new (options: Electron.BrowserWindowConstructorOptions) => Electron.BrowserWindow;

export interface ShutdownDeps {
  app: Pick<Electron.App, 'on' | 'exit'>;
  platform: NodeJS.Platform;
  BrowserWindow: WindowConstructor;
  preloadPath: string;
  /** Ends the pending prompts (approvals then pairings answered "no answer"). */
  drainPrompts(): Promise<void>;
  stopGateway(): Promise<void>;
  /** Called once, when quitting or the session's end begins. */
  onQuitting(): void;
  log: MainLog;
}

export interface Shutdown {
  /** Drains once; later calls get the same promise. */
  drain(): Promise<void>;
  /**
   * Drains, then runs `action` (electron-updater's quitAndInstall) instead of exiting. The before-quit that action
   * causes passes through (no preventDefault, no app.exit: the installer runs from the quit electron-updater
   * starts). A quit asked for while this drain runs is held and ends the app plainly once the drain is done; when
   * a quit or the session's end is already draining, `action` never runs.
   */
  drainThen(action: () => void): Promise<void>;
}

export function setupShutdown(deps: ShutdownDeps): Shutdown {
  let quitting = false;
  /** A drain for an update is running (drainThen). */
  let updating = false;
  /** The person quit while it ran: exit once drained, do not install. */
  let quitAfterDrain = false;
  let drained: Promise<void> | undefined;
  const drain = () =>
    (drained ??= deps
      .drainPrompts()
      .then(() => deps.stopGateway())
      .catch((error) => deps.log('error', `stopping: ${(error as Error).message}`)));
  const beginQuitting = () => {
    if (quitting) return;
    quitting = true;
    deps.onQuitting();
  };
  // A tray app stays alive with no windows open.
  deps.app.on('window-all-closed', () => undefined);
  deps.app.on('before-quit', (event) => {
    if (updating) {
      event.preventDefault();
      quitAfterDrain = true;
      return;
    }
    if (quitting) return;
    beginQuitting();
    event.preventDefault();
    void drain().finally(() => deps.app.exit(0));
  });
  // Windows emits no before-quit at shutdown, restart or log-off: a window gets WM_QUERYENDSESSION / WM_ENDSESSION
  // (Electron's query-session-end / session-end). A tray app may have none open, so a hidden one listens.
  if (deps.platform === 'win32') {
    const sessionWindow = new deps.BrowserWindow({
      show: false,
      width: 1,
      height: 1,
      skipTaskbar: true,
      focusable: false,
      webPreferences: secureWebPreferences(deps.preloadPath),
    });
    const onSessionEnd = (event: Electron.WindowSessionEndEvent) => {
      deps.log('info', `Windows session ending (${event.reasons.join(', ') || 'unspecified'}): stopping the gateway`);
      beginQuitting();
      void drain();
    };
    sessionWindow.on('query-session-end', onSessionEnd);
    sessionWindow.on('session-end', onSessionEnd);
  }
  const drainThen = (action: () => void): Promise<void> => {
    if (quitting) return drain();
    beginQuitting();
    updating = true;
    return drain().then(() => {
      updating = false;
      if (quitAfterDrain) return deps.app.exit(0);
      // Still `quitting`: the before-quit the action causes passes through untouched.
      try {
        action();
      } catch (error) {
        deps.log('error', `after the drain: ${(error as Error).message}`);
        deps.app.exit(0);
      }
    });
  };
  return { drain, drainThen };
}
