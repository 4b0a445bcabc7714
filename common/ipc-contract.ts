/**
 * The one contract between the main process, the preload bridge and the renderer. It has no runtime imports so
 * the sandboxed preload bundle stays tiny; main validates every argument against its schemas, which are typed
 * against this file (main/ipc/ipc-schemas.ts). It lives in common/ because all three processes own it. Nothing here may carry a secret: tokens, keys and passwords never leave the main process.
 */

export type Decision = 'allow-once' | 'allow-always' | 'deny';
export type SecurityMode = 'deny' | 'allowlist' | 'full';
export type AskMode = 'off' | 'on-miss' | 'always';

export interface OwnerView {
  /** clawdesk: this app embeds the gateway; other-process: something else listens (PID when the OS tells). */
  kind: 'clawdesk' | 'other-process' | 'unknown' | 'none';
  pid?: number;
  processName?: string;
  description: string;
}

export type GatewayState = 'starting' | 'running' | 'attached' | 'stopped' | 'degraded' | 'error';

export type GatewayModeId = 'openclaw-supervised' | 'openclaw-external' | 'clawdesk-builtin';

/** The dashboard's views, by the id in its URL's fragment (`#gateways`): main opens the dashboard at one. */
export const DASHBOARD_VIEW_IDS = [
  'status',
  'activity',
  'approvals',
  'devices',
  'nodes',
  'gateways',
  'policy',
  'state',
  'secrets',
  'logs',
  'support',
] as const;
export type DashboardViewId = (typeof DASHBOARD_VIEW_IDS)[number];

export interface AppStatus {
  version: string;
  platform: string;
  gateway: {
    state: GatewayState;
    port: number;
    url?: string;
    owner: OwnerView;
    /** What the user can do about the owner, e.g. how to hand the port over. */
    handOver?: string;
    error?: string;
    /** The gateway mode chosen for this machine (see docs/openclaw-supervision.md § Gateway modes). */
    mode?: GatewayModeId;
    /** "OpenClaw (supervised)", "OpenClaw (external)", "Clawdesk (built-in)". */
    modeLabel?: string;
    /** Quitting Clawdesk stops the gateway only when this is true. */
    startedByClawdesk?: boolean;
    /** One sentence on what the gateway is doing (restarting, repairing, waiting). */
    detail?: string;
    /** What to do about an error. */
    fix?: string;
    /** Where OpenClaw's gateway output is logged (supervised mode). */
    logFile?: string;
    /** The gateway runs but will refuse work for this reason (e.g. legacy exec approvals in OpenClaw's state dir). */
    warning?: { message: string; fix: string };
  };
  pendingApprovals: number;
  pendingPairings: number;
  /** The secrets backend in English words (support bundles, logs); the dashboard names `secretsBackendId`. */
  secretsBackend: string;
  secretsBackendId?: SecretsBackendId;
  startAtLogin: boolean;
  /** Problems besides approvals and pairings (a damaged settings file, refused notifications), oldest first. */
  notices: NoticeView[];
}

export interface NoticeView {
  id: string;
  severity: 'warning' | 'error';
  /** What happened, and what to do, computed by main in its language (`lang`). */
  message: string;
  fix: string;
  atMs: number;
  /** The language main wrote `message` and `fix` in (BCP 47); absent means English. */
  lang?: string;
}

export interface PendingDeviceView {
  requestId: string;
  deviceId: string;
  displayName?: string;
  platform?: string;
  role?: string;
  roles?: string[];
  scopes?: string[];
  remoteIp?: string;
  isRepair?: boolean;
  ts: number;
}

export interface DeviceTokenView {
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
}

export interface PairedDeviceView {
  deviceId: string;
  displayName?: string;
  platform?: string;
  roles?: string[];
  scopes?: string[];
  remoteIp?: string;
  tokens: DeviceTokenView[];
  createdAtMs?: number;
  approvedAtMs?: number;
}

export interface DevicesView {
  pending: PendingDeviceView[];
  paired: PairedDeviceView[];
}

export interface NodeView {
  nodeId: string;
  displayName?: string;
  platform?: string;
  version?: string;
  remoteIp?: string;
  connected?: boolean;
  paired?: boolean;
  commands?: string[];
  connectedAtMs?: number;
}

