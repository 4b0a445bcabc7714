import { ControlUiError, type ControlUiLink } from '../gateway/openclaw/control-ui';
import type { ControlUiResult } from '../common/ipc-contract';
import type { DialogLike, ShellLike } from './electron-facades';
import { englishMain, type MainTranslate } from './main-i18n';

/**
 * "Open OpenClaw Control UI" (tray and dashboard): asks OpenClaw for a one-time signed-in link to the gateway
 * Clawdesk runs or attaches to, and opens it in the default browser. A failure is told to the person with its fix;
 * nothing falls back to a link with the shared token in it.
 */
export interface ControlUiDeps {
  link(): Promise<ControlUiLink>;
  shell: ShellLike;
  dialog: DialogLike;
  log(level: 'info' | 'warn', message: string): void;
  /** Main's words in the person's language (main/main-language.ts, late-bound); English when absent. */
  translate?: MainTranslate;
}

export interface ControlUiOpener {
  /** Opens it; when `tellPerson`, a failure also shows a message box (the tray has no other place to say it). */
  open(options?: { tellPerson?: boolean }): Promise<ControlUiResult>;
}

export function setupControlUi(deps: ControlUiDeps): ControlUiOpener {
  // One OpenClaw CLI run at a time: a double click must not issue two owner links.
  let inFlight: Promise<ControlUiResult> | undefined;
  const attempt = async (): Promise<ControlUiResult> => {
    try {
      const link = await deps.link();
      await deps.shell.openExternal(link.browserUrl);
      deps.log('info', `opened OpenClaw's Control UI on port ${link.port ?? '?'} (a one-time link)`);
      return { opened: true };
    } catch (error) {
      const fix = error instanceof ControlUiError ? error.fix : undefined;
      deps.log('warn', `could not open OpenClaw's Control UI: ${(error as Error).message}`);
      return { opened: false, error: (error as Error).message, ...(fix ? { fix } : {}) };
    }
  };
  return {
    async open(options = {}) {
      inFlight ??= attempt().finally(() => (inFlight = undefined));
      const result = await inFlight;
      if (!result.opened && options.tellPerson) {
        void deps.dialog.showMessageBox({
          type: 'warning',
          // The title is OpenClaw's product name, the same in every language (the tray's item names it too).
          title: 'OpenClaw Control UI',
          message: (deps.translate ?? englishMain)('controlUi.notOpened'),
          detail: [result.error, result.fix].filter(Boolean).join('\n\n'),
        });
      }
      return result;
    },
  };
}
