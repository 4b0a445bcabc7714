import path from 'node:path';
import {
  DEFAULT_PROMPT_TIMEOUT_MS,
  type ApprovalClientHandle,
  type ApprovalClientOutcome,
} from '../gateway/approvals/approval-client';
import type { Approver } from '../gateway/approvals/approver';
import { createExecModules } from '../gateway/approvals/exec-modules';
import { startOwnClients, trustOwnClients } from '../gateway/node-host/own-clients';
import { connectGateway, type GatewayClientOptions, type GatewaySession } from '../gateway/client/gateway-client';
import type { NodeHostHandle } from '../gateway/node-host/node-host';
import { clawdeskDataDir, loadClawdeskIdentity, type ClawdeskIdentity } from '../gateway/identity/clawdesk-identity';
import { CLI_DEFAULT_OPERATOR_SCOPES } from '../gateway/protocol/scopes';
import { startGatewayServer, type RunningGateway } from '../gateway/server/gateway-server';
import { loadGatewayTls, localGatewayTlsFingerprint, type GatewayTlsRequest } from '../gateway/server/gateway-tls';
import { pinnedCertificateVerifier } from '../gateway/remote/tls-pin';
import { attachClawdesk, type ClawdeskAttachment } from '../gateway/openclaw/attach';
import { ControlUiError, type ControlUiLink } from '../gateway/openclaw/control-ui';
import { GATEWAY_MODE_LABELS, type GatewayMode } from '../gateway/openclaw/discovery';
import type { LocateResult } from '../gateway/openclaw/install';
import {
  OpenclawSupervisor,
  type OpenclawSupervisorOptions,
  type SupervisorStatus,
} from '../gateway/openclaw/supervisor';
import { decideOwnership, type OwnershipDecision } from './gateway-ownership';
import type { GatewayState, OwnerView } from '../common/ipc-contract';

/** How the controller runs OpenClaw's own gateway (mode openclaw-supervised). */

/** How long after the prompt window an unanswered request of the embedded gateway ends. */
const APPROVAL_EXPIRY_MARGIN_MS = 5_000;
export interface OpenclawModeOptions {
  /** Finds the install to supervise (the person's choice, Clawdesk's data dir, the `openclaw` on PATH). */
  locate(): LocateResult;
  /** The child's base environment (OpenClaw's state dir and config come from it). Default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** The rotating log of the child's output. */
  logFile: string;
  /** Extra supervisor options (restart policy, timeouts); tests shorten them. */
  supervisor?: Partial<Omit<OpenclawSupervisorOptions, 'install' | 'logFile'>>;
}

export interface GatewayControllerOptions {
  port: number;
  host?: string;
  stateDir: string;
  /** The shared secret for the embedded gateway, or for attaching to one configured in openclaw.json. */
  token?: string;
  password?: string;
  /**
   * openclaw.json's `gateway.tls` (built-in and external modes): the embedded gateway serves wss:// with it, and a
   * gateway already on the port is reached over wss:// pinned to the state dir's certificate.
   */
  tls?: GatewayTlsRequest;
  /** `gateway.tls` could not be read: those modes stop with this instead of serving or trusting plaintext. */
  tlsProblem?: string;
  approver: Approver;
  /**
   * Clawdesk's device identity (keychain, then safeStorage). Defaults to the keychain without safeStorage; the app
   * passes its safeStorage. Loaded once and reused across restarts, so the runner keeps one deviceId; only
   * reloadIdentity() calls it again (after the user changed where the key may be kept).
   */
  loadIdentity?: () => Promise<ClawdeskIdentity>;
  /** How long a person has to answer before askFallback (the approval client's budget). */
  promptTimeoutMs?: number;
  probeTimeoutMs?: number;
  /**
   * Where Clawdesk's runner keeps its exec-approvals.json when attached to OpenClaw's gateway (default
   * `<state dir>/clawdesk/node`). Never OpenClaw's state dir itself: OpenClaw 2026.9.6 keeps approvals in its database
   * and refuses every exec while an exec-approvals.json sits there ("Legacy exec approvals exist ... run doctor").
   */
  runnerStateDir?: string;
  /** Which gateway to use (default clawdesk-builtin); see setMode(). */
  mode?: GatewayMode;
  /** Needed for mode openclaw-supervised. */
  openclaw?: OpenclawModeOptions;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
  /** The operator session (admin, pairing, approvals) came or went; events flow through it. */
  onSession?(session: GatewaySession | undefined): void;
  onChange?(): void;
  onApprovalOutcome?(outcome: ApprovalClientOutcome): void;
}

