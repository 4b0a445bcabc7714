// The rest of what the main process shows, in the person's language: the native dialogs (Control UI, start at login,
// the gateway mode, its install and its switch), the dashboard's pending-approvals list (the same words as the
// prompt, every marker kept), and the analyser's own words inside the prompt (reasons, "redirection", scripts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlUiError } from '../../gateway/openclaw/control-ui';
import { proposeGatewayMode, type OpenclawFindings } from '../../gateway/openclaw/discovery';
import type { LocateResult } from '../../gateway/openclaw/install';
import {
  buildApprovalPrompt,
  DEFAULT_PROMPT_LIMITS,
  type ExecApprovalRequested,
} from '../../main/approval-prompt-text';
import { setupControlUi } from '../../main/control-ui';
import { DashboardService, toPendingApproval, type DashboardDeps } from '../../main/dashboard-service';
import { REDACTED } from '../../main/display-hardening';
import type { GatewayController } from '../../main/gateway-controller';
import {
  firstRunQuestion,
  gatewayModeLabel,
  GatewayModeSettings,
  proposalReason,
  resolveGatewayMode,
} from '../../main/gateway-mode';
import { setupGatewayModes } from '../../main/gateway-mode-setup';
import { createMainTranslator, englishMain, type MainTranslate } from '../../main/main-i18n';
import { setupStartAtLogin } from '../../main/start-at-login';
import { FakeDialog, waitFor } from './fakes';
import { hostileApprovalRequest } from './hostile-approval-request';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
function tmp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdesk-dialogs-'));
  dirs.push(dir);
  return dir;
}
const strict = (id: string): MainTranslate => createMainTranslator(id, { report: (message) => expect.fail(message) });

describe('native dialogs in German and Arabic, default and cancel as in English', () => {
  for (const id of ['de', 'ar'] as const) {
    it(`${id}: Control UI did not open (one OK button, as in English); the product name and the reason as they are`, async () => {
      const t = strict(id);
      const dialog = new FakeDialog();
      const opener = setupControlUi({
        link: async () => {
          throw new ControlUiError('no Control UI here', 'Switch the gateway mode.');
        },
        shell: { openExternal: async () => undefined },
        dialog: dialog.api,
        log: () => undefined,
        translate: t,
      });
      await opener.open({ tellPerson: true });
      const box = await dialog.box(0);
      expect(box.options).toMatchObject({
        type: 'warning',
        title: 'OpenClaw Control UI',
        message: t('controlUi.notOpened'),
        detail: 'no Control UI here\n\nSwitch the gateway mode.',
      });
      expect(box.options.message).not.toBe(englishMain('controlUi.notOpened'));
      expect(box.options.buttons).toBeUndefined();
      expect(box.options.defaultId).toBeUndefined();
      expect(box.options.cancelId).toBeUndefined();
    });

    it(`${id}: start at login that fails says so in ${id}, naming the tray item’s own words`, async () => {
      const t = strict(id);
      const dialog = new FakeDialog();
      // The XDG config home is a file: the autostart entry cannot be written.
      const configHome = path.join(tmp(), 'not-a-dir');
      fs.writeFileSync(configHome, '');
      const app = {
        isPackaged: true,
        getAppPath: () => '/app',
        getPath: () => tmp(),
      } as unknown as Parameters<typeof setupStartAtLogin>[0]['app'];
      const startAtLogin = setupStartAtLogin({
        app,
        platform: 'linux',
        configHome,
        execPath: '/opt/clawdesk/clawdesk',
        dialog: dialog.api,
        onChange: () => undefined,
        log: () => undefined,
        translate: t,
      });
      startAtLogin.set(true);
      const box = await dialog.box(0);
      expect(box.options).toMatchObject({
        type: 'warning',
        title: t('menu.startAtLogin'),
        message: t('startAtLogin.notChanged'),
      });
      expect(box.options.title).not.toBe('Start at login');
      expect(box.options.buttons).toBeUndefined();
      expect(box.options.defaultId).toBeUndefined();
      expect(box.options.cancelId).toBeUndefined();
    });
  }
});

