import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { DashboardViewId } from '../../common/ipc-contract';
import { setupDashboardWindow } from '../../main/dashboard-window';
import { LogBuffer } from '../../main/log-buffer';

/** The slice of BrowserWindow the dashboard uses, recording the URLs it loads. */
class RecordingWindow extends EventEmitter {
  readonly urls: string[] = [];
  destroyed = false;
  minimized = false;
  loadURL(url: string): Promise<void> {
    this.urls.push(url);
    return Promise.resolve();
  }
  isDestroyed = () => this.destroyed;
  isMinimized = () => this.minimized;
  restore = () => void (this.minimized = false);
  show = () => undefined;
  focus = () => undefined;
  minimize = () => void (this.minimized = true);
  setTitle = () => undefined;
  setMenu = () => undefined;
}

function setup() {
  const windows: RecordingWindow[] = [];
  const dashboard = setupDashboardWindow({
    platform: 'linux',
    createWindow: () => {
      const window = new RecordingWindow();
      windows.push(window);
      return window as unknown as Electron.BrowserWindow;
    },
    Menu: { buildFromTemplate: () => ({}) as Electron.Menu },
    dialog: { showMessageBox: async () => ({ response: 0, checkboxChecked: false }) },
    stealFocus: () => undefined,
    quit: () => undefined,
    nameHasOwner: async () => true,
    counts: () => ({ pendingApprovals: 0, pendingPairings: 0 }),
    showApproval: () => undefined,
    refreshTray: () => undefined,
    logs: new LogBuffer(),
  });
  return { dashboard, windows };
}

describe('the dashboard window opens at a view', () => {
  it('a new window loads the asked view; an open one switches by fragment, without a second window', () => {
    const { dashboard, windows } = setup();
    dashboard.open('gateways');
    expect(windows).toHaveLength(1);
    expect(windows[0].urls).toEqual(['clawdesk://app/index.html#gateways']);
    dashboard.open('approvals');
    dashboard.open();
    expect(windows).toHaveLength(1);
    // Without a view an open dashboard stays where the person left it.
    expect(windows[0].urls).toEqual(['clawdesk://app/index.html#gateways', 'clawdesk://app/index.html#approvals']);
  });

  it('only a known view reaches the URL: anything else (an event object, a crafted id) opens the overview', () => {
    const { dashboard, windows } = setup();
    dashboard.open('../../evil?x' as DashboardViewId);
    dashboard.open({ sender: 'second-instance' } as unknown as DashboardViewId);
    expect(windows[0].urls).toEqual(['clawdesk://app/index.html#status']);
  });
});
