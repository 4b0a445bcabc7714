// Gateways on other machines (docs/remote-gateways.md): the approval client on every saved gateway and the runner
// on the enabled ones, asking through the app's own approval queue; their states for the tray and the dashboard;
// adding one from the dashboard, with a wss:// certificate pinned only after the person trusts it natively.
import type {
  ApprovalHistoryEntry,
  RemoteGatewayStateId,
  RemoteGatewayView,
  RemoteGatewaysView,
} from '../common/ipc-contract';
import type { AddRemoteGatewayResult, NewRemoteGatewayInput } from '../common/ipc-contract';
import type { ClawdeskIdentity } from '../gateway/identity/clawdesk-identity';
import type { NetworkChangeSource } from '../gateway/remote/network-change';
import {
  RemoteGatewayService,
  type ApprovalOrigin,
  type RemoteApprover,
  type RemoteGatewayState,
  type RemoteGatewayStatus,
} from '../gateway/remote/remote-gateway-service';
import {
  addGatewayWithTrust,
  loadRemoteGatewayTargets,
  readConfiguredRemoteGateway,
} from '../gateway/remote/remote-gateway-targets';
import {
  OPENCLAW_CONFIG_GATEWAY_NAME,
  SavedGatewaysError,
  SavedGatewayStore,
  type SavedGateway,
} from '../gateway/remote/saved-gateways';
import type { ServerCertificateInfo } from '../gateway/remote/tls-pin';
import { formatTlsFingerprint, normalizeTlsFingerprint } from '../gateway/remote/transport-policy';
import type { SecretStore } from '../gateway/secrets/secret-store';
import type { ApprovalOutcome } from './approval-queue';
import { confirmCertificateTrust } from './certificate-trust-dialog';
import type { DialogLike } from './electron-facades';
import type { MainTranslate } from './main-i18n';
import type { MainLog } from './main-log';
import { approverDecision, type NativeApprover } from './native-approver';

// common/ imports nothing, so the IPC contract restates the service's states; this stops compiling if they drift.
type SameUnion<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const contractStatesMatch: SameUnion<RemoteGatewayState, RemoteGatewayStateId> = true;
void contractStatesMatch;

export interface RemoteGatewaysDeps {
  /** Clawdesk's data dir: gateways.json and the vault live here. */
  dataDir: string;
  /** Where exec-approvals.json lives for the runner and askFallback (as for `clawdesk gateways connect`). */
  stateDir: string;
  /** openclaw.json, for its gateway.mode "remote" block. */
  configPath: string;
  env: NodeJS.ProcessEnv;
  /** The vault the app already uses (keychain, then safeStorage, then a key file only if the person accepted one). */
  openSecrets(): Promise<SecretStore>;
  /** The device identity the app's runner presents (GatewayController.deviceIdentity()). */
  identity(): Promise<ClawdeskIdentity>;
  /** The app's approval prompt: the same window, notification and queue as the local gateway's requests. */
  approver: Pick<NativeApprover, 'canPresent' | 'ask'>;
  /** The approval history: a remote request's outcome is recorded here, with its gateway. */
  recordHistory(entry: ApprovalHistoryEntry): void;
  dialog: DialogLike;
  /** A gateway was added or removed, or changed state (the tray and the dashboard redraw). */
  onChange(): void;
  log: MainLog;
  /** The trust dialog's words in the person's language; English when absent. */
  translate?: MainTranslate;
  /** The window the trust dialog is modal to (the dashboard, when open). */
  parentWindow?: () => Electron.BaseWindow | undefined;
  /** Tests: read the certificate elsewhere, faster backoff, no network watcher. */
  readCertificate?: (url: string) => Promise<ServerCertificateInfo>;
  reconnect?: { initialBackoffMs?: number; maxBackoffMs?: number };
  networkChanges?: NetworkChangeSource | false;
  promptTimeoutMs?: number;
}