/** How the device key is held, for the Secrets view. */
export interface IdentityStatus {
  persistence: ClawdeskIdentity['persistence'];
  warning?: string;
  deviceId: string;
}

export interface GatewayStatusView {
  state: GatewayState;
  port: number;
  url?: string;
  owner: OwnerView;
  handOver?: string;
  error?: string;
  mode: GatewayMode;
  modeLabel: string;
  /** True when quitting stops the gateway: Clawdesk started it (built-in, or OpenClaw's child). */
  startedByClawdesk: boolean;
  /** One sentence on what the gateway is doing (restarting, repairing, waiting...). */
  detail?: string;
  /** What the person can do about an error. */
  fix?: string;
  /** Where OpenClaw's output goes (supervised). */
  logFile?: string;
  /** It runs but will refuse work (gateway/openclaw/legacy-exec-approvals.ts). */
  warning?: { message: string; fix: string };
}

/**
 * Owns the gateway for the chosen mode and everything that follows from it: the embedded gateway (built-in) or
 * OpenClaw's supervised child, Clawdesk's exec runner (a node), the approval client that asks through the desktop
 * dialog, and an operator session for the dashboard and pairing prompts. It never takes a port another process
 * holds, never stops a gateway it did not start, and never falls back from one mode to another on its own.
 */
export class GatewayController {
  private mode: GatewayMode;
  private decision?: OwnershipDecision;
  private embedded?: RunningGateway;
  private supervisor?: OpenclawSupervisor;
  private attachment?: ClawdeskAttachment;
  private credentials?: {
    url: string;
    token?: string;
    password?: string;
    /** The certificate pin of a wss:// gateway (gateway.tls). */
    connection?: Pick<GatewayClientOptions, 'verifyServerCertificate'>;
  };
  private ownerView?: OwnerView;
  private detail?: string;
  private fix?: string;
  private node?: NodeHostHandle;
  private approvals?: ApprovalClientHandle;
  private operator?: GatewaySession;
  private state: GatewayState = 'stopped';
  private error?: string;
  private url?: string;
  private busy: Promise<void> = Promise.resolve();
  private identity?: ClawdeskIdentity;

  constructor(private readonly options: GatewayControllerOptions) {
    this.mode = options.mode ?? 'clawdesk-builtin';
  }

  private runnerStateDir(): string {
    return this.options.runnerStateDir ?? path.join(clawdeskDataDir(this.options.stateDir), 'node');
  }

  gatewayMode(): GatewayMode {
    return this.mode;
  }

  /** Switches mode: stops what runs (only what Clawdesk started), then starts the new mode if it was running. */
  setMode(mode: GatewayMode): Promise<void> {
    return this.run(async () => {
      if (mode === this.mode) return;
      const wasStopped = this.state === 'stopped';
      await this.doStop();
      this.mode = mode;
      this.options.log('info', `gateway mode: ${GATEWAY_MODE_LABELS[mode]}`);
      if (wasStopped) this.options.onChange?.();
      else await this.doStart();
    });
  }

