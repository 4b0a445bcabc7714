// Every window the app opens: created with the secure webPreferences and the preload, tracked so IPC knows its own
// senders and change events reach every open page.
import { EVENT_CHANNEL, type AppEvent, type Topic } from '../common/ipc-contract';
import { secureWebPreferences } from './window-security';

type WindowConstructor = new (options: Electron.BrowserWindowConstructorOptions) => Electron.BrowserWindow;

export interface AppWindows {
  create(options: Electron.BrowserWindowConstructorOptions): Electron.BrowserWindow;
  /** Tells every open page that these topics changed. */
  broadcast(topics: Topic[]): void;
  /** True for a web contents of one of our windows (the IPC router's sender check). */
  isOwnWebContents(id: number): boolean;
}

export function setupAppWindows(deps: { BrowserWindow: WindowConstructor; preloadPath: string }): AppWindows {
  const windows = new Set<Electron.BrowserWindow>();
  return {
    create: (options) => {
      const window = new deps.BrowserWindow({
        ...options,
        show: false,
        webPreferences: secureWebPreferences(deps.preloadPath),
      });
      windows.add(window);
      window.on('closed', () => windows.delete(window));
      return window;
    },
    broadcast: (topics) => {
      const event: AppEvent = { type: 'changed', topics };
      for (const w of windows) if (!w.isDestroyed()) w.webContents.send(EVENT_CHANNEL, event);
    },
    isOwnWebContents: (id) => [...windows].some((w) => !w.isDestroyed() && w.webContents.id === id),
  };
}