export interface RemoteGateways {
  /** Loads the saved gateways (and openclaw.json's) and connects to each. */
  start(): Promise<void>;
  /** Disconnects from all of them (quit). */
  stop(): Promise<void>;
  /** Every pending reconnect wait ends now (resume from sleep). */
  reconnectNow(reason: string): void;
  /** Reconnects everything with a reloaded identity (the person changed where the key may be kept). */
  restart(): Promise<void>;
  statuses(): RemoteGatewayStatus[];
  view(): Promise<RemoteGatewaysView>;
  add(input: NewRemoteGatewayInput): Promise<AddRemoteGatewayResult>;
  remove(name: string): Promise<RemoteGatewaysView>;
  setPrimary(name: string): Promise<RemoteGatewaysView>;
  setRunner(name: string, enabled: boolean): Promise<RemoteGatewaysView>;
}

const EPHEMERAL_WARNING =
  'Gateways on other machines are not connected: Clawdesk’s device key is kept only in memory for this run, so each ' +
  'gateway would see a new device after every restart. Choose where the key may be kept in Secrets.';

/** Who decided, in the history's words (main/operator-events.ts decidedBy for the local gateway). */
function historyDecision(outcome: ApprovalOutcome | null): Pick<ApprovalHistoryEntry, 'decision' | 'decidedBy'> {
  if (!outcome) return { decision: 'no-decision', decidedBy: 'ended before it was shown' };
  switch (outcome.source) {
    case 'user':
      return { decision: outcome.decision ?? 'no-decision', decidedBy: 'you' };
    case 'unreviewable':
      return { decision: 'deny', decidedBy: `Clawdesk (${outcome.detail ?? 'could not be shown whole'})` };
    case 'fallback':
      return { decision: 'no-decision', decidedBy: `fallback (askFallback; ${outcome.detail ?? 'no answer'})` };
    case 'elsewhere':
      return outcome.detail === 'expired'
        ? { decision: 'expired', decidedBy: 'the gateway (expired)' }
        : { decision: 'no-decision', decidedBy: 'another client, or the prompt timed out' };
  }
}

/** What the person can do about each state, for the dashboard (the tray shows the state in words). */
export function remoteProblem(status: RemoteGatewayStatus): RemoteGatewayView['problem'] {
  const detail = status.approvals.detail ?? (status.runner.state !== 'disabled' ? status.runner.detail : undefined);
  switch (status.state) {
    case 'pin-mismatch':
      return {
        message:
          `The certificate of "${status.name}" has changed: it is not the one you trusted, so Clawdesk does not connect. ${detail ?? ''}`.trim(),
        fix:
          'If the gateway’s certificate was replaced on purpose, compare the new fingerprint with the one shown on the gateway machine, then remove this gateway and add it again (or run `clawdesk gateways pin ' +
          `${status.name}\`). If nobody replaced it, someone may be intercepting the connection: do not trust it.`,
      };
    case 'pairing-required': {
      const id = status.approvals.pairingRequestId ?? (status.runner as { pairingRequestId?: string }).pairingRequestId;
      return {
        message: `"${status.name}" waits for this device to be approved on the gateway’s machine.`,
        fix: `On that machine run \`openclaw devices approve ${id ?? '<request id>'}\` (or \`clawdesk devices approve ${id ?? '<request id>'}\`). Clawdesk connects once it is approved.`,
      };
    }
    case 'auth-failed':
      return {
        message: `"${status.name}" refused the credentials. ${detail ?? ''}`.trim(),
        fix: 'Remove this gateway and add it again with the right token or password.',
      };
    case 'refused':
      return {
        message: detail ?? 'The connection was refused by Clawdesk’s transport rules.',
        fix: 'Use a wss:// address with a pinned certificate, or an SSH tunnel.',
      };
    case 'tunnel-failed':
      return {
        message: `The SSH tunnel to "${status.name}" failed. ${detail ?? ''}`.trim(),
        fix: 'Check that `ssh` to that host works from a terminal without questions (its host key known, your key loaded), then restart Clawdesk.',
      };
    case 'failed':
      return {
        message: detail ?? `"${status.name}" failed.`,
        fix: 'See the log (Activity); restart Clawdesk to try again.',
      };
    case 'retrying':
      return detail ? { message: detail, fix: 'Clawdesk keeps trying.' } : undefined;
    default:
      return undefined;
  }
}

