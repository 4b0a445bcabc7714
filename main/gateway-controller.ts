import { startApprovalClient, type ApprovalClientHandle } from '../gateway/approvals/approval-client';
import type { Approver } from '../gateway/approvals/approver';
import { createExecModules } from '../gateway/approvals/exec-modules';
import { connectGateway, type GatewaySession } from '../gateway/client/gateway-client';
import { startNodeHost, type NodeHostHandle } from '../gateway/node-host/node-host';
import { clawdeskDataDir, loadClawdeskIdentity, type ClawdeskIdentity } from '../gateway/identity/clawdesk-identity';
import { CLI_DEFAULT_OPERATOR_SCOPES } from '../gateway/protocol/scopes';
import { startGatewayServer, type RunningGateway } from '../gateway/server/gateway-server';
import { decideOwnership, type OwnershipDecision } from './gateway-ownership';
import type { GatewayState, OwnerView } from '../common/ipc-contract';

export interface GatewayControllerOptions {
  port: number;
  host?: string;
  stateDir: string;
  /** The shared secret for the embedded gateway, or for attaching to one configured in openclaw.json. */
  token?: string;
  password?: string;
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
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
  /** The operator session (admin, pairing, approvals) came or went; events flow through it. */
  onSession?(session: GatewaySession | undefined): void;
  onChange?(): void;
  onApprovalOutcome?(outcome: { id: string; decision: string; source: 'approver' | 'fallback'; error?: string }): void;
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
}

/**
 * Owns the decision "embed or attach" and everything that follows from it: the embedded gateway, Clawdesk's exec
 * runner (a node), the approval client that asks through the desktop dialog, and an operator session for the
 * dashboard and pairing prompts. It never takes a port another process holds.
 */
export class GatewayController {
  private decision?: OwnershipDecision;
  private embedded?: RunningGateway;
  private node?: NodeHostHandle;
  private approvals?: ApprovalClientHandle;
  private operator?: GatewaySession;
  private state: GatewayState = 'stopped';
  private error?: string;
  private url?: string;
  private busy: Promise<void> = Promise.resolve();
  private identity?: ClawdeskIdentity;

  constructor(private readonly options: GatewayControllerOptions) {}

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
    const owner: OwnerView = this.decision?.owner ?? { kind: 'none', description: 'nobody (not started)' };
    return {
      state: this.state,
      port: this.embedded?.port ?? this.options.port,
      url: this.url,
      owner,
      handOver: this.decision && this.decision.mode !== 'embed' ? this.decision.handOver : undefined,
      error: this.error,
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

  private setState(state: GatewayState, error?: string): void {
    this.state = state;
    this.error = error;
    this.options.onChange?.();
  }

  private async doStart(): Promise<void> {
    if (this.state === 'running' || this.state === 'attached') return;
    const { log } = this.options;
    this.setState('starting');
    try {
      this.decision = await decideOwnership({
        port: this.options.port,
        host: this.options.host,
        timeoutMs: this.options.probeTimeoutMs,
      });
      if (this.decision.mode === 'blocked') {
        log('error', this.decision.reason);
        this.setState('error', this.decision.reason);
        return;
      }
      const nodeIdentity = (await this.loadIdentity()).signer;
      if (this.decision.mode === 'embed') {
        // Never auth "none": loopback clients then get no scopes and approvals have no route (spec 9.9).
        if (!this.options.token && !this.options.password)
          throw new Error('the embedded gateway needs a token or password');
        this.embedded = await startGatewayServer({
          port: this.options.port,
          host: this.options.host ?? '127.0.0.1',
          stateDir: this.options.stateDir,
          auth: this.options.token
            ? { mode: 'token', token: this.options.token }
            : { mode: 'password', password: this.options.password },
          modules: createExecModules({ trustedLocalNodeIds: [nodeIdentity.deviceId] }).modules,
          log: (level, message, fields) => log(level, message, fields),
        });
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
      this.approvals = await startApprovalClient({
        url,
        ...auth,
        identity: nodeIdentity,
        approver: this.options.approver,
        stateDir: this.options.stateDir,
        promptTimeoutMs: this.options.promptTimeoutMs,
        clientId: 'cli',
        clientMode: 'cli',
        displayName: 'Clawdesk',
        log,
        onOutcome: (outcome) => this.options.onApprovalOutcome?.(outcome),
      });
      this.node = await startNodeHost({
        url,
        ...auth,
        identity: nodeIdentity,
        stateDir: this.options.stateDir,
        displayName: 'Clawdesk',
        log,
      });
      this.operator = await connectGateway({
        url,
        ...auth,
        scopes: [...CLI_DEFAULT_OPERATOR_SCOPES],
        displayName: 'Clawdesk dashboard',
        connectTimeoutMs: 10_000,
      });
      this.operator.once('close', () => {
        this.options.onSession?.(undefined);
        if (this.state === 'running' || this.state === 'attached')
          this.setState('degraded', 'the operator connection closed');
      });
      this.options.onSession?.(this.operator);
      this.setState(this.decision.mode === 'embed' ? 'running' : 'attached');
    } catch (error) {
      log('error', `gateway start failed: ${(error as Error).message}`);
      await this.teardown();
      this.setState('error', (error as Error).message);
    }
  }

  private async teardown(): Promise<void> {
    const operator = this.operator;
    this.operator = undefined;
    await operator?.close().catch(() => undefined);
    await this.approvals?.stop().catch(() => undefined);
    await this.node?.stop().catch(() => undefined);
    await this.embedded?.close('stopped from Clawdesk').catch(() => undefined);
    this.approvals = undefined;
    this.node = undefined;
    this.embedded = undefined;
    this.url = undefined;
  }

  private async doStop(): Promise<void> {
    await this.teardown();
    this.decision = undefined;
    this.setState('stopped');
  }
}