export interface PendingApprovalView {
  id: string;
  /** Display-safe command text (escaped, redacted). */
  command: string;
  cwd?: string;
  agentId?: string;
  host?: string;
  nodeId?: string;
  security?: string;
  ask?: string;
  allowedDecisions: Decision[];
  warnings: string[];
  createdAtMs: number;
  expiresAtMs: number;
  /** A request from a gateway on another machine (its name and address), held in this app's prompt queue. */
  origin?: { gateway: string; address: string };
}

export type HistoryDecision = Decision | 'expired' | 'no-decision';

export interface ApprovalHistoryEntry {
  id: string;
  command: string;
  cwd?: string;
  agentId?: string;
  host?: string;
  nodeId?: string;
  decision: HistoryDecision;
  /** "you" (this app's prompt), "fallback (askFallback=deny)", or another client's name. */
  decidedBy: string;
  /** The gateway on another machine that asked (name and address); absent for the local gateway. */
  gateway?: string;
  requestedAtMs: number;
  resolvedAtMs: number;
}

export interface HistoryQuery {
  text?: string;
  decision?: HistoryDecision;
  limit?: number;
}

export interface PolicyTriple {
  security: SecurityMode;
  ask: AskMode;
  askFallback: SecurityMode;
}

export type PolicyPreset = 'locked-down' | 'ask-every-time' | 'allowlist-ask-on-miss' | 'trusted';

export interface ExecPolicyView {
  /** The exec-approvals host file and what it sets (null when absent). */
  hostFilePath?: string;
  hostFile: PolicyTriple | null;
  /** tools.exec.* from the gateway config (null when unset). */
  config: Partial<PolicyTriple> | null;
  /** Per field, the stricter of config and host file. */
  effective: PolicyTriple;
  /** For each field, which side decided it. */
  decidedBy: Record<keyof PolicyTriple, 'host-file' | 'config' | 'both' | 'built-in default'>;
  presets: Array<{ id: PolicyPreset; label: string; policy: PolicyTriple }>;
}

export interface StateDirView {
  path: string;
  source: string;
  exists: boolean;
  active: boolean;
  notes: string[];
}

export interface DoctorFindingView {
  id: string;
  severity: 'info' | 'warn' | 'error';
  message: string;
  fix?: string;
}

export interface StateView {
  dirs: StateDirView[];
  findings: DoctorFindingView[];
}

export interface MigrationStepView {
  action: string;
  from?: string;
  to?: string;
  detail: string;
}

export interface MigrationView {
  dryRun: boolean;
  applied: boolean;
  steps: MigrationStepView[];
}

/**
 * The migration the app is running (the dashboard's progress bar), as `clawdesk state migrate --json` reports it:
 * per phase, files and bytes placed so far of the phase's totals, rate and time left. Announced by the `migration`
 * topic (about ten times a second at most); null from getMigrationProgress when none runs.
 */
export interface MigrationProgressView {
  phase: 'staging' | 'backup' | 'verifying' | 'committing' | 'done';
  strategy: 'same-volume' | 'cross-volume';
  files: number;
  totalFiles: number;
  bytes: number;
  totalBytes: number;
  elapsedMs: number;
  bytesPerSecond: number;
  /** null while there is no rate yet. */
  etaMs: number | null;
  /** cancelMigration still rolls everything back (false once the commit, a handful of renames, has started). */
  cancellable: boolean;
}

/** Where the OpenClaw that the supervised mode runs comes from (gateway/openclaw/install.ts InstallSource). */
export type OpenclawInstallSource = 'explicit' | 'clawdesk-data-dir' | 'path';

/** An install of OpenClaw Clawdesk can run: its versions and where it is. */
export interface OpenclawInstalledView {
  openclawVersion: string;
  nodeVersion: string;
  /** The directory holding node_modules/openclaw. */
  location: string;
  source: OpenclawInstallSource;
}

/** A running "Install OpenClaw": announced by the `openclaw-install` topic; the phases of gateway/openclaw/installer.ts. */
export interface OpenclawInstallProgressView {
  phase: 'fetch' | 'verify' | 'install' | 'check' | 'activate' | 'done';
  /** 0..1 over the whole install. */
  fraction: number;
  message: string;
  /** cancelOpenclawInstall still leaves everything as it was (false once the final swap has begun). */
  cancellable: boolean;
}

