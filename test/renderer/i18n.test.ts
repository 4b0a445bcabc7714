import {
  isArgumentElement,
  isDateElement,
  isNumberElement,
  isPluralElement,
  isSelectElement,
  isTagElement,
  isTimeElement,
  parse,
  type MessageFormatElement,
} from '@formatjs/icu-messageformat-parser';
import { IntlMessageFormat } from 'intl-messageformat';
import { describe, expect, it } from 'vitest';
import { createTranslator, LOCALES, matchLocale, PSEUDO_LOCALE } from '../../renderer/i18n';
import { en, type MessageKey } from '../../renderer/locales/en';
import { EXACT, GLOSSARY, USED_IN } from '../../renderer/locales/glossary';
import { COGNATES, hasEnglishWords } from './untranslated';

const KEYS = Object.keys(en) as MessageKey[];
const TRANSLATED = LOCALES.filter((l) => l.id !== 'en' && l.id !== PSEUDO_LOCALE);

/** Every placeholder a message uses, with its kind: "total:plural", "cwd:argument", nested ones included. */
function placeholders(elements: MessageFormatElement[], out = new Set<string>()): Set<string> {
  for (const el of elements) {
    if (isArgumentElement(el)) out.add(`${el.value}:argument`);
    else if (isNumberElement(el)) out.add(`${el.value}:number`);
    else if (isDateElement(el) || isTimeElement(el)) out.add(`${el.value}:date`);
    else if (isPluralElement(el) || isSelectElement(el)) {
      out.add(`${el.value}:${isPluralElement(el) ? 'plural' : 'select'}`);
      for (const option of Object.values(el.options)) placeholders(option.value, out);
    } else if (isTagElement(el)) placeholders(el.children, out);
  }
  return out;
}

function selectKeys(elements: MessageFormatElement[]): string[] {
  return elements.flatMap((el) => (isSelectElement(el) ? [`${el.value}:${Object.keys(el.options).sort()}`] : []));
}

/** Values that exercise every branch: counts 0, 1, 2, 5, 21 and every select key used in English. */
function sampleValues(key: MessageKey, count: number): Record<string, string | number> {
  const values: Record<string, string | number> = {};
  for (const p of placeholders(parse(en[key]))) {
    const [name, kind] = p.split(':');
    values[name] = kind === 'plural' || kind === 'number' ? count : kind === 'select' ? 'yes' : `«${name}»`;
  }
  return values;
}

describe('catalogues', () => {
  it('ship the nine languages the issue names, an RTL one and the pseudo-locale', () => {
    expect(LOCALES.map((l) => l.id)).toEqual([
      'en',
      'de',
      'fr',
      'es',
      'pt-BR',
      'ja',
      'zh-CN',
      'ko',
      'ru',
      'ar',
      PSEUDO_LOCALE,
    ]);
    expect(LOCALES.filter((l) => l.dir === 'rtl').map((l) => l.id)).toEqual(['ar']);
  });

  for (const locale of LOCALES.filter((l) => l.id !== 'en')) {
    describe(locale.id, () => {
      it('has exactly the English keys', () => {
        expect(Object.keys(locale.catalog).sort()).toEqual([...KEYS].sort());
      });

      it('is valid ICU with the placeholders and select keys of English, and formats every plural form', () => {
        for (const key of KEYS) {
          const text = locale.catalog[key]!;
          const ast = parse(text);
          expect([...placeholders(ast)].sort(), key).toEqual([...placeholders(parse(en[key]))].sort());
          expect(selectKeys(ast), key).toEqual(selectKeys(parse(en[key])));
          const format = new IntlMessageFormat(text, locale.id === PSEUDO_LOCALE ? 'en' : locale.id);
          for (const count of [0, 1, 2, 5, 21, 1000]) {
            const out = String(format.format(sampleValues(key, count)));
            // Every data placeholder appears in the output: a translation cannot silently drop the directory.
            for (const [name, value] of Object.entries(sampleValues(key, count))) {
              if (typeof value === 'string' && value.startsWith('«')) expect(out, `${key} ${name}`).toContain(value);
            }
          }
        }
      });
    });
  }

  for (const locale of TRANSLATED) {
    it(`${locale.id}: no English left (except names and formats)`, () => {
      const left = KEYS.filter((key) => {
        if (locale.catalog[key] !== en[key] || COGNATES[locale.id]?.includes(key)) return false;
        return hasEnglishWords(en[key]);
      });
      expect(left).toEqual([]);
    });

    it(`${locale.id}: every word allowed to stay English still is (the allow-list is not stale)`, () => {
      for (const key of COGNATES[locale.id] ?? []) expect(locale.catalog[key], key).toBe(en[key]);
    });

    it(`${locale.id}: the security terms are the glossary's, everywhere they appear`, () => {
      const glossary = GLOSSARY[locale.id];
      expect(glossary, locale.id).toBeDefined();
      for (const [term, key] of Object.entries(EXACT)) {
        expect(locale.catalog[key], key).toBe(glossary[term as keyof typeof glossary].term);
      }
      for (const [term, keys] of Object.entries(USED_IN)) {
        const forms = glossary[term as keyof typeof glossary].forms;
        for (const key of keys) {
          expect(
            forms.some((form) => locale.catalog[key]!.includes(form)),
            `${key} uses ${term}: ${locale.catalog[key]}`,
          ).toBe(true);
        }
      }
      // Allow once, Always allow and Deny never read alike.
      const labels = Object.values(EXACT).map((key) => locale.catalog[key]);
      expect(new Set(labels).size).toBe(labels.length);
    });
  }

  it('English follows its own glossary', () => {
    for (const [term, keys] of Object.entries(USED_IN)) {
      for (const key of keys) {
        expect(
          GLOSSARY.en[term as keyof (typeof GLOSSARY)['en']].forms.some((f) => en[key].includes(f)),
          key,
        ).toBe(true);
      }
    }
  });

  it('the pseudo-locale is accented and at least 40% longer, with ICU syntax intact', () => {
    const pseudo = LOCALES.find((l) => l.id === PSEUDO_LOCALE)!.catalog;
    const t = createTranslator(PSEUDO_LOCALE);
    expect(pseudo['decision.deny']).toMatch(/^⟦Déñý [· ]+⟧$/);
    const text = t.t('activity.summary24h', { total: 2, breakdown: 'x' });
    expect(text).toMatch(/^⟦2 áppröválš íñ thé lášt 24 höürš: x. [· ]+⟧$/);
    for (const key of KEYS) expect(pseudo[key]!.length, key).toBeGreaterThanOrEqual(en[key].length * 1.4);
  });
});