  /** A one-time link to OpenClaw's Control UI (an OpenClaw mode, its gateway up); throws ControlUiError else. */
  controlUiLink(): Promise<ControlUiLink> {
    if (!this.supervisor || this.mode === 'clawdesk-builtin') {
      return Promise.reject(
        new ControlUiError(
          'Clawdesk’s built-in gateway has no Control UI',
          'Switch the gateway mode to OpenClaw (tray → Gateway mode) to use OpenClaw’s Control UI.',
        ),
      );
    }
    return this.supervisor.controlUiLink();
  }

  /** The last output of OpenClaw's gateway and the supervisor's notes (supervised mode), bounded. */
  logTail(maxBytes?: number): string {
    return this.supervisor?.outputTail(maxBytes) ?? '';
  }

  /** The dashboard's log view: the tail of OpenClaw's gateway log (supervised mode), else empty. */
  gatewayLog(maxBytes?: number): { mode: GatewayMode; file?: string; text: string } {
    return {
      mode: this.mode,
      file: this.mode === 'openclaw-supervised' ? this.options.openclaw?.logFile : undefined,
      text: this.logTail(maxBytes),
    };
  }

  /** The runner's and the approval client's connection states (undefined when not started). */
  clientStates(): { node?: string; approver?: string } {
    return {
      node: (this.attachment?.node ?? this.node)?.status().state,
      approver: (this.attachment?.approvals ?? this.approvals)?.status().state,
    };
  }

  /** The supervisor's own status (supervised mode), for `clawdesk openclaw status`-like detail. */
  supervisorStatus(): SupervisorStatus | undefined {
    return this.supervisor?.status();
  }

  /**
   * After sleep: the gateway or the connections to it may be gone. Supervised: the supervisor checks readiness
   * (and restarts a child that no longer answers); otherwise a dropped operator session restarts the attachment.
   */
  afterWake(): Promise<void> {
    return this.run(async () => {
      if (this.state === 'stopped' || this.state === 'error') return;
      // A runner or approver waiting out a backoff from before the sleep tries again now, not up to 30 s later.
      for (const live of [this.attachment?.node, this.attachment?.approvals, this.node, this.approvals])
        live?.reconnectNow();
      if (this.supervisor) {
        await this.supervisor.checkReady();
        return;
      }
      if (!this.session()) {
        this.options.log('info', 'after wake: the gateway connection is gone; reconnecting');
        await this.doStop();
        await this.doStart();
      }
    });
  }

  /** How the device key is held, for the Secrets view (undefined before the first start). */
  identityStatus(): IdentityStatus | undefined {
    return this.identity
      ? {
          persistence: this.identity.persistence,
          warning: this.identity.warning,
          deviceId: this.identity.signer.deviceId,
        }
      : undefined;
  }

  /** The same identity the runner presents (loaded once): the gateways on other machines use it too. */
  deviceIdentity(): Promise<ClawdeskIdentity> {
    return this.loadIdentity();
  }

  private async loadIdentity(): Promise<ClawdeskIdentity> {
    if (!this.identity) {
      this.identity = await (
        this.options.loadIdentity ??
        (() => loadClawdeskIdentity({ dataDir: clawdeskDataDir(this.options.stateDir), whenUnavailable: 'ephemeral' }))
      )();
      if (this.identity.warning) this.options.log('warn', this.identity.warning);
    }
    return this.identity;
  }

  status(): GatewayStatusView {
    const owner: OwnerView = this.ownerView ??
      this.decision?.owner ?? { kind: 'none', description: 'nobody (not started)' };
    const supervised = this.supervisor?.status();
    return {
      state: this.state,
      port: this.embedded?.port ?? supervised?.port ?? this.options.port,
      url: this.url,
      owner,
      handOver: this.decision && this.decision.mode !== 'embed' ? this.decision.handOver : undefined,
      error: this.error,
      mode: this.mode,
      modeLabel: GATEWAY_MODE_LABELS[this.mode],
      startedByClawdesk: Boolean(this.embedded) || supervised?.mode === 'supervised',
      detail: this.detail,
      fix: this.fix,
      logFile: this.supervisor ? this.options.openclaw?.logFile : undefined,
      warning: supervised?.warning,
    };
  }

