import type { Page } from 'playwright-core';
import type { Catalog, MessageKey } from '../../renderer/locales/en';

/**
 * What counts as English left in a translation: shared by the catalogue checks (i18n.test.ts) and the rendered-view
 * checks (dashboard.test.ts), so both allow exactly the same words.
 */

/** Words that stay as they are in every language: names and formats. */
export const NAMES = new Set([
  'Clawdesk',
  'OpenClaw',
  'JSON',
  'CSV',
  'IP',
  'Agent',
  'Gateway',
  'Host',
  'Version',
  's',
  'min',
]);

/** Messages spelled the same in a language and in English. */
export const COGNATES: Record<string, readonly MessageKey[]> = {
  fr: ['overview.port', 'nav.secrets', 'migration.title', 'devices.colActions'],
  de: ['migration.title', 'gateways.runner', 'gateways.name', 'gateways.authToken'],
  es: ['common.no', 'gateways.no', 'gateways.authToken'],
  'pt-BR': ['gateways.authToken'],
};

/** True when `text` (a message, or a piece of a rendered page) has a word that is neither a name nor a format. */
export function hasEnglishWords(text: string): boolean {
  const words = text.replace(/\{[^{}]*\}/g, ' ').match(/\p{L}+/gu) ?? [];
  return words.some((w) => !NAMES.has(w));
}

/**
 * The UI text of the view on screen (`#content`): its text nodes and the labels people and screen readers are given
 * (aria-label, title, placeholder, alt), one entry each, trimmed. Data is left out: what sits in `code`, `pre`,
 * `bdi` and `time` (commands, paths, names, ids, times), and text main computes, which the view marks with `lang`
 * (not translated yet).
 */
export function uiText(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const root = document.querySelector('#content')!;
    const isData = (el: Element) => {
      const data = el.closest('code, pre, bdi, time, [lang]');
      return data !== null && root.contains(data);
    };
    const out: string[] = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent?.trim();
      if (text && node.parentElement && !isData(node.parentElement)) out.push(text);
    }
    for (const el of root.querySelectorAll('*')) {
      if (isData(el)) continue;
      for (const name of ['aria-label', 'title', 'placeholder', 'alt']) {
        const value = el.getAttribute(name)?.trim();
        if (value) out.push(value);
      }
    }
    return out;
  });
}

/**
 * In the pseudo-locale every catalogue message is wrapped in ⟦…⟧: what is left of a piece of UI text once the
 * messages are taken out (innermost first: a message may hold another in a placeholder) must have no letters.
 * Anything else was written into the view instead of taken from the catalogue.
 */
export function hardCoded(segments: readonly string[]): string[] {
  return segments.filter((segment) => {
    let rest = segment;
    for (let before = ''; before !== rest;) {
      before = rest;
      rest = rest.replace(/⟦[^⟦⟧]*⟧/g, ' ');
    }
    return /\p{L}/u.test(rest);
  });
}

/**
 * The pieces of UI text a locale shows exactly as English shows them on the same view (`english`), with a word
 * that is not a name, unless the locale's catalogue spells that message the same way on purpose (COGNATES).
 */
export function englishLeftovers(
  segments: readonly string[],
  english: ReadonlySet<string>,
  locale: { id: string; catalog: Partial<Catalog> },
): string[] {
  const cognates = new Set((COGNATES[locale.id] ?? []).map((key) => locale.catalog[key]));
  return segments.filter((s) => english.has(s) && hasEnglishWords(s) && !cognates.has(s));
}