function trustOf(g: SavedGateway): RemoteGatewayView['trust'] {
  if (g.transport === 'ssh') return { kind: 'ssh' };
  if (g.tlsFingerprint) return { kind: 'pin', fingerprint: g.tlsFingerprint };
  if (g.systemTrust || g.url?.startsWith('wss:')) return { kind: 'system-ca' };
  return { kind: 'plaintext' };
}

function addressOf(g: SavedGateway): string {
  return g.transport === 'ssh' ? `ssh ${g.sshTarget} → 127.0.0.1:${g.remotePort}` : (g.url ?? '');
}

/** Only what the dashboard shows: a SavedGateway holds no secret, and this copies named fields only all the same. */
export function remoteGatewayView(
  g: SavedGateway,
  primary: boolean,
  status: RemoteGatewayStatus | undefined,
): RemoteGatewayView {
  const stopped = { state: 'stopped' as RemoteGatewayStateId };
  const pairingRequestId =
    status?.approvals.pairingRequestId ??
    (status?.runner as { pairingRequestId?: string } | undefined)?.pairingRequestId;
  return {
    name: g.name,
    address: status?.address ?? addressOf(g),
    transport: g.transport,
    primary,
    runner: g.runner,
    readOnly: g.name === OPENCLAW_CONFIG_GATEWAY_NAME,
    auth: g.auth,
    trust: trustOf(g),
    state: status?.state ?? 'stopped',
    approvals: status ? { state: status.approvals.state, detail: status.approvals.detail } : stopped,
    ...(g.runner
      ? {
          runnerState:
            status && status.runner.state !== 'disabled'
              ? { state: status.runner.state, detail: status.runner.detail }
              : stopped,
        }
      : {}),
    ...(status?.state === 'pairing-required' && pairingRequestId
      ? { pairing: { requestId: pairingRequestId, command: `openclaw devices approve ${pairingRequestId}` } }
      : {}),
    ...(status && remoteProblem(status) ? { problem: remoteProblem(status) } : {}),
  };
}

