import type { GatewaySession } from '../gateway/client/gateway-client';
import { buildApprovalPrompt, DEFAULT_PROMPT_LIMITS, type ExecApprovalRequested } from './approval-prompt-text';
import type { ApprovalHistory } from './approval-history';
import { hardenForDisplay, redactSecrets } from './display-hardening';
import { englishMain, type MainMessageKey, type MainTranslate } from './main-i18n';
import type {
  AppStatus,
  NoticeView,
  ControlUiResult,
  ApprovalPromptView,
  Decision,
  DevicesView,
  ExecPolicyView,
  ExportFile,
  GatewayLogView,
  InvokeApi,
  KeyStorageDecisionView,
  MigrationProgressView,
  MigrationView,
  OpenclawInstallView,
  NodeView,
  PairedDeviceView,
  PendingApprovalView,
  PendingDeviceView,
  PolicyPreset,
  PolicyTriple,
  SecretsView,
  StateView,
  ThemeChoice,
  AddRemoteGatewayResult,
  NewRemoteGatewayInput,
  RemoteGatewaysView,
  DiscoveredGatewaysView,
  Topic,
} from '../common/ipc-contract';
import type { LogBuffer } from './log-buffer';
import type { OpenclawInstallService } from './openclaw-install';

/** The gateway calls the dashboard needs (a GatewaySession satisfies this). */
export type GatewayRpc = Pick<GatewaySession, 'request'>;

export interface PolicySources {
  hostFilePath?: string;
  hostFile: Partial<PolicyTriple> | null;
  config: Partial<PolicyTriple> | null;
}

export interface DashboardDeps {
  version: string;
  platform: string;
  status(): Omit<
    AppStatus,
    'pendingApprovals' | 'pendingPairings' | 'version' | 'platform' | 'startAtLogin' | 'notices'
  >;
  /** main/app-notices.ts; absent in tests that do not drive it. */
  notices?: { list(): NoticeView[]; clear(id: string): boolean };
  pendingPairingCount(): number;
  controlGateway(action: 'start' | 'stop' | 'restart'): Promise<void>;
  /** Opens OpenClaw's Control UI (main/control-ui.ts); absent where the app has none to open. */
  openControlUi?(): Promise<ControlUiResult>;
  startAtLogin: { get(): boolean; set(enabled: boolean): void };
  /** The native theme (main/appearance.ts); absent in tests that do not drive it. */
  appearance?: { setTheme(choice: ThemeChoice): Promise<void> };
  /** What main shows itself in (main/main-language.ts); absent in tests that do not drive it. */
  language?: { setLanguage(locale: string | null): Promise<void> };
  /**
   * Main's words in the person's language (main/main-language.ts, late-bound), the same the approval prompt gets:
   * the pending-approvals list says what the prompt says. English when absent.
   */
  translate?: MainTranslate;
  /** "Install OpenClaw" (main/openclaw-install.ts); absent where the app does not manage an install. */
  openclawInstall?: Pick<OpenclawInstallService, 'view' | 'install' | 'cancel' | 'setPinnedVersion' | 'uninstall'>;
  /** The operator session (approvals + pairing scopes); undefined while disconnected. */
  gateway(): GatewayRpc | undefined;
  approvals: {
    pending(): ApprovalPromptView[];
    current(): ApprovalPromptView | undefined;
    decide(id: string, decision: Decision): boolean;
  };
  history: ApprovalHistory;
  logs: LogBuffer;
  /** The tail of OpenClaw's gateway log (supervised mode). */
  gatewayLog?(maxBytes: number): GatewayLogView;
  policy?: { read(): Promise<PolicySources>; write(policy: PolicyTriple): Promise<void> };
  state?: {
    scan(): Promise<StateView>;
    /** A real run reports progress through `hooks.onProgress` and stops (rolling back) when `hooks.signal` aborts. */
    migrate(dryRun: boolean, hooks?: MigrationHooks): Promise<MigrationView>;
  };
  secrets(): SecretsView | Promise<SecretsView>;
  /** Asks the user to accept a 0600 key file (main/key-storage-consent.ts). */
  acceptPlaintextKeyStorage(): Promise<KeyStorageDecisionView>;
  openExternal(url: string): Promise<boolean>;
  /** The gateways on other machines (main/remote-gateways.ts); absent in tests that do not drive them. */
  remoteGateways?: {
    view(): Promise<RemoteGatewaysView>;
    add(input: NewRemoteGatewayInput): Promise<AddRemoteGatewayResult>;
    remove(name: string): Promise<RemoteGatewaysView>;
    setPrimary(name: string): Promise<RemoteGatewaysView>;
    setRunner(name: string, enabled: boolean): Promise<RemoteGatewaysView>;
  };
  /** The gateways announcing themselves on this network (main/discovered-gateways.ts); absent where none are looked for. */
  discoveredGateways?: { list(): Promise<DiscoveredGatewaysView> };
  /** Tells open windows something changed. */
  notify?(topics: Array<Exclude<Topic, 'gateway-log' | 'openclaw-install'>>): void;
}

