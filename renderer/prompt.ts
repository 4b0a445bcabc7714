import {
  PROMPT_ALLOW_DELAY_MS,
  type ApprovalPromptView,
  type ClawdeskApi,
  type Decision,
} from '../common/ipc-contract';
import { h } from './dom';
import { t, type MessageKey } from './i18n';

const LABEL: Record<Decision, MessageKey> = {
  'allow-once': 'decision.allowOnce',
  'allow-always': 'decision.allowAlways',
  deny: 'decision.deny',
};

/** The prompt on screen: its id, and how to take it down (timers, listeners). */
let showing: { promptId: string; root: HTMLElement; teardown(): void } | null = null;

/**
 * Allow opens only when both hold: PROMPT_ALLOW_DELAY_MS have passed while the page was visible, and the whole
 * command has been in view — its top and its end, inside the command box (it scrolls) and inside the window.
 */
class AllowGate {
  private timeOk = false;
  private seenTop = false;
  private seenEnd = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly command: HTMLElement,
    /** The sticky button bar: what lies under it is not in view. */
    private readonly bar: HTMLElement,
    private readonly onChange: (state: { ready: boolean; hint: string }) => void,
  ) {
    const check = () => this.check();
    const listen = (target: EventTarget, type: string, listener: EventListener) => {
      target.addEventListener(type, listener, { passive: true });
      this.cleanups.push(() => target.removeEventListener(type, listener));
    };
    listen(command, 'scroll', check);
    listen(window, 'scroll', check);
    listen(window, 'resize', check);
    // Hidden and shown again (another window in front, minimised): the wait starts over.
    listen(document, 'visibilitychange', () => this.restartClock());
    this.restartClock();
    requestAnimationFrame(check);
  }

  get ready(): boolean {
    return this.timeOk && this.seenTop && this.seenEnd;
  }

  private restartClock(): void {
    clearTimeout(this.timer);
    this.timeOk = false;
    if (document.visibilityState === 'visible') {
      this.timer = setTimeout(() => {
        this.timeOk = true;
        this.report();
      }, PROMPT_ALLOW_DELAY_MS);
    }
    this.report();
  }

  private check(): void {
    const box = this.command;
    const rect = box.getBoundingClientRect();
    const visibleBottom = Math.min(window.innerHeight, this.bar.getBoundingClientRect().top);
    if (box.scrollTop <= 1 && rect.top >= -2 && rect.top < visibleBottom) this.seenTop = true;
    if (box.scrollHeight - box.scrollTop - box.clientHeight <= 2 && rect.bottom <= visibleBottom + 2 && rect.bottom > 0)
      this.seenEnd = true;
    this.report();
  }

  private report(): void {
    const hint = t(
      this.ready ? 'prompt.hintReady' : this.seenTop && this.seenEnd ? 'prompt.hintWait' : 'prompt.hintScroll',
    );
    this.onChange({ ready: this.ready, hint });
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }
}

/**
 * The approval prompt window: the command whole in monospace (computed and escaped by main), where that text comes
 * from, the agent's own description when it differs, "What this does", context, warnings, and the allowed
 * buttons. Deny has focus; Enter and Esc never allow (Esc denies); Allow is disabled until the AllowGate opens;
 * closing the window denies (main handles that). The same prompt is not rebuilt when main re-sends it, so the
 * reader's scroll position, focus and wait are kept.
 */
