import path from 'node:path';
import { discoverOpenclaw, locatePreferredInstall } from '../gateway/openclaw/discovery';
import { supervisorLogPath } from '../gateway/openclaw/supervisor-record';
import { damagedSettings, type NoticeSink } from './app-notices';
import type { DialogLike, PowerMonitorLike } from './electron-facades';
import type { GatewayController, OpenclawModeOptions } from './gateway-controller';
import {
  GATEWAY_MODE_LABELS,
  GATEWAY_MODE_SETTINGS_FILE,
  GATEWAY_MODES,
  gatewayModeLabel,
  GatewayModeSettings,
  resolveGatewayMode,
  type GatewayMode,
} from './gateway-mode';
import { englishMain, type MainTranslate } from './main-i18n';
import { OPENCLAW_INSTALL_SETTINGS_FILE, OpenclawInstallService } from './openclaw-install';
import type { TrayInputs } from './tray-model';

/**
 * The app's wiring for gateway modes, kept out of main/index.ts: the remembered choice (userData/gateway-mode.json),
 * the first-run question, how OpenClaw's install is found for the supervised mode, the tray's mode menu, and sleep
 * and wake (a resume checks the gateway again).
 */

export interface GatewayModeSetupOptions {
  userDataDir: string;
  /** Clawdesk's data dir (`<state dir>/clawdesk`): its own OpenClaw install and the supervisor's log live there. */
  dataDir: string;
  port: number;
  env: NodeJS.ProcessEnv;
  dialog: DialogLike;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** Runs the installer (default: the npm installer into `dataDir`); for tests. */
  install?: ConstructorParameters<typeof OpenclawInstallService>[0]['install'];
  /** Tells the dashboard that OpenClaw's log grew (the `gateway-log` topic), at most twice a second. */
  notifyLog?(): void;
  /** Tells the dashboard that the OpenClaw install or its progress changed (the `openclaw-install` topic). */
  notifyInstall?(): void;
  /** A first-run install began: show its progress (the dashboard). */
  showInstallProgress?(): void;
  notices?: NoticeSink;
  /** Main's words in the person's language (main/main-language.ts, late-bound); English when absent. */
  translate?: MainTranslate;
}

export interface GatewayModes {
  settings: GatewayModeSettings;
  /** "Install OpenClaw" for the first run and the dashboard: progress, cancel, the pinned version, removal. */
  installs: OpenclawInstallService;
  /** For GatewayController's `openclaw` option. */
  openclaw: OpenclawModeOptions;
  /** Before the first start: the remembered mode, else the first-run question. Sets it on the controller. */
  chooseAtStart(controller: GatewayController): Promise<void>;
  /** The tray's switch: remembered first, then applied (stops only what Clawdesk started). */
  switchTo(controller: GatewayController, mode: GatewayMode): Promise<void>;
  trayMode(controller: GatewayController): NonNullable<TrayInputs['mode']>;
  /** A resume from sleep checks the gateway (supervised: hello-ok again, or the child is restarted). */
  watchPower(powerMonitor: Pick<PowerMonitorLike, 'on'>, controller: GatewayController): void;
}

export function setupGatewayModes(options: GatewayModeSetupOptions): GatewayModes {
  // Late-bound: each dialog and each tray redraw asks for the words of the language chosen by then.
  const t: MainTranslate = (key, values) => (options.translate ?? englishMain)(key, values);
  const settings = new GatewayModeSettings(path.join(options.userDataDir, GATEWAY_MODE_SETTINGS_FILE), {
    onProblem: (message, movedTo) => {
      options.log('warn', `gateway mode settings: ${message}`);
      options.notices?.report(damagedSettings('gateway mode', movedTo));
    },
  });
  let logTimer: NodeJS.Timeout | undefined;
  const onOutput = () => {
    if (logTimer || !options.notifyLog) return;
    logTimer = setTimeout(() => {
      logTimer = undefined;
      options.notifyLog?.();
    }, 500);
    logTimer.unref?.();
  };
  const locate = () =>
    locatePreferredInstall(settings.installPreference(), { dataDir: options.dataDir, env: options.env });
  // Bound at the first start; until then no gateway runs from anything.
  let bound: GatewayController | undefined;
  const installs = new OpenclawInstallService({
    settingsFile: path.join(options.userDataDir, OPENCLAW_INSTALL_SETTINGS_FILE),
    dataDir: options.dataDir,
    locate,
    busyReason: () => {
      if (!bound || bound.gatewayMode() !== 'openclaw-supervised') return undefined;
      const { state } = bound.status();
      if (state === 'stopped' || state === 'error') return undefined;
      const found = locate();
      return found.ok && found.install.source === 'clawdesk-data-dir'
        ? 'OpenClaw’s gateway is running from Clawdesk’s install.'
        : undefined;
    },
    install: options.install,
    notify: () => options.notifyInstall?.(),
    log: options.log,
    onSettingsDamaged: (movedTo) => options.notices?.report(damagedSettings('OpenClaw install', movedTo)),
  });
  const openclaw: OpenclawModeOptions = {
    locate,
    env: options.env,
    logFile: supervisorLogPath(options.dataDir),
    supervisor: { onOutput },
  };
  return {
    settings,
    installs,
    openclaw,
    async chooseAtStart(controller) {
      bound = controller;
      await installs.load();
      const resolved = await resolveGatewayMode({
        settings,
        dialog: options.dialog,
        translate: t,
        install: async () => {
          options.showInstallProgress?.();
          const view = await installs.install();
          const result = view.lastResult;
          if (!result?.ok)
            throw Object.assign(new Error(result?.message ?? 'the install did not finish'), { fix: result?.fix });
        },
        discover: () =>
          discoverOpenclaw({
            port: options.port,
            dataDir: options.dataDir,
            env: options.env,
            preference: settings.installPreference(),
          }),
        log: options.log,
      });
      options.log(
        'info',
        `gateway mode: ${GATEWAY_MODE_LABELS[resolved.mode]} (${resolved.origin}${resolved.proposal ? `: ${resolved.proposal.reason}` : ''})`,
      );
      await controller.setMode(resolved.mode);
    },
    async switchTo(controller, mode) {
      try {
        await settings.choose(mode);
      } catch (error) {
        options.log('error', `could not remember the gateway mode: ${(error as Error).message}`);
        void options.dialog.showMessageBox({
          type: 'warning',
          title: t('menu.modeSwitch'),
          message: t('modeSwitch.unsaved', { mode: gatewayModeLabel(mode, t) }),
          detail: t('modeSwitch.unsavedDetail', { error: (error as Error).message }),
        });
      }
      await controller.setMode(mode);
    },
    trayMode(controller) {
      const current = controller.gatewayMode();
      return {
        current,
        label: gatewayModeLabel(current, t),
        choices: GATEWAY_MODES.map((mode) => ({ mode, label: gatewayModeLabel(mode, t) })),
      };
    },
    watchPower(powerMonitor, controller) {
      powerMonitor.on('resume', () => {
        options.log('info', 'resumed from sleep: checking the gateway');
        void controller.afterWake().catch((error) => options.log('warn', `after wake: ${(error as Error).message}`));
      });
    },
  };
}