const NO_OPENCLAW_INSTALL: OpenclawInstallView = {
  available: false,
  installed: null,
  problem: 'This build does not manage an OpenClaw install',
  pinnedVersion: '',
  testedVersion: '',
  removable: false,
  blocked: 'This build does not manage an OpenClaw install.',
  progress: null,
};

/** What a real migration gets from the dashboard: progress out, cancel in. */
export interface MigrationHooks {
  onProgress(progress: Omit<MigrationProgressView, 'cancellable'>): void;
  signal: AbortSignal;
}

const SECURITY_ORDER = ['deny', 'allowlist', 'full'] as const;
const ASK_ORDER = ['off', 'on-miss', 'always'] as const;
/**
 * What applies when neither side sets a field: Clawdesk's strict defaults, like the macOS app
 * (docs/exec-policy.md § The policy fields).
 */
const BUILT_IN: PolicyTriple = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };

export const POLICY_PRESETS: ExecPolicyView['presets'] = [
  {
    id: 'locked-down',
    label: 'Locked down: nothing runs',
    policy: { security: 'deny', ask: 'off', askFallback: 'deny' },
  },
  {
    id: 'ask-every-time',
    label: 'Ask every time',
    policy: { security: 'allowlist', ask: 'always', askFallback: 'deny' },
  },
  {
    id: 'allowlist-ask-on-miss',
    label: 'Allowlist, ask for anything else (recommended)',
    policy: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' },
  },
  {
    id: 'trusted',
    label: 'Trusted: run anything without asking',
    policy: { security: 'full', ask: 'off', askFallback: 'deny' },
  },
];

/**
 * The effective exec policy: per field the stricter of the gateway config and the host file
 * (docs/exec-policy.md § The policy fields).
 */
export function effectivePolicy(sources: PolicySources): Pick<ExecPolicyView, 'effective' | 'decidedBy'> {
  const effective = { ...BUILT_IN };
  const decidedBy = {} as ExecPolicyView['decidedBy'];
  const pick = <K extends keyof PolicyTriple>(key: K, order: readonly string[], stricterIsLower: boolean) => {
    const host = sources.hostFile?.[key];
    const config = sources.config?.[key];
    if (host === undefined && config === undefined) {
      decidedBy[key] = 'built-in default';
      return;
    }
    if (host === undefined || config === undefined) {
      effective[key] = (host ?? config) as PolicyTriple[K];
      decidedBy[key] = host !== undefined ? 'host-file' : 'config';
      return;
    }
    if (host === config) {
      effective[key] = host;
      decidedBy[key] = 'both';
      return;
    }
    const hostStricter = stricterIsLower
      ? order.indexOf(host) < order.indexOf(config)
      : order.indexOf(host) > order.indexOf(config);
    effective[key] = hostStricter ? host : config;
    decidedBy[key] = hostStricter ? 'host-file' : 'config';
  };
  pick('security', SECURITY_ORDER, true);
  pick('ask', ASK_ORDER, false);
  pick('askFallback', SECURITY_ORDER, true);
  return { effective, decidedBy };
}

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? hardenForDisplay(v).text : undefined;
const strs = (v: unknown): string[] | undefined =>
  Array.isArray(v)
    ? v.filter((x): x is string => typeof x === 'string').map((x) => hardenForDisplay(x).text)
    : undefined;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Only known, display-safe fields cross to the renderer: token strings and keys never do. */