const missing: LocateResult = { ok: false, code: 'install-missing', reason: 'not here', fix: 'install it', tried: [] };
const installed: LocateResult = {
  ok: true,
  install: {
    root: '/opt/oc',
    entry: '/opt/oc/node_modules/openclaw/openclaw.mjs',
    packageDir: '/opt/oc/node_modules/openclaw',
    openclawVersion: '2026.9.6',
    nodeRange: '>=26.1.0',
    nodeBin: '/opt/oc/node',
    nodeVersion: 'v26.1.0',
    source: 'clawdesk-data-dir',
  },
};
const findings = (patch: Partial<OpenclawFindings>): OpenclawFindings => ({
  port: 18789,
  install: missing,
  probe: { kind: 'free' },
  ...patch,
});
/** One finding per branch of proposeGatewayMode. */
const EVERY_PROPOSAL: OpenclawFindings[] = [
  findings({}),
  findings({ install: installed }),
  findings({
    install: { ok: false, code: 'node-unsupported', reason: 'needs Node >=26.1.0', fix: 'x', tried: [] },
  }),
  findings({ install: installed, probe: { kind: 'openclaw', url: 'ws://127.0.0.1:18789' } }),
  findings({
    probe: { kind: 'openclaw', url: 'ws://127.0.0.1:18789' },
    runningOwner: { pid: 4242, name: 'node' },
  }),
  findings({
    probe: { kind: 'openclaw', url: 'ws://127.0.0.1:18789' },
    runningService: { manager: 'systemd', name: 'openclaw-gateway.service' },
  }),
  findings({ service: { manager: 'launchd', name: 'ai.openclaw.gateway' } }),
];

describe('the gateway mode dialogs in the person’s language', () => {
  it('in English, the translated reason is exactly the proposal’s, for every kind of proposal', () => {
    for (const found of EVERY_PROPOSAL) {
      const proposal = proposeGatewayMode(found);
      expect(proposalReason(proposal, found, englishMain)).toBe(proposal.reason);
    }
  });

  for (const id of ['de', 'ar'] as const) {
    it(`${id}: the first-run question in ${id}, its answers in the same order, the proposal default, Decide later the cancel`, () => {
      const t = strict(id);
      for (const found of EVERY_PROPOSAL) {
        const proposal = proposeGatewayMode(found);
        const offerInstall = proposal.mode === 'clawdesk-builtin';
        const english = firstRunQuestion(proposal, { offerInstall, findings: found });
        const q = firstRunQuestion(proposal, { offerInstall, findings: found, t });
        expect(q.answers).toEqual(english.answers);
        expect(q.options.defaultId).toBe(english.options.defaultId);
        expect(q.options.cancelId).toBe(english.options.cancelId);
        expect(q.options.defaultId).toBe(0);
        expect(q.options.cancelId).toBe(q.answers.length - 1);
        expect(q.options.buttons).toEqual(
          q.answers.map((a) =>
            a === undefined
              ? t('modeChoice.decideLater')
              : a === 'install'
                ? t('modeChoice.install')
                : t('modeChoice.use', { mode: gatewayModeLabel(a, t) }),
          ),
        );
        expect(q.options.title).toBe(t('modeChoice.title'));
        const reason = proposalReason(proposal, found, t);
        expect(reason).not.toBe(proposal.reason);
        expect(q.options.detail).toContain(reason);
        // What the findings name is shown as it is.
        for (const named of ['2026.9.6', 'openclaw-gateway.service', 'ai.openclaw.gateway', '4242'])
          if (proposal.reason.includes(named)) expect(q.options.detail).toContain(named);
        for (const english of ['Clawdesk suggests', 'You can switch later', 'Decide later', 'lightweight', 'Use '])
          expect(`${q.options.detail}\n${q.options.buttons!.join('\n')}`).not.toContain(english);
      }
    });

    it(`${id}: a failed install says so in ${id}, with the installer’s own reason and fix as they are`, async () => {
      const t = strict(id);
      const dialog = new FakeDialog();
      const resolving = resolveGatewayMode({
        settings: new GatewayModeSettings(path.join(tmp(), 'gateway-mode.json')),
        discover: async () => findings({}),
        dialog: dialog.api,
        translate: t,
        install: async () => {
          throw Object.assign(new Error('npm install failed (exit 1)'), { fix: 'Check the network connection.' });
        },
      });
      const question = await dialog.box(0);
      expect(question.options.buttons![1]).toBe(t('modeChoice.install'));
      question.answer(1);
      const failure = await dialog.box(1);
      expect(failure.options).toMatchObject({
        type: 'error',
        title: t('modeInstall.failed'),
        message: t('modeInstall.failed'),
      });
      expect(failure.options.detail).toBe(
        `npm install failed (exit 1)\n\nCheck the network connection.\n\n${t('modeInstall.builtinForNow')}`,
      );
      expect(failure.options.buttons).toBeUndefined();
      failure.answer(0);
      expect(await resolving).toMatchObject({ mode: 'clawdesk-builtin', origin: 'proposed' });
    });

    it(`${id}: a mode switch that cannot be saved says so in ${id}; the tray’s mode names are ${id}`, async () => {
      const t = strict(id);
      const dialog = new FakeDialog();
      // userData is a file: gateway-mode.json cannot be written.
      const userDataDir = path.join(tmp(), 'file');
      fs.writeFileSync(userDataDir, '');
      const modes = setupGatewayModes({
        userDataDir,
        dataDir: tmp(),
        port: 18789,
        env: {},
        dialog: dialog.api,
        log: () => undefined,
        translate: t,
      });
      let mode = 'clawdesk-builtin';
      const controller = {
        setMode: async (next: string) => void (mode = next),
        gatewayMode: () => mode,
      } as unknown as GatewayController;
      await modes.switchTo(controller, 'openclaw-external');
      const box = await dialog.box(0);
      expect(box.options).toMatchObject({
        type: 'warning',
        title: t('menu.modeSwitch'),
        message: t('modeSwitch.unsaved', { mode: t('mode.external') }),
      });
      expect(box.options.detail).toMatch(/ENOTDIR|EEXIST|ENOENT/);
      expect(box.options.detail).not.toContain('could not be saved');
      expect(box.options.buttons).toBeUndefined();
      expect(box.options.defaultId).toBeUndefined();
      await waitFor(() => mode === 'openclaw-external', 'the mode applied for this run');
      expect(modes.trayMode(controller)).toEqual({
        current: 'openclaw-external',
        label: t('mode.external'),
        choices: [
          { mode: 'openclaw-supervised', label: t('mode.supervised') },
          { mode: 'openclaw-external', label: t('mode.external') },
          { mode: 'clawdesk-builtin', label: t('mode.builtin') },
        ],
      });
      expect(t('mode.external')).not.toBe('OpenClaw (external)');
    });
  }
});

