import { APP_ORIGIN } from './app-identity';
import type { ApprovalPresenter } from './approval-queue';
import type { ApprovalPromptView, Decision } from '../common/ipc-contract';

/** The window slice the prompt needs (a BrowserWindow satisfies it). */
export type PromptWindowLike = Pick<
  Electron.BrowserWindow,
  'loadURL' | 'show' | 'focus' | 'close' | 'isDestroyed' | 'once' | 'moveTop'
>;

export interface PromptWindowPresenterOptions {
  /** Creates the prompt window with secureWebPreferences; tests pass a fake. */
  createWindow(): PromptWindowLike;
  /** Used when the window cannot be shown (for example the page fails to load). */
  fallback: ApprovalPresenter;
  /** Tells the open prompt page to reload its view. */
  notifyPrompt(): void;
  /**
   * Called each time the prompt is brought forward: what the OS needs beyond show/moveTop/focus to get the person's
   * attention (macOS: `app.focus({ steal: true })`, an LSUIElement app is not activated by `focus()`; Linux: an
   * attention request, since Wayland ignores `alwaysOnTop` and refuses focus stealing).
   */
  requestAttention?(window: PromptWindowLike): void;
}

/**
 * The approval prompt as a small window (the same page on every OS): the command whole in monospace, Deny
 * focused. The answer arrives over IPC and reaches the queue directly; this presenter only owns the window,
 * whose closing means Deny.
 */
export class PromptWindowPresenter implements ApprovalPresenter {
  private window?: PromptWindowLike;

  constructor(private readonly options: PromptWindowPresenterOptions) {}

  present(view: ApprovalPromptView, signal: AbortSignal): Promise<Decision> {
    return new Promise<Decision>((resolve) => {
      let window: PromptWindowLike;
      try {
        window = this.options.createWindow();
      } catch {
        resolve(this.options.fallback.present(view, signal));
        return;
      }
      this.window = window;
      let settled = false;
      const finish = (decision: Decision | Promise<Decision>) => {
        if (settled) return;
        settled = true;
        if (this.window === window) this.window = undefined;
        resolve(decision);
      };
      window.once('closed', () => finish('deny'));
      signal.addEventListener('abort', () => {
        if (!window.isDestroyed()) window.close();
        finish('deny');
      });
      window.once('ready-to-show', () => {
        window.show();
        window.moveTop();
        window.focus();
        this.options.requestAttention?.(window);
      });
      window.loadURL(`${APP_ORIGIN}/index.html#prompt`).then(
        () => this.options.notifyPrompt(),
        () => {
          // Hand over to the fallback before closing: the window's "closed" must not read as Deny here.
          finish(this.options.fallback.present(view, signal));
          if (!window.isDestroyed()) window.close();
        },
      );
    });
  }

  focus(): void {
    if (this.window && !this.window.isDestroyed()) {
      this.window.show();
      this.window.focus();
      this.options.requestAttention?.(this.window);
    }
  }
}