export function toPendingDevice(raw: any): PendingDeviceView {
  return {
    requestId: String(raw?.requestId ?? ''),
    deviceId: String(raw?.deviceId ?? ''),
    displayName: str(raw?.displayName),
    platform: str(raw?.platform),
    role: str(raw?.role),
    roles: strs(raw?.roles),
    scopes: strs(raw?.scopes),
    remoteIp: str(raw?.remoteIp),
    isRepair: raw?.isRepair === true,
    ts: num(raw?.ts) ?? 0,
  };
}

export function toPairedDevice(raw: any): PairedDeviceView {
  const tokens = Array.isArray(raw?.tokens)
    ? raw.tokens
    : raw?.tokens && typeof raw.tokens === 'object'
      ? Object.values(raw.tokens)
      : [];
  return {
    deviceId: String(raw?.deviceId ?? ''),
    displayName: str(raw?.displayName),
    platform: str(raw?.platform),
    roles: strs(raw?.roles),
    scopes: strs(raw?.scopes),
    remoteIp: str(raw?.remoteIp),
    createdAtMs: num(raw?.createdAtMs),
    approvedAtMs: num(raw?.approvedAtMs),
    tokens: tokens.map((t: any) => ({
      role: String(t?.role ?? ''),
      scopes: strs(t?.scopes) ?? [],
      createdAtMs: num(t?.createdAtMs) ?? 0,
      rotatedAtMs: num(t?.rotatedAtMs),
      revokedAtMs: num(t?.revokedAtMs),
      lastUsedAtMs: num(t?.lastUsedAtMs),
    })),
  };
}

const DENIED: Record<'too-long' | 'no-command' | 'inconsistent', MainMessageKey> = {
  'too-long': 'pending.tooLong',
  'no-command': 'pending.noCommand',
  inconsistent: 'pending.inconsistent',
};

/**
 * One request as the dashboard lists it, built by the prompt's own builder with the prompt's translator, so the list
 * and the prompt say the same words (and harden the same values the same way). A request the prompt would deny is
 * listed with Deny only and why, in the person's language.
 */
export function toPendingApproval(
  raw: ExecApprovalRequested,
  t: MainTranslate = englishMain,
  platform: NodeJS.Platform = process.platform,
): PendingApprovalView {
  const built = buildApprovalPrompt(raw, DEFAULT_PROMPT_LIMITS, platform, undefined, t);
  const r = raw.request ?? {};
  const base = {
    id: raw.id,
    createdAtMs: raw.createdAtMs,
    expiresAtMs: raw.expiresAtMs,
    cwd: str(r.cwd),
    agentId: str(r.agentId),
    host: str(r.host),
    nodeId: str(r.nodeId),
    security: str(r.security),
    ask: str(r.ask),
  };
  if (built.kind === 'deny') {
    const why = t(DENIED[built.reason]);
    return { ...base, command: `[${why}]`, allowedDecisions: ['deny'], warnings: [why] };
  }
  return {
    ...base,
    command: built.view.command.text,
    allowedDecisions: built.view.decisions,
    warnings: built.view.warnings,
  };
}

export class GatewayUnavailableError extends Error {
  constructor() {
    super('The gateway is not connected. Start it from the tray or the Status view.');
  }
}

/** Everything the dashboard can ask for, implemented against the gateway and the app's own state. */
export class DashboardService implements InvokeApi {
  /** The real migration running now (at most one): its cancel and its latest progress. */
  private migration: { cancel: AbortController; progress: MigrationProgressView | null } | undefined;

  constructor(private readonly deps: DashboardDeps) {}

  private rpc(): GatewayRpc {
    const gateway = this.deps.gateway();
    if (!gateway) throw new GatewayUnavailableError();
    return gateway;
  }

  async getStatus(): Promise<AppStatus> {
    return {
      ...this.deps.status(),
      version: this.deps.version,
      platform: this.deps.platform,
      pendingApprovals: this.deps.approvals.pending().length,
      pendingPairings: this.deps.pendingPairingCount(),
      startAtLogin: this.deps.startAtLogin.get(),
      notices: this.deps.notices?.list() ?? [],
    };
  }

