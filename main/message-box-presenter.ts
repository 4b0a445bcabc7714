import type { ApprovalPresenter } from './approval-queue';
import { toMessageBoxOptions } from './approval-prompt-text';
import type { DialogLike } from './electron-facades';
import type { ApprovalPromptView, Decision } from './ipc/ipc-contract';

/**
 * Presents an approval with the OS message box. Used when the prompt window cannot be created; the abort
 * signal closes the box as if cancelled, which maps to Deny.
 */
export class MessageBoxPresenter implements ApprovalPresenter {
  constructor(private readonly dialog: DialogLike) {}

  async present(view: ApprovalPromptView, signal: AbortSignal): Promise<Decision> {
    const { decisions, ...options } = toMessageBoxOptions(view);
    const result = await this.dialog.showMessageBox({ ...options, signal });
    return decisions[result.response] ?? 'deny';
  }
}
