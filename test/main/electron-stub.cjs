// Loaded with `node -r` before dist/main/index.js: answers require('electron') with minimal stand-ins and
// reports what the composition root did on stdout as "STUB <json>" lines. No Electron binary is needed.
const Module = require('node:module');
const os = require('node:os');
const report = (kind, data) => process.stdout.write(`STUB ${JSON.stringify({ kind, data })}\n`);
const emitter = () => {
  const handlers = {};
  return {
    on(event, handler) {
      (handlers[event] ||= []).push(handler);
      return this;
    },
    once(event, handler) {
      return this.on(event, handler);
    },
    emit(event, ...args) {
      for (const h of handlers[event] || []) h(...args);
    },
  };
};
const image = () => ({ addRepresentation() {}, setTemplateImage() {}, isEmpty: () => false });
const app = Object.assign(emitter(), {
  setAppUserModelId: (id) => report('aumid', id),
  requestSingleInstanceLock: () => true,
  whenReady: () => Promise.resolve(),
  getVersion: () => '0.0.0-test',
  getPath: () => process.env.STUB_USER_DATA || os.tmpdir(),
  getLoginItemSettings: () => ({ openAtLogin: false }),
  setLoginItemSettings() {},
  quit: () => report('quit'),
  exit: (code) => process.exit(code),
  dock: { hide: () => report('dock-hidden') },
});
class BrowserWindow {}
class Tray {
  constructor() {
    Object.assign(this, emitter());
  }
  setImage() {}
  setToolTip(text) {
    report('tooltip', text);
  }
  setContextMenu(menu) {
    report('menu', menu.filter((i) => i.label).map((i) => i.label));
  }
  setTitle() {}
  destroy() {}
}
class Notification {
  static isSupported() {
    return false;
  }
}
const electron = {
  app,
  BrowserWindow,
  Tray,
  Notification,
  dialog: { showMessageBox: async () => ({ response: 0, checkboxChecked: false }) },
  ipcMain: { handle: (channel) => report('ipc', channel), removeHandler() {} },
  Menu: { buildFromTemplate: (t) => t, setApplicationMenu: () => report('app-menu') },
  nativeImage: { createEmpty: image, createFromBuffer: image, createFromPath: image },
  powerMonitor: Object.assign(emitter(), { getSystemIdleState: () => 'active' }),
  protocol: { registerSchemesAsPrivileged: (s) => report('schemes', s), handle: (scheme) => report('protocol', scheme) },
  screen: { getAllDisplays: () => [{}] },
  session: {
    defaultSession: {
      setPermissionRequestHandler: (h) => h(null, 'media', (granted) => report('permission-request', granted), {}),
      setPermissionCheckHandler: (h) => report('permission-check', h(null, 'media', 'x', {})),
    },
  },
  shell: { openExternal: async () => undefined },
};
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'electron') return electron;
  return load.call(this, request, ...rest);
};