  async dismissNotice(id: string): Promise<AppStatus> {
    this.deps.notices?.clear(id);
    return this.getStatus();
  }

  async openControlUi(): Promise<ControlUiResult> {
    return (await this.deps.openControlUi?.()) ?? { opened: false, error: 'This app has no Control UI to open' };
  }

  async controlGateway(action: 'start' | 'stop' | 'restart'): Promise<AppStatus> {
    await this.deps.controlGateway(action);
    return this.getStatus();
  }

  async setTheme(choice: ThemeChoice): Promise<void> {
    await this.deps.appearance?.setTheme(choice);
  }

  async setLanguage(locale: string | null): Promise<void> {
    await this.deps.language?.setLanguage(locale);
  }

  async setStartAtLogin(enabled: boolean): Promise<AppStatus> {
    this.deps.startAtLogin.set(enabled);
    return this.getStatus();
  }

  async getOpenclawInstall(): Promise<OpenclawInstallView> {
    return this.deps.openclawInstall?.view() ?? NO_OPENCLAW_INSTALL;
  }

  async installOpenclaw(): Promise<OpenclawInstallView> {
    return (await this.deps.openclawInstall?.install()) ?? NO_OPENCLAW_INSTALL;
  }

  async cancelOpenclawInstall(): Promise<boolean> {
    return this.deps.openclawInstall?.cancel() ?? false;
  }

  async setOpenclawPinnedVersion(version: string | null): Promise<OpenclawInstallView> {
    if (!this.deps.openclawInstall) throw new Error('This build does not manage an OpenClaw install.');
    return this.deps.openclawInstall.setPinnedVersion(version);
  }

  async uninstallOpenclaw(): Promise<OpenclawInstallView> {
    return (await this.deps.openclawInstall?.uninstall()) ?? NO_OPENCLAW_INSTALL;
  }

  async listDevices(): Promise<DevicesView> {
    // Each entry is checked as it is shown: the gateway may be OpenClaw's.
    const result: { pending?: unknown[]; paired?: unknown[] } = await this.rpc().request('device.pair.list', {});
    return { pending: (result.pending ?? []).map(toPendingDevice), paired: (result.paired ?? []).map(toPairedDevice) };
  }

  async approveDevice(requestId: string): Promise<void> {
    await this.rpc().request('device.pair.approve', { requestId });
    this.deps.notify?.(['devices', 'status']);
  }

  async rejectDevice(requestId: string): Promise<void> {
    await this.rpc().request('device.pair.reject', { requestId });
    this.deps.notify?.(['devices', 'status']);
  }

  async removeDevice(deviceId: string): Promise<void> {
    await this.rpc().request('device.pair.remove', { deviceId });
    this.deps.notify?.(['devices']);
  }

  async rotateDeviceToken(deviceId: string, role: string): Promise<void> {
    // The answer carries the new token: it stays here. The device picks it up on its next connect.
    await this.rpc().request('device.token.rotate', { deviceId, role });
    this.deps.notify?.(['devices']);
  }

  async revokeDeviceToken(deviceId: string, role: string): Promise<void> {
    await this.rpc().request('device.token.revoke', { deviceId, role });
    this.deps.notify?.(['devices']);
  }

  async listNodes(): Promise<NodeView[]> {
    // Each field is checked as it is shown: the gateway may be OpenClaw's.
    const result: { nodes?: Array<Record<string, unknown> | null> } = await this.rpc().request('node.list', {});
    return (result.nodes ?? []).map((n) => ({
      nodeId: String(n?.nodeId ?? ''),
      displayName: str(n?.displayName),
      platform: str(n?.platform),
      version: str(n?.version),
      remoteIp: str(n?.remoteIp),
      connected: n?.connected === true,
      paired: n?.paired === true,
      commands: strs(n?.commands),
      connectedAtMs: num(n?.connectedAtMs),
    }));
  }