export function setupRemoteGateways(deps: RemoteGatewaysDeps): RemoteGateways {
  const { log } = deps;
  const store = new SavedGatewayStore({ dataDir: deps.dataDir, env: deps.env, openSecrets: deps.openSecrets });
  let service: RemoteGatewayService | undefined;
  let stopped = false;
  const warnings: string[] = [];
  // start, stop and every reconnect after a change run one at a time.
  let busy: Promise<unknown> = Promise.resolve();
  const serialized = <T>(task: () => Promise<T>): Promise<T> => {
    const next = busy.then(task, task);
    busy = next.catch(() => undefined);
    return next;
  };

  const approver: RemoteApprover = {
    canPresent: () => deps.approver.canPresent(),
    present: async (event, signal, origin: ApprovalOrigin) => {
      const outcome = await deps.approver.ask(event, signal, origin);
      const r = event.request;
      deps.recordHistory({
        id: event.id,
        command: String(r.command ?? r.systemRunPlan?.commandText ?? r.commandArgv?.join(' ') ?? ''),
        cwd: r.cwd ?? undefined,
        agentId: r.agentId ?? undefined,
        host: r.host ?? undefined,
        nodeId: r.nodeId ?? undefined,
        gateway: `${origin.gateway} (${origin.address})`,
        ...historyDecision(outcome),
        requestedAtMs: event.createdAtMs,
        resolvedAtMs: Date.now(),
      });
      return approverDecision(outcome);
    },
  };

  const connect = async (): Promise<void> => {
    warnings.length = 0;
    if (stopped) return;
    let loaded;
    try {
      loaded = await loadRemoteGatewayTargets(store, deps.configPath, deps.env);
    } catch (error) {
      // A damaged gateways.json (moved aside) or a vault that cannot open: say so, connect nothing.
      warnings.push(`The gateways on other machines could not be loaded: ${(error as Error).message}`);
      log('warn', `remote gateways: ${(error as Error).message}`);
      return;
    }
    warnings.push(...loaded.warnings);
    if (loaded.targets.length === 0) return;
    const identity = await deps.identity();
    if (identity.persistence === 'ephemeral') {
      warnings.push(EPHEMERAL_WARNING);
      log('warn', `remote gateways: ${EPHEMERAL_WARNING}`);
      return;
    }
    const next = new RemoteGatewayService({
      identity: identity.signer,
      stateDir: deps.stateDir,
      approver,
      ...(identity.store ? { deviceTokens: identity.store } : {}),
      env: deps.env,
      ...(deps.reconnect ? { reconnect: deps.reconnect } : {}),
      ...(deps.networkChanges !== undefined ? { networkChanges: deps.networkChanges } : {}),
      ...(deps.promptTimeoutMs !== undefined ? { promptTimeoutMs: deps.promptTimeoutMs } : {}),
      log: (level, message) => log(level, `remote gateway ${message}`),
    });
    next.on('status', (status: RemoteGatewayStatus) => {
      if (service === next) deps.onChange();
      if (status.state === 'pin-mismatch') log('error', `remote gateway ${status.name}: ${status.approvals.detail}`);
    });
    service = next;
    next.start(loaded.targets);
    deps.onChange();
  };
  const disconnect = async (): Promise<void> => {
    const current = service;
    service = undefined;
    await current?.stop();
  };
  /** After a change to the list: every gateway reconnects with the list as it is now. */
  const reconnectAll = () =>
    serialized(async () => {
      await disconnect();
      await connect();
      deps.onChange();
    });

  const view = async (): Promise<RemoteGatewaysView> => {
    const statuses = new Map((service?.statuses() ?? []).map((s) => [s.name.toLowerCase(), s]));
    const problems = [...warnings];
    let gateways: RemoteGatewayView[] = [];
    try {
      const { file, configured } = await loadListWithoutSecrets();
      gateways = file.gateways.map((g) =>
        remoteGatewayView(g, file.primary === g.name, statuses.get(g.name.toLowerCase())),
      );
      if (configured)
        gateways.push(remoteGatewayView(configured, gateways.length === 0, statuses.get(OPENCLAW_CONFIG_GATEWAY_NAME)));
    } catch (error) {
      problems.push((error as Error).message);
    }
    return { gateways, warnings: [...new Set(problems)] };
  };
  const loadListWithoutSecrets = async () => {
    const file = await store.read();
    const reading = await readConfiguredRemoteGateway(deps.configPath, deps.env);
    return { file, configured: reading.kind === 'remote' ? reading.remote.gateway : undefined };
  };
  /** A change the person asked for: refused changes say why (SavedGatewaysError) and leave everything as it was. */
  const change = async (task: () => Promise<unknown>): Promise<RemoteGatewaysView> => {
    await task();
    await reconnectAll();
    return view();
  };
  const notConfigGateway = (name: string) => {
    if (name.toLowerCase() === OPENCLAW_CONFIG_GATEWAY_NAME)
      throw new SavedGatewaysError(
        `"${OPENCLAW_CONFIG_GATEWAY_NAME}" is openclaw.json's gateway.remote block; change it in ${deps.configPath}`,
      );
    return name;
  };

  return {
    start: () => serialized(connect),
    stop: () =>
      serialized(async () => {
        stopped = true;
        await disconnect();
      }),
    reconnectNow: (reason) => service?.reconnectNow(reason),
    restart: () => reconnectAll(),
    statuses: () => service?.statuses() ?? [],
    view,
    async add(input) {
      const invalid = async (message: string): Promise<AddRemoteGatewayResult> => ({
        saved: false,
        reason: 'invalid',
        message,
        gateways: await view(),
      });
      // A discovered gateway's advertised fingerprint is only ever compared with what the gateway presents.
      const advertised =
        input.advertisedFingerprint === undefined ? undefined : normalizeTlsFingerprint(input.advertisedFingerprint);
      if (input.advertisedFingerprint !== undefined) {
        if (!advertised) return invalid('Not saved: the advertised fingerprint is not a SHA-256 fingerprint.');
        if (!input.url?.toLowerCase().startsWith('wss:') || input.tlsFingerprint || input.systemTrust)
          return invalid(
            'Not saved: an advertised fingerprint goes with a wss:// address and neither a fingerprint nor the system’s certificate authorities.',
          );
      }
      let presentedInstead: string | undefined;
      try {
        const result = await addGatewayWithTrust(
          store,
          {
            name: input.name,
            ...(input.url ? { url: input.url } : {}),
            ...(input.sshTarget ? { sshTarget: input.sshTarget } : {}),
            ...(input.remotePort !== undefined ? { remotePort: input.remotePort } : {}),
            ...(input.tlsFingerprint ? { tlsFingerprint: input.tlsFingerprint } : {}),
            ...(input.systemTrust ? { systemTrust: true } : {}),
            auth: input.auth,
            ...(input.secret ? { secret: input.secret } : {}),
            runner: input.runner,
          },
          {
            env: deps.env,
            readCertificate: deps.readCertificate,
            confirm: async (certificate) => {
              // Presenting another certificate than advertised is what an impostor on the network looks like:
              // refused without asking, as `clawdesk gateways add --advertised-fingerprint` does.
              if (advertised && certificate.fingerprint !== advertised) {
                presentedInstead = certificate.fingerprint;
                return false;
              }
              return confirmCertificateTrust(
                deps.dialog,
                {
                  gateway: input.name,
                  url: input.url ?? '',
                  certificate,
                  ...(advertised ? { advertisedFingerprint: advertised } : {}),
                },
                deps.translate,
                deps.parentWindow?.(),
              );
            },
          },
        );
        if (!result.saved) {
          const message = presentedInstead
            ? `Not saved: the certificate does not match the advertised fingerprint. ${input.url} presents SHA-256 ` +
              `${formatTlsFingerprint(presentedInstead)}; its announcement on this network said ` +
              `${formatTlsFingerprint(advertised!)}. Someone on the network may be impersonating the gateway (or the ` +
              'announcement is out of date). Nothing was pinned. Read the fingerprint on the gateway machine; only if ' +
              'it is the presented one, enter it as the certificate fingerprint and add the gateway again.'
            : result.reason === 'not-trusted'
              ? 'Not saved: the certificate was not trusted, so nothing was pinned.'
              : `Not saved: ${result.message}`;
          if (presentedInstead)
            log('warn', `remote gateway ${input.name}: the certificate does not match the advertised fingerprint`);
          return { saved: false, reason: result.reason, message, gateways: await view() };
        }
        log('info', `remote gateway ${result.saved.name} added (${addressOf(result.saved)})`);
        await reconnectAll();
        return { saved: true, gateways: await view() };
      } catch (error) {
        if (!(error instanceof SavedGatewaysError)) throw error;
        return { saved: false, reason: 'invalid', message: error.message, gateways: await view() };
      }
    },
    remove: (name) => change(() => store.remove(notConfigGateway(name))),
    setPrimary: (name) => change(() => store.use(notConfigGateway(name))),
    setRunner: (name, enabled) => change(() => store.setRunner(notConfigGateway(name), enabled)),
  };
}
