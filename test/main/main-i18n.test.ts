import {
  isArgumentElement,
  isNumberElement,
  isPluralElement,
  isSelectElement,
  parse,
  type MessageFormatElement,
} from '@formatjs/icu-messageformat-parser';
import { describe, expect, it } from 'vitest';
import { ApprovalNotifier, MAX_APPROVAL_NOTIFICATIONS } from '../../main/approval-notifier';
import { buildApprovalPrompt } from '../../main/approval-prompt-text';
import type { NotificationLike } from '../../main/electron-facades';
import { createMainTranslator, MAIN_LOCALES, matchMainLocale } from '../../main/main-i18n';
import { en, type MainMessageKey } from '../../main/locales/en';
import { trayMenu, trayTooltip, type TrayActions, type TrayInputs } from '../../main/tray-model';
import { ar as rAr } from '../../renderer/locales/ar';
import { de as rDe } from '../../renderer/locales/de';
import { es as rEs } from '../../renderer/locales/es';
import { fr as rFr } from '../../renderer/locales/fr';
import { ja as rJa } from '../../renderer/locales/ja';
import { ko as rKo } from '../../renderer/locales/ko';
import { ptBR as rPtBR } from '../../renderer/locales/pt-BR';
import { ru as rRu } from '../../renderer/locales/ru';
import { zhCN as rZhCN } from '../../renderer/locales/zh-CN';
import { GLOSSARY } from '../../renderer/locales/glossary';

const KEYS = Object.keys(en) as MainMessageKey[];
const TRANSLATED = MAIN_LOCALES.filter((l) => l.id !== 'en');
/** Identical to English on purpose: the product's own words ("Gateway" is German and Portuguese too). */
const SAME_AS_ENGLISH: Record<string, readonly MainMessageKey[]> = {
  // "Agent" is German too (the dashboard's Activity view says the same); "No" is Spanish.
  // "OK" is the button's word in these languages too.
  de: ['menu.mode', 'field.agent', 'update.ok'],
  'pt-BR': ['menu.mode', 'update.ok'],
  fr: ['menu.channelStable', 'update.ok', 'construct.redirection'],
  es: ['keyFile.no'],
  ja: ['update.ok'],
};
/** Messages that must use the glossary's word for a term, in every language (English included). */
const USES_TERM: Record<'device' | 'node' | 'pairing', readonly MainMessageKey[]> = {
  device: ['pairing.deviceTitle', 'pairing.device', 'scope.pairing', 'keyFile.detail'],
  node: ['pairing.nodeTitle', 'pairing.nodeId', 'role.node', 'scope.admin'],
  pairing: [
    'tooltip.pairings',
    'menu.pairings',
    'pairing.failed',
    'pairing.repair',
    'pairing.repairNote',
    'update.waitDetail',
    'update.blockPairings',
  ],
};
/** The decisions a person makes: the glossary's exact words, the same as the dashboard's buttons. */
const EXACT_TERMS: ReadonlyArray<[MainMessageKey, 'allowOnce' | 'allowAlways' | 'deny' | 'approve' | 'reject']> = [
  ['decision.allowOnce', 'allowOnce'],
  ['decision.allowAlways', 'allowAlways'],
  ['decision.deny', 'deny'],
  ['notify.deny', 'deny'],
  ['pairing.approve', 'approve'],
  ['pairing.reject', 'reject'],
];

/** The dashboard's catalogues, for the words a notice names (a view, a button). */
const DASHBOARD: Record<string, { 'nav.secrets': string }> = {
  de: rDe,
  fr: rFr,
  es: rEs,
  'pt-BR': rPtBR,
  ja: rJa,
  'zh-CN': rZhCN,
  ko: rKo,
  ru: rRu,
  ar: rAr,
};

/** The notices whose values are data: a path or the OS's error text (main/app-notices.ts). */
const NOTICE_DATA = KEYS.filter((key) => key.startsWith('notice.') && /\{(path|error)\}/.test(en[key]));

