import path from 'node:path';
import { readJsonFile, writeJsonAtomic } from '../gateway/fs/atomic-file';
import { damagedSettings, type NoticeSink } from './app-notices';
import { createMainTranslator, MAIN_LOCALES, matchMainLocale, type MainTranslate } from './main-i18n';

export interface MainLanguageDeps {
  userDataDir: string;
  /** The OS's languages, most preferred first (`app.getPreferredSystemLanguages()`, then `app.getLocale()`). */
  systemLanguages(): readonly string[];
  log: (level: 'info' | 'warn', message: string) => void;
  notices?: NoticeSink;
  /** The language changed: what is on screen now (the tray) is drawn again. */
  onChange?(): void;
}

export interface MainLanguage {
  /**
   * The current language's words. Late-bound: whatever asks after a change (the tray redrawn, the next prompt,
   * dialog or notification) gets the new language; what is already on screen keeps its words.
   */
  translate: MainTranslate;
  /** The shipped locale in use (main/main-i18n.ts MAIN_LOCALES). */
  locale(): string;
  /** The dashboard's manual choice, or null when the OS's languages apply. */
  choice(): string | null;
  /** Null: follow the OS again. A locale the dashboard offers; one main does not ship is matched (en-XA → en). */
  setLanguage(choice: string | null): Promise<void>;
}

export const LANGUAGE_FILE = 'language.json';

const SHIPPED = new Set(MAIN_LOCALES.map((l) => l.id));
/** A BCP 47 tag as the dashboard sends one (renderer/i18n.ts LOCALES ids): "de", "pt-BR", "zh-CN", "en-XA". */
export const LANGUAGE_TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$/;

/**
 * The dashboard's manual language for what main shows itself (the tray, the approval prompt's own words, native
 * dialogs, notifications), kept the way the theme is (main/appearance.ts): the page tells main (IPC setLanguage),
 * and the choice is remembered in `<userData>/language.json`, read at start before the tray or any dialog exists.
 * Without a choice, or with a damaged file (moved aside, said so), the OS's languages apply.
 */
export async function setupMainLanguage(deps: MainLanguageDeps): Promise<MainLanguage> {
  const file = path.join(deps.userDataDir, LANGUAGE_FILE);
  const read = await readJsonFile<{ language: string | null }>(file, {
    maxBytes: 4096,
    parse: (value) => {
      const language = (value as { language?: unknown } | null)?.language;
      if (language !== null && !(typeof language === 'string' && SHIPPED.has(language)))
        throw new Error(`"language" must be null or one of ${[...SHIPPED].join(', ')}`);
      return { language };
    },
  }).catch((error: unknown) => {
    deps.log('warn', `could not read ${file}: ${(error as Error).message}`);
    return undefined;
  });
  if (read?.kind === 'corrupt') {
    deps.log('warn', `${read.error}; moved to ${read.quarantinedTo}, following the OS`);
    // Listed in the language resolved below (main/index.ts hands this language to the notices).
    deps.notices?.report(damagedSettings('language', read.quarantinedTo));
  }
  let chosen: string | null = read?.kind === 'ok' ? read.value.language : null;
  const report = (message: string) => deps.log('warn', `translation: ${message}`);
  const resolve = () => chosen ?? matchMainLocale(deps.systemLanguages());
  let locale = resolve();
  let current = createMainTranslator(locale, { report });
  return {
    translate: (key, values) => current(key, values),
    locale: () => locale,
    choice: () => chosen,
    async setLanguage(choice) {
      if (choice !== null && (typeof choice !== 'string' || !LANGUAGE_TAG.test(choice)))
        throw new Error(`unknown language "${String(choice)}"`);
      const next = choice === null ? null : matchMainLocale([choice]);
      if (next === chosen) return;
      chosen = next;
      const nextLocale = resolve();
      if (nextLocale !== locale) {
        locale = nextLocale;
        current = createMainTranslator(locale, { report });
        deps.log('info', `language: ${locale}${chosen === null ? ' (the OS’s)' : ''}`);
        deps.onChange?.();
      }
      await writeJsonAtomic(file, { language: chosen });
    },
  };
}
