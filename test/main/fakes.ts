// Fakes for the Electron slices in main/electron-facades.ts. Each is typed against the real electron.d.ts types.
import type {
  DialogLike,
  IpcMainInvokeEvent,
  IpcMainLike,
  MessageBoxOptions,
  MessageBoxReturnValue,
} from '../../main/electron-facades';

export interface ShownBox {
  options: MessageBoxOptions;
  /** The window the box was shown modal to, if any. */
  parent?: Electron.BaseWindow;
  answer(response: number): void;
  /** Esc / window close: Electron answers with cancelId. */
  cancel(): void;
  closedBySignal: boolean;
}

export class FakeDialog {
  readonly shown: ShownBox[] = [];
  private waiters: Array<(box: ShownBox) => void> = [];

  readonly api: DialogLike = {
    showMessageBox: (...args: [MessageBoxOptions] | [Electron.BaseWindow, MessageBoxOptions]) => {
      const options = args.length === 1 ? args[0] : args[1];
      return new Promise<MessageBoxReturnValue>((resolve) => {
        const box: ShownBox = {
          options,
          ...(args.length === 2 ? { parent: args[0] } : {}),
          closedBySignal: false,
          answer: (response) => resolve({ response, checkboxChecked: false }),
          cancel: () => resolve({ response: options.cancelId ?? 0, checkboxChecked: false }),
        };
        options.signal?.addEventListener('abort', () => {
          box.closedBySignal = true;
          box.cancel();
        });
        this.shown.push(box);
        for (const waiter of this.waiters.splice(0)) waiter(box);
      });
    },
  };

  /** Resolves with the nth box shown (0-based), waiting for it if necessary. */
  async box(index: number): Promise<ShownBox> {
    while (this.shown.length <= index) await new Promise<ShownBox>((resolve) => this.waiters.push(resolve));
    return this.shown[index];
  }
}

export const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Polls until `check` holds; generous by default, since the machine running the suite may be loaded. */
export async function waitFor(check: () => boolean | Promise<boolean>, what = 'condition', timeoutMs = 10_000) {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`${what}: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

import type {
  MenuFactory,
  MenuItemOptions,
  NativeImageFactory,
  NativeImageLike,
  TrayLike,
} from '../../main/electron-facades';

/** A stand-in NativeImage: records how it was made. Cast once here; everything else sees the real type. */
export interface FakeImage {
  source: { buffer?: Buffer; path?: string; scaleFactor?: number };
  representations: Array<{ scaleFactor: number; buffer?: Buffer }>;
  template: boolean;
}

export function fakeImages(): NativeImageFactory & { made: FakeImage[] } {
  const made: FakeImage[] = [];
  const make = (source: FakeImage['source']): NativeImageLike => {
    const image: FakeImage = { source, representations: [], template: false };
    made.push(image);
    return {
      addRepresentation: (options: Electron.AddRepresentationOptions) => {
        image.representations.push({ scaleFactor: options.scaleFactor ?? 1, buffer: options.buffer });
      },
      setTemplateImage: (value: boolean) => {
        image.template = value;
      },
      isEmpty: () => false,
    } as unknown as NativeImageLike;
  };
  return {
    made,
    createFromBuffer: (buffer: Buffer, options?: Electron.CreateFromBufferOptions) =>
      make({ buffer, scaleFactor: options?.scaleFactor }),
    createFromPath: (path: string) => make({ path }),
    createEmpty: () => make({}),
  };
}

export class FakeTray {
  images: NativeImageLike[] = [];
  tooltip = '';
  title = '';
  template: MenuItemOptions[] = [];
  readonly api: TrayLike = {
    setImage: (image: NativeImageLike | string) => {
      this.images.push(image as NativeImageLike);
    },
    setToolTip: (tooltip: string) => {
      this.tooltip = tooltip;
    },
    setTitle: (title: string) => {
      this.title = title;
    },
    setContextMenu: () => undefined,
    on: (() => this.api) as unknown as TrayLike['on'],
    destroy: () => undefined,
  };
  readonly menu: MenuFactory = {
    buildFromTemplate: (template: MenuItemOptions[]) => {
      this.template = template;
      return {} as Electron.Menu;
    },
  };
  /** Clicks a menu item by id (or a submenu item by label), as Electron would. */
  click(id: string, checked?: boolean): void {
    const find = (items: MenuItemOptions[]): MenuItemOptions | undefined => {
      for (const item of items) {
        if (item.id === id || item.label === id) return item;
        if (Array.isArray(item.submenu)) {
          const inner = find(item.submenu);
          if (inner) return inner;
        }
      }
      return undefined;
    };
    const item = find(this.template);
    if (!item) throw new Error(`no menu item ${id}`);
    if (item.enabled === false) throw new Error(`menu item ${id} is disabled`);
    item.click?.({ checked: checked ?? !item.checked } as Electron.MenuItem, undefined, {});
  }
}

type IpcHandler = (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>;

/** ipcMain as the router sees it; `invoke` plays a renderer call with a chosen sender. */
export class FakeIpcMain {
  readonly handlers = new Map<string, IpcHandler>();
  readonly api: IpcMainLike = {
    handle: (channel: string, listener: (event: IpcMainInvokeEvent, ...args: any[]) => Promise<unknown> | unknown) => {
      this.handlers.set(channel, listener as IpcHandler);
    },
    removeHandler: (channel: string) => {
      this.handlers.delete(channel);
    },
  };
  invoke(channel: string, event: IpcMainInvokeEvent, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler(event, ...args);
  }
}

/** The invoke event Electron would report: by default Clawdesk's dashboard main frame on clawdesk://app. */
export function senderEvent(
  opts: { webContentsId?: number; url?: string; subframe?: boolean; noFrame?: boolean } = {},
): IpcMainInvokeEvent {
  return {
    sender: { id: opts.webContentsId ?? 1 },
    senderFrame: opts.noFrame
      ? null
      : { url: opts.url ?? 'clawdesk://app/index.html', parent: opts.subframe ? {} : null },
  } as unknown as IpcMainInvokeEvent;
}