/** OpenClaw as the app manages it: what is installed, what Clawdesk would install, and a running install. */
export interface OpenclawInstallView {
  /** False where this app does not manage an OpenClaw install (the dashboard then shows none of this). */
  available: boolean;
  /** What the supervised mode would run now; null when none is found (then `problem` says why and `fix` what to do). */
  installed: OpenclawInstalledView | null;
  problem?: string;
  fix?: string;
  /** The version "Install OpenClaw" fetches: a setting (setOpenclawPinnedVersion), by default the tested one. */
  pinnedVersion: string;
  /** The version this Clawdesk was tested with. */
  testedVersion: string;
  /** Clawdesk's own install (in its data dir) exists and can be removed. */
  removable: boolean;
  /** Why installing or removing cannot happen now (e.g. the supervised gateway runs from that install). */
  blocked?: string;
  progress: OpenclawInstallProgressView | null;
  /** How the last install or removal in this run ended. */
  lastResult?: { ok: boolean; message: string; fix?: string; atMs: number };
}

/** How the device key is held: the dashboard puts it into words in its own language. */
export type SecretsBackendId = 'keytar' | 'safe-storage' | 'plaintext-file' | 'ephemeral' | 'not-loaded';

export interface SecretsView {
  /** The backend in English words; `backendId` is what the dashboard names. */
  backend: string;
  backendId?: SecretsBackendId;
  available: boolean;
  detail: string;
  /** Present when the device key lives only in memory for this run: Clawdesk's node is a new device after each restart. */
  ephemeral?: {
    /** No copy of the identity is stored anywhere, so keeping the key in a 0600 file is a choice the user can make. */
    keyFileOffered: boolean;
    /** The user already accepted a key file, yet it could not be used either (the reason is in `detail`). */
    keyFileAccepted: boolean;
  };
}

/** The outcome of asking the user to accept a key file: `accepted` is false when they said No. */
export interface KeyStorageDecisionView {
  accepted: boolean;
  secrets: SecretsView;
}

/** The tail of OpenClaw's gateway output and the supervisor's notes (mode OpenClaw (supervised)); empty otherwise. */
export interface GatewayLogView {
  mode: GatewayModeId;
  /** The rotating log file on disk, when Clawdesk supervises OpenClaw's gateway. */
  file?: string;
  /** The last bytes of it, as text (bounded by the request). */
  text: string;
}

export interface LogEntryView {
  ts: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  source: 'app' | 'gateway';
  message: string;
}

export interface ExportFile {
  fileName: string;
  mimeType: string;
  content: string;
}

/** A line of the approval prompt, ready to show: `text` is escaped; `flags` say why it is marked. */
export interface PromptLine {
  label: string;
  text: string;
  flags: string[];
}

/** What a "What this does" line is about (mirrors gateway/exec/command-effects.ts EffectKind). */
export type PromptEffectKind = 'unreadable' | 'privilege' | 'download-exec' | 'destructive' | 'write-outside' | 'runs';

/** One line of "What this does", computed by Clawdesk from the command; `text` is escaped. */
export interface PromptEffectLine {
  kind: PromptEffectKind;
  text: string;
  flags: string[];
}

/**
 * Allow stays disabled this long after the prompt appears (and until the whole command has been scrolled into
 * view); the message box fallback treats an Allow sooner than this as too fast (main/message-box-presenter.ts).
 */
export const PROMPT_ALLOW_DELAY_MS = 1500;

export interface ApprovalPromptView {
  promptId: string;
  title: string;
  message: string;
  /** The command as Clawdesk computed it from the argv that will run, or (source 'agent-text') the requester's text. */
  command: PromptLine;
  commandSource: 'argv' | 'agent-text';
  /** One sentence on where the command text comes from ("computed by Clawdesk…" / "could not verify…"). */
  commandNote: string;
  /** The requester's own descriptions where they differ from the command: shown only as the agent's claim. */
  agentDescriptions: PromptLine[];
  /** "What this does", most serious first. */
  effects: PromptEffectLine[];
  context: PromptLine[];
  warnings: string[];
  footer: string;
  decisions: Decision[];
  expiresAtMs: number;
  /**
   * A request from a saved gateway on another machine (docs/remote-gateways.md): which one, and where it is. Absent
   * for the local gateway. Shown apart from the request's own rows (Agent, Host): this is who asks, not what it says.
   */
  origin?: { gateway: string; address: string };
}

