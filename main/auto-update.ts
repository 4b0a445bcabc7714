// Signed updates through electron-updater: a check at start and every four hours on the chosen channel, the
// download verified by electron-updater, and "Restart to update" only once nothing waits for the person.
import type { AppUpdater, UpdateCheckResult } from 'electron-updater';
import { findJournal, isProcessAlive } from '../gateway/state/state-transaction';
import type { DialogLike } from './electron-facades';
import { englishMain, type MainTranslate } from './main-i18n';
import type { MainLog } from './main-log';
import type { TrayUpdateView } from './tray-model';
import { readFeedFile, type UpdateFeed } from './update-feed';
import { loadUpdateSettings, type UpdateChannel } from './update-settings';
import type { NoticeSink } from './app-notices';

/** The slice of electron-updater's AppUpdater this module drives (its autoUpdater in the app, a real one in tests). */
export type UpdaterLike = Pick<
  AppUpdater,
  | 'checkForUpdates'
  | 'quitAndInstall'
  | 'setFeedURL'
  | 'on'
  | 'once'
  | 'removeListener'
  | 'channel'
  | 'allowPrerelease'
  | 'allowDowngrade'
  | 'autoDownload'
  | 'autoInstallOnAppQuit'
  | 'logger'
>;

/**
 * Clawdesk's own reasons, put into words in the person's language by statusLine; `reason` keeps the English for the
 * log and the tests. A reason without one is the updater's own text (its error), shown as it is.
 */
export type UpdateReason =
  { why: 'not-packaged' } | { why: 'feed-refused' } | { why: 'cannot-update' } | { why: 'timeout'; seconds: number };

export type UpdateState =
  | { kind: 'off'; reason: string; own?: UpdateReason }
  | { kind: 'idle' }
  | { kind: 'checking' }
  | { kind: 'up-to-date'; latest: string }
  | { kind: 'check-failed'; reason: string; own?: UpdateReason }
  | { kind: 'downloading'; version: string }
  | { kind: 'download-failed'; version: string; reason: string }
  | { kind: 'ready'; version: string }
  | { kind: 'waiting'; version: string; reason: string }
  | { kind: 'installing'; version: string };

/** Timers, injectable so tests step the schedule. Each returns its cancel function. */
export interface UpdateTimers {
  every(ms: number, run: () => void): () => void;
  after(ms: number, run: () => void): () => void;
}