const hostile = hostileApprovalRequest('hostile-list');
const MARKERS = ['⟨RLO⟩', '⟨…⟩', REDACTED];

describe('the dashboard’s pending-approvals list says what the prompt says', () => {
  const promptWarnings = (t: MainTranslate) => {
    const built = buildApprovalPrompt(hostile, DEFAULT_PROMPT_LIMITS, process.platform, undefined, t);
    if (built.kind !== 'prompt') throw new Error(`expected a prompt: ${built.detail}`);
    return built.view;
  };

  it('German: the listed warnings are the German prompt’s, word for word, every marker kept, no English left', async () => {
    const t = strict('de');
    const prompt = promptWarnings(t);
    const english = promptWarnings(englishMain);
    // Listed through the dashboard's own call, with the gateway answering exec.approval.list.
    const service = new DashboardService({
      translate: t,
      gateway: () => ({ request: async () => ({ approvals: [hostile] }) }),
      approvals: { pending: () => [], current: () => undefined, decide: () => false },
    } as unknown as DashboardDeps);
    const [listed] = await service.listPendingApprovals();
    expect(listed.warnings).toEqual(prompt.warnings);
    expect(listed.command).toBe(prompt.command.text);
    expect(listed.warnings).not.toEqual(english.warnings);
    expect(listed.warnings.length).toBe(english.warnings.length);
    const text = listed.warnings.join('\n');
    for (const marker of MARKERS) expect(text).toContain(marker);
    expect(listed.command).toContain('⟨RLO⟩');
    expect(listed.command).toContain(REDACTED);
    expect(listed.command).not.toContain('s3cr3t-t0k3n');
    for (const warning of english.warnings) expect(text).not.toContain(warning);
    expect(text).not.toMatch(/contains|look-alike|Cyrillic|secret value/);
    // The fields around it are the request's, as before, in any language.
    expect(listed).toMatchObject({ cwd: '/tmp/other', agentId: undefined, host: 'node', nodeId: 'node-1' });
  });

  it('English stays the default; a request the prompt would deny is listed with Deny only, why in German', () => {
    expect(toPendingApproval(hostile).warnings).toEqual(promptWarnings(englishMain).warnings);
    const t = strict('de');
    const tooLong: ExecApprovalRequested = {
      ...hostile,
      request: { systemRunPlan: { argv: ['echo', 'x'.repeat(DEFAULT_PROMPT_LIMITS.maxCommandChars + 10)] } },
    };
    const listed = toPendingApproval(tooLong, t);
    expect(listed.allowedDecisions).toEqual(['deny']);
    expect(listed.warnings).toEqual([t('pending.tooLong')]);
    expect(listed.command).toBe(`[${t('pending.tooLong')}]`);
    expect(toPendingApproval({ ...hostile, request: {} }, t).warnings).toEqual([t('pending.noCommand')]);
    expect(
      toPendingApproval(
        { ...hostile, request: { commandArgv: ['ls'], systemRunPlan: { argv: ['rm', '-rf', '/'] } } },
        t,
      ).warnings,
    ).toEqual([t('pending.inconsistent')]);
  });
});

