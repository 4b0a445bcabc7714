import {
  buildApprovalPrompt,
  DEFAULT_PROMPT_LIMITS,
  promptKey,
  type ExecApprovalRequested,
  type PromptLimits,
  type PromptOrigin,
} from './approval-prompt-text';
import { PROMPT_ALLOW_DELAY_MS, type ApprovalPromptView, type Decision } from '../common/ipc-contract';
import type { MainTranslate } from './main-i18n';
import { PromptQueue } from './prompt-queue';

/** Shows one prompt and answers with the user's choice. Cancel, Esc and closing must answer `deny`. */
export interface ApprovalPresenter {
  present(view: ApprovalPromptView, signal: AbortSignal): Promise<Decision>;
  /** Brings the prompt that is showing to the front (a notification was clicked). */
  focus?(): void;
}

export type PresentBlocker = 'no-display' | 'locked' | 'suspended' | 'user-away' | 'disabled';

export type OutcomeSource =
  /** The person chose in the dialog, a notification action or the dashboard. */
  | 'user'
  /** No answer before the timeout, or the app could not present: the askFallback policy decided. */
  | 'fallback'
  /** Another approval client resolved it first, or the gateway expired it. */
  | 'elsewhere'
  /** Denied without asking: the command could not be shown whole. */
  | 'unreviewable';

export interface ApprovalOutcome {
  /** The prompt's id (the request's id, prefixed with its gateway's name for a gateway on another machine). */
  id: string;
  /** null: this app does not decide (resolved elsewhere, or the fallback left it to the gateway). */
  decision: Decision | null;
  source: OutcomeSource;
  detail?: string;
}

export interface ApprovalQueueOptions {
  presenter: ApprovalPresenter;
  /** Why a prompt cannot be shown right now, or undefined when it can. */
  blocker(): PresentBlocker | undefined;
  /** askFallback for this request (deny / allowlist / full resolved by the policy engine); null leaves it undecided. */
  fallback(
    event: ExecApprovalRequested,
    reason: 'timeout' | PresentBlocker,
  ): Promise<Decision | null> | Decision | null;
  /** How long the person has to answer before askFallback decides; the request's expiry also bounds it. */
  promptTimeoutMs?: number;
  limits?: PromptLimits;
  /** The prompt's own words in the person's language (main/main-i18n.ts); English when absent. */
  translate?: MainTranslate;
  now?: () => number;
  /**
   * An Allow that does not come from the dialog itself counts only while its prompt is showing and has been for this
   * long (the prompt window holds Allow back the same way; this keeps a renderer or an IPC caller from skipping it).
   */
  minAllowMs?: number;
  /** Told about every request that reaches the head of the queue or joins it (notifications, tray badge). */
  onChange?(): void;
  onOutcome?(event: ExecApprovalRequested, outcome: ApprovalOutcome): void;
}

interface Entry {
  /** promptKey(): the request's id, kept apart per gateway on another machine. */
  key: string;
  event: ExecApprovalRequested;
  view: ApprovalPromptView;
  settle(outcome: ApprovalOutcome): void;
  done: Promise<ApprovalOutcome>;
  timer?: ReturnType<typeof setTimeout>;
  showing: boolean;
  shownAtMs?: number;
}

/**
 * The exec-approval prompt queue: one dialog at a time, in arrival order. Each request ends exactly once —
 * by the person, by askFallback (timeout or cannot present), by being resolved elsewhere or expiring, or by
 * an immediate deny when it cannot be shown whole.
 */