/** How a saved gateway on another machine is doing (gateway/remote/remote-gateway-service.ts RemoteGatewayState). */
export type RemoteGatewayStateId =
  | 'connecting'
  | 'connected'
  | 'retrying'
  | 'pairing-required'
  | 'auth-failed'
  | 'pin-mismatch'
  | 'refused'
  | 'tunnel-failed'
  | 'failed'
  | 'stopped';

/** One gateway on another machine, as the dashboard shows it. No secret is ever part of this. */
export interface RemoteGatewayView {
  name: string;
  /** The wss:// URL, or `ssh user@host → 127.0.0.1:port`. */
  address: string;
  transport: 'direct' | 'ssh';
  primary: boolean;
  /** Whether Clawdesk's exec runner serves this gateway too (the approval client always connects). */
  runner: boolean;
  /** openclaw.json's gateway.mode "remote" block: shown, changed only in openclaw.json. */
  readOnly: boolean;
  auth: 'token' | 'password' | 'device-token' | 'none';
  /** The pinned certificate's SHA-256 (lowercase hex), or that the system's CA store decides. */
  trust?: { kind: 'pin'; fingerprint: string } | { kind: 'system-ca' } | { kind: 'ssh' } | { kind: 'plaintext' };
  /** The worse of the approval client's and the runner's states; 'stopped' while the app is not connecting. */
  state: RemoteGatewayStateId;
  approvals: { state: RemoteGatewayStateId; detail?: string };
  runnerState?: { state: RemoteGatewayStateId; detail?: string };
  /** pairing-required: the request to approve on the gateway's machine, and the command that approves it there. */
  pairing?: { requestId: string; command: string };
  /** What happened and what to do, for every state that needs the person (pin-mismatch above all). */
  problem?: { message: string; fix: string };
}

export interface RemoteGatewaysView {
  gateways: RemoteGatewayView[];
  /** openclaw.json problems (a remote block Clawdesk cannot use as written), and a gateways.json that is damaged. */
  warnings: string[];
}

/** What the dashboard sends to save a gateway. The secret goes to the vault and is never sent back. */
export interface NewRemoteGatewayInput {
  name: string;
  /** A wss:// (or loopback ws://) URL, or an SSH target `user@host[:port]`. */
  url?: string;
  sshTarget?: string;
  remotePort?: number;
  auth: 'token' | 'password' | 'device-token' | 'none';
  secret?: string;
  runner: boolean;
  /** The certificate's SHA-256 read on the gateway machine; without it Clawdesk shows the certificate and asks. */
  tlsFingerprint?: string;
  /** Trust the system's CA store instead of a pin. */
  systemTrust?: boolean;
  /**
   * The fingerprint a discovered gateway advertised on the network (listDiscoveredGateways): a HINT, never a pin. With
   * it Clawdesk still reads the certificate the gateway presents and asks; one that differs is refused unasked.
   */
  advertisedFingerprint?: string;
}

/** How adding went: saved, or why not (the person said no to the certificate, or bad input), in words. */
export type AddRemoteGatewayResult =
  | { saved: true; gateways: RemoteGatewaysView }
  | { saved: false; reason: 'not-trusted' | 'invalid' | 'unreachable'; message: string; gateways: RemoteGatewaysView };

/**
 * A gateway announcing itself on this network over mDNS (docs/remote-gateways.md § Discovery), as the dashboard lists
 * it. All of it comes from whoever is on the network, unauthenticated: names are cleaned and cut by main, and shown as
 * text only.
 */
export interface DiscoveredGatewayView {
  /** The advertised display name (else the instance name), cleaned: at most 64 characters. */
  name: string;
  /** The DNS-SD instance name, cleaned (e.g. `box (OpenClaw)`). */
  instanceName: string;
  /** The address (or host name) and port the advertisement points at. */
  host: string;
  port: number;
  /** It advertises TLS (`gatewayTls=1`): `url` is wss://. */
  tls: boolean;
  /** wss:// when TLS is advertised, else ws://. */
  url: string;
  /** The advertised certificate SHA-256, lowercase hex: unverified, from the network. */
  fingerprintHint?: string;
  /** Clawdesk's plaintext rule refuses `url` (ws:// beyond this computer): an SSH tunnel is the way to it. */
  plaintextRefused: boolean;
  sshPort?: number;
  /** A name the add form accepts, unique in this list. */
  suggestedName: string;
}

