import { APP_ORIGIN } from '../app-identity';
import type { IpcMainInvokeEvent, IpcMainLike } from '../electron-facades';
import { INVOKE_METHODS, invokeChannel, type InvokeApi } from '../../common/ipc-contract';
import { IPC_ARG_SCHEMAS } from './ipc-schemas';

export class IpcRejectedError extends Error {
  constructor(
    readonly reason: 'untrusted-sender' | 'invalid-arguments',
    message: string,
  ) {
    super(message);
  }
}

/** The handlers main provides: the contract's methods, given the already-validated arguments. */
export type IpcHandlers = InvokeApi;

export interface IpcRouterOptions {
  ipcMain: IpcMainLike;
  handlers: IpcHandlers;
  /** webContents ids of Clawdesk's own windows (dashboard, approval prompt). */
  isOwnWebContents(id: number): boolean;
  onRejected?(method: string, error: IpcRejectedError): void;
}

/**
 * A sender is trusted only when it is one of Clawdesk's windows AND the calling frame is its main frame showing
 * Clawdesk's own origin: an iframe, a navigated-away page or a foreign origin is refused.
 */
export function isTrustedSender(
  event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>,
  isOwnWebContents: (id: number) => boolean,
): boolean {
  const frame = event.senderFrame;
  if (!frame || !isOwnWebContents(event.sender.id)) return false;
  if (frame.parent !== null) return false;
  let origin: string;
  try {
    const url = new URL(frame.url);
    origin = `${url.protocol}//${url.host}`;
  } catch {
    return false;
  }
  return origin === APP_ORIGIN;
}

/** Registers every contract channel; returns a function that removes them again. */
export function registerIpcHandlers(options: IpcRouterOptions): () => void {
  for (const method of INVOKE_METHODS) {
    const channel = invokeChannel(method);
    const schema = IPC_ARG_SCHEMAS[method];
    options.ipcMain.handle(channel, async (event, ...args: unknown[]) => {
      if (!isTrustedSender(event, options.isOwnWebContents)) {
        const error = new IpcRejectedError('untrusted-sender', `${method}: sender is not a Clawdesk window`);
        options.onRejected?.(method, error);
        throw error;
      }
      const parsed = schema.safeParse(args);
      if (!parsed.success) {
        const error = new IpcRejectedError(
          'invalid-arguments',
          `${method}: invalid arguments: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(args)'} ${i.message}`).join('; ')}`,
        );
        options.onRejected?.(method, error);
        throw error;
      }
      const handler = options.handlers[method] as (...a: unknown[]) => Promise<unknown>;
      return handler.apply(options.handlers, parsed.data as unknown[]);
    });
  }
  return () => {
    for (const method of INVOKE_METHODS) options.ipcMain.removeHandler(invokeChannel(method));
  };
}
