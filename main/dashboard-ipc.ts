// What the dashboard and prompt pages may ask over IPC (common/ipc-contract.ts), answered by DashboardService;
// only our own windows are heard (main/ipc/ipc-router.ts).
import type { Topic } from '../common/ipc-contract';
import { scanStateDirs } from '../gateway/state/state-scan';
import { currentPathEnvironment, resolveConfigPath } from '../gateway/state/state-paths';
import type { ApprovalHistory } from './approval-history';
import type { ApprovalQueue } from './approval-queue';
import { DashboardService } from './dashboard-service';
import { execPolicySource, migrateIntoActive, toStateView } from './desktop-sources';
import type { IpcMainLike, ShellLike } from './electron-facades';
import type { GatewayController } from './gateway-controller';
import { registerIpcHandlers } from './ipc/ipc-router';
import type { KeyStorageConsent } from './key-storage-consent';
import { keyStorageId, keyStorageName } from './key-storage-consent';
import type { ControlUiOpener } from './control-ui';
import type { LogBuffer } from './log-buffer';
import { installThenResume, type OpenclawInstallService } from './openclaw-install';
import type { PairingPrompts } from './pairing-prompts';
import type { StartAtLogin } from './start-at-login';
import { isVettedExternalUrl } from './window-security';
import type { Appearance } from './appearance';
import type { MainLanguage } from './main-language';
import type { AppNotices } from './app-notices';
import type { RemoteGateways } from './remote-gateways';
import type { DiscoveredGateways } from './discovered-gateways';

export interface DashboardIpcDeps {
  ipcMain: IpcMainLike;
  shell: ShellLike;
  version: string;
  platform: NodeJS.Platform;
  stateDir: string;
  controller: GatewayController;
  queue: ApprovalQueue;
  pairing: PairingPrompts;
  history: ApprovalHistory;
  logs: LogBuffer;
  startAtLogin: StartAtLogin;
  appearance?: Appearance;
  /** What main shows itself in; the dashboard's language choice reaches it here. */
  language?: MainLanguage;
  notices?: AppNotices;
  keyStorageConsent: KeyStorageConsent;
  controlUi?: ControlUiOpener;
  openclawInstall?: OpenclawInstallService;
  remoteGateways?: RemoteGateways;
  /** The gateways announcing themselves on this network (the Gateways view's "Found on this network"). */
  discoveredGateways?: DiscoveredGateways;
  isOwnWebContents(id: number): boolean;
  broadcast(topics: Topic[]): void;
}

export function setupDashboardIpc(deps: DashboardIpcDeps): DashboardService {
  const { controller, queue, stateDir } = deps;
  const scan = () => scanStateDirs(currentPathEnvironment(), { embeddedGatewayStateDir: stateDir });
  const service = new DashboardService({
    version: deps.version,
    platform: deps.platform,
    status: () => ({
      gateway: controller.status(),
      secretsBackend: keyStorageName(controller.identityStatus()),
      secretsBackendId: keyStorageId(controller.identityStatus()),
    }),
    pendingPairingCount: () => deps.pairing.pending().length,
    notices: deps.notices,
    openControlUi: deps.controlUi ? () => deps.controlUi!.open() : undefined,
    controlGateway: (action) =>
      action === 'start' ? controller.start() : action === 'stop' ? controller.stop() : controller.restart(),
    startAtLogin: deps.startAtLogin,
    appearance: deps.appearance,
    language: deps.language,
    translate: deps.language?.translate,
    openclawInstall: deps.openclawInstall && {
      view: () => deps.openclawInstall!.view(),
      install: () => installThenResume(deps.openclawInstall!, controller),
      cancel: () => deps.openclawInstall!.cancel(),
      setPinnedVersion: (version) => deps.openclawInstall!.setPinnedVersion(version),
      uninstall: () => deps.openclawInstall!.uninstall(),
    },
    gateway: () => controller.session(),
    approvals: {
      pending: () => queue.pending(),
      current: () => queue.current(),
      decide: (id, decision) => queue.decide(id, decision),
    },
    history: deps.history,
    logs: deps.logs,
    gatewayLog: (maxBytes) => controller.gatewayLog(maxBytes),
    policy: execPolicySource(stateDir, resolveConfigPath(currentPathEnvironment(), stateDir)),
    state: {
      scan: async () => toStateView(await scan()),
      migrate: async (dryRun, hooks) => {
        const found = await scan();
        if (dryRun) return migrateIntoActive(found, true);
        // The embedded gateway keeps pairing state in memory: stop it around a real migration.
        await controller.stop();
        try {
          return await migrateIntoActive(found, false, hooks);
        } finally {
          await controller.start();
        }
      },
    },
    secrets: () => deps.keyStorageConsent.view(),
    acceptPlaintextKeyStorage: () => deps.keyStorageConsent.acceptPlaintextKeyFile(),
    openExternal: async (url) => {
      if (!isVettedExternalUrl(url)) return false;
      await deps.shell.openExternal(url);
      return true;
    },
    remoteGateways: deps.remoteGateways,
    discoveredGateways: deps.discoveredGateways,
    notify: deps.broadcast,
  });
  registerIpcHandlers({
    ipcMain: deps.ipcMain,
    handlers: service,
    isOwnWebContents: deps.isOwnWebContents,
    onRejected: (method, error) => deps.logs.add('app', 'warn', `IPC ${method} rejected: ${error.message}`),
  });
  return service;
}
