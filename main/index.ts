// The composition root: the only module that imports Electron values. Everything else takes slices of them.
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  powerMonitor,
  protocol,
  safeStorage,
  screen,
  session,
  shell,
  Tray,
} from 'electron';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createConfigWithToken, generateGatewayToken } from '../gateway/config/gateway-config';
import { clawdeskDataDir, loadClawdeskIdentity } from '../gateway/identity/clawdesk-identity';
import { vaultExists } from '../gateway/secrets/secret-store';
import { recoverInterruptedMigrations } from '../gateway/state/state-migration';
import { resolveGatewayTarget } from '../gateway/node-host/gateway-target';
import { currentPathEnvironment, resolveConfigPath } from '../gateway/state/state-paths';
import { scanStateDirs } from '../gateway/state/state-scan';
import { APP_ID, APP_SCHEME, PRODUCT_NAME } from './app-identity';
import { ApprovalHistory } from './approval-history';
import { ApprovalNotifier } from './approval-notifier';
import { ApprovalQueue } from './approval-queue';
import { DashboardService } from './dashboard-service';
import { execPolicySource, migrateIntoActive, toStateView } from './desktop-sources';
import { GatewayController } from './gateway-controller';
import { setupGatewayModes } from './gateway-mode-setup';
import { KeyStorageConsent, keyStorageName } from './key-storage-consent';
import { KEY_STORAGE_SETTINGS_FILE, KeyStorageSettings } from './key-storage-settings';
import { EVENT_CHANNEL, type AppEvent, type Topic } from '../common/ipc-contract';
import { registerIpcHandlers } from './ipc/ipc-router';
import { LogBuffer } from './log-buffer';
import { LoginItem } from './login-item';
import { sessionBusNameHasOwner } from './session-bus';
import { NO_TRAY_HOST_HELP, TrayHostMonitor, traylessMenu, traylessTitle } from './tray-host';
import { MessageBoxPresenter } from './message-box-presenter';
import { NativeApprover } from './native-approver';
import { MessageBoxPairingPresenter, PairingPrompts, type PairingRequest } from './pairing-prompts';
import { PresenceMonitor } from './presence';
import { PromptWindowPresenter } from './prompt-window';
import { TrayController } from './tray-controller';
import {
  appResponseHeaders,
  guardWebContents,
  installSessionGuards,
  isVettedExternalUrl,
  resolveAppAsset,
  secureWebPreferences,
} from './window-security';

// Windows ties notifications to the Start-menu shortcut's AppUserModelID: set it before anything else.
if (process.platform === 'win32') app.setAppUserModelId(APP_ID);

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true } }]);

const rendererDir = path.join(__dirname, '..', 'renderer');
const preloadPath = path.join(__dirname, '..', 'preload', 'preload.js');
const logs = new LogBuffer();
const log = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => {
  logs.add('gateway', level, message, fields);
  if (level !== 'debug') console.log(`[${level}] ${message}`);
};

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void app.whenReady().then(start, (error) => {
    console.error(error);
    app.quit();
  });
}