function placeholders(elements: MessageFormatElement[], out = new Set<string>()): Set<string> {
  for (const el of elements) {
    if (isArgumentElement(el)) out.add(`${el.value}:argument`);
    else if (isNumberElement(el)) out.add(`${el.value}:number`);
    else if (isPluralElement(el) || isSelectElement(el)) {
      out.add(`${el.value}:plural`);
      for (const option of Object.values(el.options)) placeholders(option.value, out);
    }
  }
  return out;
}
/** "count:number" and "count:plural" are the same number given to the message. */
const names = (text: string) => new Set([...placeholders(parse(text))].map((p) => p.split(':')[0]));

describe('the main process catalogues', () => {
  it('ship the renderer’s languages (those its glossary fixes terms for), no more and no fewer', () => {
    expect(MAIN_LOCALES.map((l) => l.id).sort()).toEqual(Object.keys(GLOSSARY).sort());
  });

  for (const locale of TRANSLATED) {
    describe(locale.id, () => {
      it('has exactly the English keys, valid ICU, the same placeholders, and formats every plural form', () => {
        expect(Object.keys(locale.catalog).sort()).toEqual([...KEYS].sort());
        for (const key of KEYS) {
          const text = locale.catalog[key]!;
          expect(names(text), `${locale.id} ${key}`).toEqual(names(en[key]));
          const t = createMainTranslator(locale.id, {
            report: (message) => expect.fail(message),
          });
          // A number ("{seconds, number}") or a plural is given a number, the others a marked string.
          const numeric = new Set(
            [...placeholders(parse(en[key]))].filter((p) => !p.endsWith(':argument')).map((p) => p.split(':')[0]),
          );
          for (const count of [0, 1, 2, 3, 5, 11, 21, 100, 0.3]) {
            const values = Object.fromEntries(
              [...names(en[key])].map((n) => [n, n === 'count' || numeric.has(n) ? count : `«${n}»`]),
            );
            const out = t(key, values);
            expect(out, `${locale.id} ${key} ${count}`).not.toMatch(/[{}]|NaN/);
            for (const name of names(en[key]))
              if (!numeric.has(name) && name !== 'count') expect(out).toContain(`«${name}»`);
          }
        }
      });

      it('no English left, except the product’s own words', () => {
        // A message of placeholders and punctuation only ("{what} ({program}).") has no words to translate.
        const words = (key: MainMessageKey) => !/^[^\p{L}]*$/u.test(en[key].replace(/\{[^{}]*\}/g, ''));
        const same = KEYS.filter((key) => locale.catalog[key] === en[key] && words(key));
        expect(same).toEqual(SAME_AS_ENGLISH[locale.id] ?? []);
      });

      it('"pairing", "device" and "node" are the glossary’s terms for this language', () => {
        for (const [term, keys] of Object.entries(USES_TERM)) {
          const forms = GLOSSARY[locale.id][term as keyof typeof USES_TERM].forms;
          for (const key of keys)
            expect(
              forms.some((form) => locale.catalog[key]!.includes(form)),
              `${term} in ${key}: ${locale.catalog[key]}`,
            ).toBe(true);
        }
      });

      it('a message that names another one uses that one’s words (the Host row, the No button)', () => {
        expect(locale.catalog['prompt.footerRemote']).toContain(locale.catalog['field.host']);
        expect(locale.catalog['keyFile.detail']).toContain(locale.catalog['keyFile.no']);
        // A message that starts with a field label ({what}) must not parse it as anything but data.
        const t = createMainTranslator(locale.id, { report: (message) => expect.fail(message) });
        expect(t('warn.bidi', { what: "{x} '{'", example: '⟨RLO⟩' })).toContain("{x} '{'");
        // Notices name the dashboard's Secrets view and the Install OpenClaw button by their words.
        const dashboard = DASHBOARD[locale.id];
        expect(locale.catalog['notice.consequence.keyStorage']).toContain(dashboard['nav.secrets']);
        expect(locale.catalog['notice.consequence.openclawInstall']).toContain(locale.catalog['modeChoice.install']);
      });

      it('a notice shows a path and the OS’s error text whole, in the right direction', () => {
        const t = createMainTranslator(locale.id, { report: (message) => expect.fail(message) });
        const file = '/home/u/.config/Clawdesk/approval-history.jsonl';
        const error = "EISDIR: illegal operation on a directory, open '/x/y'";
        for (const key of NOTICE_DATA) {
          const out = t(key, { path: file, error, count: 2, name: 'x' });
          const value = en[key].includes('{path}') ? file : error;
          // Arabic is written right to left: the value is isolated (FSI…PDI) so that its slashes keep their place.
          expect(out, key).toContain(locale.id === 'ar' ? `\u2068${value}\u2069` : value);
        }
      });
    });
  }

  it('the decision buttons are the glossary’s exact words, in every language, and never read alike', () => {
    for (const locale of MAIN_LOCALES) {
      for (const [key, term] of EXACT_TERMS)
        expect(locale.catalog[key], `${locale.id} ${key}`).toBe(GLOSSARY[locale.id][term].term);
      const labels = EXACT_TERMS.filter(([key]) => key !== 'notify.deny').map(([key]) => locale.catalog[key]);
      expect(new Set(labels).size, locale.id).toBe(labels.length);
    }
  });

  it('notices with data: the six that name a path or an error, none missed', () => {
    expect(NOTICE_DATA).toEqual([
      'notice.damagedSettingsMoved',
      'notice.historyDamagedFix',
      'notice.historyUnreadable',
      'notice.historyUnreadableFix',
      'notice.historyWrite',
      'notice.notificationFailed',
    ]);
  });

  it('English names its own terms too', () => {
    for (const [term, keys] of Object.entries(USES_TERM))
      for (const key of keys)
        expect(
          GLOSSARY.en[term as keyof typeof USES_TERM].forms.some((form) => en[key].includes(form)),
          key,
        ).toBe(true);
    expect(en['prompt.footerRemote']).toContain(en['field.host']);
  });

  it('the notification’s Deny button is the glossary’s exact word for Deny, in every language', () => {
    for (const locale of MAIN_LOCALES)
      expect(locale.catalog['notify.deny'], locale.id).toBe(GLOSSARY[locale.id].deny.term);
  });

  it('German notifications: the Deny action and Later in German, the summary with German plurals', () => {
    const created: Array<{ title?: string; body?: string; actions?: unknown; closeButtonText?: string }> = [];
    const notifier = new ApprovalNotifier({
      notifications: {
        isSupported: () => true,
        create: (options) => {
          created.push(options);
          const n = { on: () => n, show: () => undefined, close: () => undefined };
          return n as unknown as NotificationLike;
        },
      },
      platform: 'win32',
      onOpen: () => undefined,
      onDecide: () => undefined,
      schedule: (redraw) => redraw(),
      translate: createMainTranslator('de'),
    });
    const views = Array.from({ length: MAX_APPROVAL_NOTIFICATIONS + 2 }, (_, i) => {
      const built = buildApprovalPrompt({
        id: `de-${i}`,
        request: { command: `echo ${i}`, commandArgv: ['echo', String(i)] },
        createdAtMs: 0,
        expiresAtMs: Date.now() + 60_000,
      });
      if (built.kind !== 'prompt') throw new Error('expected a prompt');
      return built.view;
    });
    for (const view of views) notifier.notify(view);
    expect(created[0]).toMatchObject({
      body: 'echo 0',
      actions: [{ type: 'button', text: 'Ablehnen' }],
      closeButtonText: 'Später',
    });
    expect(created.at(-1)!.title).toBe('2 weitere Befehle warten auf Freigabe');
    expect(created.at(-1)!.body).toBe('Öffne Clawdesk, um sie einzeln zu prüfen.');
  });

  it('a missing or broken message falls back to English for that message only, reported once', () => {
    const reports: string[] = [];
    const t = createMainTranslator('de', {
      catalog: { 'menu.quit': 'Clawdesk beenden', 'menu.stop': '{broken' },
      report: (message) => reports.push(message),
    });
    expect(t('menu.quit')).toBe('Clawdesk beenden');
    expect(t('menu.stop')).toBe('Stop gateway');
    expect(t('menu.stop')).toBe('Stop gateway');
    expect(t('menu.start')).toBe('Start gateway');
    expect(reports).toHaveLength(2);
    expect(reports[0]).toMatch(/^de: message "menu.stop" does not parse/);
    expect(reports[1]).toBe('de: message "menu.start" is missing; English is shown');
  });

  it('follows the OS: the first preference with a shipped language, else English', () => {
    expect(matchMainLocale(['de-AT', 'en-US'])).toBe('de');
    expect(matchMainLocale(['pt-PT'])).toBe('pt-BR');
    expect(matchMainLocale(['zh-Hans-CN'])).toBe('zh-CN');
    expect(matchMainLocale(['sw', 'ja-JP'])).toBe('ja');
    expect(matchMainLocale(['sw'])).toBe('en');
    expect(matchMainLocale([])).toBe('en');
  });
});

