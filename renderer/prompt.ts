import type { ApprovalPromptView, ClawdeskApi, Decision } from '../main/ipc/ipc-contract';
import { h } from './dom';

const LABEL: Record<Decision, string> = { 'allow-once': 'Allow once', 'allow-always': 'Always allow', deny: 'Deny' };

/**
 * The approval prompt window: the command whole in monospace (already escaped by main), its context, warnings,
 * and the allowed buttons. Deny has focus; Esc denies; closing the window denies (main handles that).
 */
export function renderPrompt(root: HTMLElement, api: ClawdeskApi, view: ApprovalPromptView | null): void {
  if (!view) {
    root.replaceChildren(h('main', { className: 'prompt' }, h('h1', {}, 'No command is waiting for approval.')));
    return;
  }
  let decided = false;
  const decide = (decision: Decision) => {
    if (decided) return;
    decided = true;
    void api.decideApprovalPrompt(view.promptId, decision);
  };
  const buttons = view.decisions.map((d) =>
    h('button', { type: 'button', className: d === 'deny' ? 'danger' : '', 'data-decision': d, onclick: () => decide(d) }, LABEL[d]),
  );
  root.replaceChildren(
    h(
      'main',
      { className: 'prompt', 'aria-labelledby': 'prompt-title', 'aria-describedby': 'prompt-message' },
      h('h1', { id: 'prompt-title' }, view.title),
      h('p', { id: 'prompt-message' }, view.message),
      h('h2', {}, 'Command'),
      h('pre', { className: 'command', tabindex: 0, 'aria-label': 'Command' }, h('code', {}, view.command.text)),
      h('h2', {}, 'Context'),
      h('dl', { className: 'context' }, ...view.context.flatMap((line) => [h('dt', {}, line.label), h('dd', { className: line.flags.length ? 'flagged' : '' }, line.text)])),
      view.warnings.length > 0 ? h('div', { role: 'alert' }, h('ul', { className: 'warnings' }, ...view.warnings.map((w) => h('li', { className: 'warning' }, w)))) : null,
      h('p', { className: 'footer' }, view.footer),
      h('div', { className: 'actions prompt-actions' }, ...buttons),
    ),
  );
  document.title = view.title;
  const deny = buttons.find((b) => b.dataset.decision === 'deny');
  deny?.focus();
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      decide('deny');
    }
  });
}