  session(): GatewaySession | undefined {
    return this.operator && !this.operator.closed ? this.operator : undefined;
  }

  /** Serialised: start/stop/restart never overlap. */
  private run(task: () => Promise<void>): Promise<void> {
    const next = this.busy.then(task, task);
    this.busy = next.catch(() => undefined);
    return next;
  }

  start(): Promise<void> {
    return this.run(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.run(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.run(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  /**
   * Drops the cached identity and loads it again through `loadIdentity`, restarting whatever was running so the
   * node and the approval client present the reloaded identity. Only for a changed storage decision: every
   * other restart keeps the identity, and with it the deviceId.
   */
  reloadIdentity(): Promise<void> {
    return this.run(async () => {
      const wasStopped = this.state === 'stopped';
      await this.doStop();
      this.identity = undefined;
      // Stopped by the user: stay stopped, but load now so the Secrets view shows the new storage.
      if (wasStopped) await this.loadIdentity();
      else await this.doStart();
    });
  }

  private setState(state: GatewayState, error?: string, extra: { detail?: string; fix?: string } = {}): void {
    this.state = state;
    this.error = error;
    this.detail = extra.detail;
    this.fix = extra.fix;
    this.options.onChange?.();
  }

  private async doStart(): Promise<void> {
    if (this.state === 'running' || this.state === 'attached') return;
    if (this.mode === 'openclaw-supervised') return this.startSupervised();
    if (this.mode === 'openclaw-external') return this.startExternal();
    return this.startBuiltin();
  }

  // --- OpenClaw (supervised) -----------------------------------------------------------------------------------

  private async startSupervised(): Promise<void> {
    const { log } = this.options;
    const openclaw = this.options.openclaw;
    this.setState('starting', undefined, { detail: 'looking for the OpenClaw install' });
    const found: LocateResult = openclaw
      ? openclaw.locate()
      : {
          ok: false,
          code: 'install-missing',
          reason: 'no OpenClaw install is configured',
          fix: 'Install OpenClaw, or switch the gateway mode in the tray menu.',
          tried: [],
        };
    if (!found.ok || !openclaw) {
      const failure = found as Exclude<LocateResult, { ok: true }>;
      log('error', `OpenClaw (supervised): ${failure.reason}`);
      // No silent fallback to another gateway: the person sees why and what to do.
      this.setState('error', failure.reason, { fix: failure.fix });
      return;
    }
    const supervisor = new OpenclawSupervisor({
      port: this.options.port,
      ...openclaw.supervisor,
      env: openclaw.env ?? openclaw.supervisor?.env,
      install: found.install,
      logFile: openclaw.logFile,
      log: (level, message) => log(level, `openclaw: ${message}`),
    });
    this.supervisor = supervisor;
    supervisor.on('status', (status: SupervisorStatus) => this.onSupervisorStatus(supervisor, status));
    await supervisor.start();
    const status = supervisor.status();
    if (this.supervisor !== supervisor) return;
    if (status.state !== 'running' && status.state !== 'attached') {
      this.setState('error', status.reason, { fix: status.fix, detail: status.reason });
      return;
    }
    try {
      await this.attachToSupervised(supervisor);
    } catch (error) {
      log('error', `attaching to OpenClaw's gateway failed: ${(error as Error).message}`);
      await this.teardown();
      this.setState('error', (error as Error).message, {
        fix: `See the log ${openclaw.logFile}, then choose Start gateway.`,
      });
    }
  }

  private ownerFor(status: SupervisorStatus): OwnerView {
    if (status.mode === 'external')
      return {
        kind: status.pid ? 'other-process' : 'unknown',
        pid: status.pid,
        description: status.owner ?? 'a process Clawdesk did not start',
      };
    return {
      kind: 'clawdesk',
      pid: status.pid,
      description: `OpenClaw's gateway, started by Clawdesk${status.pid ? ` (PID ${status.pid})` : ''}`,
    };
  }

  private async attachToSupervised(supervisor: OpenclawSupervisor): Promise<void> {
    const status = supervisor.status();
    this.credentials = supervisor.credentials();
    this.url = this.credentials.url;
    this.ownerView = this.ownerFor(status);
    const identity = (await this.loadIdentity()).signer;
    const stateDir = this.runnerStateDir();
    this.attachment = await attachClawdesk({
      url: this.url,
      token: this.credentials.token,
      password: this.credentials.password,
      identity,
      connection: this.credentials.connection,
      stateDir,
      approver: this.options.approver,
      promptTimeoutMs: this.options.promptTimeoutMs,
      log: (level, message) => this.options.log(level, message),
      onApprovalOutcome: (outcome) => this.options.onApprovalOutcome?.(outcome),
    });
    await this.connectOperator();
    this.setState(status.state === 'attached' ? 'attached' : 'running', undefined, { detail: status.reason });
  }

  /** Follows the supervisor: restarts, repairs and failures show in the tray; a new child gets a new operator session. */
  private onSupervisorStatus(supervisor: OpenclawSupervisor, status: SupervisorStatus): void {
    if (this.supervisor !== supervisor || this.state === 'stopped') return;
    // Before the first hello-ok, startSupervised() decides.
    if (!this.attachment) {
      if (status.state !== 'failed') this.setState('starting', undefined, { detail: status.reason });
      return;
    }
    this.ownerView = this.ownerFor(status);
    switch (status.state) {
      case 'running':
      case 'attached':
        this.setState(status.state, undefined, { detail: status.reason });
        if (!this.session()) void this.run(() => this.connectOperator().catch(() => undefined));
        return;
      case 'failed':
        // Nothing restarts after failed: the runner and approver stop retrying too.
        void this.run(async () => {
          if (this.supervisor !== supervisor) return;
          await this.detachClients();
          this.setState('error', status.reason, { fix: status.fix, detail: status.reason });
        });
        return;
      case 'stopped':
      case 'stopping':
        return;
      default:
        this.setState('starting', undefined, { detail: status.reason });
    }
  }

  // --- OpenClaw (external) -------------------------------------------------------------------------------------

  /**
   * Under gateway.tls a gateway already on the port is only ever taken for one over wss:// with the state dir's
   * certificate; with no certificate there (null) nothing on the port is trusted. Without gateway.tls: plain ws://.
   */
  private async tlsProbe(): Promise<{ tlsFingerprint?: string | null }> {
    const tls = this.options.tls;
    if (!tls) return {};
    const certificate = tls.certPath ? { certPath: tls.certPath } : {};
    const pin = await localGatewayTlsFingerprint(this.options.stateDir, { enabled: true, ...certificate });
    return { tlsFingerprint: pin ?? null };
  }

  /** A malformed gateway.tls stops the modes that read it: neither plaintext served nor a gateway trusted on a guess. */
  private refuseOnTlsProblem(): boolean {
    const problem = this.options.tlsProblem;
    if (!problem) return false;
    this.options.log('error', `gateway.tls: ${problem}`);
    this.setState('error', problem, { fix: 'Correct gateway.tls in openclaw.json, then choose Start gateway.' });
    return true;
  }

  private async startExternal(): Promise<void> {
    const { log } = this.options;
    if (this.refuseOnTlsProblem()) return;
    this.setState('starting', undefined, { detail: `looking for OpenClaw's gateway on port ${this.options.port}` });
    const probeTls = await this.tlsProbe();
    const decision = await decideOwnership({
      port: this.options.port,
      host: this.options.host,
      timeoutMs: this.options.probeTimeoutMs,
      ...probeTls,
    });
    if (decision.mode !== 'attach') {
      const reason =
        decision.mode === 'blocked' ? decision.reason : `no OpenClaw gateway answers on port ${this.options.port}`;
      log('error', `OpenClaw (external): ${reason}`);
      this.setState('error', reason, {
        fix:
          decision.mode === 'blocked'
            ? decision.handOver
            : "Start OpenClaw's gateway (`openclaw gateway`, or its service: `openclaw gateway start`), then choose Start gateway; or switch the gateway mode to OpenClaw (supervised) in the tray menu.",
      });
      return;
    }
    this.decision = decision;
    this.url = decision.url;
    const connection = pinnedConnection(probeTls.tlsFingerprint);
    this.credentials = { url: decision.url, token: this.options.token, password: this.options.password, connection };
    try {
      const identity = (await this.loadIdentity()).signer;
      this.attachment = await attachClawdesk({
        url: decision.url,
        token: this.options.token,
        password: this.options.password,
        connection,
        identity,
        stateDir: this.runnerStateDir(),
        approver: this.options.approver,
        promptTimeoutMs: this.options.promptTimeoutMs,
        log: (level, message) => log(level, message),
        onApprovalOutcome: (outcome) => this.options.onApprovalOutcome?.(outcome),
      });
      await this.connectOperator();
      this.setState('attached', undefined, {
        detail: `attached to ${decision.owner.description}; Clawdesk never stops it`,
      });
    } catch (error) {
      log('error', `attaching to OpenClaw's gateway failed: ${(error as Error).message}`);
      await this.teardown();
      this.setState('error', (error as Error).message, {
        fix: "Give Clawdesk the gateway's secret (gateway.auth.token in openclaw.json, or OPENCLAW_GATEWAY_TOKEN), then choose Start gateway.",
      });
    }
  }

  /** The dashboard's operator session; events (pairing, approvals, presence) flow through it. */
  private async connectOperator(): Promise<void> {
    const creds = this.credentials!;
    const operator = await connectGateway({
      url: creds.url,
      token: creds.token,
      password: creds.password,
      ...creds.connection,
      scopes: [...CLI_DEFAULT_OPERATOR_SCOPES],
      displayName: 'Clawdesk dashboard',
      connectTimeoutMs: 10_000,
    });
    this.operator = operator;
    operator.once('close', () => {
      if (this.operator !== operator) return;
      this.options.onSession?.(undefined);
      // A supervised restart brings its own state (and a new session once the child answers).
      if (!this.supervisor && (this.state === 'running' || this.state === 'attached'))
        this.setState('degraded', 'the operator connection closed');
    });
    this.options.onSession?.(operator);
  }

  // --- Clawdesk (built-in) -------------------------------------------------------------------------------------

  private async startBuiltin(): Promise<void> {
    const { log } = this.options;
    if (this.refuseOnTlsProblem()) return;
    this.setState('starting');
    try {
      const probeTls = await this.tlsProbe();
      this.decision = await decideOwnership({
        port: this.options.port,
        host: this.options.host,
        timeoutMs: this.options.probeTimeoutMs,
        ...probeTls,
      });
      if (this.decision.mode === 'blocked') {
        log('error', this.decision.reason);
        this.setState('error', this.decision.reason, { fix: this.decision.handOver });
        return;
      }
      const nodeIdentity = (await this.loadIdentity()).signer;
      let connection = pinnedConnection(probeTls.tlsFingerprint);
      if (this.decision.mode === 'embed') {
        // Never auth "none": loopback clients then get no scopes and approvals have no route
        // (docs/desktop-app.md § What happens at start; docs/protocol.md § Auth modes).
        if (!this.options.token && !this.options.password)
          throw new Error('the embedded gateway needs a token or password');
        const exec = createExecModules({
          // A request outlives the person's window only under askFallback=allowlist (the client resolves nothing
          // then): it ends just after the window, so the node's allowlist decides now, not in OpenClaw's 30 min.
          maxTimeoutMs: (this.options.promptTimeoutMs ?? DEFAULT_PROMPT_TIMEOUT_MS) + APPROVAL_EXPIRY_MARGIN_MS,
        });
        // gateway.tls: served with the state dir's (or the configured) certificate, generated on first use.
        const tls = this.options.tls
          ? await loadGatewayTls(this.options.stateDir, this.options.tls, (message) => log('warn', message))
          : undefined;
        connection = pinnedConnection(tls?.fingerprint);
        this.embedded = await startGatewayServer({
          port: this.options.port,
          host: this.options.host ?? '127.0.0.1',
          stateDir: this.options.stateDir,
          auth: this.options.token
            ? { mode: 'token', token: this.options.token }
            : { mode: 'password', password: this.options.password },
          ...(tls ? { tls } : {}),
          modules: exec.modules,
          log: (level, message, fields) => log(level, message, fields),
        });
        if (tls) log('info', `serving wss:// (gateway.tls), certificate SHA-256 ${tls.fingerprint}`);
        await trustOwnClients(this.embedded.pairing, exec, nodeIdentity);
        this.url = this.embedded.url;
      } else {
        this.url = this.decision.url;
        log(
          'info',
          `attaching to the gateway already on port ${this.options.port}: ${this.decision.owner.description}`,
        );
      }
      const url = this.url;
      const auth = { token: this.options.token, password: this.options.password };
      const own = await startOwnClients({
        url,
        ...auth,
        connection,
        identity: nodeIdentity,
        stateDir: this.options.stateDir,
        displayName: 'Clawdesk',
        log,
        approvals: {
          approver: this.options.approver,
          promptTimeoutMs: this.options.promptTimeoutMs,
          clientId: 'cli',
          clientMode: 'cli',
          displayName: 'Clawdesk',
          onOutcome: (outcome) => this.options.onApprovalOutcome?.(outcome),
        },
      });
      this.approvals = own.approvals;
      this.node = own.node;
      this.credentials = { url, ...auth, connection };
      await this.connectOperator();
      this.setState(this.decision.mode === 'embed' ? 'running' : 'attached');
    } catch (error) {
      log('error', `gateway start failed: ${(error as Error).message}`);
      await this.teardown();
      this.setState('error', (error as Error).message);
    }
  }

  /** The node, the approver and the operator session, whatever the mode. */
  private async detachClients(): Promise<void> {
    const operator = this.operator;
    this.operator = undefined;
    if (operator) this.options.onSession?.(undefined);
    await operator?.close().catch(() => undefined);
    await this.approvals?.stop().catch(() => undefined);
    await this.node?.stop().catch(() => undefined);
    await this.attachment?.stop().catch(() => undefined);
    this.approvals = undefined;
    this.node = undefined;
    this.attachment = undefined;
  }

  private async teardown(): Promise<void> {
    await this.detachClients();
    await this.embedded?.close('stopped from Clawdesk').catch(() => undefined);
    this.embedded = undefined;
    // Stops OpenClaw's child only if Clawdesk started it; detaches from one it found running.
    const supervisor = this.supervisor;
    this.supervisor = undefined;
    await supervisor?.dispose().catch(() => undefined);
    this.url = undefined;
    this.credentials = undefined;
    this.ownerView = undefined;
  }

  private async doStop(): Promise<void> {
    // Set first: status events from the supervisor's own stop are not shown as a restart.
    this.state = 'stopped';
    await this.teardown();
    this.decision = undefined;
    this.setState('stopped');
  }
}

/** The client options that accept only the certificate with this SHA-256 (none for plain ws://). */
function pinnedConnection(fingerprint: string | null | undefined) {
  return fingerprint ? { verifyServerCertificate: pinnedCertificateVerifier('127.0.0.1', fingerprint) } : undefined;
}
