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

/** A first-run answer: a mode, "install OpenClaw, then supervise it", or undefined for "Decide later". */
export type FirstRunAnswer = GatewayMode | 'install' | undefined;

/**
 * What the first-run question shows: the proposal first, then (when OpenClaw is not installed and Clawdesk can
 * install it) "Install OpenClaw", then the other modes, then "Decide later".
 */
export function firstRunQuestion(
  proposal: ModeProposal,
  options: { offerInstall?: boolean } = {},
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
  const describe: Record<GatewayMode, string> = {
    'openclaw-supervised': 'Clawdesk starts and watches OpenClaw’s gateway, and stops it when you quit.',
    'openclaw-external':
      'Clawdesk attaches to an OpenClaw gateway that something else runs (its service, a terminal) and never stops it.',
    'clawdesk-builtin': 'Clawdesk runs its own lightweight gateway (no agents or channels of its own).',
  };
  return {
    options: {
      type: 'question',
      title: 'Choose a gateway',
      message: `Use ${GATEWAY_MODE_LABELS[proposal.mode]}?`,
      detail: [
        `Clawdesk suggests ${GATEWAY_MODE_LABELS[proposal.mode]}: ${proposal.reason}.`,
        '',
        ...order.map((m) => `${GATEWAY_MODE_LABELS[m]}: ${describe[m]}`),
        ...(options.offerInstall
          ? [
              'Install OpenClaw: downloads OpenClaw and a Node runtime from npm into Clawdesk’s own data folder (no administrator rights, nothing global), checks them, then uses OpenClaw (supervised).',
            ]
          : []),
        '',
        'You can switch later from the tray menu.',
      ].join('\n'),
      buttons: answers.map((a) =>
        a === undefined ? 'Decide later' : a === 'install' ? 'Install OpenClaw' : `Use ${GATEWAY_MODE_LABELS[a]}`,
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
}): Promise<ResolvedMode> {
  const remembered = deps.settings.current() ?? (await deps.settings.load());
  if (remembered) return { mode: remembered.mode, origin: 'remembered' };
  const findings = await deps.discover();
  const proposal = proposeGatewayMode(findings);
  const offerInstall =
    Boolean(deps.install) &&
    proposal.mode === 'clawdesk-builtin' &&
    !findings.install.ok &&
    findings.install.code === 'install-missing';
  const question = firstRunQuestion(proposal, { offerInstall });
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
        title: 'OpenClaw was not installed',
        message: 'OpenClaw was not installed',
        detail: `${(error as Error).message}${fix ? `\n\n${fix}` : ''}\n\nClawdesk uses its built-in gateway for now and asks again at the next start.`,
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
