import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppNotices, type AppNotice } from '../../main/app-notices';
import { setupAppearance } from '../../main/appearance';
import { ApprovalHistory } from '../../main/approval-history';
import { statusLine } from '../../main/auto-update';
import { historyWriteNotice } from '../../main/gateway';
import { createMainTranslator } from '../../main/main-i18n';
import { setupMainLanguage } from '../../main/main-language';

const FSI = '\u2068';
const PDI = '\u2069';
/** Latin words in a sentence once its data (the path, the OS's error text) and the product's names are taken out. */
const latinWords = (text: string, ...data: string[]) =>
  data
    .reduce((rest, value) => rest.split(value).join(' '), text)
    .replace(/Clawdesk|OpenClaw/g, ' ')
    .match(/[A-Za-z]{2,}/g) ?? [];

const dirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdesk-notices-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('app notices in the person’s language', () => {
  it('damaged settings found before the language is known are listed in German, then in Arabic once chosen; the path as it is', async () => {
    const userDataDir = tempDir();
    fs.writeFileSync(path.join(userDataDir, 'appearance.json'), '{"theme":"purple"}');
    fs.writeFileSync(path.join(userDataDir, 'language.json'), '{not json');
    const notices = new AppNotices({ onChange: () => undefined });
    const log = () => undefined;
    // The order of main/index.ts: the theme first (no translator exists yet), then the language.
    await setupAppearance({ nativeTheme: { themeSource: 'system' } as never, userDataDir, log, notices });
    const language = await setupMainLanguage({ userDataDir, systemLanguages: () => ['de-DE'], log, notices });
    notices.useLanguage(language);
    const moved = (name: string) => {
      const found = fs.readdirSync(userDataDir).filter((f) => f.startsWith(`${name}.json.`));
      expect(found, name).toHaveLength(1);
      return path.join(userDataDir, found[0]);
    };
    const appearanceMoved = moved('appearance');
    const languageMoved = moved('language');
    const byId = (list: AppNotice[], id: string) => list.find((n) => n.id === id)!;

    const german = notices.list();
    expect(german.map((n) => n.id)).toEqual(['settings:appearance', 'settings:language']);
    expect(german.every((n) => n.lang === 'de')).toBe(true);
    expect(byId(german, 'settings:appearance')).toMatchObject({
      message: `Clawdesks Einstellungen für Darstellung waren beschädigt und wurden nach ${appearanceMoved} verschoben.`,
      fix: 'Das Design folgt dem Betriebssystem, bis du wieder eines wählst.',
    });
    expect(byId(german, 'settings:language')).toMatchObject({
      message: `Clawdesks Einstellungen für Sprache waren beschädigt und wurden nach ${languageMoved} verschoben.`,
      fix: 'Die Sprache folgt dem Betriebssystem, bis du wieder eine wählst.',
    });

    await language.setLanguage('ar');
    const arabic = notices.list();
    expect(arabic.every((n) => n.lang === 'ar')).toBe(true);
    const appearance = byId(arabic, 'settings:appearance');
    // The path unchanged, isolated so that the Arabic sentence's direction does not reorder it.
    expect(appearance.message).toContain(`${FSI}${appearanceMoved}${PDI}`);
    expect(appearance.message).toContain('المظهر');
    for (const n of arabic) {
      expect(latinWords(n.message, appearanceMoved, languageMoved), n.message).toEqual([]);
      expect(latinWords(n.fix), n.fix).toEqual([]);
      expect(n.message).toMatch(/\p{Script=Arabic}{3}/u);
    }
    // The same cause reported again in another language is still one notice: the words are made when listed.
    expect(arabic).toHaveLength(2);
  });

  it('a decision the history cannot save: the OS’s error and its path as they are, in German and Arabic', async () => {
    const dir = tempDir();
    const historyFile = path.join(dir, 'approval-history.jsonl');
    fs.mkdirSync(historyFile); // a directory where the file should be: every append fails
    const history = new ApprovalHistory(historyFile);
    const error = await history
      .record({
        id: 'a1',
        command: 'ls',
        decision: 'allow-once',
        decidedBy: 'owner',
        requestedAtMs: 1,
        resolvedAtMs: 2,
      } as never)
      .then(
        () => expect.fail('the append should fail'),
        (e: Error) => e,
      );
    expect(error.message).toContain(historyFile);

    for (const [locale, expected] of [
      [
        'de',
        {
          message: `Entscheidungen werden nicht im Freigabeverlauf gespeichert (${error.message}).`,
          fix: 'Die Entscheidungen selbst gelten weiter. Gib Speicherplatz frei oder korrigiere die Berechtigungen von Clawdesks Datenordner.',
        },
      ],
      [
        'ar',
        {
          message: `لا تُحفظ القرارات في سجل الموافقات (${FSI}${error.message}${PDI}).`,
          fix: 'القرارات نفسها تبقى سارية. حرّر مساحة على القرص أو أصلح أذونات مجلد بيانات Clawdesk.',
        },
      ],
    ] as const) {
      const notices = new AppNotices({ onChange: () => undefined });
      notices.useLanguage({ translate: createMainTranslator(locale), locale: () => locale });
      notices.report(historyWriteNotice(error));
      expect(notices.list()).toEqual([
        expect.objectContaining({ id: 'approval-history-write', severity: 'error', lang: locale, ...expected }),
      ]);
    }
  });

  it('without a language (tests, the CLI) the English words stay what they were', () => {
    const notices = new AppNotices({ onChange: () => undefined });
    notices.report(historyWriteNotice(new Error('ENOSPC: no space left on device')));
    expect(notices.list()[0]).toMatchObject({
      message: 'Decisions are not being saved to the approval history (ENOSPC: no space left on device).',
      fix: 'The decisions themselves stand. Free disk space or fix the permissions of Clawdesk’s data folder.',
      lang: 'en',
    });
  });
});

describe('the updater’s own reasons in the person’s language', () => {
  const de = createMainTranslator('de');
  const ar = createMainTranslator('ar');

  it('off and timed out are Clawdesk’s words, translated (a German decimal comma); the updater’s error stays as it is', () => {
    expect(statusLine({ kind: 'off', reason: 'not a packaged build', own: { why: 'not-packaged' } }, '1.0.0', de)).toBe(
      'Updates aus: kein paketierter Build',
    );
    expect(
      statusLine({ kind: 'off', reason: 'the update feed is refused', own: { why: 'feed-refused' } }, '1.0.0', de),
    ).toBe('Updates aus: der Update-Feed wird abgelehnt');
    expect(
      statusLine({ kind: 'check-failed', reason: 'no answer…', own: { why: 'timeout', seconds: 0.3 } }, '1.0.0', de),
    ).toBe('Suche nach Updates fehlgeschlagen: keine Antwort vom Update-Feed innerhalb von 0,3 s');
    expect(statusLine({ kind: 'check-failed', reason: 'net::ERR_CONNECTION_REFUSED' }, '1.0.0', de)).toContain(
      'net::ERR_CONNECTION_REFUSED',
    );
    const off = statusLine(
      { kind: 'off', reason: 'this build cannot update itself', own: { why: 'cannot-update' } },
      '1.0.0',
      ar,
    );
    expect(off).toContain('هذا الإصدار لا يستطيع تحديث نفسه');
    expect(latinWords(off)).toEqual([]);
    // English unchanged for the log and for a person who reads English.
    expect(statusLine({ kind: 'off', reason: 'x', own: { why: 'not-packaged' } }, '1.0.0')).toBe(
      'Updates off: not a packaged build',
    );
  });
});
