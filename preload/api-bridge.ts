import {
  EVENT_CHANNEL,
  INVOKE_METHODS,
  invokeChannel,
  type AppEvent,
  type ClawdeskApi,
  type InvokeApi,
} from '../common/ipc-contract';

/** The slice of ipcRenderer the bridge needs; the preload passes the real one, tests a fake. */
export type IpcRendererLike = Pick<Electron.IpcRenderer, 'invoke' | 'on' | 'removeListener'>;

/**
 * Builds `window.clawdesk`: one function per contract method, each forwarding its arguments to the matching
 * whitelisted channel, plus an event subscription that hands the page only the event payload (never the
 * IpcRendererEvent, which would leak `sender`).
 */
export function buildClawdeskApi(ipc: IpcRendererLike): ClawdeskApi {
  const api: Record<string, unknown> = {};
  for (const method of INVOKE_METHODS) {
    const channel = invokeChannel(method);
    api[method] = (...args: unknown[]) => ipc.invoke(channel, ...args);
  }
  api.onEvent = (listener: (event: AppEvent) => void) => {
    const forward = (_event: Electron.IpcRendererEvent, payload: AppEvent) => listener(payload);
    ipc.on(EVENT_CHANNEL, forward);
    return () => {
      ipc.removeListener(EVENT_CHANNEL, forward);
    };
  };
  return Object.freeze(api) as unknown as InvokeApi & Pick<ClawdeskApi, 'onEvent'>;
}
