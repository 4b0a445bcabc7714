import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, serialize, writeJsonAtomic } from '../gateway/fs/atomic-file';
import {
  GATEWAY_MODE_LABELS,
  GATEWAY_MODES,
  proposeGatewayMode,
  type GatewayMode,
  type InstallPreference,
  type ModeProposal,
  type OpenclawFindings,
} from '../gateway/openclaw/discovery';
import type { DialogLike } from './electron-facades';
import { englishMain, type MainMessageKey, type MainTranslate } from './main-i18n';

export { GATEWAY_MODE_LABELS, GATEWAY_MODES, type GatewayMode };

export const GATEWAY_MODE_SETTINGS_FILE = 'gateway-mode.json';

/**
 * Which gateway this machine uses, as the person chose it: OpenClaw's gateway supervised by Clawdesk, an OpenClaw
 * gateway someone else runs (attached, never stopped), or Clawdesk's built-in one. Remembered in the app's
 * userData (one per user and machine), written atomically. No secret in it.
 */
const settingsSchema = z.object({
  version: z.literal(1),
  mode: z.enum(GATEWAY_MODES as [GatewayMode, ...GatewayMode[]]),
  chosenAtMs: z.number().int().nonnegative(),
  /** An OpenClaw install the person pointed at (otherwise Clawdesk's data dir, then the `openclaw` on PATH). */
  installPath: z.string().min(1).optional(),
  nodePath: z.string().min(1).optional(),
});

export type GatewayModeSettingsData = z.infer<typeof settingsSchema>;

export interface GatewayModeSettingsOptions {
  now?: () => number;
  /** The file could not be read or did not parse (it is moved aside): the first-run choice is offered again. */
  onProblem?(message: string, movedTo?: string): void;
}

export class GatewayModeSettings {
  private data?: GatewayModeSettingsData;

  constructor(
    readonly file: string,
    private readonly options: GatewayModeSettingsOptions = {},
  ) {}

  /** Never throws: a missing, unreadable or corrupt file means "not chosen yet". */
  async load(): Promise<GatewayModeSettingsData | undefined> {
    try {
      const result = await readJsonFile(this.file, {
        parse: (value) => settingsSchema.parse(value),
        maxBytes: 64 * 1024,
      });
      if (result.kind === 'ok') this.data = result.value;
      else {
        this.data = undefined;
        if (result.kind === 'corrupt')
          this.options.onProblem?.(
            `${result.error}; moved to ${result.quarantinedTo || '(left in place)'}; the gateway mode will be asked again`,
            result.quarantinedTo || undefined,
          );
      }
    } catch (error) {
      this.data = undefined;
      this.options.onProblem?.(
        `${this.file} cannot be read (${(error as Error).message}); the gateway mode will be asked again`,
      );
    }
    return this.current();
  }

  current(): GatewayModeSettingsData | undefined {
    return this.data ? { ...this.data } : undefined;
  }

  installPreference(): InstallPreference {
    return { installPath: this.data?.installPath, nodePath: this.data?.nodePath };
  }

  /** Records the person's choice; in effect only once it is on disk. */
  choose(mode: GatewayMode, preference: InstallPreference = this.installPreference()): Promise<void> {
    return serialize(this.file, async () => {
      const next: GatewayModeSettingsData = {
        version: 1,
        mode,
        chosenAtMs: (this.options.now ?? Date.now)(),
        ...(preference.installPath ? { installPath: path.resolve(preference.installPath) } : {}),
        ...(preference.nodePath ? { nodePath: path.resolve(preference.nodePath) } : {}),
      };
      await writeJsonAtomic(this.file, next);
      this.data = next;
    });
  }
}

const MODE_KEYS: Record<GatewayMode, MainMessageKey> = {
  'openclaw-supervised': 'mode.supervised',
  'openclaw-external': 'mode.external',
  'clawdesk-builtin': 'mode.builtin',
};

/** A mode's name in the person's language (GATEWAY_MODE_LABELS is the English, for logs and the CLI). */
export function gatewayModeLabel(mode: GatewayMode, t: MainTranslate = englishMain): string {
  return t(MODE_KEYS[mode]);
}

/**
 * The proposal's reason in the person's language, read from the same findings in the same order as
 * proposeGatewayMode (gateway/openclaw/discovery.ts), which writes it in English for logs; in English the two are
 * the same sentence (test/main/gateway-mode.test.ts). What the findings name (a port, a service, a path, a version)
 * is shown as it is. Findings that no longer give the proposal's mode: the English reason.
 */
export function proposalReason(proposal: ModeProposal, findings: OpenclawFindings, t: MainTranslate): string {
  const owner = findings.runningService
    ? findings.runningService.name
    : findings.runningOwner
      ? `${findings.runningOwner.name ? `${findings.runningOwner.name} ` : ''}(PID ${findings.runningOwner.pid})`
      : t('modeReason.unknownOwner');
  const install = findings.install;
  const [mode, reason]: [GatewayMode, string] =
    findings.probe.kind === 'openclaw'
      ? ['openclaw-external', t('modeReason.answering', { port: findings.port, owner })]
      : findings.service
        ? ['openclaw-external', t('modeReason.service', { service: findings.service.name })]
        : install.ok
          ? [
              'openclaw-supervised',
              t('modeReason.installed', {
                version: install.install.openclawVersion,
                dir: install.install.packageDir,
                node: install.install.nodeVersion,
              }),
            ]
          : install.code !== 'install-missing'
            ? ['openclaw-supervised', t('modeReason.cannotRun', { reason: install.reason })]
            : ['clawdesk-builtin', t('modeReason.missing')];
  return mode === proposal.mode ? reason : proposal.reason;
}