describe('the analyser’s own words in the prompt, in the person’s language', () => {
  const effects = (t: MainTranslate, argv: string[]) => {
    const built = buildApprovalPrompt(
      { id: 'e', request: { systemRunPlan: { argv, cwd: '/home/dev/project' } }, createdAtMs: 0, expiresAtMs: 1 },
      DEFAULT_PROMPT_LIMITS,
      'linux',
      undefined,
      t,
    );
    if (built.kind !== 'prompt') throw new Error('expected a prompt');
    return built.view;
  };

  it('German: each reason the analyser gives is German, its parts (programs, options) exactly as they are', () => {
    const t = strict('de');
    const cases: Array<[string[], string]> = [
      [['bash', '-i', '-c', 'ls'], t('effect.reason.interactive', { option: '-i' })],
      [['bash', 'script.sh'], t('effect.reason.scriptFile', { program: 'bash', script: 'script.sh' })],
      [['bash'], t('effect.reason.noC', { program: 'bash' })],
      [['bash', '-c'], t('effect.reason.emptyC', { program: 'bash' })],
      [['sh', '-c', 'echo hi > /tmp/x'], t('effect.reason.notAllowed', { construct: t('construct.redirection') })],
      [['sh', '-c', 'echo $(ls)'], t('effect.reason.notAllowed', { construct: t('construct.commandSubstitution') })],
      [['sh', '-c', 'export X=1'], t('effect.reason.notAllowed', { construct: t('construct.assignmentArguments') })],
      [['sh', '-c', 'python3 <<EOF\nprint(1)\nEOF'], t('effect.reason.stdinCode', { program: 'python3' })],
      [['env', 'LD_PRELOAD=x', 'ls'], t('effect.reason.envOverride', { name: 'LD_PRELOAD' })],
      [['sh', '-c', 'bash -l -c ls'], t('effect.reason.loginShell', { shell: 'bash -l' })],
      [['sh', '-c', 'printf -v x hi'], t('effect.reason.printfV')],
    ];
    for (const [argv, reason] of cases) {
      const texts = effects(t, argv).effects.map((e) => e.text);
      expect(texts, argv.join(' ')).toContain(t('effect.unreadable', { reason }));
      expect(texts.join('\n')).not.toMatch(/not allowed|standard input|without a command|Clawdesk does not read/);
    }
  });

  it('a write made by a shell redirection says so in German, the target as it is; a program’s name stays its name', () => {
    const t = strict('de');
    const texts = effects(t, ['sh', '-c', 'echo hi > /tmp/x']).effects.map((e) => e.text);
    expect(texts).toContain(
      t('effect.write', { what: t('effect.where.outsideCwd'), target: '/tmp/x', by: t('effect.byRedirection') }),
    );
    expect(texts.join('\n')).not.toContain('(redirection)');
  });

  for (const [id, script] of [
    ['ru', 'кириллица'],
    ['ja', 'キリル文字'],
  ] as const) {
    it(`${id}: a look-alike warning names the script in ${id}`, () => {
      const t = strict(id);
      const view = effects(t, ['/usr/bin/\u0441url', 'https://example.com']);
      const warning = view.warnings.find((w) => w.includes('U+0441'));
      expect(warning).toBeDefined();
      expect(warning).toContain(script);
      expect(warning).toContain(t('script.cyrillic'));
      expect(warning).not.toContain('Cyrillic');
      // The letter itself and what it looks like are shown as they are.
      expect(warning).toContain('\u0441');
    });
  }

  it('a reason the catalogue does not know is shown as it is (hardened), never dropped', () => {
    const t = strict('de');
    const texts = effects(t, ['sh', '-c', 'echo "a\\x"']).effects.map((e) => e.text);
    expect(texts).toContain(
      t('effect.unreadable', { reason: 'backslashes, $ and ` inside double quotes are outside the safe shell subset' }),
    );
  });
});
