// The stand-in for the preload in headless Chromium: the real bridge (preload/api-bridge.ts) with the IPC
// transport swapped for a Playwright binding. Bundled by the test with esbuild and injected before app.js.
import { API_GLOBAL, type AppEvent } from '../../common/ipc-contract';
import { buildClawdeskApi, type IpcRendererLike } from '../../preload/api-bridge';

type Listener = (event: unknown, payload: AppEvent) => void;
const listeners = new Set<Listener>();
const w = window as unknown as {
  __clawdeskIpc(channel: string, args: unknown[]): Promise<unknown>;
  __clawdeskEmit(payload: AppEvent): void;
  [API_GLOBAL]: unknown;
};

const ipc = {
  invoke: (channel: string, ...args: unknown[]) => w.__clawdeskIpc(channel, args),
  on: (_channel: string, listener: Listener) => {
    listeners.add(listener);
    return ipc;
  },
  removeListener: (_channel: string, listener: Listener) => {
    listeners.delete(listener);
    return ipc;
  },
} as unknown as IpcRendererLike;

w.__clawdeskEmit = (payload) => {
  for (const listener of listeners) listener({}, payload);
};
w[API_GLOBAL] = buildClawdeskApi(ipc);
