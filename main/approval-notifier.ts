import type { NotificationFactory, NotificationLike } from './electron-facades';
import type { ApprovalPromptView, Decision } from '../common/ipc-contract';
import { englishMain, type MainTranslate } from './main-i18n';

/** A notification body is short; decisions from it are offered only when the whole command fits. */
export const NOTIFICATION_COMMAND_MAX = 160;
/** At most this many approvals get a notification of their own; the rest share one summary. */
export const MAX_APPROVAL_NOTIFICATIONS = 3;
/** How long the summary waits for more of a burst before it is shown (or redrawn with the new count). */
export const SUMMARY_DELAY_MS = 1000;

export interface ApprovalNotifierOptions {
  notifications: NotificationFactory;
  platform: NodeJS.Platform;
  /** Clicking the notification brings the dialog up. */
  onOpen(id: string): void;
  onDecide(id: string, decision: Decision): void;
  /** Runs the summary's redraw later (tests step it by hand). Defaults to SUMMARY_DELAY_MS on an unref'd timer. */
  schedule?: (redraw: () => void) => void;
  /**
   * The OS refused to show one (macOS and Windows emit `failed`: notifications turned off for the app, Focus
   * Assist, no permission). The prompt window does not depend on it; the person is told once how to turn them on.
   */
  onFailed?(error: string): void;
  /** A notification was shown again after a failure. */
  onShown?(): void;
  /** The notifier's own words in the person's language (main/main-i18n.ts); English when absent. */
  translate?: MainTranslate;
}

/**
 * One notification per approval request, for the first MAX_APPROVAL_NOTIFICATIONS waiting at a time; beyond them
 * a burst (an agent filing a hundred requests) shares one silent summary, "N more commands waiting", redrawn at
 * most once per SUMMARY_DELAY_MS, so a flood neither buries the desktop nor beeps a hundred times.
 * A notification never allows: allowing happens in the prompt, which shows "What this
 * does" and holds Allow back until the whole command was on screen (issue 9 finding 3). macOS and Windows get a
 * "Deny" action when the command is short, on one line and shown whole; clicking opens the prompt.
 */
export class ApprovalNotifier {
  private readonly shown = new Map<string, NotificationLike>();
  /** Waiting approvals without a notification of their own, in arrival order. */
  private readonly overflow = new Set<string>();
  private summary?: NotificationLike;
  /** The count the summary shows (or last showed, when the person closed it). */
  private summaryCount = 0;
  private redrawQueued = false;

  private readonly t: MainTranslate;

  constructor(private readonly options: ApprovalNotifierOptions) {
    this.t = options.translate ?? englishMain;
  }

  notify(view: ApprovalPromptView): void {
    const { notifications, platform } = this.options;
    const id = view.promptId;
    if (!notifications.isSupported() || this.shown.has(id) || this.overflow.has(id)) return;
    if (this.shown.size >= MAX_APPROVAL_NOTIFICATIONS) {
      this.overflow.add(id);
      this.queueSummaryRedraw();
      return;
    }
    const command = view.command.text;
    const whole = command.length <= NOTIFICATION_COMMAND_MAX && !command.includes('\n');
    const actions: Decision[] =
      whole && (platform === 'darwin' || platform === 'win32') ? view.decisions.filter((d) => d === 'deny') : [];
    const body = whole
      ? command
      : this.t(view.warnings.length > 0 ? 'notify.warningsOpenToReview' : 'notify.openToReview');
    const notification = notifications.create({
      title: view.title,
      body,
      silent: false,
      urgency: 'critical',
      timeoutType: 'never',
      actions: actions.map(() => ({ type: 'button' as const, text: this.t('notify.deny') })),
      closeButtonText: this.t('notify.later'),
    });
    notification.on('click', () => this.options.onOpen(view.promptId));
    notification.on('action', (details, legacyIndex) => {
      const index = (details as { actionIndex?: number } | undefined)?.actionIndex ?? legacyIndex;
      const decision = actions[index];
      if (decision) this.options.onDecide(view.promptId, decision);
    });
    notification.on('close', () => this.shown.delete(view.promptId));
    this.watchDelivery(notification, () => {
      if (this.shown.get(view.promptId) === notification) this.shown.delete(view.promptId);
    });
    this.shown.set(view.promptId, notification);
    notification.show();
  }

  /** The request ended: its notification goes away (or it leaves the summary's count). */
  dismiss(id: string): void {
    if (this.overflow.delete(id)) {
      this.queueSummaryRedraw();
      return;
    }
    const notification = this.shown.get(id);
    this.shown.delete(id);
    notification?.close();
  }

  private queueSummaryRedraw(): void {
    if (this.redrawQueued) return;
    this.redrawQueued = true;
    const schedule = this.options.schedule ?? ((redraw) => setTimeout(redraw, SUMMARY_DELAY_MS).unref());
    schedule(() => {
      this.redrawQueued = false;
      this.redrawSummary();
    });
  }

  private redrawSummary(): void {
    const count = this.overflow.size;
    if (count === this.summaryCount) return;
    this.summaryCount = count;
    const previous = this.summary;
    this.summary = undefined;
    previous?.close();
    if (count === 0) return;
    const notification = this.options.notifications.create({
      title: this.t('notify.summaryTitle', { count }),
      body: this.t('notify.summaryBody'),
      // The burst's first notifications already made a sound; the summary only keeps the count.
      silent: true,
      urgency: 'normal',
      timeoutType: 'never',
      actions: [],
      closeButtonText: this.t('notify.later'),
    });
    notification.on('click', () => {
      const [first] = this.overflow;
      if (first) this.options.onOpen(first);
    });
    notification.on('close', () => {
      if (this.summary === notification) this.summary = undefined;
    });
    this.watchDelivery(notification, () => {
      if (this.summary === notification) this.summary = undefined;
    });
    this.summary = notification;
    notification.show();
  }

  private watchDelivery(notification: NotificationLike, forget: () => void): void {
    notification.on('show', () => this.options.onShown?.());
    notification.on('failed', (_event, error) => {
      // A notification that never showed does not hold one of the places of its own.
      forget();
      this.options.onFailed?.(String(error));
    });
  }
}
