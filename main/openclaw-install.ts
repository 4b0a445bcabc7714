import fs from 'node:fs';
import { z } from 'zod';
import type { OpenclawInstalledView, OpenclawInstallProgressView, OpenclawInstallView } from '../common/ipc-contract';
import { readJsonFile, serialize, writeJsonAtomic } from '../gateway/fs/atomic-file';
import { clawdeskOpenclawRoot, type LocateResult, type OpenclawInstall } from '../gateway/openclaw/install';
import {
  installOpenclaw,
  isPinnableOpenclawVersion,
  OpenclawInstallError,
  PINNED_OPENCLAW_VERSION,
  uninstallOpenclaw,
  type InstallProgress,
} from '../gateway/openclaw/installer';

/**
 * "Install OpenClaw" as the app offers it (first run and the dashboard): one install at a time, its progress for the
 * dashboard's bar, cancel, the pinned version as a setting (userData/openclaw-install.json, no secret in it), and a
 * clean removal. Never while the supervised gateway runs from the install being replaced.
 */

export const OPENCLAW_INSTALL_SETTINGS_FILE = 'openclaw-install.json';
const LOCATE_FRESH_MS = 5_000;

const settingsSchema = z.object({
  version: z.literal(1),
  pinnedVersion: z.string().refine(isPinnableOpenclawVersion, 'not a plain version'),
});

export interface OpenclawInstallServiceOptions {
  settingsFile: string;
  /** Clawdesk's data dir: its install is `<dataDir>/openclaw`. */
  dataDir: string;
  /** The install the supervised mode would use now (the person's choice, Clawdesk's own, the one on PATH). */
  locate(): LocateResult;
  /** Why the install cannot be replaced or removed now (the supervised gateway runs from it), else undefined. */
  busyReason(): string | undefined;
  /** Runs the installer (default: gateway/openclaw/installer.ts into `dataDir`). */
  install?(options: {
    version: string;
    signal: AbortSignal;
    onProgress(progress: InstallProgress): void;
  }): Promise<OpenclawInstall>;
  uninstall?(): Promise<boolean>;
  /** The install changed or its progress moved (the dashboard's `openclaw-install` topic). */
  notify(): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** The settings file was damaged and moved aside: the tested version applies. */
  onSettingsDamaged?(movedTo: string | undefined): void;
  now?(): number;
}

export class OpenclawInstallService {
  private pinned: string | undefined;
  private running: { cancel: AbortController; progress: OpenclawInstallProgressView } | undefined;
  private lastResult: OpenclawInstallView['lastResult'];
  /** locate() runs `node --version` synchronously: kept while an install runs and for a few seconds otherwise. */
  private located?: { result: LocateResult; at: number };

  constructor(private readonly options: OpenclawInstallServiceOptions) {}

  /** Never throws: an unreadable or corrupt settings file means the tested version (the file is moved aside). */
  async load(): Promise<void> {
    try {
      const result = await readJsonFile(this.options.settingsFile, {
        parse: (value) => settingsSchema.parse(value),
        maxBytes: 16 * 1024,
      });
      this.pinned = result.kind === 'ok' ? result.value.pinnedVersion : undefined;
      if (result.kind === 'corrupt') {
        this.options.log('warn', `OpenClaw install settings: ${result.error}; using the tested version`);
        this.options.onSettingsDamaged?.(result.quarantinedTo || undefined);
      }
    } catch (error) {
      this.pinned = undefined;
      this.options.log('warn', `OpenClaw install settings unreadable (${(error as Error).message})`);
    }
  }

  pinnedVersion(): string {
    return this.pinned ?? PINNED_OPENCLAW_VERSION;
  }

  installing(): boolean {
    return this.running !== undefined;
  }

  view(): OpenclawInstallView {
    const found = this.locate();
    const installed: OpenclawInstalledView | null = found.ok
      ? {
          openclawVersion: found.install.openclawVersion,
          nodeVersion: found.install.nodeVersion,
          location: found.install.root,
          source: found.install.source,
        }
      : null;
    const blocked = this.running ? 'An install is running.' : this.options.busyReason();
    return {
      available: true,
      installed,
      ...(found.ok ? {} : { problem: found.reason, fix: found.fix }),
      pinnedVersion: this.pinnedVersion(),
      testedVersion: PINNED_OPENCLAW_VERSION,
      removable: fs.existsSync(clawdeskOpenclawRoot(this.options.dataDir)),
      ...(blocked ? { blocked } : {}),
      progress: this.running ? { ...this.running.progress } : null,
      ...(this.lastResult ? { lastResult: { ...this.lastResult } } : {}),
    };
  }