describe('the tray in the person’s language', () => {
  const inputs: TrayInputs = {
    gateway: 'running',
    port: 18789,
    owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' },
    pendingApprovals: [
      { id: 'a', summary: 'ls' },
      { id: 'b', summary: 'pwd' },
    ],
    pendingPairings: [],
    startAtLogin: false,
    notices: 1,
  };
  const actions = new Proxy({}, { get: () => () => undefined }) as TrayActions;

  it('German: menu and tooltip, with German plurals; commands in the menu stay as they are', () => {
    const t = createMainTranslator('de');
    const menu = trayMenu(inputs, actions, t);
    const labels = menu.map((i) => i.label).filter(Boolean);
    expect(labels).toEqual(
      expect.arrayContaining([
        'Gateway läuft auf Port 18789',
        'Offene Freigaben (2)',
        '1 Problem zu beheben: Dashboard öffnen',
        'Gateway stoppen',
        'Bei der Anmeldung starten',
        'Clawdesk beenden',
      ]),
    );
    const approvals = menu.find((i) => i.id === 'approvals')!.submenu as Array<{ label: string }>;
    expect(approvals.map((i) => i.label)).toEqual(['ls', 'pwd']);
    expect(trayTooltip(inputs, t)).toBe(
      'Clawdesk: Gateway läuft auf Port 18789 · 2 Freigaben warten · 1 Problem zu beheben',
    );
  });

  it('text from the gateway or an agent is data, never a message: ICU syntax in it is shown as it is', () => {
    const t = createMainTranslator('de');
    const hostile = "{count, plural, one {Allow} other {#}} '{' <b>x</b>";
    expect(t('menu.fix', { fix: hostile })).toBe(`Behebung: ${hostile}`);
    expect(t('gateway.errorWhy', { error: hostile })).toBe(`Gateway-Fehler: ${hostile}`);
    const menu = trayMenu(
      { ...inputs, pendingApprovals: [{ id: 'a', summary: hostile }], gateway: 'error', error: hostile, fix: hostile },
      actions,
      t,
    );
    const approvals = menu.find((i) => i.id === 'approvals')!.submenu as Array<{ label: string }>;
    expect(approvals[0].label).toBe(hostile);
    expect(menu.find((i) => i.id === 'status')!.label).toBe(`Gateway-Fehler: ${hostile}`);
  });

  it('Russian picks few/many forms by count', () => {
    const t = createMainTranslator('ru');
    expect(t('tooltip.approvals', { count: 1 })).toBe('1 запрос ждёт подтверждения');
    expect(t('tooltip.approvals', { count: 3 })).toBe('3 запроса ждут подтверждения');
    expect(t('tooltip.approvals', { count: 5 })).toBe('5 запросов ждут подтверждения');
  });
});