/** A first-run answer: a mode, "install OpenClaw, then supervise it", or undefined for "Decide later". */
export type FirstRunAnswer = GatewayMode | 'install' | undefined;

/**
 * What the first-run question shows: the proposal first, then (when OpenClaw is not installed and Clawdesk can
 * install it) "Install OpenClaw", then the other modes, then "Decide later".
 */
export function firstRunQuestion(
  proposal: ModeProposal,
  options: {
    offerInstall?: boolean;
    /** Main's words in the person's language; English when absent. */
    t?: MainTranslate;
    /** What the proposal was made from: its reason in the person's language (else the proposal's English). */
    findings?: OpenclawFindings;
  } = {},
): {
  options: Electron.MessageBoxOptions;
  answers: FirstRunAnswer[];
} {
  const order: GatewayMode[] = [proposal.mode, ...GATEWAY_MODES.filter((m) => m !== proposal.mode)];
  const answers: FirstRunAnswer[] = [
    order[0],
    ...(options.offerInstall ? ['install' as const] : []),
    ...order.slice(1),
    undefined,
  ];
  const t = options.t ?? englishMain;
  const label = (mode: GatewayMode) => gatewayModeLabel(mode, t);
  const describe: Record<GatewayMode, MainMessageKey> = {
    'openclaw-supervised': 'modeChoice.describeSupervised',
    'openclaw-external': 'modeChoice.describeExternal',
    'clawdesk-builtin': 'modeChoice.describeBuiltin',
  };
  const reason = options.findings ? proposalReason(proposal, options.findings, t) : proposal.reason;
  return {
    options: {
      type: 'question',
      title: t('modeChoice.title'),
      message: t('modeChoice.message', { mode: label(proposal.mode) }),
      detail: [
        t('modeChoice.suggests', { mode: label(proposal.mode), reason }),
        '',
        ...order.map((m) => t('modeChoice.line', { mode: label(m), description: t(describe[m]) })),
        ...(options.offerInstall ? [t('modeChoice.describeInstall')] : []),
        '',
        t('modeChoice.switchLater'),
      ].join('\n'),
      buttons: answers.map((a) =>
        a === undefined
          ? t('modeChoice.decideLater')
          : a === 'install'
            ? t('modeChoice.install')
            : t('modeChoice.use', { mode: label(a) }),
      ),
      defaultId: 0,
      cancelId: answers.length - 1,
      noLink: true,
    },
    answers,
  };
}

export interface ResolvedMode {
  mode: GatewayMode;
  /** remembered: from the settings file; chosen: the person answered now; proposed: used this run only. */
  origin: 'remembered' | 'chosen' | 'proposed';
  proposal?: ModeProposal;
}

/**
 * The mode for this start: the remembered one, else the person's answer to the first-run question (remembered),
 * else ("Decide later", or the answer could not be saved) the proposal for this run only, asked again next time.
 */
export async function resolveGatewayMode(deps: {
  settings: GatewayModeSettings;
  discover: () => Promise<OpenclawFindings>;
  dialog: DialogLike;
  /** Installs OpenClaw into Clawdesk's data dir (offered when it is not installed); throws with a `fix` on failure. */
  install?: () => Promise<void>;
  log?: (level: 'info' | 'warn', message: string) => void;
  /** Main's words in the person's language (main/main-language.ts, late-bound); English when absent. */
  translate?: MainTranslate;
}): Promise<ResolvedMode> {
  const t = deps.translate ?? englishMain;
  const remembered = deps.settings.current() ?? (await deps.settings.load());
  if (remembered) return { mode: remembered.mode, origin: 'remembered' };
  const findings = await deps.discover();
  const proposal = proposeGatewayMode(findings);
  const offerInstall =
    Boolean(deps.install) &&
    proposal.mode === 'clawdesk-builtin' &&
    !findings.install.ok &&
    findings.install.code === 'install-missing';
  const question = firstRunQuestion(proposal, { offerInstall, t, findings });
  const { response } = await deps.dialog.showMessageBox(question.options);
  let answer = question.answers[response];
  if (answer === 'install') {
    try {
      await deps.install!();
      answer = 'openclaw-supervised';
    } catch (error) {
      const fix = (error as { fix?: string }).fix;
      deps.log?.('warn', `installing OpenClaw failed: ${(error as Error).message}`);
      // Said, not silent: the built-in gateway for this run, and the question again next start.
      await deps.dialog.showMessageBox({
        type: 'error',
        title: t('modeInstall.failed'),
        message: t('modeInstall.failed'),
        detail: `${(error as Error).message}${fix ? `\n\n${fix}` : ''}\n\n${t('modeInstall.builtinForNow')}`,
      });
      return { mode: proposal.mode, origin: 'proposed', proposal };
    }
  }
  if (!answer) {
    deps.log?.(
      'info',
      `gateway mode not chosen yet; using ${GATEWAY_MODE_LABELS[proposal.mode]} for now (${proposal.reason})`,
    );
    return { mode: proposal.mode, origin: 'proposed', proposal };
  }
  try {
    await deps.settings.choose(answer);
  } catch (error) {
    deps.log?.('warn', `could not remember the gateway mode: ${(error as Error).message}`);
    return { mode: answer, origin: 'proposed', proposal };
  }
  return { mode: answer, origin: 'chosen', proposal };
}
