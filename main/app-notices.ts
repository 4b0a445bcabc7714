/**
 * Problems the person should know about that are not an approval or a pairing: a settings file that was damaged
 * and set aside, notifications that the OS refuses, a tray host that went away. Each is one line of what happened
 * and one of what to do; the dashboard lists them under "Needs you" and the tray counts them, until the person
 * dismisses one or its cause clears. Nothing here ever decides an approval.
 */
import { englishMain, type MainMessageKey, type MainTranslate } from './main-i18n';

export interface AppNotice {
  /** Stable per cause ("settings:appearance", "notifications"): a repeat replaces, it does not pile up. */
  id: string;
  severity: 'warning' | 'error';
  message: string;
  fix: string;
  atMs: number;
  /** The language `message` and `fix` are in (main/main-i18n.ts MAIN_LOCALES). */
  lang: string;
}

/**
 * Words of main's catalogue (main/locales/en.ts) and their values, put into words when the notice is listed, in the
 * language of that moment: a notice raised before the language was known (a damaged language.json) or before the
 * person chose another one is listed in the current language. Values are data (a path, the OS's error text),
 * never translated.
 */
export interface NoticeText {
  key: MainMessageKey;
  values?: Record<string, string | number>;
  /** Values that are messages themselves (a settings file's name), translated first. */
  parts?: Record<string, MainMessageKey>;
}

/** What a feature module reports. */
export interface NoticeReport {
  id: string;
  severity: 'warning' | 'error';
  message: NoticeText;
  fix: NoticeText;
}

/** What a feature module is given: it reports its own causes and clears them when they go away. */
export type NoticeSink = Pick<AppNotices, 'report' | 'clear'>;

/** The language notices are listed in: main/main-language.ts's, late-bound. */
export interface NoticeLanguage {
  translate: MainTranslate;
  locale(): string;
}

/** The settings files a notice can name; the id stays `settings:<name>` (the name is English, stable). */
const SETTINGS: Record<string, { name: MainMessageKey; consequence: MainMessageKey }> = {
  appearance: { name: 'settingsName.appearance', consequence: 'notice.consequence.appearance' },
  language: { name: 'settingsName.language', consequence: 'notice.consequence.language' },
  update: { name: 'settingsName.update', consequence: 'notice.consequence.update' },
  'gateway mode': { name: 'settingsName.gatewayMode', consequence: 'notice.consequence.gatewayMode' },
  'OpenClaw install': { name: 'settingsName.openclawInstall', consequence: 'notice.consequence.openclawInstall' },
  'key storage': { name: 'settingsName.keyStorage', consequence: 'notice.consequence.keyStorage' },
};
export type SettingsName = 'appearance' | 'language' | 'update' | 'gateway mode' | 'OpenClaw install' | 'key storage';

/**
 * A settings file did not parse and was moved aside (readJsonFile's quarantine): defaults apply until chosen again;
 * the fix says which default.
 */
export function damagedSettings(name: SettingsName, movedTo: string | undefined): NoticeReport {
  const settings = SETTINGS[name];
  return {
    id: `settings:${name}`,
    severity: 'warning',
    message: movedTo
      ? { key: 'notice.damagedSettingsMoved', values: { path: movedTo }, parts: { name: settings.name } }
      : { key: 'notice.damagedSettings', parts: { name: settings.name } },
    fix: { key: settings.consequence },
  };
}

/** Where to turn an app's notifications on, per OS, after "Approvals still open their own window." */
export function notificationSettingsHint(platform: NodeJS.Platform): NoticeText {
  if (platform === 'darwin') return { key: 'notice.notificationsFix.darwin' };
  if (platform === 'win32') return { key: 'notice.notificationsFix.win32' };
  return { key: 'notice.notificationsFix.other' };
}

/** A notice's words in one language. */
export function noticeWords(text: NoticeText, t: MainTranslate = englishMain): string {
  const values: Record<string, string | number> = { ...text.values };
  for (const [name, key] of Object.entries(text.parts ?? {})) values[name] = t(key);
  return t(text.key, values);
}

/** A runaway source cannot grow the list without bound. */
export const MAX_NOTICES = 20;

export class AppNotices {
  private readonly notices = new Map<string, NoticeReport & { atMs: number }>();
  private language?: NoticeLanguage;

  constructor(
    private readonly options: {
      onChange(): void;
      now?: () => number;
    },
  ) {}

  /** From now on notices are listed in this language (set once main/main-language.ts has read the choice). */
  useLanguage(language: NoticeLanguage): void {
    this.language = language;
  }

  report(notice: NoticeReport): void {
    const existing = this.notices.get(notice.id);
    if (existing && same(existing.message, notice.message) && same(existing.fix, notice.fix)) return;
    this.notices.delete(notice.id);
    if (this.notices.size >= MAX_NOTICES) this.notices.delete(this.notices.keys().next().value!);
    this.notices.set(notice.id, { ...notice, atMs: (this.options.now ?? Date.now)() });
    this.options.onChange();
  }

  /** The cause went away, or the person dismissed it. */
  clear(id: string): boolean {
    if (!this.notices.delete(id)) return false;
    this.options.onChange();
    return true;
  }

  /** Oldest first, in the current language. */
  list(): AppNotice[] {
    const t = this.language?.translate ?? englishMain;
    const lang = this.language?.locale() ?? 'en';
    return [...this.notices.values()].map((n) => ({
      id: n.id,
      severity: n.severity,
      message: noticeWords(n.message, t),
      fix: noticeWords(n.fix, t),
      atMs: n.atMs,
      lang,
    }));
  }
}

function same(a: NoticeText, b: NoticeText): boolean {
  return (
    JSON.stringify([a.key, a.values ?? {}, a.parts ?? {}]) === JSON.stringify([b.key, b.values ?? {}, b.parts ?? {}])
  );
}
