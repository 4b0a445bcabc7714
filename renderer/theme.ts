/**
 * Light and dark. By default the page follows the OS through `prefers-color-scheme` (in Electron that is
 * nativeTheme, which follows the OS); a manual choice is kept in this origin's localStorage, so the dashboard
 * and the prompt window (same clawdesk://app origin) share it, and it applies to both at once.
 */
import type { ThemeChoice } from '../common/ipc-contract';
import { h } from './dom';
import { LOCALES, storedLocale, storeLocale, t, type MessageKey } from './i18n';

const KEY = 'clawdesk.theme';
const CHOICES: ReadonlyArray<{ id: ThemeChoice; label: MessageKey }> = [
  { id: 'system', label: 'theme.system' },
  { id: 'light', label: 'theme.light' },
  { id: 'dark', label: 'theme.dark' },
];

export function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    // Storage can be unavailable (a locked-down profile): the OS setting still applies.
    return 'system';
  }
}

export function applyTheme(choice: ThemeChoice = stored()): void {
  if (choice === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = choice;
}

// Another window of the app changed it.
window.addEventListener('storage', (event) => {
  if (event.key === KEY) applyTheme();
});

/** The choice picker; `onChange` tells main, so native parts (message boxes, title bars) follow it too. */
export function themeSwitch(onChange: (choice: ThemeChoice) => void = () => undefined): HTMLElement {
  const select = h(
    'select',
    {
      id: 'theme-choice',
      onchange: () => {
        const choice = select.value as ThemeChoice;
        try {
          if (choice === 'system') localStorage.removeItem(KEY);
          else localStorage.setItem(KEY, choice);
        } catch {
          // Not remembered, but still applied for this window.
        }
        applyTheme(choice);
        onChange(choice);
      },
    },
    ...CHOICES.map((c) => h('option', { value: c.id }, t(c.label))),
  );
  select.value = stored();
  return h('div', { className: 'theme-switch' }, h('label', { for: 'theme-choice' }, t('theme.label')), select);
}

/**
 * The language: the OS's (navigator.languages, which Electron takes from app.getLocale()) or one chosen here;
 * `onChange` tells main (null: the OS's again), so the tray and native dialogs follow it too.
 */
export function localeSwitch(onChange: (locale: string | null) => void = () => undefined): HTMLElement {
  const select = h(
    'select',
    {
      id: 'locale-choice',
      onchange: () => {
        storeLocale(select.value || null);
        onChange(select.value || null);
        // Every string is rendered in the new language, the open view and its typed input included.
        location.reload();
      },
    },
    h('option', { value: '' }, t('language.system')),
    // Each language named in itself, so a person who cannot read the current one still finds theirs.
    ...LOCALES.map((l) => h('option', { value: l.id, lang: l.id, dir: l.dir }, l.name)),
  );
  select.value = storedLocale() ?? '';
  return h('div', { className: 'theme-switch' }, h('label', { for: 'locale-choice' }, t('language.label')), select);
}
