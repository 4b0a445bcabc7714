/**
 * The main process's own words (tray menu and tooltip, the approval notifications' buttons and summary) in the person's language: the same library and rules as
 * the dashboard (renderer/i18n.ts: ICU MessageFormat through intl-messageformat, CLDR plurals from Node's Intl), and
 * the same locales. The locale follows the OS (`app.getPreferredSystemLanguages()`, then `app.getLocale()`); a
 * message missing or broken in a catalogue falls back to English for that message only, reported once.
 */
import { IntlMessageFormat } from 'intl-messageformat';
import { matchShippedLocale } from '../common/locale-match';
import { ar } from './locales/ar';
import { de } from './locales/de';
import { en, type MainCatalog, type MainMessageKey } from './locales/en';
import { es } from './locales/es';
import { fr } from './locales/fr';
import { ja } from './locales/ja';
import { ko } from './locales/ko';
import { ptBR } from './locales/pt-BR';
import { ru } from './locales/ru';
import { zhCN } from './locales/zh-CN';

export type { MainMessageKey };
export type MainValues = Record<string, string | number>;
export type MainTranslate = (key: MainMessageKey, values?: MainValues) => string;

export const MAIN_LOCALES: ReadonlyArray<{ id: string; catalog: Partial<MainCatalog> }> = [
  { id: 'en', catalog: en },
  { id: 'de', catalog: de },
  { id: 'fr', catalog: fr },
  { id: 'es', catalog: es },
  { id: 'pt-BR', catalog: ptBR },
  { id: 'ja', catalog: ja },
  { id: 'zh-CN', catalog: zhCN },
  { id: 'ko', catalog: ko },
  { id: 'ru', catalog: ru },
  { id: 'ar', catalog: ar },
];

/** The best shipped locale for a list of preferences (common/locale-match.ts), else English. */
export function matchMainLocale(preferred: readonly string[]): string {
  return matchShippedLocale(
    MAIN_LOCALES.map((l) => l.id),
    preferred,
  );
}

export function createMainTranslator(
  locale: string,
  options: { catalog?: Partial<MainCatalog>; report?: (message: string) => void } = {},
): MainTranslate {
  const entry = MAIN_LOCALES.find((l) => l.id === locale) ?? MAIN_LOCALES[0];
  const catalog = options.catalog ?? entry.catalog;
  const compiled = new Map<MainMessageKey, IntlMessageFormat>();
  const reported = new Set<MainMessageKey>();
  const fallBack = (key: MainMessageKey, why: string): IntlMessageFormat => {
    if (!reported.has(key)) {
      reported.add(key);
      options.report?.(`${entry.id}: message "${key}" ${why}; English is shown`);
    }
    return new IntlMessageFormat(en[key], 'en');
  };
  const formatter = (key: MainMessageKey): IntlMessageFormat => {
    let format = compiled.get(key);
    if (format) return format;
    const text = catalog[key];
    if (text === undefined) format = fallBack(key, 'is missing');
    else {
      try {
        format = new IntlMessageFormat(text, entry.id);
      } catch (error) {
        format = fallBack(key, `does not parse (${(error as Error).message})`);
      }
    }
    compiled.set(key, format);
    return format;
  };
  return (key, values) => {
    try {
      return String(formatter(key).format(values));
    } catch (error) {
      // A placeholder the translation names but English does not give: English for this one.
      return String(fallBack(key, `cannot be formatted (${(error as Error).message})`).format(values));
    }
  };
}

/** English, for tests and for callers that have no locale. */
export const englishMain: MainTranslate = createMainTranslator('en');
