// Loaded with `node -r` before dist/main/index.js: answers require('electron') with stand-ins that enforce what
// real Electron 45 enforces, and reports what the composition root did on stdout as "STUB <json>" lines. No
// Electron binary is needed.
//
// Enforced as Electron does (the error texts are Electron's own):
// * ready-only APIs throw before `ready`: BrowserWindow, Tray, Notification, dialog, screen, powerMonitor,
//   session.defaultSession, safeStorage encryption, protocol.handle; protocol.registerSchemesAsPrivileged only before;
// * BrowserWindow records its options, webPreferences and whether its preload file exists;
// * safeStorage: STUB_SAFE_STORAGE = available | unavailable | basic_text (Linux backend), sync calls reported;
// * notifications: actions exist on darwin and win32 only (Linux ignores them); STUB_NOTIFICATIONS=unsupported;
// * platforms: STUB_PLATFORM = linux | darwin | win32 sets process.platform for the whole run (set before the app);
// * the tray is invisible on Linux when nothing owns org.kde.StatusNotifierWatcher (the app must find that out
//   itself from the session bus; the test runs a private bus);
// * stdin commands from the test: `session-end <reasons>` sends Windows' query-session-end then session-end to every
//   window, `quit` calls app.quit() (before-quit as Electron emits it), `state` reports the window list,
//   `loop-reset` / `loop` reset and report the main process's event-loop delay (npm run bench uses it),
//   `invoke <window id> <channel> <json args>` calls an IPC handler as that window's main frame would;
// * ipcMain.handle refuses a second handler for a channel; STUB_NOTIFICATIONS=denied makes macOS and Windows
//   notifications emit `failed`, as when the person turned them off.
const Module = require('node:module');
const fs = require('node:fs');
const os = require('node:os');
const readline = require('node:readline');

const platform = process.env.STUB_PLATFORM || process.platform;
if (platform !== process.platform) Object.defineProperty(process, 'platform', { value: platform });
const report = (kind, data) => process.stdout.write(`STUB ${JSON.stringify({ kind, data })}\n`);

let ready = false;
const ipcHandlers = new Map();
const requireReady = (what) => {
  if (!ready) {
    const error = new Error(`${what} cannot be used before the app is ready`);
    report('error-before-ready', what);
    throw error;
  }
};

const emitter = () => {
  const handlers = {};
  return {
    on(event, handler) {
      (handlers[event] ||= []).push({ handler, once: false });
      return this;
    },
    once(event, handler) {
      (handlers[event] ||= []).push({ handler, once: true });
      return this;
    },
    removeListener(event, handler) {
      handlers[event] = (handlers[event] || []).filter((h) => h.handler !== handler);
      return this;
    },
    listenerCount(event) {
      return (handlers[event] || []).length;
    },
    emit(event, ...args) {
      const list = handlers[event] || [];
      handlers[event] = list.filter((h) => !h.once);
      for (const h of list) h.handler(...args);
      return list.length > 0;
    },
  };
};
const electronEvent = (extra = {}) => {
  const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true), ...extra };
  return event;
};
const image = () => ({ addRepresentation() {}, setTemplateImage() {}, isEmpty: () => false });

const app = Object.assign(emitter(), {
  isPackaged: false,
  setAppUserModelId: (id) => report('aumid', id),
  requestSingleInstanceLock: () => true,
  isReady: () => ready,
  whenReady: () =>
    new Promise((resolve) =>
      setImmediate(() => {
        ready = true;
        app.emit('ready');
        resolve();
      }),
    ),
  getVersion: () => '0.0.0-test',
  // STUB_LOCALE: the OS's language (Electron answers these only once ready).
  getLocale: () => (requireReady('app.getLocale'), process.env.STUB_LOCALE || 'en-US'),
  getPreferredSystemLanguages: () => (
    requireReady('app.getPreferredSystemLanguages'),
    [process.env.STUB_LOCALE || 'en-US']
  ),
  getAppPath: () => process.cwd(),
  getPath: () => process.env.STUB_USER_DATA || os.tmpdir(),
  getLoginItemSettings: (options) => ({ openAtLogin: false, options }),
  setLoginItemSettings: (settings) => report('login-item', settings),
  focus: (options) => report('app-focus', options ?? null),
  quit: () => {
    report('quit');
    const event = electronEvent();
    app.emit('before-quit', event);
    if (!event.defaultPrevented) process.exit(0);
  },
  exit: (code) => {
    report('exit', code);
    process.exit(code);
  },
  dock: { hide: () => report('dock-hidden') },
});

