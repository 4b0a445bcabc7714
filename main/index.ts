// The composition root: the only module that imports Electron values. It composes one setupX() per feature
// (main/<feature>.ts), each taking the Electron slices it needs; the wiring between them lives here and only here.
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  nativeTheme,
  Notification,
  powerMonitor,
  protocol,
  safeStorage,
  screen,
  session,
  shell,
  Tray,
} from 'electron';
import os from 'node:os';
import path from 'node:path';
import { clawdeskDataDir } from '../gateway/identity/clawdesk-identity';
import { openSecretStore, vaultExists } from '../gateway/secrets/secret-store';
import { currentPathEnvironment, resolveConfigPath } from '../gateway/state/state-paths';
import { APP_ID, APP_SCHEME, PRODUCT_NAME } from './app-identity';
import { AppNotices } from './app-notices';
import { setupAppProtocol } from './app-protocol';
import { setupAppWindows } from './app-windows';
import { setupApplicationMenu } from './application-menu';
import { setupAppearance } from './appearance';
import { setupApprovals } from './approvals';
import { restartBlockers, setupAutoUpdate } from './auto-update';
import { coalesce } from './coalesce';
import { setupControlUi } from './control-ui';
import { setupDashboardIpc } from './dashboard-ipc';
import { setupDashboardWindow, type DashboardWindow } from './dashboard-window';
import { setupDiscoveredGateways } from './discovered-gateways';
import { setupGateway } from './gateway';
import { setupGatewayModes } from './gateway-mode-setup';
import { setupGatewayTarget } from './gateway-target';
import { KeyStorageConsent } from './key-storage-consent';
import { LogBuffer } from './log-buffer';
import { setupMainLanguage } from './main-language';
import { createMainLog } from './main-log';
import { setupPairing } from './pairing';
import { NativeApprover } from './native-approver';
import { PresenceMonitor } from './presence';
import { setupRemoteGateways } from './remote-gateways';
import { sessionBusNameHasOwner } from './session-bus';
import { setupShutdown } from './shutdown';
import { setupStartAtLogin } from './start-at-login';
import { setupTray, type AppTray } from './tray';

// Windows ties notifications to the Start-menu shortcut's AppUserModelID: set it before anything else.
if (process.platform === 'win32') app.setAppUserModelId(APP_ID);

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true } }]);

const rendererDir = path.join(__dirname, '..', 'renderer');
const preloadPath = path.join(__dirname, '..', 'preload', 'preload.js');
const platform = process.platform;
const logs = new LogBuffer();
const log = createMainLog(logs);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void app.whenReady().then(start, (error) => {
    console.error(error);
    app.quit();
  });
}