export function renderPrompt(root: HTMLElement, api: ClawdeskApi, view: ApprovalPromptView | null): void {
  if (view && showing?.promptId === view.promptId && showing.root === root && root.isConnected) return;
  showing?.teardown();
  showing = null;
  if (!view) {
    root.replaceChildren(h('main', { className: 'prompt' }, h('h1', {}, t('prompt.none'))));
    return;
  }

  const buttons = view.decisions.map((d) =>
    h(
      'button',
      {
        type: 'button',
        className: d === 'deny' ? 'danger' : 'allow',
        'data-decision': d,
        disabled: d !== 'deny',
        'aria-describedby': d === 'deny' ? undefined : 'allow-hint',
        onclick: () => decide(d),
      },
      t(LABEL[d]),
    ),
  );
  const deny = buttons.find((b) => b.dataset.decision === 'deny');
  const allows = buttons.filter((b) => b.dataset.decision !== 'deny');
  const hint = h(
    'p',
    { id: 'allow-hint', className: 'allow-hint', role: 'status', 'aria-live': 'polite' },
    t('prompt.hintScroll'),
  );
  const command = h(
    'pre',
    { className: 'command', tabindex: 0, 'aria-label': t('prompt.command'), dir: 'ltr' },
    h('code', {}, view.command.text),
  );
  // The buttons stay in view (sticky), so giving Deny the focus never scrolls the command away.
  const bar = h(
    'div',
    { className: 'prompt-bar' },
    allows.length > 0 ? hint : null,
    h('div', { className: 'actions prompt-actions' }, ...buttons),
  );

  root.replaceChildren(
    h(
      'main',
      { className: 'prompt', 'aria-labelledby': 'prompt-title', 'aria-describedby': 'prompt-message' },
      h('h1', { id: 'prompt-title' }, view.title),
      // Who asks, apart from what the request says about itself (Agent, Host): a gateway on another machine.
      view.origin
        ? h(
            'section',
            { className: 'prompt-origin', 'aria-labelledby': 'prompt-origin-h', 'data-testid': 'prompt-origin' },
            h('h2', { id: 'prompt-origin-h' }, t('prompt.gateway')),
            h(
              'p',
              {},
              h('bdi', { className: 'origin-name' }, view.origin.gateway),
              ' · ',
              h('bdi', { dir: 'ltr', className: 'origin-address' }, view.origin.address),
            ),
          )
        : null,
      h('p', { id: 'prompt-message' }, view.message),
      h('h2', {}, t('prompt.command')),
      h(
        'p',
        {
          className: view.commandSource === 'argv' ? 'command-note' : 'command-note unverified',
          'data-testid': 'command-note',
        },
        view.commandNote,
      ),
      command,
      ...view.agentDescriptions.map((d) =>
        h(
          'section',
          { className: 'agent-description', 'aria-label': d.label },
          h('h2', {}, d.label),
          h('p', { className: 'note' }, t('prompt.agentNote')),
          h('pre', { className: 'agent-text', tabindex: 0, 'aria-label': d.label, dir: 'ltr' }, h('code', {}, d.text)),
        ),
      ),
      h('h2', { id: 'effects-title' }, t('prompt.effects')),
      h(
        'ul',
        { className: 'effects', 'aria-labelledby': 'effects-title' },
        ...view.effects.map((e) => h('li', { className: `effect effect-${e.kind}`, 'data-kind': e.kind }, e.text)),
      ),
      view.warnings.length > 0
        ? h(
            'div',
            { role: 'alert' },
            h('ul', { className: 'warnings' }, ...view.warnings.map((w) => h('li', { className: 'warning' }, w))),
          )
        : null,
      h('h2', {}, t('prompt.context')),
      h(
        'dl',
        { className: 'context' },
        ...view.context.flatMap((line) => [
          h('dt', {}, line.label),
          h('dd', { className: line.flags.length ? 'flagged' : '' }, h('bdi', { dir: 'ltr' }, line.text)),
        ]),
      ),
      h('p', { className: 'footer' }, view.footer),
      bar,
    ),
  );
  document.title = view.title;

  let decided = false;
  const gate = new AllowGate(command, bar, ({ ready, hint: text }) => {
    for (const button of allows) button.disabled = !ready;
    if (hint.textContent !== text) hint.textContent = text;
  });
  function decide(decision: Decision): void {
    // A disabled button fires no click; this also refuses a synthetic one.
    if (decided || (decision !== 'deny' && !gate.ready)) return;
    decided = true;
    void api.decideApprovalPrompt(view!.promptId, decision);
  }
  const onKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      decide('deny');
    } else if (event.key === 'Enter' && (event.target as HTMLElement | null)?.dataset?.decision !== 'deny') {
      // Enter activates the focused button; it must never be an Allow (a keystroke meant for another window).
      event.preventDefault();
    }
  };
  // Deny keeps the focus: a click on a disabled Allow does not take it away, and whenever nothing has the focus
  // (a click on plain text, the window coming back), Deny takes it again.
  const onMouseDown = (event: MouseEvent) => {
    if ((event.target as Element | null)?.closest?.('button:disabled')) event.preventDefault();
  };
  const refocus = () => {
    if (!document.activeElement || document.activeElement === document.body) deny?.focus({ preventScroll: true });
  };
  const onFocusOut = (event: FocusEvent) => {
    if (event.relatedTarget === null) setTimeout(refocus, 0);
  };
  document.addEventListener('keydown', onKey, true);
  document.addEventListener('mousedown', onMouseDown, true);
  document.addEventListener('focusout', onFocusOut);
  window.addEventListener('focus', refocus);
  deny?.focus({ preventScroll: true });
  showing = {
    promptId: view.promptId,
    root,
    teardown: () => {
      gate.dispose();
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('mousedown', onMouseDown, true);
      document.removeEventListener('focusout', onFocusOut);
      window.removeEventListener('focus', refocus);
    },
  };
}