export const realTimers: UpdateTimers = {
  every(ms, run) {
    const timer = setInterval(run, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
  after(ms, run) {
    const timer = setTimeout(run, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export const CHECK_INTERVAL_MS = 4 * 60 * 60 * 1000;
/** Electron's net requests have no timeout of their own (electron-updater's waits for a socket event never sent). */
export const CHECK_TIMEOUT_MS = 60_000;
export const WAIT_POLL_MS = 2_000;
/** quitAndInstall normally ends the process at once; if it has not after this, it failed quietly. */
export const INSTALL_WATCHDOG_MS = 30_000;

export interface AutoUpdateDeps {
  app: Pick<Electron.App, 'isPackaged' | 'getVersion' | 'relaunch' | 'exit'>;
  platform: NodeJS.Platform;
  userDataDir: string;
  /** `<resources>/app-update.yml`, which electron-builder writes from package.json `build.publish`. */
  feedFile(): string;
  /** electron-updater's updater; called only in a packaged app whose feed passed the check. */
  createUpdater(): UpdaterLike;
  /** Why a restart must wait now (see restartBlockers), or undefined when nothing is pending. */
  busy(): Promise<string | undefined> | string | undefined;
  /** Drains prompts, gateway and runner, then runs `install` with its quit let through (Shutdown.drainThen). */
  drainThen(install: () => void): Promise<void>;
  dialog: DialogLike;
  /** The state or the channel changed (the tray redraws). */
  onChange(): void;
  /** A damaged update.json is told to the person (main/app-notices.ts). */
  notices?: NoticeSink;
  log: MainLog;
  /** Main's words in the person's language (main/main-language.ts, late-bound); English when absent. */
  translate?: MainTranslate;
  timers?: UpdateTimers;
  checkIntervalMs?: number;
  checkTimeoutMs?: number;
  waitPollMs?: number;
  installWatchdogMs?: number;
  /** Tests only: a plain-http feed on a loopback address. */
  allowLoopbackHttp?: boolean;
}

export interface AutoUpdate {
  state(): UpdateState;
  channel(): UpdateChannel;
  /** Remembers the channel and checks on it at once. */
  setChannel(channel: UpdateChannel): Promise<void>;
  /** The first check now, then one every four hours. */
  start(): void;
  /** One check (and download, when there is something newer); a check already running is shared. */
  check(): Promise<void>;
  /** Installs a ready update now, or once nothing is pending (the person is told why it waits). */
  restartToUpdate(): Promise<void>;
  cancelRestart(): void;
  trayView(): TrayUpdateView;
  dispose(): void;
}

const firstLine = (error: unknown): string => {
  const text = (error instanceof Error ? error.message : String(error)).split('\n')[0].trim();
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
};

class CheckTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer from the update feed within ${duration(ms)}`);
  }
}

const duration = (ms: number) => (ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`);

/**
 * electron-updater verifies what it downloads; nothing here weakens that (docs/desktop-app.md § Updates): the sha512
 * from the feed on every platform, the Authenticode publisher on Windows (the feed must name one), Squirrel.Mac's
 * code-signature match on macOS. allowDowngrade stays false (setting a channel turns it on; it is turned off again),
 * and a development run (not packaged) never checks.
 */
export async function setupAutoUpdate(deps: AutoUpdateDeps): Promise<AutoUpdate> {
  const timers = deps.timers ?? realTimers;
  const settings = await loadUpdateSettings(deps.userDataDir, deps.log, deps.notices);
  const cancels = new Set<() => void>();
  const schedule = (cancel: () => void) => {
    cancels.add(cancel);
    return () => {
      cancel();
      cancels.delete(cancel);
    };
  };

  let status: UpdateState = { kind: 'idle' };
  let ready: string | undefined;
  let restart: { phase: 'waiting'; reason: string; stopPolling(): void } | { phase: 'installing' } | undefined;
  const changed = () => deps.onChange();
  const setStatus = (next: UpdateState) => {
    status = next;
    changed();
  };

  let updater: UpdaterLike | undefined;
  let feed: UpdateFeed | undefined;
  if (!deps.app.isPackaged) {
    status = { kind: 'off', reason: 'not a packaged build', own: { why: 'not-packaged' } };
    deps.log('info', 'updates are off: this is not a packaged build (development), so no update check is made');
  } else {
    try {
      feed = await readFeedFile(deps.feedFile(), {
        platform: deps.platform,
        allowLoopbackHttp: deps.allowLoopbackHttp,
      });
    } catch (error) {
      status = { kind: 'off', reason: 'the update feed is refused', own: { why: 'feed-refused' } };
      deps.log('warn', `updates are off: ${firstLine(error)}`);
    }
  }

  const applyChannel = (target: UpdaterLike, channel: UpdateChannel) => {
    // electron-updater's channel "latest" is stable; "beta" also lets GitHub pre-releases count.
    target.channel = channel === 'beta' ? 'beta' : 'latest';
    target.allowPrerelease = channel === 'beta';
    // The channel setter turns allowDowngrade on; an older build from any feed is never installed.
    target.allowDowngrade = false;
  };

  if (feed) {
    updater = deps.createUpdater();
    updater.logger = {
      info: (message?: unknown) => deps.log('info', `updater: ${String(message)}`),
      warn: (message?: unknown) => deps.log('warn', `updater: ${String(message)}`),
      error: (message?: unknown) => deps.log('error', `updater: ${String(message)}`),
      debug: (message: string) => deps.log('debug', `updater: ${message}`),
    };
    // Exactly the feed that was checked, not a second read of the file.
    updater.setFeedURL(feed);
    updater.autoDownload = true;
    // A downloaded update is also installed when Clawdesk quits (after the quit's drain).
    updater.autoInstallOnAppQuit = true;
    applyChannel(updater, settings.channel());
    // Fired once the file is complete and verified, also for a download a timed-out check started.
    updater.on('update-downloaded', (info) => {
      ready = info.version;
      deps.log('info', `update ${info.version} downloaded and verified; "Restart to update" is offered`);
      changed();
    });
  }

  let inFlight: Promise<void> | undefined;
  const runCheck = async (target: UpdaterLike): Promise<void> => {
    if (restart?.phase === 'installing') return;
    setStatus({ kind: 'checking' });
    let cancelTimeout: () => void = () => undefined;
    const timeoutMs = deps.checkTimeoutMs ?? CHECK_TIMEOUT_MS;
    let result: UpdateCheckResult | null;
    try {
      const checked = target.checkForUpdates().then((value) => {
        // A download this check started is awaited below, or (after a timeout) by no one: never an unhandled rejection.
        void value?.downloadPromise?.catch(() => undefined);
        return value;
      });
      const timedOut = new Promise<never>((_, reject) => {
        cancelTimeout = schedule(timers.after(timeoutMs, () => reject(new CheckTimeout(timeoutMs))));
      });
      result = await Promise.race([checked, timedOut]);
    } catch (error) {
      deps.log('warn', `update check failed: ${firstLine(error)}`);
      setStatus({
        kind: 'check-failed',
        reason: firstLine(error),
        ...(error instanceof CheckTimeout ? { own: { why: 'timeout', seconds: error.ms / 1000 } as const } : {}),
      });
      return;
    } finally {
      cancelTimeout();
    }
    if (result == null) {
      // electron-updater declines by itself (e.g. a Linux build that is neither an AppImage nor a package).
      setStatus({ kind: 'off', reason: 'this build cannot update itself', own: { why: 'cannot-update' } });
      return;
    }
    if (!result.isUpdateAvailable || !result.downloadPromise) {
      setStatus({ kind: 'up-to-date', latest: result.updateInfo.version });
      return;
    }
    const version = result.updateInfo.version;
    setStatus({ kind: 'downloading', version });
    try {
      await result.downloadPromise;
    } catch (error) {
      deps.log('warn', `update ${version} refused: ${firstLine(error)}`);
      setStatus({ kind: 'download-failed', version, reason: firstLine(error) });
      return;
    }
    ready = version;
    setStatus({ kind: 'ready', version });
  };
  const check = (): Promise<void> => {
    if (!updater) return Promise.resolve();
    return (inFlight ??= runCheck(updater).finally(() => (inFlight = undefined)));
  };

  const state = (): UpdateState => {
    if (restart?.phase === 'installing' && ready) return { kind: 'installing', version: ready };
    if (restart?.phase === 'waiting' && ready) return { kind: 'waiting', version: ready, reason: restart.reason };
    if (ready && status.kind !== 'off') return { kind: 'ready', version: ready };
    return status;
  };

  const install = (target: UpdaterLike, version: string) => {
    restart = { phase: 'installing' };
    changed();
    deps.log('info', `restarting to install update ${version}: draining the prompts, the gateway and the runner first`);
    void deps.drainThen(() => {
      let done = false;
      const fail = (error: unknown) => {
        if (done) return;
        done = true;
        // Everything is drained already: start this version again rather than leave a tray without a gateway.
        deps.log('error', `update ${version} did not install (${firstLine(error)}); restarting this version`);
        deps.app.relaunch();
        deps.app.exit(0);
      };
      target.once('error', fail);
      schedule(
        timers.after(deps.installWatchdogMs ?? INSTALL_WATCHDOG_MS, () =>
          fail(new Error('the installer never quit the app')),
        ),
      );
      try {
        // Silent installer, and the app starts again afterwards: a restart, as the menu item says.
        target.quitAndInstall(true, true);
      } catch (error) {
        fail(error);
      }
    });
  };

  const busyReason = async (): Promise<string | undefined> => {
    try {
      return await deps.busy();
    } catch (error) {
      return `cannot tell whether anything is pending (${firstLine(error)})`;
    }
  };

  const restartToUpdate = async (): Promise<void> => {
    const target = updater;
    const version = ready;
    if (!target || !version || restart) return;
    const why = await busyReason();
    if (restart) return;
    if (!why) return install(target, version);
    // It waits, says why, and restarts by itself once nothing is pending (or until cancelled in the tray).
    const poll = async () => {
      if (restart?.phase !== 'waiting') return;
      const still = await busyReason();
      if (restart?.phase !== 'waiting') return;
      if (still) {
        if (still !== restart.reason) {
          restart.reason = still;
          changed();
        }
        return;
      }
      restart.stopPolling();
      install(target, version);
    };
    restart = {
      phase: 'waiting',
      reason: why,
      stopPolling: schedule(timers.every(deps.waitPollMs ?? WAIT_POLL_MS, () => void poll())),
    };
    deps.log('info', `restart to update ${version} waits: ${why}`);
    changed();
    const t = deps.translate ?? englishMain;
    void deps.dialog
      .showMessageBox({
        type: 'info',
        title: t('menu.restartToUpdate'),
        message: t('update.waitMessage'),
        // The tray item's own words, so the dialog names what the person will see there.
        detail: t('update.waitDetail', { why, version, cancel: t('menu.cancelRestart') }),
        buttons: [t('update.ok')],
      })
      .catch(() => undefined);
  };

  let stopSchedule: (() => void) | undefined;
  return {
    state,
    channel: () => settings.channel(),
    async setChannel(channel) {
      if (channel === settings.channel()) return;
      await settings.setChannel(channel);
      deps.log('info', `update channel: ${channel}`);
      if (updater) applyChannel(updater, channel);
      changed();
      void check();
    },
    start() {
      if (!updater || stopSchedule) return;
      void check();
      stopSchedule = schedule(timers.every(deps.checkIntervalMs ?? CHECK_INTERVAL_MS, () => void check()));
    },
    check,
    restartToUpdate,
    cancelRestart() {
      if (restart?.phase !== 'waiting') return;
      restart.stopPolling();
      restart = undefined;
      deps.log('info', 'restart to update cancelled');
      changed();
    },
    trayView: () => {
      const current = state();
      return {
        channel: settings.channel(),
        status: statusLine(current, deps.app.getVersion(), deps.translate),
        ready:
          current.kind === 'ready' || current.kind === 'waiting' || current.kind === 'installing'
            ? {
                version: current.version,
                waiting: current.kind === 'waiting' ? current.reason : undefined,
                installing: current.kind === 'installing',
              }
            : undefined,
      };
    },
    dispose() {
      for (const cancel of [...cancels]) cancel();
      cancels.clear();
      stopSchedule = undefined;
    },
  };
}

/** Clawdesk's own reason in words; the updater's text (no `own`) as it is. */
function reasonWords(state: { reason: string; own?: UpdateReason }, t: MainTranslate): string {
  switch (state.own?.why) {
    case 'not-packaged':
      return t('update.reasonNotPackaged');
    case 'feed-refused':
      return t('update.reasonFeedRefused');
    case 'cannot-update':
      return t('update.reasonCannotUpdate');
    case 'timeout':
      return t('update.reasonTimeout', { seconds: state.own.seconds });
    default:
      return state.reason;
  }
}

/**
 * The tray's one line about updates; Clawdesk's own reasons are translated, the updater's error text and
 * restartBlockers' (already translated) reasons are shown as they are.
 */
export function statusLine(state: UpdateState, currentVersion: string, t: MainTranslate = englishMain): string {
  switch (state.kind) {
    case 'off':
      return t('update.statusOff', { reason: reasonWords(state, t) });
    case 'idle':
      return t('update.statusIdle');
    case 'checking':
      return t('update.statusChecking');
    case 'up-to-date':
      return t('update.statusUpToDate', { version: currentVersion });
    case 'check-failed':
      return t('update.statusCheckFailed', { reason: reasonWords(state, t) });
    case 'downloading':
      return t('update.statusDownloading', { version: state.version });
    case 'download-failed':
      return t('update.statusRefused', { version: state.version, reason: state.reason });
    case 'ready':
      return t('update.statusReady', { version: state.version });
    case 'waiting':
      return t('update.statusWaiting', { version: state.version, reason: state.reason });
    case 'installing':
      return t('update.statusInstalling', { version: state.version });
  }
}

/**
 * What a restart must not cut short: approvals and pairings waiting for the person, and a state migration that is
 * running. The CLI's migration holds a journal beside the state dir while it works
 * (gateway/state/state-transaction.ts), so a journal whose process is alive is a migration in progress; one whose
 * process is gone waits for recovery, which the next start runs, so it does not hold the restart.
 */
export async function restartBlockers(
  input: {
    approvals: number;
    pairings: number;
    stateDirs: string[];
  },
  t: MainTranslate = englishMain,
): Promise<string | undefined> {
  const reasons: string[] = [];
  if (input.approvals > 0) reasons.push(t('update.blockApprovals', { count: input.approvals }));
  if (input.pairings > 0) reasons.push(t('update.blockPairings', { count: input.pairings }));
  for (const dir of input.stateDirs) {
    const found = await findJournal(dir).catch(() => undefined);
    if (found && 'journal' in found && isProcessAlive(found.journal.pid, found.journal.hostname))
      reasons.push(t('update.blockMigration', { pid: String(found.journal.pid) }));
  }
  return reasons.length > 0 ? reasons.join(', ') : undefined;
}
