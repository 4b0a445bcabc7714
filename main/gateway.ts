// The embedded gateway (or the one the app attaches to), Clawdesk's runner and approval client, and the operator
// session whose events drive pairing prompts, the approval history and the dashboard.
import { loadClawdeskIdentity } from '../gateway/identity/clawdesk-identity';
import type { ApprovalHistory } from './approval-history';
import type { NoticeReport, NoticeSink } from './app-notices';
import { damagedSettings } from './app-notices';
import type { ApprovalQueue } from './approval-queue';
import type { Topic } from '../common/ipc-contract';
import type { SafeStorageLike } from './electron-facades';
import { GatewayController, type GatewayControllerOptions } from './gateway-controller';
import type { AppGatewayTarget } from './gateway-target';
import { KEY_STORAGE_SETTINGS_FILE, KeyStorageSettings } from './key-storage-settings';
import type { MainLog } from './main-log';
import { NativeApprover } from './native-approver';
import { OperatorEventRouter, pairingSeeds } from './operator-events';
import type { PairingPrompts } from './pairing-prompts';
import path from 'node:path';

export interface GatewayDeps {
  gatewayTarget: AppGatewayTarget;
  /** Where Clawdesk keeps its key material inside the state dir (clawdeskDataDir). */
  dataDir: string;
  /** How to reach OpenClaw's own gateway in the OpenClaw modes (main/gateway-mode-setup.ts). */
  openclaw?: GatewayControllerOptions['openclaw'];
  userDataDir: string;
  safeStorage: SafeStorageLike;
  queue: ApprovalQueue;
  history: ApprovalHistory;
  /** Pairing prompts; late-bound, since they answer through this gateway's session. */
  pairing(): PairingPrompts;
  broadcast(topics: Topic[]): void;
  /** The gateway's state changed (the tray shows it). */
  onChange(): void;
  notices?: NoticeSink;
  log: MainLog;
}

export interface AppGateway {
  controller: GatewayController;
  keyStorage: KeyStorageSettings;
}

/** A decision could not be added to the approval history: the decision stands, its line is missing. */
export function historyWriteNotice(error: Error): NoticeReport {
  return {
    id: 'approval-history-write',
    severity: 'error',
    // The OS's own words for what went wrong (and the file it names) are data, shown as they are.
    message: { key: 'notice.historyWrite', values: { error: error.message } },
    fix: { key: 'notice.historyWriteFix' },
  };
}

export async function setupGateway(deps: GatewayDeps): Promise<AppGateway> {
  const { target, port, token, tls, tlsProblem } = deps.gatewayTarget;
  const { log } = deps;
  const { dataDir } = deps;
  // The user's answer to "keep the key in a file readable only by me?", remembered across restarts.
  const keyStorage = new KeyStorageSettings(path.join(deps.userDataDir, KEY_STORAGE_SETTINGS_FILE), {
    onProblem: (message, movedTo) => {
      log('warn', `key storage settings: ${message}`);
      deps.notices?.report(damagedSettings('key storage', movedTo));
    },
  });
  await keyStorage.load();
  const events = new OperatorEventRouter({
    pairingRequested: (request) => deps.pairing().requested(request),
    pairingResolved: (requestId) => deps.pairing().resolved(requestId),
    recordHistory: (entry) =>
      void deps.history.record(entry).then(
        () => deps.broadcast(['history']),
        // The decision stands at the gateway either way; only its line in the history is missing.
        (error) => {
          log('error', `could not record approval ${entry.id} in the history: ${(error as Error).message}`);
          deps.notices?.report(historyWriteNotice(error as Error));
        },
      ),
    changed: deps.broadcast,
  });
  const controller = new GatewayController({
    openclaw: deps.openclaw,
    port,
    stateDir: target.stateDir,
    // Keychain first, then Electron's safeStorage; a plaintext key file only when the user accepted it.
    loadIdentity: () =>
      loadClawdeskIdentity({
        dataDir,
        safeStorage: deps.safeStorage,
        whenUnavailable: 'ephemeral',
        allowPlaintextFallback: keyStorage.plaintextKeyFileAccepted(dataDir),
      }),
    token,
    password: target.password,
    ...(tls ? { tls } : {}),
    ...(tlsProblem ? { tlsProblem } : {}),
    approver: new NativeApprover(deps.queue),
    log,
    onChange: () => {
      deps.onChange();
      deps.broadcast(['status']);
    },
    onApprovalOutcome: (outcome) => {
      if (outcome.source === 'fallback') events.noteFallback(outcome.id, outcome.fallback);
    },
    onSession: (operator) => {
      if (!operator) return;
      operator.on('event', (name: string, payload: unknown) => events.handle(name, payload));
      void Promise.all(
        (['device', 'node'] as const).map((kind) =>
          operator
            .request(`${kind}.pair.list`, {})
            .then((result: unknown) => deps.pairing().seed(pairingSeeds(kind, result))),
        ),
      ).catch((error) => log('warn', `could not seed pairing prompts: ${(error as Error).message}`));
    },
  });
  return { controller, keyStorage };
}