  async listPendingApprovals(): Promise<PendingApprovalView[]> {
    const gateway = this.deps.gateway();
    if (gateway) {
      const result: unknown = await gateway.request('exec.approval.list', {});
      const list = (
        Array.isArray(result) ? result : ((result as { approvals?: unknown[] })?.approvals ?? [])
      ) as ExecApprovalRequested[];
      // Requests from gateways on other machines are not the local gateway's to list: this app's queue holds them.
      const t = this.deps.translate ?? englishMain;
      return [
        ...list.filter((e) => e && typeof e.id === 'string').map((e) => toPendingApproval(e, t)),
        ...this.heldApprovals(true),
      ];
    }
    return this.heldApprovals(false);
  }

  /** The prompts this app's queue holds (all of them, or only those from gateways on other machines). */
  private heldApprovals(remoteOnly: boolean): PendingApprovalView[] {
    return this.deps.approvals
      .pending()
      .filter((view) => !remoteOnly || view.origin)
      .map((view) => ({
        id: view.promptId,
        command: view.command.text,
        allowedDecisions: view.decisions,
        warnings: view.warnings,
        createdAtMs: 0,
        expiresAtMs: view.expiresAtMs,
        ...(view.origin ? { origin: view.origin } : {}),
      }));
  }

  async resolveApproval(id: string, decision: Decision): Promise<void> {
    // A prompt this app holds is decided through its queue, so the dialog closes and the audit log records it.
    if (this.deps.approvals.decide(id, decision)) return;
    await this.rpc().request('exec.approval.resolve', { id, decision });
    this.deps.notify?.(['approvals', 'history']);
  }

  async queryApprovalHistory(query: Parameters<InvokeApi['queryApprovalHistory']>[0]) {
    return this.deps.history.query(query);
  }

  async exportApprovalHistory(format: 'json' | 'csv'): Promise<ExportFile> {
    return this.deps.history.export(format);
  }

  async getExecPolicy(): Promise<ExecPolicyView> {
    const sources: PolicySources = this.deps.policy ? await this.deps.policy.read() : { hostFile: null, config: null };
    const hostFile = sources.hostFile ? { ...BUILT_IN, ...sources.hostFile } : null;
    return {
      hostFilePath: sources.hostFilePath,
      hostFile,
      config: sources.config,
      ...effectivePolicy(sources),
      presets: POLICY_PRESETS,
    };
  }

  async applyPolicyPreset(preset: PolicyPreset): Promise<ExecPolicyView> {
    const chosen = POLICY_PRESETS.find((p) => p.id === preset);
    if (!chosen || !this.deps.policy) throw new Error('The exec policy file cannot be changed from here.');
    await this.deps.policy.write(chosen.policy);
    this.deps.notify?.(['policy']);
    return this.getExecPolicy();
  }

  async getState(): Promise<StateView> {
    if (!this.deps.state)
      return {
        dirs: [],
        findings: [
          {
            id: 'state-unavailable',
            severity: 'info',
            message: 'State directory scan is not available in this build.',
          },
        ],
      };
    return this.deps.state.scan();
  }

  async migrateState(dryRun: boolean): Promise<MigrationView> {
    if (!this.deps.state) return { dryRun, applied: false, steps: [] };
    if (dryRun) return this.deps.state.migrate(true);
    if (this.migration)
      return { dryRun, applied: false, steps: [{ action: 'blocked', detail: 'a migration is already running' }] };
    const running = { cancel: new AbortController(), progress: null as MigrationProgressView | null };
    this.migration = running;
    try {
      return await this.deps.state.migrate(false, {
        signal: running.cancel.signal,
        onProgress: (p) => {
          running.progress = { ...p, cancellable: p.phase !== 'committing' && p.phase !== 'done' };
          this.deps.notify?.(['migration']);
        },
      });
    } finally {
      this.migration = undefined;
      this.deps.notify?.(['state', 'migration']);
    }
  }

  async getMigrationProgress(): Promise<MigrationProgressView | null> {
    return this.migration?.progress ?? null;
  }

  async cancelMigration(): Promise<boolean> {
    const running = this.migration;
    if (!running || running.cancel.signal.aborted || running.progress?.cancellable === false) return false;
    running.cancel.abort();
    return true;
  }

  async getSecrets(): Promise<SecretsView> {
    return this.deps.secrets();
  }

