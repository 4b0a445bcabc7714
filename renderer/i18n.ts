/**
 * Messages in the person's language, through intl-messageformat (FormatJS: ICU MessageFormat with CLDR plural
 * rules from the browser's Intl). The locale follows the OS (Electron sets navigator.languages from
 * app.getLocale()) unless chosen by hand; a message missing or broken in a translation falls back to English
 * for that message only, and is reported once.
 */
import {
  isArgumentElement,
  isPluralElement,
  isSelectElement,
  isTagElement,
  type MessageFormatElement,
} from '@formatjs/icu-messageformat-parser';
import { IntlMessageFormat } from 'intl-messageformat';
import { matchShippedLocale } from '../common/locale-match';
import { ar } from './locales/ar';
import { de } from './locales/de';
import { en, type Catalog, type MessageKey } from './locales/en';
import { es } from './locales/es';
import { fr } from './locales/fr';
import { ja } from './locales/ja';
import { ko } from './locales/ko';
import { ptBR } from './locales/pt-BR';
import { pseudo } from './locales/pseudo';
import { ru } from './locales/ru';
import { zhCN } from './locales/zh-CN';

export type { MessageKey };
export type Values = Record<string, string | number>;

export const PSEUDO_LOCALE = 'en-XA';

/** Every locale the renderer ships, with its own name for itself; `dir` is the writing direction. */
export const LOCALES: ReadonlyArray<{ id: string; name: string; dir: 'ltr' | 'rtl'; catalog: Partial<Catalog> }> = [
  { id: 'en', name: 'English', dir: 'ltr', catalog: en },
  { id: 'de', name: 'Deutsch', dir: 'ltr', catalog: de },
  { id: 'fr', name: 'Français', dir: 'ltr', catalog: fr },
  { id: 'es', name: 'Español', dir: 'ltr', catalog: es },
  { id: 'pt-BR', name: 'Português (Brasil)', dir: 'ltr', catalog: ptBR },
  { id: 'ja', name: '日本語', dir: 'ltr', catalog: ja },
  { id: 'zh-CN', name: '简体中文', dir: 'ltr', catalog: zhCN },
  { id: 'ko', name: '한국어', dir: 'ltr', catalog: ko },
  { id: 'ru', name: 'Русский', dir: 'ltr', catalog: ru },
  { id: 'ar', name: 'العربية', dir: 'rtl', catalog: ar },
  { id: PSEUDO_LOCALE, name: 'Pseudo (en-XA, testing)', dir: 'ltr', catalog: pseudo },
];

/** The best shipped locale for a list of preferences ("pt-PT" → "pt-BR", "zh-Hans-CN" → "zh-CN", else English). */
export function matchLocale(preferred: readonly string[]): string {
  return matchShippedLocale(
    LOCALES.map((l) => l.id),
    preferred,
  );
}

export interface Translator {
  locale: string;
  dir: 'ltr' | 'rtl';
  t(key: MessageKey, values?: Values): string;
}

export function createTranslator(
  locale: string,
  options: { catalog?: Partial<Catalog>; report?: (message: string) => void } = {},
): Translator {
  const entry = LOCALES.find((l) => l.id === locale) ?? LOCALES[0];
  const catalog = options.catalog ?? entry.catalog;
  const report = options.report ?? ((message: string) => console.warn(message));
  const compiled = new Map<MessageKey, IntlMessageFormat>();
  const reported = new Set<MessageKey>();
  const english = (key: MessageKey) => new IntlMessageFormat(en[key], 'en');
  const formatter = (key: MessageKey): IntlMessageFormat => {
    let format = compiled.get(key);
    if (format) return format;
    const text = catalog[key];
    try {
      if (text === undefined) throw new Error('missing');
      format = new IntlMessageFormat(text, entry.id === PSEUDO_LOCALE ? 'en' : entry.id);
    } catch (error) {
      once(key, `i18n: ${entry.id} message "${key}" ${error instanceof Error ? error.message : error}; using English`);
      format = english(key);
    }
    compiled.set(key, format);
    return format;
  };
  const once = (key: MessageKey, message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    report(message);
  };
  return {
    locale: entry.id,
    dir: entry.dir,
    t(key, values) {
      // In a right-to-left language, data placed into a sentence (a path, an address, a name) is isolated
      // (FSI…PDI) so its own direction cannot reorder the words around it.
      if (values && entry.dir === 'rtl') {
        const plain = plainArguments(formatter(key).getAst());
        values = Object.fromEntries(
          Object.entries(values).map(([k, v]) => [k, typeof v === 'string' && plain.has(k) ? `\u2068${v}\u2069` : v]),
        );
      }
      try {
        return String(formatter(key).format(values));
      } catch (error) {
        once(key, `i18n: ${entry.id} message "${key}" failed to format (${String(error)}); using English`);
        return String(english(key).format(values));
      }
    },
  };
}

/** The names of the {plain} placeholders of a message, at any depth (not the ones a plural or select keys on). */
function plainArguments(elements: MessageFormatElement[], out = new Set<string>()): Set<string> {
  for (const el of elements) {
    if (isArgumentElement(el)) out.add(el.value);
    else if (isPluralElement(el) || isSelectElement(el)) {
      for (const option of Object.values(el.options)) plainArguments(option.value, out);
    } else if (isTagElement(el)) plainArguments(el.children, out);
  }
  return out;
}

const KEY = 'clawdesk.locale';

export function storedLocale(): string | null {
  try {
    const value = localStorage.getItem(KEY);
    return value && LOCALES.some((l) => l.id === value) ? value : null;
  } catch {
    return null;
  }
}

export function storeLocale(locale: string | null): void {
  try {
    if (locale) localStorage.setItem(KEY, locale);
    else localStorage.removeItem(KEY);
  } catch {
    // Not remembered; still applied to this window.
  }
}

let current: Translator = createTranslator('en');

/** Picks the locale (the manual choice, else the OS's) and sets the document's language and direction. */
export function applyLocale(): Translator {
  current = createTranslator(storedLocale() ?? matchLocale(navigator.languages ?? [navigator.language]));
  document.documentElement.lang = current.locale;
  document.documentElement.dir = current.dir;
  return current;
}

export function t(key: MessageKey, values?: Values): string {
  return current.t(key, values);
}

export function locale(): string {
  return current.locale === PSEUDO_LOCALE ? 'en' : current.locale;
}
