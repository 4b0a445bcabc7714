// Fakes for the Electron slices in main/electron-facades.ts. Each is typed against the real electron.d.ts types.
import type { DialogLike, MessageBoxOptions, MessageBoxReturnValue } from '../../main/electron-facades';

export interface ShownBox {
  options: MessageBoxOptions;
  answer(response: number): void;
  /** Esc / window close: Electron answers with cancelId. */
  cancel(): void;
  closedBySignal: boolean;
}

export class FakeDialog {
  readonly shown: ShownBox[] = [];
  private waiters: Array<(box: ShownBox) => void> = [];

  readonly api: DialogLike = {
    showMessageBox: ((...args: [MessageBoxOptions] | [Electron.BaseWindow, MessageBoxOptions]) => {
      const options = (args.length === 1 ? args[0] : args[1]) as MessageBoxOptions;
      return new Promise<MessageBoxReturnValue>((resolve) => {
        const box: ShownBox = {
          options,
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
    }) as DialogLike['showMessageBox'],
  };

  /** Resolves with the nth box shown (0-based), waiting for it if necessary. */
  async box(index: number): Promise<ShownBox> {
    while (this.shown.length <= index) await new Promise<ShownBox>((resolve) => this.waiters.push(resolve));
    return this.shown[index]!;
  }
}

export const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
