// The approval prompt: one at a time in a small window (a message box when it cannot open), a notification per
// waiting request, and the history of how each ended.
import type { Topic } from '../common/ipc-contract';
import { ApprovalHistory } from './approval-history';
import { ApprovalNotifier } from './approval-notifier';
import { notificationSettingsHint, type NoticeSink } from './app-notices';
import { ApprovalQueue } from './approval-queue';
import type { DialogLike, NotificationFactory } from './electron-facades';
import { englishMain, type MainTranslate } from './main-i18n';
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
  notices: NoticeSink;
  /** The prompt's and the notifications' own words in the person's language. */
  translate?: MainTranslate;
  log: MainLog;
}

export interface Approvals {
  queue: ApprovalQueue;
  history: ApprovalHistory;
}

export async function setupApprovals(deps: ApprovalsDeps): Promise<Approvals> {
  const history = new ApprovalHistory(deps.historyFile);
  await history.load().then(
    ({ skipped }) => {
      if (skipped === 0) return;
      deps.log('warn', `approval history: ${skipped} damaged line(s) skipped`);
      deps.notices.report({
        id: 'approval-history',
        severity: 'warning',
        message: { key: 'notice.historyDamaged', values: { count: skipped } },
        fix: { key: 'notice.historyDamagedFix', values: { path: deps.historyFile } },
      });
    },
    (error) => {
      deps.log('warn', `approval history unreadable: ${(error as Error).message}`);
      deps.notices.report({
        id: 'approval-history',
        severity: 'warning',
        message: { key: 'notice.historyUnreadable', values: { error: (error as Error).message } },
        fix: { key: 'notice.historyUnreadableFix', values: { path: deps.historyFile } },
      });
    },
  );
  if (!deps.notifications.isSupported())
    deps.notices.report({
      id: 'notifications',
      severity: 'warning',
      message: { key: 'notice.notificationsUnsupported' },
      fix: notificationSettingsHint(deps.platform),
    });
  let notifier: ApprovalNotifier | undefined;
  // The prompt presenter sees its window through a narrow slice; the attention request needs the whole window.
  const flashable = new WeakMap<PromptWindowLike, Pick<Electron.BrowserWindow, 'flashFrame'>>();
  const queue: ApprovalQueue = new ApprovalQueue({
    presenter: new PromptWindowPresenter({
      createWindow: () => {
        const window = deps.createWindow({
          width: 640,
          height: 560,
          title: (deps.translate ?? englishMain)('prompt.title'),
          alwaysOnTop: true,
          minimizable: false,
          fullscreenable: false,
        });
        flashable.set(window, window);
        return window;
      },
      fallback: new MessageBoxPresenter(deps.dialog, { translate: deps.translate }),
      notifyPrompt: () => deps.broadcast(['prompt']),
      requestAttention: (window) => {
        // An LSUIElement app is not brought forward by focus(); Wayland ignores alwaysOnTop and focus requests, so
        // the window asks for attention (urgency hint / xdg-activation) and the notification below still shows.
        if (deps.platform === 'darwin') deps.stealFocus();
        else if (deps.platform === 'linux') flashable.get(window)?.flashFrame(true);
      },
    }),
    blocker: () => deps.presence.blocker(),
    translate: deps.translate,
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
    onFailed: (error) => {
      deps.log('warn', `a notification was not shown: ${error}`);
      deps.notices.report({
        id: 'notifications',
        severity: 'warning',
        message: { key: 'notice.notificationFailed', values: { error: String(error) } },
        fix: notificationSettingsHint(deps.platform),
      });
    },
    onShown: () => deps.notices.clear('notifications'),
    translate: deps.translate,
  });
  return { queue, history };
}