export class ApprovalQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly prompts = new PromptQueue<Entry>((entry, signal) => this.show(entry, signal));
  private readonly now: () => number;

  constructor(private readonly options: ApprovalQueueOptions) {
    this.now = options.now ?? Date.now;
  }

  canPresent(): boolean {
    return this.options.blocker() === undefined;
  }

  /** Pending prompts, head first (for the tray count and the dashboard). */
  pending(): ApprovalPromptView[] {
    return this.prompts.list().map((entry) => entry.view);
  }

  current(): ApprovalPromptView | undefined {
    const entry = this.prompts.head();
    return entry?.showing ? entry.view : undefined;
  }

  /**
   * Queues a request; resolves when it has ended one way or another. The same id twice from the same gateway shares
   * one outcome; `origin` names a gateway on another machine, whose ids never meet another gateway's (a remote
   * gateway reusing a local request's id must not get the person's answer to that one).
   */
  request(event: ExecApprovalRequested, origin?: PromptOrigin): Promise<ApprovalOutcome> {
    const key = promptKey(event.id, origin);
    const existing = this.entries.get(key);
    if (existing) return existing.done;

    const built = buildApprovalPrompt(
      event,
      this.options.limits ?? DEFAULT_PROMPT_LIMITS,
      undefined,
      origin,
      this.options.translate,
    );
    if (built.kind === 'deny') {
      const outcome: ApprovalOutcome = { id: key, decision: 'deny', source: 'unreviewable', detail: built.detail };
      this.options.onOutcome?.(event, outcome);
      return Promise.resolve(outcome);
    }
    const blocker = this.options.blocker();
    if (blocker !== undefined) return this.fallbackWithoutPrompt(key, event, blocker);

    let settle!: (outcome: ApprovalOutcome) => void;
    const done = new Promise<ApprovalOutcome>((resolve) => (settle = resolve));
    const entry: Entry = { key, event, view: built.view, settle, done, showing: false };
    this.entries.set(key, entry);

    // No usable expiry (a hostile or broken gateway): only the prompt timeout bounds it.
    const untilExpiry = Number.isFinite(event.expiresAtMs) ? event.expiresAtMs - this.now() : Number.POSITIVE_INFINITY;
    const promptTimeout = this.options.promptTimeoutMs ?? Number.POSITIVE_INFINITY;
    const timeout = Math.max(0, Math.min(promptTimeout, untilExpiry));
    // Expiry first (or already past, e.g. queued late on a loaded machine): the gateway decides, not askFallback.
    const expiresFirst = untilExpiry <= promptTimeout;
    if (Number.isFinite(timeout)) entry.timer = setTimeout(() => void this.onTimeout(key, expiresFirst), timeout);

    this.prompts.add(entry);
    this.options.onChange?.();
    return done;
  }

  /**
   * The person decided outside the dialog (prompt window, notification, dashboard). Unknown ids are ignored. An Allow
   * counts only for the prompt on screen, once it has been there for minAllowMs: otherwise the prompt is brought
   * forward and the request stays pending (true: this app holds it, so nobody resolves it behind the prompt's back).
   */
  decide(id: string, decision: Decision): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    const allowed = decision === 'deny' || entry.view.decisions.includes(decision);
    if (allowed && decision !== 'deny') {
      const shownFor = entry.showing && entry.shownAtMs !== undefined ? this.now() - entry.shownAtMs : -1;
      if (shownFor < (this.options.minAllowMs ?? PROMPT_ALLOW_DELAY_MS)) {
        this.focus();
        return true;
      }
    }
    this.finish(entry, {
      id,
      decision: allowed ? decision : 'deny',
      source: 'user',
      detail: allowed ? undefined : `${decision} is not allowed for this request`,
    });
    return true;
  }

  /** `exec.approval.resolved` arrived from the gateway: another client decided, or it expired. */
  resolvedElsewhere(id: string, detail?: string): void {
    const entry = this.entries.get(id);
    if (entry) this.finish(entry, { id, decision: null, source: 'elsewhere', detail });
  }

  /** Brings the showing prompt forward; when `id` is queued behind another, nothing else changes. */
  focus(): void {
    this.options.presenter.focus?.();
  }

  /** Ends everything (app quitting): open prompts close and their requests fall back. */
  async dispose(): Promise<void> {
    for (const entry of [...this.prompts.list()]) {
      if (this.entries.get(entry.key) === entry)
        this.finish(entry, {
          id: entry.key,
          decision: await this.options.fallback(entry.event, 'disabled'),
          source: 'fallback',
          detail: 'app closing',
        });
    }
  }

  private async fallbackWithoutPrompt(
    key: string,
    event: ExecApprovalRequested,
    reason: 'timeout' | PresentBlocker,
  ): Promise<ApprovalOutcome> {
    const outcome: ApprovalOutcome = {
      id: key,
      decision: await this.options.fallback(event, reason),
      source: 'fallback',
      detail: reason,
    };
    this.options.onOutcome?.(event, outcome);
    return outcome;
  }

  private async onTimeout(id: string, expired: boolean): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    if (expired) {
      // The gateway has expired it too; nothing this app says would count.
      this.finish(entry, { id, decision: null, source: 'elsewhere', detail: 'expired' });
      return;
    }
    // Close the dialog first so the person cannot answer after the fallback was chosen.
    this.remove(entry);
    const decision = await this.options.fallback(entry.event, 'timeout');
    this.finish(entry, { id, decision, source: 'fallback', detail: 'timeout' });
  }

  private remove(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    this.prompts.remove(entry);
  }

  private finish(entry: Entry, outcome: ApprovalOutcome): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.remove(entry);
    this.entries.delete(entry.key);
    entry.settle(outcome);
    this.options.onOutcome?.(entry.event, outcome);
    this.options.onChange?.();
  }

  /** The head of the queue: askFallback when it cannot be shown now, else its prompt until it ends. */
  private async show(entry: Entry, signal: AbortSignal): Promise<void> {
    const id = entry.key;
    const blocker = this.options.blocker();
    if (blocker !== undefined) {
      this.remove(entry);
      const decision = await this.options.fallback(entry.event, blocker);
      this.finish(entry, { id, decision, source: 'fallback', detail: blocker });
      return;
    }
    entry.showing = true;
    entry.shownAtMs = this.now();
    this.options.onChange?.();
    let choice: Decision;
    try {
      choice = await this.options.presenter.present(entry.view, signal);
    } catch {
      choice = 'deny';
    }
    entry.showing = false;
    // Closed because it ended some other way: that outcome stands, the dialog's answer is void.
    if (signal.aborted || this.entries.get(id) !== entry) return;
    const allowed = choice === 'deny' || entry.view.decisions.includes(choice);
    this.finish(entry, { id, decision: allowed ? choice : 'deny', source: 'user' });
  }
}