export interface DiscoveredGatewaysView {
  /** Listening now; false with `problem` when mDNS cannot be used here. */
  browsing: boolean;
  gateways: DiscoveredGatewayView[];
  /** Advertisements ignored because the list is full (at most 64 are kept). */
  dropped: number;
  problem?: string;
}

export type Topic =
  | 'status'
  | 'approvals'
  | 'devices'
  | 'nodes'
  | 'history'
  | 'policy'
  | 'state'
  | 'logs'
  | 'prompt'
  /** A running migration's progress changed (getMigrationProgress). */
  | 'migration'
  /** OpenClaw's gateway wrote output (getGatewayLog); at most twice a second. */
  | 'gateway-log'
  /** Clawdesk's OpenClaw install changed or an install's progress moved (getOpenclawInstall). */
  | 'openclaw-install'
  /** A gateway on another machine was added, removed or changed state (listRemoteGateways). */
  | 'gateways'
  /** A gateway announcing itself on this network appeared, changed or went away (listDiscoveredGateways). */
  | 'discovered-gateways';

export interface AppEvent {
  type: 'changed';
  topics: Topic[];
}

/** What "Open OpenClaw Control UI" did: opened in the browser, or why not and what to do. */
export interface ControlUiResult {
  opened: boolean;
  error?: string;
  fix?: string;
}

/** Light, dark, or whatever the OS says: the pages' theme and the one Electron draws native parts in. */
export const THEME_CHOICES = ['system', 'light', 'dark'] as const;
export type ThemeChoice = (typeof THEME_CHOICES)[number];

/** Request/response methods: each becomes the IPC channel `clawdesk:<name>`. */
export interface InvokeApi {
  getStatus(): Promise<AppStatus>;
  controlGateway(action: 'start' | 'stop' | 'restart'): Promise<AppStatus>;
  /** Opens OpenClaw's Control UI in the browser with a one-time signed-in link (an OpenClaw mode only). */
  openControlUi(): Promise<ControlUiResult>;
  setStartAtLogin(enabled: boolean): Promise<AppStatus>;
  /** Native parts (message boxes, menus, title bars) follow this too; remembered across starts. */
  setTheme(choice: ThemeChoice): Promise<void>;
  /** The dashboard's language (a locale id, null for the OS's): the tray and native dialogs follow it; remembered. */
  setLanguage(locale: string | null): Promise<void>;
  /** The person has read a notice; it goes away until its cause happens again. */
  dismissNotice(id: string): Promise<AppStatus>;
  /** OpenClaw's install as the supervised mode would use it, the pinned version, and a running install. */
  getOpenclawInstall(): Promise<OpenclawInstallView>;
  /** Installs openclaw@<pinned> and its Node runtime into Clawdesk's data dir; resolves when it has ended. */
  installOpenclaw(): Promise<OpenclawInstallView>;
  /** Cancels the running install (nothing changes); false when none runs or it can no longer be cancelled. */
  cancelOpenclawInstall(): Promise<boolean>;
  /** Sets the version "Install OpenClaw" fetches (plain semver); null goes back to the tested version. */
  setOpenclawPinnedVersion(version: string | null): Promise<OpenclawInstallView>;
  /** Removes Clawdesk's own OpenClaw install (OpenClaw's state is left alone). */
  uninstallOpenclaw(): Promise<OpenclawInstallView>;
  listDevices(): Promise<DevicesView>;
  approveDevice(requestId: string): Promise<void>;
  rejectDevice(requestId: string): Promise<void>;
  removeDevice(deviceId: string): Promise<void>;
  rotateDeviceToken(deviceId: string, role: string): Promise<void>;
  revokeDeviceToken(deviceId: string, role: string): Promise<void>;
  listNodes(): Promise<NodeView[]>;
  listPendingApprovals(): Promise<PendingApprovalView[]>;
  resolveApproval(id: string, decision: Decision): Promise<void>;
  queryApprovalHistory(query: HistoryQuery): Promise<ApprovalHistoryEntry[]>;
  exportApprovalHistory(format: 'json' | 'csv'): Promise<ExportFile>;
  getExecPolicy(): Promise<ExecPolicyView>;
  applyPolicyPreset(preset: PolicyPreset): Promise<ExecPolicyView>;
  getState(): Promise<StateView>;
  migrateState(dryRun: boolean): Promise<MigrationView>;
  /** The running migration's progress, or null when none runs. */
  getMigrationProgress(): Promise<MigrationProgressView | null>;
  /** Cancels the running migration (it rolls everything back); false when none runs or it can no longer be cancelled. */
  cancelMigration(): Promise<boolean>;
  getSecrets(): Promise<SecretsView>;
  /** Asks (natively) whether to keep the device key in a file readable only by the user; on Yes remembers it and reloads the identity. */
  acceptPlaintextKeyStorage(): Promise<KeyStorageDecisionView>;
  getLogs(limit: number): Promise<LogEntryView[]>;
  /** The tail of OpenClaw's gateway log (supervised mode), at most `maxBytes`. */
  getGatewayLog(maxBytes: number): Promise<GatewayLogView>;
  exportSupportBundle(): Promise<ExportFile>;
  getApprovalPrompt(): Promise<ApprovalPromptView | null>;
  decideApprovalPrompt(promptId: string, decision: Decision): Promise<void>;
  openExternal(url: string): Promise<boolean>;
  /** The gateways on other machines and their states (docs/remote-gateways.md). */
  listRemoteGateways(): Promise<RemoteGatewaysView>;
  /** Saves a gateway; a wss:// one without a fingerprint is pinned only after the person trusts it in a native dialog. */
  addRemoteGateway(input: NewRemoteGatewayInput): Promise<AddRemoteGatewayResult>;
  removeRemoteGateway(name: string): Promise<RemoteGatewaysView>;
  setPrimaryRemoteGateway(name: string): Promise<RemoteGatewaysView>;
  setRemoteGatewayRunner(name: string, enabled: boolean): Promise<RemoteGatewaysView>;
  /**
   * The gateways announcing themselves on this network. The first call starts listening (mDNS); it goes on until the
   * dashboard window closes. It never connects to any of them.
   */
  listDiscoveredGateways(): Promise<DiscoveredGatewaysView>;
}

