import { API_GLOBAL, type ApprovalPromptView, type ClawdeskApi, type ThemeChoice } from '../common/ipc-contract';
import { h } from './dom';
import { renderPrompt } from './prompt';
import { applyLocale, storedLocale, t } from './i18n';
import { icon } from './icons';
import { applyTheme, localeSwitch, stored as storedTheme, themeSwitch } from './theme';
import { cleanError, VIEWS, type ViewContext, type ViewState } from './views';

declare global {
  interface Window {
    clawdesk: ClawdeskApi;
  }
}

const api = (window as unknown as Record<string, ClawdeskApi>)[API_GLOBAL];
const root = document.getElementById('app')!;

/** A theme main could not take (an older main, a failed write) still applies to the page. */
function tellMainTheme(choice: ThemeChoice): void {
  void api.setTheme(choice).catch(() => undefined);
}

/** The same for the language: main's tray, prompts and dialogs follow the dashboard's choice (null: the OS's). */
function tellMainLanguage(locale: string | null): void {
  void api.setLanguage(locale).catch(() => undefined);
}

/** Runs `load` and hands its result to `show` only if no later call started meanwhile: a slow, older answer never
 * replaces a newer one on screen. */
function latestOnly<T>(load: () => Promise<T>, show: (value: T) => void): () => Promise<void> {
  let generation = 0;
  return async () => {
    const mine = ++generation;
    const value = await load();
    if (mine === generation) show(value);
  };
}

async function startPrompt(): Promise<void> {
  const refresh = latestOnly<ApprovalPromptView | null>(
    () => api.getApprovalPrompt(),
    (view) => renderPrompt(root, api, view),
  );
  api.onEvent((event) => {
    if (event.topics.includes('prompt')) void refresh();
  });
  await refresh();
}

/** Where the focus and caret were inside `container`, so a re-render can put them back (by element id). */
function captureFocus(container: HTMLElement): (() => void) | null {
  const active = document.activeElement;
  if (!(active instanceof HTMLElement) || !active.id || !container.contains(active)) return null;
  const { id } = active;
  const caret =
    active instanceof HTMLInputElement && active.selectionStart !== null
      ? { start: active.selectionStart, end: active.selectionEnd ?? active.selectionStart }
      : null;
  return () => {
    const again = container.querySelector<HTMLElement>(`#${CSS.escape(id)}`);
    if (!again) return;
    again.focus({ preventScroll: true });
    if (caret && again instanceof HTMLInputElement) again.setSelectionRange(caret.start, caret.end);
  };
}

function startDashboard(): void {
  let current = VIEWS.find((v) => `#${v.id}` === location.hash) ?? VIEWS[0];
  const statusLine = h('p', { id: 'status-line', role: 'status', 'aria-live': 'polite' });
  const content = h('div', { id: 'content', tabindex: -1 });
  const tabs = VIEWS.map((v) =>
    h(
      'button',
      { type: 'button', id: `tab-${v.id}`, 'data-view': v.id, onclick: () => show(v.id) },
      icon(v.icon),
      h('span', {}, t(v.labelKey)),
    ),
  );

  /** Per view, what the person entered (search text, filters): kept across re-renders and tab switches. */
  const viewStates = new Map<string, ViewState>();
  let generation = 0;
  let patches = 0;

  const ctx: ViewContext = {
    api,
    get state() {
      let state = viewStates.get(current.id);
      if (!state) viewStates.set(current.id, (state = {}));
      return state;
    },
    refresh: () => void render(),
    act: async (label, action, describe) => {
      statusLine.textContent = t('action.running', { action: label });
      statusLine.className = '';
      try {
        const result = await action();
        statusLine.textContent = describe
          ? t('action.result', { action: label, result: describe(result) })
          : t('action.done', { action: label });
      } catch (error) {
        statusLine.textContent = t('action.failed', { action: label, reason: cleanError(error) });
        statusLine.className = 'error';
      }
      await render();
    },
  };

  async function render(): Promise<void> {
    // Only the latest render may reach the screen: an older one (a slow call, a tab left meanwhile) is dropped.
    const mine = ++generation;
    const shown = current;
    for (const tab of tabs) {
      if (tab.dataset.view === shown.id) tab.setAttribute('aria-current', 'page');
      else tab.removeAttribute('aria-current');
    }
    let next: HTMLElement;
    try {
      next = await shown.view(ctx);
    } catch (error) {
      next = h(
        'section',
        {},
        h('h2', {}, t(shown.labelKey)),
        h('p', { className: 'error', role: 'alert' }, cleanError(error)),
      );
    }
    if (mine !== generation) return;
    const restoreFocus = content.dataset.view === shown.id ? captureFocus(content) : null;
    content.replaceChildren(next);
    content.dataset.view = shown.id;
    restoreFocus?.();
  }

  /** Replaces the part of the shown view that a patch topic changes; dropped when a render began meanwhile or a newer patch exists. */
  async function patch(): Promise<void> {
    const shown = current;
    if (!shown.patch || content.dataset.view !== shown.id) return;
    const rendered = generation;
    const mine = ++patches;
    const apply = await shown.patch.load(ctx).catch(() => undefined);
    if (!apply || rendered !== generation || mine !== patches || content.dataset.view !== shown.id) return;
    const restoreFocus = captureFocus(content);
    apply(content);
    restoreFocus?.();
  }

  function show(id: string): void {
    current = VIEWS.find((v) => v.id === id) ?? VIEWS[0];
    history.replaceState(null, '', `#${current.id}`);
    statusLine.textContent = '';
    void render();
  }

  // Main opens the dashboard at a view (the tray's gateway lines: #gateways) by changing the fragment.
  window.addEventListener('hashchange', () => {
    const wanted = VIEWS.find((v) => `#${v.id}` === location.hash);
    if (wanted && wanted !== current) show(wanted.id);
  });

  root.replaceChildren(
    h(
      'header',
      { className: 'app-header' },
      h('h1', {}, 'Clawdesk'),
      h('div', { className: 'header-controls' }, localeSwitch(tellMainLanguage), themeSwitch(tellMainTheme)),
    ),
    h(
      'div',
      { className: 'shell' },
      h('nav', { 'aria-label': t('nav.sections') }, ...tabs),
      h('main', {}, statusLine, content),
    ),
  );
  // A view re-renders only for the topics it declares: an unrelated change never rebuilds what the person is using.
  api.onEvent((event) => {
    if (event.topics.some((topic) => current.topics.includes(topic))) void render();
    else if (current.patch && event.topics.some((topic) => current.patch!.topics.includes(topic))) void patch();
  });
  void render();
}

applyTheme();
// Main draws native parts in the same theme; this also carries a choice made before main remembered it.
tellMainTheme(storedTheme());
applyLocale();
tellMainLanguage(storedLocale());
if (location.hash === '#prompt') void startPrompt();
else startDashboard();