let nextWebContentsId = 1;
const allWindows = [];
class BrowserWindow {
  constructor(options = {}) {
    requireReady('BrowserWindow');
    Object.assign(this, emitter());
    this.options = options;
    this.destroyed = false;
    this.minimized = false;
    this.visible = false;
    this.title = options.title;
    this.menu = undefined;
    this.id = allWindows.length + 1;
    const webPreferences = options.webPreferences || {};
    this.webContents = Object.assign(emitter(), { id: nextWebContentsId++, send() {}, setWindowOpenHandler() {} });
    allWindows.push(this);
    report('window', {
      id: this.id,
      title: options.title,
      show: options.show,
      alwaysOnTop: options.alwaysOnTop,
      webPreferences,
      preloadExists: typeof webPreferences.preload === 'string' && fs.existsSync(webPreferences.preload),
    });
    if (platform !== 'darwin' && this.options.show !== false) this.visible = true;
  }
  static getAllWindows() {
    return allWindows.filter((w) => !w.destroyed);
  }
  loadURL(url) {
    report('load-url', { id: this.id, url });
    this.url = url;
    // No renderer here: the page never becomes ready-to-show, and loadURL settles as Electron's does on a page
    // that has not finished (it stays pending), so a prompt falls through only on a real failure.
    return new Promise(() => undefined);
  }
  show() {
    this.visible = true;
    report('window-show', this.id);
  }
  focus() {}
  moveTop() {}
  flashFrame(flag) {
    report('flash-frame', { id: this.id, flag });
  }
  setTitle(title) {
    if (title !== this.title) report('window-title', { id: this.id, title });
    this.title = title;
  }
  setMenu(menu) {
    this.menu = menu;
    report('window-menu', { id: this.id, labels: menu ? flattenLabels(menu) : null });
  }
  minimize() {
    this.minimized = true;
    report('window-minimize', this.id);
  }
  isMinimized() {
    return this.minimized;
  }
  restore() {
    this.minimized = false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  close() {
    const event = electronEvent();
    this.emit('close', event);
    if (event.defaultPrevented) return;
    this.destroyed = true;
    report('window-closed', this.id);
    this.emit('closed');
  }
}
const flattenLabels = (template) =>
  template.flatMap((i) => [i.label, ...(Array.isArray(i.submenu) ? flattenLabels(i.submenu) : [])]).filter(Boolean);

class Tray {
  constructor() {
    requireReady('Tray');
    Object.assign(this, emitter());
    report('tray', { platform });
  }
  setImage() {}
  setToolTip(text) {
    report('tooltip', text);
  }
  setContextMenu(menu) {
    report(
      'menu',
      menu.filter((i) => i.label).map((i) => i.label),
    );
  }
  setTitle(title) {
    report('tray-title', title);
  }
  destroy() {}
}

class Notification {
  constructor(options) {
    requireReady('Notification');
    Object.assign(this, emitter());
    // Electron shows actions only on macOS (alert style) and Windows; Linux notifications carry none.
    const actions = platform === 'darwin' || platform === 'win32' ? options.actions || [] : [];
    report('notification', { title: options.title, body: options.body, actions: actions.map((a) => a.text) });
  }
  static isSupported() {
    return process.env.STUB_NOTIFICATIONS !== 'unsupported';
  }
  show() {
    // STUB_NOTIFICATIONS=denied: the OS refuses (Windows with notifications off for the app, macOS without
    // permission); Electron then emits `failed` with the reason, on macOS and Windows only.
    if (process.env.STUB_NOTIFICATIONS === 'denied' && (platform === 'darwin' || platform === 'win32'))
      setImmediate(() => this.emit('failed', electronEvent(), 'Notifications are turned off for this app'));
    else setImmediate(() => this.emit('show', electronEvent()));
  }
  close() {}
}

const safeStorageMode = process.env.STUB_SAFE_STORAGE || 'available';
const seal = (text) => Buffer.from(Buffer.from(text, 'utf8').map((b) => b ^ 0x5a));
const sync =
  (name, fn) =>
  (...args) => {
    report('safe-storage-sync-call', name);
    return fn(...args);
  };
const safeStorage = {
  isEncryptionAvailable: sync('isEncryptionAvailable', () => ready && safeStorageMode !== 'unavailable'),
  encryptString: sync('encryptString', (text) => {
    requireReady('safeStorage');
    return seal(text);
  }),
  decryptString: sync('decryptString', (buffer) => seal(buffer.toString('latin1')).toString('latin1')),
  getSelectedStorageBackend: () =>
    !ready ? 'unknown' : safeStorageMode === 'basic_text' ? 'basic_text' : 'gnome_libsecret',
  setUsePlainTextEncryption() {},
  isAsyncEncryptionAvailable: async () => {
    requireReady('safeStorage');
    return safeStorageMode !== 'unavailable';
  },
  encryptStringAsync: async (text) => {
    requireReady('safeStorage');
    if (safeStorageMode === 'unavailable') throw new Error('Encryption is not available.');
    return seal(text);
  },
  decryptStringAsync: async (buffer) => {
    requireReady('safeStorage');
    if (safeStorageMode === 'unavailable') throw new Error('Decryption is not available.');
    return {
      result: Buffer.from(seal(buffer.toString('latin1')).toString('latin1'), 'latin1').toString('utf8'),
      shouldReEncrypt: false,
    };
  },
};

const powerMonitor = Object.assign(emitter(), {
  getSystemIdleState: () => {
    requireReady('powerMonitor');
    return 'active';
  },
});
// nativeTheme.themeSource accepts only Electron's three values (it throws on anything else) and may be set before
// `ready`; each change is reported.
let themeSource = 'system';
// (defineProperties, not Object.assign: assign would copy the accessors' values, not the accessors.)
const nativeTheme = Object.defineProperties(emitter(), {
  themeSource: {
    get: () => themeSource,
    set: (value) => {
      if (!['system', 'light', 'dark'].includes(value))
        throw new TypeError('themeSource must be system, light or dark');
      themeSource = value;
      report('native-theme', value);
    },
  },
  shouldUseDarkColors: { get: () => themeSource === 'dark' },
});
const defaultSession = {
  setPermissionRequestHandler: (h) => h(null, 'media', (granted) => report('permission-request', granted), {}),
  setPermissionCheckHandler: (h) => report('permission-check', h(null, 'media', 'x', {})),
  webRequest: { onHeadersReceived() {}, onBeforeRequest() {} },
};
let schemesRegistered = false;
const electron = {
  app,
  BrowserWindow,
  Tray,
  Notification,
  safeStorage,
  nativeTheme,
  dialog: {
    showMessageBox: async (...args) => {
      requireReady('dialog');
      const options = args.find((a) => a && typeof a === 'object' && 'message' in a);
      report('message-box', { title: options?.title, message: options?.message });
      return { response: options?.cancelId ?? 0, checkboxChecked: false };
    },
  },
  ipcMain: {
    handle: (channel, handler) => {
      if (ipcHandlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      ipcHandlers.set(channel, handler);
      report('ipc', channel);
    },
    removeHandler: (channel) => ipcHandlers.delete(channel),
  },
  Menu: { buildFromTemplate: (t) => t, setApplicationMenu: () => report('app-menu') },
  nativeImage: { createEmpty: image, createFromBuffer: image, createFromPath: image },
  powerMonitor: new Proxy(powerMonitor, {
    get(target, key) {
      if (key === 'on' || key === 'once') requireReady('powerMonitor');
      return target[key];
    },
  }),
  protocol: {
    registerSchemesAsPrivileged: (s) => {
      if (ready) throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
      schemesRegistered = true;
      report('schemes', s);
    },
    handle: (scheme) => {
      requireReady('protocol.handle');
      if (!schemesRegistered) throw new Error(`${scheme} is not a registered privileged scheme`);
      report('protocol', scheme);
    },
  },
  screen: {
    getAllDisplays: () => {
      requireReady('screen');
      return [{}];
    },
  },
  session: {
    get defaultSession() {
      requireReady('session');
      return defaultSession;
    },
  },
  shell: { openExternal: async () => undefined },
};

const loopDelay = require('node:perf_hooks').monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

// Commands from the test on stdin.
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, ...rest] = line.trim().split(/\s+/);
  if (command === 'session-end') {
    const reasons = rest.length ? rest : ['shutdown'];
    for (const event of ['query-session-end', 'session-end']) {
      let listeners = 0;
      for (const w of BrowserWindow.getAllWindows()) {
        listeners += w.listenerCount(event);
        w.emit(event, electronEvent({ reasons }));
      }
      report(event, { listeners });
    }
  } else if (command === 'quit') {
    app.quit();
  } else if (command === 'close-windows') {
    for (const w of BrowserWindow.getAllWindows()) w.close();
  } else if (command === 'loop-reset') {
    loopDelay.reset();
    report('loop-reset');
  } else if (command === 'loop') {
    // The main process's event-loop delay since the last reset (perf_hooks.monitorEventLoopDelay, 1 ms resolution).
    const ms = (ns) => Math.round((ns / 1e6) * 1000) / 1000;
    report('loop', {
      p50: ms(loopDelay.percentile(50)),
      p99: ms(loopDelay.percentile(99)),
      max: ms(loopDelay.max),
      samples: loopDelay.count,
    });
  } else if (command === 'invoke') {
    // `invoke <window id> <channel> <json args array>`: as that window's main frame, showing what it loaded.
    const [id, channel, ...json] = rest;
    const window = BrowserWindow.getAllWindows().find((w) => String(w.id) === id);
    const handler = ipcHandlers.get(channel);
    const event = {
      sender: window ? window.webContents : { id: -1 },
      senderFrame: { url: window?.url ?? 'https://evil.example/', parent: null },
    };
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`No handler registered for '${channel}'`);
        return handler(event, ...JSON.parse(json.join(' ') || '[]'));
      })
      .then(
        (value) => report('invoke-result', { channel, ok: true, value }),
        (error) => report('invoke-result', { channel, ok: false, error: String(error?.message ?? error) }),
      );
  } else if (command === 'state') {
    report(
      'state',
      BrowserWindow.getAllWindows().map((w) => ({
        id: w.id,
        title: w.title,
        visible: w.visible,
        minimized: w.minimized,
        menu: w.menu ? flattenLabels(w.menu) : null,
      })),
    );
  }
});

const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'electron') return electron;
  return load.call(this, request, ...rest);
};