async function start(): Promise<void> {
  logs.add('app', 'info', `${PRODUCT_NAME} ${app.getVersion()} starting on ${platform}`);
  setupAppProtocol({ protocol, session: session.defaultSession, app, shell, rendererDir });
  setupApplicationMenu({ platform, app, Menu });
  const gatewayTarget = await setupGatewayTarget({ env: process.env, log });
  const { stateDir } = gatewayTarget.target;
  const userData = app.getPath('userData');
  // Problems found while starting are kept, and shown once the tray and dashboard exist.
  let onNoticesChanged = () => {};
  const notices = new AppNotices({ onChange: () => onNoticesChanged() });
  // Before any window: message boxes and title bars come up in the chosen theme from the start.
  const appearance = await setupAppearance({ nativeTheme, userDataDir: userData, log, notices });
  const windows = setupAppWindows({ BrowserWindow, preloadPath });
  const stealFocus = () => app.focus({ steal: true });

  // The tray, the trayless dashboard and the prompts show each other's state: refreshes are late-bound, and run
  // on the next turn, once for a burst, so that a new approval reaches its presenter before the tray is redrawn.
  let tray: AppTray | undefined;
  let dashboardWindow: DashboardWindow | undefined;
  onNoticesChanged = () => {
    refresh();
    windows.broadcast(['status']);
  };
  const refresh = coalesce(() => {
    try {
      tray?.refresh();
      dashboardWindow?.update();
    } catch (error) {
      log('error', `tray and dashboard refresh: ${(error as Error).message}`);
    }
  });

  // The dashboard's language choice, else the OS's languages, as the dashboard follows them (renderer/i18n.ts);
  // `translate` is late-bound, so a choice made in the dashboard reaches the tray and every later dialog.
  const language = await setupMainLanguage({
    userDataDir: userData,
    systemLanguages: () => [...app.getPreferredSystemLanguages(), app.getLocale()],
    log,
    notices,
    onChange: () => refresh(),
  });
  const { translate } = language;
  // Notices are put into words when listed: those raised before this point (a damaged appearance.json or
  // language.json) are listed in this language too, and in the next one once the person chooses another.
  notices.useLanguage(language);
  const { queue, history } = await setupApprovals({
    platform,
    translate,
    historyFile: path.join(userData, 'approval-history.jsonl'),
    createWindow: windows.create,
    dialog,
    notifications: { isSupported: () => Notification.isSupported(), create: (options) => new Notification(options) },
    presence: new PresenceMonitor(powerMonitor, screen),
    stealFocus,
    broadcast: windows.broadcast,
    onChange: refresh,
    notices,
    log,
  });
  const dataDir = clawdeskDataDir(stateDir);
  const gatewayModes = setupGatewayModes({
    userDataDir: userData,
    dataDir,
    port: gatewayTarget.port,
    env: process.env,
    dialog,
    log,
    notifyLog: () => windows.broadcast(['gateway-log']),
    notifyInstall: () => windows.broadcast(['openclaw-install']),
    showInstallProgress: () => dashboard.open(),
    notices,
    translate,
  });
  const { controller, keyStorage } = await setupGateway({
    gatewayTarget,
    dataDir,
    openclaw: gatewayModes.openclaw,
    userDataDir: userData,
    safeStorage,
    queue,
    history,
    pairing: () => pairing,
    broadcast: windows.broadcast,
    onChange: refresh,
    notices,
    log,
  });
  const pairing = setupPairing({
    dialog,
    translate,
    session: () => controller.session(),
    onChange: () => {
      refresh();
      windows.broadcast(['devices', 'status']);
    },
    log,
  });
  // Gateways on other machines: their requests come through the same prompt, notifications and history.
  const remoteGateways = setupRemoteGateways({
    translate,
    dataDir,
    stateDir,
    configPath: resolveConfigPath(currentPathEnvironment(), stateDir),
    env: process.env,
    openSecrets: () =>
      openSecretStore({
        dir: dataDir,
        safeStorage,
        allowPlaintextFallback: keyStorage.plaintextKeyFileAccepted(dataDir),
      }),
    identity: () => controller.deviceIdentity(),
    approver: new NativeApprover(queue),
    recordHistory: (entry) =>
      void history.record(entry).then(
        () => windows.broadcast(['history']),
        (error: Error) => log('error', `could not record approval ${entry.id} in the history: ${error.message}`),
      ),
    dialog,
    // Gateways are added from the dashboard: its trust dialog is modal to it.
    parentWindow: () => dashboardWindow?.current(),
    onChange: () => {
      refresh();
      windows.broadcast(['gateways']);
    },
    log,
  });
  // Gateways announcing themselves on this network: listened for only from the Gateways view's first ask until the
  // dashboard window closes.
  const discoveredGateways = setupDiscoveredGateways({
    env: process.env,
    onChange: () => windows.broadcast(['discovered-gateways']),
    log,
  });
  const startAtLogin = setupStartAtLogin({
    app,
    platform,
    configHome: process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'),
    execPath: process.execPath,
    appImage: process.env.APPIMAGE,
    dialog,
    onChange: refresh,
    log,
    translate,
  });
  const dashboard = setupDashboardWindow({
    platform,
    createWindow: windows.create,
    Menu,
    dialog,
    stealFocus,
    quit: () => app.quit(),
    nameHasOwner: (name) => sessionBusNameHasOwner(name),
    counts: () => ({ pendingApprovals: queue.pending().length, pendingPairings: pairing.pending().length }),
    showApproval: () => queue.focus(),
    refreshTray: refresh,
    logs,
    onClosed: () => void discoveredGateways.stop().catch(() => undefined),
  });
  dashboardWindow = dashboard;
  app.on('second-instance', () => dashboard.open());
  const controlUi = setupControlUi({ link: () => controller.controlUiLink(), shell, dialog, log, translate });

  setupDashboardIpc({
    ipcMain,
    shell,
    version: app.getVersion(),
    platform,
    stateDir,
    controller,
    queue,
    pairing,
    history,
    logs,
    startAtLogin,
    appearance,
    language,
    notices,
    controlUi,
    openclawInstall: gatewayModes.installs,
    keyStorageConsent: new KeyStorageConsent({
      dialog,
      translate,
      dataDir,
      settings: keyStorage,
      identity: () => controller.identityStatus(),
      vaultExists,
      reloadIdentity: () => controller.reloadIdentity().then(() => remoteGateways.restart()),
    }),
    remoteGateways,
    discoveredGateways,
    isOwnWebContents: windows.isOwnWebContents,
    broadcast: windows.broadcast,
  });

  // Signed updates; the check starts once the gateway is up (below). Off, and said so, when not packaged.
  const autoUpdate = await setupAutoUpdate({
    app,
    platform,
    userDataDir: userData,
    feedFile: () => path.join(process.resourcesPath, 'app-update.yml'),
    // Loaded only in a packaged app: electron-updater picks the updater for this OS and package type.
    createUpdater: () => (require('electron-updater') as typeof import('electron-updater')).autoUpdater,
    busy: () =>
      restartBlockers(
        { approvals: queue.pending().length, pairings: pairing.pending().length, stateDirs: [stateDir] },
        translate,
      ),
    drainThen: (install) => shutdown.drainThen(install),
    dialog,
    onChange: refresh,
    notices,
    log,
    translate,
  });

  tray = setupTray({
    tray: new Tray(nativeImage.createEmpty()),
    Menu,
    nativeImage,
    platform,
    iconCacheDir: path.join(userData, 'tray-icons'),
    log,
    translate,
    actions: {
      showApproval: () => queue.focus(),
      showPairing: (requestId) => pairing.reopen(requestId),
      openDashboard: dashboard.open,
      openControlUi: () => void controlUi.open({ tellPerson: true }),
      startGateway: () => void controller.start(),
      stopGateway: () => void controller.stop(),
      restartGateway: () => void controller.restart(),
      setGatewayMode: (mode) =>
        void gatewayModes.switchTo(controller, mode as Parameters<typeof controller.setMode>[0]),
      setStartAtLogin: startAtLogin.set,
      restartToUpdate: () => void autoUpdate.restartToUpdate(),
      cancelRestartToUpdate: () => autoUpdate.cancelRestart(),
      setUpdateChannel: (channel) =>
        void autoUpdate.setChannel(channel).catch((error: Error) => {
          log('error', `update channel: ${error.message}`);
          refresh();
        }),
      quit: () => app.quit(),
    },
    state: () => ({
      gateway: controller.status(),
      approvals: queue.pending(),
      pairings: pairing.pending(),
      startAtLogin: startAtLogin.get(),
      mode: gatewayModes.trayMode(controller),
      update: autoUpdate.trayView(),
      notices: notices.list().length,
      remoteGateways: remoteGateways.statuses().map((g) => ({
        name: g.name,
        state: g.state,
        pairingRequestId:
          g.approvals.pairingRequestId ?? (g.runner.state !== 'disabled' ? g.runner.pairingRequestId : undefined),
      })),
    }),
  });
  refresh();

  const shutdown = setupShutdown({
    app,
    platform,
    BrowserWindow,
    preloadPath,
    drainPrompts: () => queue.dispose(),
    stopGateway: async () => {
      await Promise.allSettled([controller.stop(), remoteGateways.stop(), discoveredGateways.stop()]);
    },
    onQuitting: () => {
      dashboard.quitting();
      dashboard.trayHost.stop();
    },
    log,
  });

  // Before the gateway: without a tray the window must appear even if the gateway takes long or fails.
  await dashboard.trayHost.start();
  gatewayModes.watchPower(powerMonitor, controller);
  // Every gateway on another machine waiting out a backoff from before the sleep tries again now.
  powerMonitor.on('resume', () => remoteGateways.reconnectNow('resumed from sleep'));
  await gatewayModes.chooseAtStart(controller);
  await controller.start();
  logs.add('app', 'info', `gateway: ${controller.status().state} (${controller.status().owner.description})`);
  // After the local gateway: the device identity is loaded by then, once, for both.
  void remoteGateways.start().catch((error: Error) => log('error', `remote gateways: ${error.message}`));
  autoUpdate.start();
}
