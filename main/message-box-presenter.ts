import type { ApprovalPresenter } from './approval-queue';
import { toMessageBoxOptions } from './approval-prompt-text';
import type { DialogLike, MessageBoxOptions } from './electron-facades';
import { englishMain, type MainTranslate } from './main-i18n';
import { PROMPT_ALLOW_DELAY_MS, type ApprovalPromptView, type Decision } from '../common/ipc-contract';

export interface MessageBoxPresenterOptions {
  now?: () => number;
  /** An Allow that arrives sooner than this after the box appeared is too fast to be a reading of it. */
  minDecisionMs?: number;
  /** How many times the box is shown in all; a too-fast Allow on the last one is a Deny. */
  maxAsks?: number;
  /** The box's own words in the person's language; English when absent. */
  translate?: MainTranslate;
}

export function tooFastNote(minDecisionMs: number, t: MainTranslate = englishMain): string {
  return t('box.tooFast', { count: minDecisionMs / 1000 });
}

/**
 * Presents an approval with the OS message box. Used when the prompt window cannot be created; the abort signal
 * closes the box as if cancelled, which maps to Deny.
 *
 * A message box can neither disable its Allow button for a moment nor tell whether the command was read, so:
 * Deny is the default and the cancel action (Enter and Esc deny); a box too long to show whole offers only Deny
 * (approval-prompt-text.ts); and an Allow clicked sooner than PROMPT_ALLOW_DELAY_MS after the box appeared — a
 * click meant for something else when the box popped up under the pointer — is not taken: the box is shown again
 * with a note, and a second too-fast Allow is a Deny.
 */
export class MessageBoxPresenter implements ApprovalPresenter {
  private readonly now: () => number;
  private readonly minDecisionMs: number;
  private readonly maxAsks: number;
  private readonly t: MainTranslate;

  constructor(
    private readonly dialog: DialogLike,
    options: MessageBoxPresenterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.minDecisionMs = options.minDecisionMs ?? PROMPT_ALLOW_DELAY_MS;
    this.maxAsks = Math.max(1, options.maxAsks ?? 2);
    this.t = options.translate ?? englishMain;
  }

  async present(view: ApprovalPromptView, signal: AbortSignal): Promise<Decision> {
    const { decisions, ...base } = toMessageBoxOptions(view, this.t);
    let options: MessageBoxOptions = base;
    for (let ask = 1; ; ask++) {
      const shownAt = this.now();
      const result = await this.dialog.showMessageBox({ ...options, signal });
      const decision = decisions[result.response] ?? 'deny';
      if (decision === 'deny' || signal.aborted) return 'deny';
      if (this.now() - shownAt >= this.minDecisionMs) return decision;
      if (ask >= this.maxAsks) return 'deny';
      options = { ...base, detail: `${tooFastNote(this.minDecisionMs, this.t)}\n\n${base.detail ?? ''}` };
    }
  }
}