  async acceptPlaintextKeyStorage(): Promise<KeyStorageDecisionView> {
    const result = await this.deps.acceptPlaintextKeyStorage();
    if (result.accepted) this.deps.notify?.(['status']);
    return result;
  }

  async getLogs(limit: number) {
    return this.deps.logs.recent(limit);
  }

  async getGatewayLog(maxBytes: number): Promise<GatewayLogView> {
    const log = this.deps.gatewayLog?.(maxBytes) ?? { mode: 'clawdesk-builtin', text: '' };
    // OpenClaw's own output: keep any credential it printed out of the renderer.
    return { ...log, text: redactSecrets(log.text).text };
  }

  async exportSupportBundle(): Promise<ExportFile> {
    const safely = async <T>(fn: () => Promise<T>): Promise<T | { unavailable: string }> => {
      try {
        return await fn();
      } catch (error) {
        return { unavailable: (error as Error).message };
      }
    };
    const bundle = {
      generatedAt: new Date().toISOString(),
      app: { version: this.deps.version, platform: this.deps.platform },
      status: await this.getStatus(),
      secretsBackend: await this.getSecrets(),
      effectivePolicy: await safely(() => this.getExecPolicy()),
      state: await safely(() => this.getState()),
      pairing: await safely(() => this.listDevices()),
      nodes: await safely(() => this.listNodes()),
      logs: this.deps.logs.recent(2000),
    };
    const stamp = bundle.generatedAt.replace(/[:.]/g, '-');
    return {
      fileName: `clawdesk-support-${stamp}.json`,
      mimeType: 'application/json',
      content: `${JSON.stringify(scrubSecrets(bundle), null, 2)}\n`,
    };
  }

  async getApprovalPrompt(): Promise<ApprovalPromptView | null> {
    return this.deps.approvals.current() ?? null;
  }

  async decideApprovalPrompt(promptId: string, decision: Decision): Promise<void> {
    this.deps.approvals.decide(promptId, decision);
  }

  async openExternal(url: string): Promise<boolean> {
    return this.deps.openExternal(url);
  }

  private remote(): NonNullable<DashboardDeps['remoteGateways']> {
    if (!this.deps.remoteGateways) throw new Error('This build does not connect to gateways on other machines.');
    return this.deps.remoteGateways;
  }

  async listRemoteGateways(): Promise<RemoteGatewaysView> {
    return this.deps.remoteGateways?.view() ?? { gateways: [], warnings: [] };
  }

  /** The secret in `input` goes to the vault; what comes back is the list, which never holds one. */
  async addRemoteGateway(input: NewRemoteGatewayInput): Promise<AddRemoteGatewayResult> {
    const result = await this.remote().add(input);
    if (result.saved) this.deps.notify?.(['gateways', 'status']);
    return result;
  }

  async removeRemoteGateway(name: string): Promise<RemoteGatewaysView> {
    const view = await this.remote().remove(name);
    this.deps.notify?.(['gateways', 'status']);
    return view;
  }

  async setPrimaryRemoteGateway(name: string): Promise<RemoteGatewaysView> {
    const view = await this.remote().setPrimary(name);
    this.deps.notify?.(['gateways']);
    return view;
  }

  async setRemoteGatewayRunner(name: string, enabled: boolean): Promise<RemoteGatewaysView> {
    const view = await this.remote().setRunner(name, enabled);
    this.deps.notify?.(['gateways', 'status']);
    return view;
  }

  /** Listening starts with the first ask; nothing is connected to or saved. */
  async listDiscoveredGateways(): Promise<DiscoveredGatewaysView> {
    return (
      (await this.deps.discoveredGateways?.list()) ?? {
        browsing: false,
        gateways: [],
        dropped: 0,
        problem: 'This build does not look for gateways on the network.',
      }
    );
  }
}

const SECRET_KEY = /^(token|deviceToken|password|secret|privateKey|publicKey|apiKey|authorization|cookie)$/i;

/** A last pass over the support bundle: any field named like a secret is dropped, whatever produced it. */
export function scrubSecrets<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, v) => (key && SECRET_KEY.test(key) ? undefined : v)));
}