async function start(): Promise<void> {
  logs.add('app', 'info', `${PRODUCT_NAME} ${app.getVersion()} starting on ${process.platform}`);
  installSessionGuards(session.defaultSession);
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, shell));
  protocol.handle(APP_SCHEME, async (request) => {
    const asset = resolveAppAsset(request.url, rendererDir);
    if (!asset || request.method !== 'GET') return new Response('Not found', { status: 404 });
    try {
      return new Response(await readFile(asset.file), { headers: appResponseHeaders(asset.mimeType) });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });

  if (process.platform === 'darwin') {
    app.dock?.hide();
    // No Dock icon means no default menu: without an Edit menu, copy and paste do not work in windows.
    Menu.setApplicationMenu(
      Menu.buildFromTemplate([{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }]),
    );
  }

  // Which gateway, and its secret: the same rules as the openclaw CLI (flags → env → openclaw.json).
  const target = await resolveGatewayTarget({}, process.env);
  // A migration killed halfway is rolled forward or back before anything reads the state dir.
  await recoverInterruptedMigrations([target.stateDir]).then(
    (recovered) =>
      recovered.forEach(({ journal }) => log('info', `recovered an interrupted state migration (${journal})`)),
    (error) => log('error', `an interrupted state migration needs attention: ${(error as Error).message}`),
  );
  const port = Number(new URL(target.url).port) || 18789;
  let token = target.token;
  if (!token && !target.password) {
    token = generateGatewayToken();
    await createConfigWithToken(resolveConfigPath(currentPathEnvironment(), target.stateDir), port, token).catch(
      (error) => log('warn', `could not save a gateway token to openclaw.json: ${(error as Error).message}`),
    );
  }

  const windows = new Set<BrowserWindow>();
  const broadcast = (topics: Topic[]) => {
    const event: AppEvent = { type: 'changed', topics };
    for (const w of windows) if (!w.isDestroyed()) w.webContents.send(EVENT_CHANNEL, event);
  };
  const createWindow = (options: Electron.BrowserWindowConstructorOptions) => {
    const window = new BrowserWindow({ ...options, show: false, webPreferences: secureWebPreferences(preloadPath) });
    windows.add(window);
    window.on('closed', () => windows.delete(window));
    return window;
  };

  const presence = new PresenceMonitor(powerMonitor, screen);
  const history = new ApprovalHistory(path.join(app.getPath('userData'), 'approval-history.jsonl'));
  await history.load().catch((error) => log('warn', `approval history unreadable: ${(error as Error).message}`));
  const requested = new Map<
    string,
    { command: string; cwd?: string; agentId?: string; host?: string; nodeId?: string; createdAtMs: number }
  >();
  const fallbackIds = new Set<string>();

  let notifier: ApprovalNotifier | undefined;
  const queue: ApprovalQueue = new ApprovalQueue({
    presenter: new PromptWindowPresenter({
      createWindow: () =>
        createWindow({
          width: 640,
          height: 560,
          title: 'Allow this command?',
          alwaysOnTop: true,
          minimizable: false,
          fullscreenable: false,
        }),
      fallback: new MessageBoxPresenter(dialog),
      notifyPrompt: () => broadcast(['prompt']),
      requestAttention: (window) => {
        // An LSUIElement app is not brought forward by focus(); Wayland ignores alwaysOnTop and focus requests, so
        // the window asks for attention (urgency hint / xdg-activation) and the notification below still shows.
        if (process.platform === 'darwin') app.focus({ steal: true });
        else if (process.platform === 'linux') (window as BrowserWindow).flashFrame(true);
      },
    }),
    blocker: () => presence.blocker(),
    // The approval client applies askFallback itself; the queue only reports "no answer".
    fallback: () => null,
    onChange: () => {
      for (const view of queue.pending()) notifier?.notify(view);
      refreshTray();
      broadcast(['approvals', 'status', 'prompt']);
    },
    onOutcome: (_event, outcome) => notifier?.dismiss(outcome.id),
  });
  notifier = new ApprovalNotifier({
    notifications: { isSupported: () => Notification.isSupported(), create: (options) => new Notification(options) },
    platform: process.platform,
    onOpen: () => queue.focus(),
    onDecide: (id, decision) => queue.decide(id, decision),
  });

  const dataDir = clawdeskDataDir(target.stateDir);
  // The user's answer to "keep the key in a file readable only by me?", remembered across restarts.
  const keyStorage = new KeyStorageSettings(path.join(app.getPath('userData'), KEY_STORAGE_SETTINGS_FILE), {
    onProblem: (message) => log('warn', `key storage settings: ${message}`),
  });
  await keyStorage.load();
  const gatewayModes = setupGatewayModes({
    userDataDir: app.getPath('userData'),
    dataDir,
    port,
    env: process.env,
    dialog,
    log,
    notifyLog: () => broadcast(['gateway-log']),
  });
  const controller: GatewayController = new GatewayController({
    openclaw: gatewayModes.openclaw,
    port,
    stateDir: target.stateDir,
    // Keychain first, then Electron's safeStorage; a plaintext key file only when the user accepted it.
    loadIdentity: () =>
      loadClawdeskIdentity({
        dataDir,
        safeStorage,
        whenUnavailable: 'ephemeral',
        allowPlaintextFallback: keyStorage.plaintextKeyFileAccepted(dataDir),
      }),
    token,
    password: target.password,
    approver: new NativeApprover(queue),
    log,
    onChange: () => {
      refreshTray();
      broadcast(['status']);
    },
    onApprovalOutcome: (outcome) => {
      if (outcome.source === 'fallback') fallbackIds.add(outcome.id);
    },
    onSession: (operator) => {
      if (!operator) return;
      operator.on('event', (name: string, payload: any) => {
        if (name === 'device.pair.requested') pairing.requested({ kind: 'device', ...payload });
        else if (name === 'node.pair.requested') pairing.requested({ kind: 'node', ...payload });
        else if (name === 'device.pair.resolved' || name === 'node.pair.resolved')
          pairing.resolved(String(payload?.requestId));
        else if (name === 'exec.approval.requested' && typeof payload?.id === 'string') {
          const r = payload.request ?? {};
          requested.set(payload.id, {
            command: String(r.command ?? r.systemRunPlan?.commandText ?? ''),
            cwd: r.cwd ?? undefined,
            agentId: r.agentId ?? undefined,
            host: r.host ?? undefined,
            nodeId: r.nodeId ?? undefined,
            createdAtMs: payload.createdAtMs ?? Date.now(),
          });
        } else if (name === 'exec.approval.resolved' && typeof payload?.id === 'string') {
          const request = requested.get(payload.id);
          requested.delete(payload.id);
          const decidedBy = fallbackIds.delete(payload.id)
            ? 'fallback (askFallback)'
            : payload.resolvedBy === 'Clawdesk'
              ? 'you'
              : String(payload.resolvedBy ?? 'another client');
          void history
            .record({
              id: payload.id,
              command: request?.command ?? '',
              cwd: request?.cwd,
              agentId: request?.agentId,
              host: request?.host,
              nodeId: request?.nodeId,
              decision: payload.decision ?? 'no-decision',
              decidedBy,
              requestedAtMs: request?.createdAtMs ?? payload.ts,
              resolvedAtMs: payload.ts ?? Date.now(),
            })
            .then(() => broadcast(['history']));
        }
        if (name.includes('.pair.')) broadcast(['devices', 'nodes', 'status']);
        // A node connecting or dropping changes presence: the Nodes view follows it live.
        else if (name === 'presence') broadcast(['nodes', 'status']);
      });
      void Promise.all([
        operator
          .request<{ pending?: any[] }>('device.pair.list', {})
          .then((r) => pairing.seed((r.pending ?? []).map((p) => ({ kind: 'device', ...p }) as PairingRequest))),
        operator
          .request<{ pending?: any[] }>('node.pair.list', {})
          .then((r) => pairing.seed((r.pending ?? []).map((p) => ({ kind: 'node', ...p }) as PairingRequest))),
      ]).catch((error) => log('warn', `could not seed pairing prompts: ${(error as Error).message}`));
    },
  });

  const pairing: PairingPrompts = new PairingPrompts({
    presenter: new MessageBoxPairingPresenter(dialog),
    act: async (request, choice) => {
      const operator = controller.session();
      if (!operator) throw new Error('the gateway is not connected');
      await operator.request(`${request.kind}.pair.${choice}`, { requestId: request.requestId });
    },
    onError: (request, error) => {
      log('error', `pairing ${request.requestId} failed: ${(error as Error).message}`);
      void dialog.showMessageBox({
        type: 'error',
        title: 'Pairing failed',
        message: 'Pairing failed',
        detail: (error as Error).message,
      });
    },
    onChange: () => {
      refreshTray();
      broadcast(['devices', 'status']);
    },
  });

  const loginItem = new LoginItem(app, process.platform, {
    configHome: process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'),
    execPath: process.execPath,
    // Inside an AppImage, execPath is under a /tmp/.mount_* that goes away; the runtime names the file in $APPIMAGE.
    appImage: app.isPackaged ? process.env.APPIMAGE : undefined,
    // `electron .` in development: the binary alone would start Electron's default app at login.
    appPath: app.isPackaged ? undefined : app.getAppPath(),
  });
  const setStartAtLogin = (enabled: boolean) =>
    void loginItem.set(enabled).then(refreshTray, (error) => {
      log('error', `start at login: ${(error as Error).message}`);
      refreshTray();
      void dialog.showMessageBox({
        type: 'warning',
        title: 'Start at login',
        message: 'Start at login was not changed',
        detail: (error as Error).message,
      });
    });

  // Without a tray host (Linux desktops without a StatusNotifier host, e.g. Fedora GNOME) the dashboard stands in
  // for the tray: open at start, a menu with Quit and the waiting approvals, the counts in its title, and closing it
  // minimises instead (a hidden window would leave the app invisible).
  const trayHost = new TrayHostMonitor({
    platform: process.platform,
    nameHasOwner: (name) => sessionBusNameHasOwner(name),
    onChange: (host, previous) => {
      logs.add(
        'app',
        host.state === 'present' ? 'info' : 'warn',
        `tray host: ${host.state} (${host.detail})${host.state === 'present' ? '' : `. ${NO_TRAY_HOST_HELP}`}`,
      );
      if (host.state !== 'present') openDashboard();
      else if (previous) refreshTray();
      updateTraylessDashboard();
    },
  });
  let quitting = false;
  let dashboard: BrowserWindow | undefined;
  const traylessCounts = () => ({
    pendingApprovals: queue.pending().length,
    pendingPairings: pairing.pending().length,
  });
  const explainNoTray = () =>
    void dialog.showMessageBox({
      type: 'info',
      title: 'No tray icon',
      message: 'Why is there no tray icon?',
      detail: NO_TRAY_HOST_HELP,
    });
  const updateTraylessDashboard = () => {
    if (!dashboard || dashboard.isDestroyed()) return;
    const trayless = !trayHost.visible();
    dashboard.setTitle(trayless ? traylessTitle(PRODUCT_NAME, traylessCounts()) : PRODUCT_NAME);
    if (process.platform !== 'darwin') {
      dashboard.setMenu(
        trayless
          ? Menu.buildFromTemplate(
              traylessMenu(traylessCounts(), {
                showApproval: () => queue.focus(),
                explain: explainNoTray,
                quit: () => app.quit(),
              }),
            )
          : null,
      );
    }
  };
  const openDashboard = () => {
    if (dashboard && !dashboard.isDestroyed()) {
      if (dashboard.isMinimized()) dashboard.restore();
      dashboard.show();
      dashboard.focus();
      if (process.platform === 'darwin') app.focus({ steal: true });
      return;
    }
    dashboard = createWindow({ width: 1100, height: 760, title: PRODUCT_NAME });
    dashboard.on('close', (event) => {
      if (quitting || trayHost.visible()) return;
      event.preventDefault();
      dashboard?.minimize();
    });
    dashboard.once('ready-to-show', () => {
      dashboard?.show();
      if (process.platform === 'darwin') app.focus({ steal: true });
    });
    updateTraylessDashboard();
    void dashboard.loadURL(`clawdesk://app/index.html#status`);
  };
  app.on('second-instance', openDashboard);

  const keyStorageConsent = new KeyStorageConsent({
    dialog,
    dataDir,
    settings: keyStorage,
    identity: () => controller.identityStatus(),
    vaultExists,
    reloadIdentity: () => controller.reloadIdentity(),
  });
  const service = new DashboardService({
    version: app.getVersion(),
    platform: process.platform,
    status: () => ({ gateway: controller.status(), secretsBackend: keyStorageName(controller.identityStatus()) }),
    pendingPairingCount: () => pairing.pending().length,
    controlGateway: (action) =>
      action === 'start' ? controller.start() : action === 'stop' ? controller.stop() : controller.restart(),
    startAtLogin: {
      get: () => loginItem.get(),
      set: setStartAtLogin,
    },
    gateway: () => controller.session(),
    approvals: {
      pending: () => queue.pending(),
      current: () => queue.current(),
      decide: (id, decision) => queue.decide(id, decision),
    },
    history,
    logs,
    gatewayLog: (maxBytes) => controller.gatewayLog(maxBytes),
    policy: execPolicySource(target.stateDir, resolveConfigPath(currentPathEnvironment(), target.stateDir)),
    state: {
      scan: async () =>
        toStateView(await scanStateDirs(currentPathEnvironment(), { embeddedGatewayStateDir: target.stateDir })),
      migrate: async (dryRun, hooks) => {
        const scan = await scanStateDirs(currentPathEnvironment(), { embeddedGatewayStateDir: target.stateDir });
        if (dryRun) return migrateIntoActive(scan, true);
        // The embedded gateway keeps pairing state in memory: stop it around a real migration.
        await controller.stop();
        try {
          return await migrateIntoActive(scan, false, hooks);
        } finally {
          await controller.start();
        }
      },
    },
    secrets: () => keyStorageConsent.view(),
    acceptPlaintextKeyStorage: () => keyStorageConsent.acceptPlaintextKeyFile(),
    openExternal: async (url) => {
      if (!isVettedExternalUrl(url)) return false;
      await shell.openExternal(url);
      return true;
    },
    notify: broadcast,
  });
  registerIpcHandlers({
    ipcMain,
    handlers: service,
    isOwnWebContents: (id) => [...windows].some((w) => !w.isDestroyed() && w.webContents.id === id),
    onRejected: (method, error) => logs.add('app', 'warn', `IPC ${method} rejected: ${error.message}`),
  });

  const tray = new Tray(nativeImage.createEmpty());
  const trayController = new TrayController({
    tray,
    menu: Menu,
    images: nativeImage,
    platform: process.platform,
    iconCacheDir: path.join(app.getPath('userData'), 'tray-icons'),
    actions: {
      showApproval: () => queue.focus(),
      showPairing: (requestId) => pairing.reopen(requestId),
      openDashboard,
      startGateway: () => void controller.start(),
      stopGateway: () => void controller.stop(),
      restartGateway: () => void controller.restart(),
      setGatewayMode: (mode) =>
        void gatewayModes.switchTo(controller, mode as Parameters<typeof controller.setMode>[0]),
      setStartAtLogin,
      quit: () => app.quit(),
    },
  });
  tray.on('click', openDashboard);
  function refreshTray(): void {
    const status = controller.status();
    trayController.update({
      gateway: status.state,
      port: status.port,
      owner: status.owner,
      error: status.error,
      fix: status.fix,
      mode: gatewayModes.trayMode(controller),
      pendingApprovals: queue.pending().map((v) => ({
        id: v.promptId,
        summary: v.command.text.length > 60 ? `${v.command.text.slice(0, 59)}…` : v.command.text,
      })),
      pendingPairings: pairing.pending().map((p) => ({
        requestId: p.requestId,
        summary:
          p.kind === 'device'
            ? `${p.displayName ?? p.deviceId.slice(0, 12)} (device)`
            : `${p.displayName ?? p.nodeId} (node)`,
      })),
      startAtLogin: loginItem.get(),
    });
    updateTraylessDashboard();
  }
  refreshTray();

  // A tray app stays alive with no windows open.
  app.on('window-all-closed', () => undefined);
  // Quit and the end of the OS session both drain: pending prompts end (askFallback applies, nothing is allowed),
  // then the gateway and runner stop, then the app exits.
  let drained: Promise<void> | undefined;
  const drain = () =>
    (drained ??= queue
      .dispose()
      .then(() => controller.stop())
      .catch((error) => log('error', `stopping: ${(error as Error).message}`)));
  app.on('before-quit', (event) => {
    if (quitting) return;
    quitting = true;
    event.preventDefault();
    trayHost.stop();
    void drain().finally(() => app.exit(0));
  });
  // Windows emits no before-quit at shutdown, restart or log-off: a window gets WM_QUERYENDSESSION / WM_ENDSESSION
  // (Electron's query-session-end / session-end). A tray app may have none open, so a hidden one listens.
  if (process.platform === 'win32') {
    const sessionWindow = new BrowserWindow({
      show: false,
      width: 1,
      height: 1,
      skipTaskbar: true,
      focusable: false,
      webPreferences: secureWebPreferences(preloadPath),
    });
    const onSessionEnd = (event: Electron.WindowSessionEndEvent) => {
      log('info', `Windows session ending (${event.reasons.join(', ') || 'unspecified'}): stopping the gateway`);
      quitting = true;
      void drain();
    };
    sessionWindow.on('query-session-end', onSessionEnd);
    sessionWindow.on('session-end', onSessionEnd);
  }

  // Before the gateway: without a tray the window must appear even if the gateway takes long or fails.
  await trayHost.start();
  gatewayModes.watchPower(powerMonitor, controller);
  await gatewayModes.chooseAtStart(controller);
  await controller.start();
  logs.add('app', 'info', `gateway: ${controller.status().state} (${controller.status().owner.description})`);
}