describe('the translator', () => {
  it('a missing or broken message falls back to English for that message only, reported once', () => {
    const reports: string[] = [];
    const { 'decision.deny': _missing, ...partial } = LOCALES.find((l) => l.id === 'de')!.catalog;
    const t = createTranslator('de', {
      catalog: { ...partial, 'action.failed': '{action fehlgeschlagen' },
      report: (m) => reports.push(m),
    });
    expect(t.t('decision.deny')).toBe('Deny');
    expect(t.t('decision.deny')).toBe('Deny');
    expect(t.t('decision.allowOnce')).toBe('Einmal erlauben');
    expect(t.t('action.failed', { action: 'X', reason: 'Y' })).toBe('X failed: Y');
    expect(t.t('action.failed', { action: 'X', reason: 'Y' })).toBe('X failed: Y');
    expect(reports).toHaveLength(2);
    expect(reports[0]).toContain('de message "decision.deny"');
    expect(reports[1]).toContain('"action.failed"');
  });

  it('plural rules are the language’s own', () => {
    const ru = createTranslator('ru');
    const nodes = (total: number) => ru.t('overview.nodesConnected', { connected: 0, total });
    expect([1, 3, 5, 21].map(nodes)).toEqual([
      'Подключено 0 из 1 узла',
      'Подключено 0 из 3 узлов',
      'Подключено 0 из 5 узлов',
      'Подключено 0 из 21 узла',
    ]);
    const ar = createTranslator('ar');
    expect(ar.t('overview.nodesConnected', { connected: 1, total: 2 })).toContain('عقدتين');
    expect(createTranslator('en').t('overview.nodesConnected', { connected: 1, total: 1 })).toBe(
      '1 of 1 node connected',
    );
  });

  it('matches the OS locale to a shipped one, falling back to English', () => {
    expect(matchLocale(['de-AT'])).toBe('de');
    expect(matchLocale(['pt-PT'])).toBe('pt-BR');
    expect(matchLocale(['zh-Hans-CN', 'en'])).toBe('zh-CN');
    expect(matchLocale(['ar-EG'])).toBe('ar');
    expect(matchLocale(['sw', 'fr-CA'])).toBe('fr');
    expect(matchLocale(['sw'])).toBe('en');
    expect(createTranslator('ar').dir).toBe('rtl');
    // Data inside an RTL sentence is isolated; in LTR languages nothing is added.
    expect(createTranslator('ar').t('overview.port', { port: 18789 })).toBe('المنفذ 18789');
    expect(createTranslator('ar').t('pairing.approveNamed', { name: 'Pixel 9' })).toBe('قبول \u2068Pixel 9\u2069');
    expect(createTranslator('de').t('pairing.approveNamed', { name: 'Pixel 9' })).toBe('Pixel 9 annehmen');
    expect(createTranslator('ar').t('logs.fullLog', { file: '/var/log/gw.log' })).toBe(
      'السجل الكامل: \u2068/var/log/gw.log\u2069',
    );
    // A token line: its role and scopes are data, "revoked" is a branch of the message, not a piece glued on.
    const token = { role: 'operator', scopes: 'operator.read' };
    expect(createTranslator('de').t('devices.token', { ...token, revoked: 'yes' })).toBe(
      'operator-Token: operator.read (widerrufen)',
    );
    expect(createTranslator('ja').t('devices.token', { ...token, revoked: 'no' })).toBe(
      'operator トークン: operator.read',
    );
    // What a select keys on is not wrapped, so the branch still matches.
    const source = { platform: 'p', roles: 'r', scopes: 's', ip: '10.0.0.1' };
    expect(createTranslator('ar').t('card.pairingSource', { ...source, repair: 'yes' })).toContain('اقترن من قبل');
    expect(createTranslator('ar').t('card.pairingSource', { ...source, repair: 'no' })).toContain(
      '\u206810.0.0.1\u2069',
    );
  });
});
