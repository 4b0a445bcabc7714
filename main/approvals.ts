// The approval prompt: one at a time in a small window (a message box when it cannot open), a notification per
// waiting request, and the history of how each ended.
import type { Topic } from '../common/ipc-contract';
import { ApprovalHistory } from './approval-history';
import { ApprovalNotifier } from './approval-notifier';
import { ApprovalQueue } from './approval-queue';
import type { DialogLike, NotificationFactory } from './electron-facades';
import type { MainLog } from './main-log';
import { MessageBoxPresenter } from './message-box-presenter';
import type { PresenceMonitor } from './presence';
import { PromptWindowPresenter, type PromptWindowLike } from './prompt-window';

export interface ApprovalsDeps {
  platform: NodeJS.Platform;
  historyFile: string;
  createWindow(
    options: Electron.BrowserWindowConstructorOptions,
  ): PromptWindowLike & Pick<Electron.BrowserWindow, 'flashFrame'>;
  dialog: DialogLike;
  notifications: NotificationFactory;
  presence: Pick<PresenceMonitor, 'blocker'>;
  /** macOS: `app.focus({ steal: true })`. */
  stealFocus(): void;
  broadcast(topics: Topic[]): void;
  /** The waiting approvals changed (the tray and the trayless dashboard show them). */
  onChange(): void;
  log: MainLog;
}

export interface Approvals {
  queue: ApprovalQueue;
  history: ApprovalHistory;
}

export async function setupApprovals(deps: ApprovalsDeps): Promise<Approvals> {
  const history = new ApprovalHistory(deps.historyFile);
  await history.load().catch((error) => deps.log('warn', `approval history unreadable: ${(error as Error).message}`));
  let notifier: ApprovalNotifier | undefined;
  // The prompt presenter sees its window through a narrow slice; the attention request needs the whole window.
  const flashable = new WeakMap<PromptWindowLike, Pick<Electron.BrowserWindow, 'flashFrame'>>();
  const queue: ApprovalQueue = new ApprovalQueue({
    presenter: new PromptWindowPresenter({
      createWindow: () => {
        const window = deps.createWindow({
          width: 640,
          height: 560,
          title: 'Allow this command?',
          alwaysOnTop: true,
          minimizable: false,
          fullscreenable: false,
        });
        flashable.set(window, window);
        return window;
      },
      fallback: new MessageBoxPresenter(deps.dialog),
      notifyPrompt: () => deps.broadcast(['prompt']),
      requestAttention: (window) => {
        // An LSUIElement app is not brought forward by focus(); Wayland ignores alwaysOnTop and focus requests, so
        // the window asks for attention (urgency hint / xdg-activation) and the notification below still shows.
        if (deps.platform === 'darwin') deps.stealFocus();
        else if (deps.platform === 'linux') flashable.get(window)?.flashFrame(true);
      },
    }),
    blocker: () => deps.presence.blocker(),
    // The approval client applies askFallback itself; the queue only reports "no answer".
    fallback: () => null,
    onChange: () => {
      for (const view of queue.pending()) notifier?.notify(view);
      deps.onChange();
      deps.broadcast(['approvals', 'status', 'prompt']);
    },
    onOutcome: (_event, outcome) => notifier?.dismiss(outcome.id),
  });
  notifier = new ApprovalNotifier({
    notifications: deps.notifications,
    platform: deps.platform,
    onOpen: () => queue.focus(),
    onDecide: (id, decision) => queue.decide(id, decision),
  });
  return { queue, history };
}