  /** Installs the pinned version; resolves when it has ended (the outcome is in `lastResult`), never twice at once. */
  async install(): Promise<OpenclawInstallView> {
    if (this.running) return this.view();
    const busy = this.options.busyReason();
    if (busy) {
      this.finish(false, busy, 'Stop OpenClaw’s gateway first, then install.');
      return this.view();
    }
    const version = this.pinnedVersion();
    const running: NonNullable<OpenclawInstallService['running']> = {
      cancel: new AbortController(),
      progress: {
        phase: 'fetch',
        fraction: 0,
        message: `starting the install of OpenClaw ${version}`,
        cancellable: true,
      },
    };
    this.running = running;
    this.options.notify();
    const onProgress = (p: InstallProgress) => {
      running.progress = { ...p, cancellable: p.phase !== 'activate' && p.phase !== 'done' };
      this.options.notify();
    };
    try {
      const run =
        this.options.install ??
        ((o) =>
          installOpenclaw({
            dataDir: this.options.dataDir,
            openclawSpec: `openclaw@${o.version}`,
            signal: o.signal,
            onProgress: o.onProgress,
          }));
      const done = await run({ version, signal: running.cancel.signal, onProgress });
      this.options.log('info', `installed OpenClaw ${done.openclawVersion} (Node ${done.nodeVersion}) in ${done.root}`);
      this.running = undefined;
      this.finish(true, `OpenClaw ${done.openclawVersion} with Node ${done.nodeVersion} is installed.`);
    } catch (error) {
      const e = error as Partial<OpenclawInstallError> & Error;
      this.options.log(e.code === 'cancelled' ? 'info' : 'error', `OpenClaw install: ${e.message}`);
      this.running = undefined;
      this.finish(false, sentence(e.message), e.fix);
    }
    return this.view();
  }

  cancel(): boolean {
    const running = this.running;
    if (!running || running.cancel.signal.aborted || !running.progress.cancellable) return false;
    running.cancel.abort();
    return true;
  }

  /** Remembered before it applies; `null` goes back to the tested version. */
  async setPinnedVersion(version: string | null): Promise<OpenclawInstallView> {
    if (version !== null && !isPinnableOpenclawVersion(version))
      throw new Error(`"${version}" is not a plain version such as ${PINNED_OPENCLAW_VERSION}`);
    const next = version === null || version === PINNED_OPENCLAW_VERSION ? undefined : version;
    await serialize(this.options.settingsFile, async () => {
      if (next === undefined) await fs.promises.rm(this.options.settingsFile, { force: true });
      else await writeJsonAtomic(this.options.settingsFile, { version: 1, pinnedVersion: next });
      this.pinned = next;
    });
    this.options.notify();
    return this.view();
  }

  async uninstall(): Promise<OpenclawInstallView> {
    const busy = this.running ? 'An install is running.' : this.options.busyReason();
    if (busy) {
      this.finish(false, busy, 'Stop OpenClaw’s gateway first, then remove it.');
      return this.view();
    }
    try {
      const removed = await (this.options.uninstall ?? (() => uninstallOpenclaw(this.options.dataDir)))();
      this.finish(
        true,
        removed
          ? 'Clawdesk’s OpenClaw install was removed; OpenClaw’s own settings and data are untouched.'
          : 'Clawdesk has no OpenClaw install to remove.',
      );
    } catch (error) {
      const e = error as Partial<OpenclawInstallError> & Error;
      this.finish(false, sentence(e.message), e.fix);
    }
    return this.view();
  }

  /**
   * What the supervised mode would run. Every progress step re-reads the view, and each locate spawns a process in
   * the app's main process: while an install runs nothing on disk that it reads changes, so one answer serves.
   */
  private locate(): LocateResult {
    const now = (this.options.now ?? Date.now)();
    if (this.located && (this.running || now - this.located.at < LOCATE_FRESH_MS)) return this.located.result;
    this.located = { result: this.options.locate(), at: now };
    return this.located.result;
  }

  private finish(ok: boolean, message: string, fix?: string): void {
    this.located = undefined;
    this.lastResult = { ok, message, ...(fix ? { fix } : {}), atMs: (this.options.now ?? Date.now)() };
    this.options.notify();
  }
}

/**
 * The dashboard's Install: once it succeeded, the supervised mode that was waiting for exactly this install (state
 * `error`, nothing to run) is started at once rather than at the person's next click.
 */
export async function installThenResume(
  installs: Pick<OpenclawInstallService, 'install' | 'view'>,
  gateway: { gatewayMode(): string; status(): { state: string }; start(): Promise<void> },
): Promise<OpenclawInstallView> {
  const view = await installs.install();
  if (view.lastResult?.ok && gateway.gatewayMode() === 'openclaw-supervised' && gateway.status().state === 'error')
    await gateway.start();
  return installs.view();
}

/** The installer's messages as sentences; a program's name (npm) keeps its own spelling. */
function sentence(message: string): string {
  const text = /^(npm|node|openclaw)\b/.test(message) ? message : message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
