import type { NotificationFactory, NotificationLike } from './electron-facades';
import type { ApprovalPromptView, Decision } from '../common/ipc-contract';

/** A notification body is short; decisions from it are offered only when the whole command fits. */
export const NOTIFICATION_COMMAND_MAX = 160;

export interface ApprovalNotifierOptions {
  notifications: NotificationFactory;
  platform: NodeJS.Platform;
  /** Clicking the notification brings the dialog up. */
  onOpen(id: string): void;
  onDecide(id: string, decision: Decision): void;
}

/**
 * One notification per approval request. It never allows: allowing happens in the prompt, which shows "What this
 * does" and holds Allow back until the whole command was on screen (issue 9 finding 3). macOS and Windows get a
 * "Deny" action when the command is short, on one line and shown whole; clicking opens the prompt.
 */
export class ApprovalNotifier {
  private readonly shown = new Map<string, NotificationLike>();

  constructor(private readonly options: ApprovalNotifierOptions) {}

  notify(view: ApprovalPromptView): void {
    const { notifications, platform } = this.options;
    if (!notifications.isSupported() || this.shown.has(view.promptId)) return;
    const command = view.command.text;
    const whole = command.length <= NOTIFICATION_COMMAND_MAX && !command.includes('\n');
    const actions: Decision[] =
      whole && (platform === 'darwin' || platform === 'win32') ? view.decisions.filter((d) => d === 'deny') : [];
    const body = whole
      ? command
      : `${view.warnings.length > 0 ? 'Has warnings. ' : ''}Open to review the full command.`;
    const notification = notifications.create({
      title: view.title,
      body,
      silent: false,
      urgency: 'critical',
      timeoutType: 'never',
      actions: actions.map(() => ({ type: 'button' as const, text: 'Deny' })),
      closeButtonText: 'Later',
    });
    notification.on('click', () => this.options.onOpen(view.promptId));
    notification.on('action', (details, legacyIndex) => {
      const index = (details as { actionIndex?: number } | undefined)?.actionIndex ?? legacyIndex;
      const decision = actions[index];
      if (decision) this.options.onDecide(view.promptId, decision);
    });
    notification.on('close', () => this.shown.delete(view.promptId));
    this.shown.set(view.promptId, notification);
    notification.show();
  }

  /** The request ended: its notification goes away. */
  dismiss(id: string): void {
    const notification = this.shown.get(id);
    this.shown.delete(id);
    notification?.close();
  }
}
