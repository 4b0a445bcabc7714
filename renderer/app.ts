import { API_GLOBAL, type ClawdeskApi } from '../common/ipc-contract';
import { h } from './dom';
import { renderPrompt } from './prompt';
import { VIEWS, type ViewContext } from './views';

declare global {
  interface Window {
    clawdesk: ClawdeskApi;
  }
}

const api = (window as unknown as Record<string, ClawdeskApi>)[API_GLOBAL];
const root = document.getElementById('app')!;

async function startPrompt(): Promise<void> {
  renderPrompt(root, api, await api.getApprovalPrompt());
  api.onEvent(async (event) => {
    if (event.topics.includes('prompt')) renderPrompt(root, api, await api.getApprovalPrompt());
  });
}

function startDashboard(): void {
  let current = VIEWS.find((v) => `#${v.id}` === location.hash) ?? VIEWS[0];
  const statusLine = h('p', { id: 'status-line', role: 'status', 'aria-live': 'polite' });
  const content = h('div', { id: 'content', tabindex: -1 });
  const tabs = VIEWS.map((v) =>
    h('button', { type: 'button', id: `tab-${v.id}`, 'data-view': v.id, onclick: () => show(v.id) }, v.label),
  );

  const ctx: ViewContext = {
    api,
    refresh: () => void render(),
    act: async (label, action, describe) => {
      statusLine.textContent = `${label}…`;
      statusLine.className = '';
      try {
        const result = await action();
        statusLine.textContent = `${label}: ${describe?.(result) ?? 'done.'}`;
      } catch (error) {
        statusLine.textContent = `${label} failed: ${cleanError(error)}`;
        statusLine.className = 'error';
      }
      await render();
    },
  };

  async function render(): Promise<void> {
    for (const tab of tabs) {
      if (tab.dataset.view === current.id) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    try {
      const view = await current.view(ctx);
      content.replaceChildren(view);
      content.dataset.view = current.id;
    } catch (error) {
      content.replaceChildren(
        h('section', {}, h('h2', {}, current.label), h('p', { className: 'error', role: 'alert' }, cleanError(error))),
      );
      content.dataset.view = current.id;
    }
  }

  function show(id: string): void {
    current = VIEWS.find((v) => v.id === id) ?? VIEWS[0];
    history.replaceState(null, '', `#${current.id}`);
    statusLine.textContent = '';
    void render();
  }

  root.replaceChildren(
    h('header', {}, h('h1', {}, 'Clawdesk')),
    h('nav', { 'aria-label': 'Sections' }, ...tabs),
    h('main', {}, statusLine, content),
  );
  api.onEvent((event) => {
    if (event.topics.includes(current.id as never) || event.topics.includes('status')) void render();
  });
  void render();
}

/** Electron prefixes IPC errors with "Error invoking remote method '…': "; people only need the reason. */
function cleanError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Error invoking remote method '[^']+': (Error: )?/, '');
}

if (location.hash === '#prompt') void startPrompt();
else startDashboard();