export type InvokeMethod = keyof InvokeApi;

/** Every method, in one list the preload and the router both walk. `satisfies` keeps it exhaustive. */
export const INVOKE_METHODS = [
  'getStatus',
  'controlGateway',
  'openControlUi',
  'setStartAtLogin',
  'setTheme',
  'setLanguage',
  'dismissNotice',
  'getOpenclawInstall',
  'installOpenclaw',
  'cancelOpenclawInstall',
  'setOpenclawPinnedVersion',
  'uninstallOpenclaw',
  'listDevices',
  'approveDevice',
  'rejectDevice',
  'removeDevice',
  'rotateDeviceToken',
  'revokeDeviceToken',
  'listNodes',
  'listPendingApprovals',
  'resolveApproval',
  'queryApprovalHistory',
  'exportApprovalHistory',
  'getExecPolicy',
  'applyPolicyPreset',
  'getState',
  'migrateState',
  'getMigrationProgress',
  'cancelMigration',
  'getSecrets',
  'acceptPlaintextKeyStorage',
  'getLogs',
  'getGatewayLog',
  'exportSupportBundle',
  'getApprovalPrompt',
  'decideApprovalPrompt',
  'openExternal',
  'listRemoteGateways',
  'addRemoteGateway',
  'removeRemoteGateway',
  'setPrimaryRemoteGateway',
  'setRemoteGatewayRunner',
  'listDiscoveredGateways',
] as const satisfies readonly InvokeMethod[];

type Missing = Exclude<InvokeMethod, (typeof INVOKE_METHODS)[number]>;
/** Compile-time check: adding a method to InvokeApi without listing it fails here. */
export const INVOKE_METHODS_COMPLETE: [Missing] extends [never] ? true : Missing = true;

export const EVENT_CHANNEL = 'clawdesk:event';

export function invokeChannel(method: InvokeMethod): string {
  return `clawdesk:${method}`;
}

/** What the preload exposes as `window.clawdesk`. */
export interface ClawdeskApi extends InvokeApi {
  onEvent(listener: (event: AppEvent) => void): () => void;
}

export const API_GLOBAL = 'clawdesk';
