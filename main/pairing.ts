// Pairing prompts: a device or node asking to pair gets a message box; the answer goes back over the operator
// session, and a failure is shown to the person.
import type { GatewaySession } from '../gateway/client/gateway-client';
import type { DialogLike } from './electron-facades';
import { englishMain, type MainTranslate } from './main-i18n';
import type { MainLog } from './main-log';
import { MessageBoxPairingPresenter, PairingPrompts } from './pairing-prompts';

export interface PairingDeps {
  dialog: DialogLike;
  /** The live operator session, if any. */
  session(): GatewaySession | undefined;
  onChange(): void;
  log: MainLog;
  /** The prompts' words in the person's language; English when absent. */
  translate?: MainTranslate;
}

export function setupPairing(deps: PairingDeps): PairingPrompts {
  return new PairingPrompts({
    presenter: new MessageBoxPairingPresenter(deps.dialog, deps.translate),
    act: async (request, choice) => {
      const operator = deps.session();
      if (!operator) throw new Error('the gateway is not connected');
      await operator.request(`${request.kind}.pair.${choice}`, { requestId: request.requestId });
    },
    onError: (request, error) => {
      deps.log('error', `pairing ${request.requestId} failed: ${(error as Error).message}`);
      const failed = (deps.translate ?? englishMain)('pairing.failed');
      void deps.dialog.showMessageBox({
        type: 'error',
        title: failed,
        message: failed,
        detail: (error as Error).message,
      });
    },
    onChange: deps.onChange,
  });
}
