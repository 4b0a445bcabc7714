// The Electron objects main-process modules use, as narrow slices of the real API. Modules take these, the
// composition root (main/index.ts) passes the real ones, tests pass fakes that must type-check against electron.d.ts.
import type {} from 'electron';

export type MessageBoxOptions = Electron.MessageBoxOptions;
export type MessageBoxReturnValue = Electron.MessageBoxReturnValue;
export type DialogLike = Pick<Electron.Dialog, 'showMessageBox'>;
export type TrayLike = Pick<
  Electron.Tray,
  'setImage' | 'setToolTip' | 'setContextMenu' | 'setTitle' | 'on' | 'destroy'
>;
export type MenuItemOptions = Electron.MenuItemConstructorOptions;
export type MenuFactory = { buildFromTemplate(template: MenuItemOptions[]): Electron.Menu };
export type NativeImageLike = Electron.NativeImage;
export type NativeImageFactory = Pick<
  typeof Electron.nativeImage,
  'createFromBuffer' | 'createFromPath' | 'createEmpty'
>;
export type NotificationOptions = Electron.NotificationConstructorOptions;
export type NotificationLike = Pick<Electron.Notification, 'show' | 'close' | 'on'>;
export type NotificationFactory = {
  isSupported(): boolean;
  create(options: NotificationOptions): NotificationLike;
};
export type AppLike = Pick<
  Electron.App,
  | 'getPath'
  | 'getVersion'
  | 'getLoginItemSettings'
  | 'setLoginItemSettings'
  | 'setAppUserModelId'
  | 'requestSingleInstanceLock'
  | 'quit'
  | 'on'
  | 'whenReady'
>;
export type SafeStorageLike = Pick<Electron.SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString'>;
export type PowerMonitorLike = Pick<Electron.PowerMonitor, 'on' | 'getSystemIdleState'>;
export type ScreenLike = Pick<Electron.Screen, 'getAllDisplays'>;
export type IpcMainLike = Pick<Electron.IpcMain, 'handle' | 'removeHandler'>;
export type IpcMainInvokeEvent = Electron.IpcMainInvokeEvent;
export type ShellLike = Pick<Electron.Shell, 'openExternal'>;
export type SessionLike = Pick<
  Electron.Session,
  'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'webRequest'
>;
export type WebContentsLike = Pick<Electron.WebContents, 'on' | 'setWindowOpenHandler' | 'id'>;
export type WebPreferences = Electron.WebPreferences;
