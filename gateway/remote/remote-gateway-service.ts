import { EventEmitter } from 'node:events';
import { startApprovalClient, type ApprovalClientHandle } from '../approvals/approval-client';
import type { Approver, ExecApprovalRequestedEvent } from '../approvals/approver';
import type { ApprovalDecision } from '../exec/policy';
import { startNodeHost, type NodeHostHandle } from '../node-host/node-host';
import { ReconnectNudges, type SessionStatus } from '../node-host/reconnecting-session';
import type { DeviceSigner } from '../protocol/device-auth';
import {
  describeNetworkChange,
  NetworkChangeWatcher,
  type NetworkChange,
  type NetworkChangeSource,
} from './network-change';
import { gatewayTokenKey, type SavedGateway } from './saved-gateways';
import { SshTunnel, type SshTunnelStatus } from './ssh-tunnel';
import { pinnedCertificateVerifier } from './tls-pin';
import { assertGatewayUrlAllowed } from './transport-policy';

/**
 * Runs Clawdesk's approval client against every saved gateway and its exec runner against the ones the person
 * enabled (docs/remote-gateways.md § The runner and the approver on each gateway). No Electron: the app shows `statuses()`, the
 * CLI prints them (`clawdesk gateways connect`). Each gateway gets only its own secret, pin and device token.
 */

export type RemoteGatewayState =
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

export interface RoleStatus {
  state: RemoteGatewayState;
  detail?: string;
  pairingRequestId?: string;
}

export interface RemoteGatewayStatus {
  name: string;
  primary: boolean;
  /** Where it is, for people: the URL, or `ssh user@host → :port`. */
  address: string;
  /** The worse of the two roles, for a one-word display. */
  state: RemoteGatewayState;
  approvals: RoleStatus;
  runner: RoleStatus | { state: 'disabled' };
  tunnel?: SshTunnelStatus;
}

/** Where an approval request came from: every prompt names it (never a prompt without its gateway). */
export interface ApprovalOrigin {
  gateway: string;
  address: string;
}

/** An Approver that is also told which gateway is asking. */
export interface RemoteApprover {
  canPresent(): boolean;
  present(
    event: ExecApprovalRequestedEvent,
    signal: AbortSignal,
    origin: ApprovalOrigin,
  ): Promise<ApprovalDecision | null>;
}

/** Device tokens the remote gateways issued (gateway/secrets/device-identity.ts DeviceIdentityStore fits). */
export interface DeviceTokenStore {
  getDeviceToken(key: string, role: string): Promise<{ token: string } | null>;
  setDeviceToken(key: string, role: string, token: string, scopes: readonly string[]): Promise<void>;
}

export interface RemoteGatewayTarget {
  gateway: SavedGateway;
  primary: boolean;
  /** The shared token or password (from the vault, or openclaw.json). */
  secret?: string;
}

export interface RemoteGatewayServiceOptions {
  identity: DeviceSigner;
  /** Where exec-approvals.json lives (the runner's policy and the approval client's askFallback). */
  stateDir: string;
  approver: RemoteApprover;
  deviceTokens?: DeviceTokenStore;
  env?: NodeJS.ProcessEnv;
  /** Tests: a known_hosts file per SSH gateway, and faster backoff. */
  knownHostsFile?: (gateway: SavedGateway) => string | undefined;
  reconnect?: { initialBackoffMs?: number; maxBackoffMs?: number; probeTimeoutMs?: number };
  promptTimeoutMs?: number;
  /**
   * What tells the service the network changed, so every gateway reconnects at once (reconnectNow()). Default: a
   * NetworkChangeWatcher polling the interfaces; false: none (the caller calls reconnectNow() itself).
   */
  networkChanges?: NetworkChangeSource | false;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

const SEVERITY: RemoteGatewayState[] = [
  'connected',
  'stopped',
  'connecting',
  'retrying',
  'pairing-required',
  'tunnel-failed',
  'failed',
  'auth-failed',
  'refused',
  'pin-mismatch',
];

function roleStatus(status: SessionStatus): RoleStatus {
  switch (status.state) {
    case 'connected':
      return { state: 'connected' };
    case 'connecting':
      return { state: 'connecting' };
    case 'waiting':
      return status.pairingRequestId
        ? { state: 'pairing-required', detail: status.error, pairingRequestId: status.pairingRequestId }
        : { state: 'retrying', detail: status.error };
    case 'stopped':
      if (!status.error) return { state: 'stopped' };
      if (status.code === 'TLS_FINGERPRINT_MISMATCH') return { state: 'pin-mismatch', detail: status.error };
      if (status.code?.startsWith('AUTH_') || status.code?.startsWith('DEVICE_'))
        return { state: 'auth-failed', detail: status.error };
      return { state: 'failed', detail: status.error };
  }
}

function addressOf(gateway: SavedGateway): string {
  return gateway.transport === 'ssh'
    ? `ssh ${gateway.sshTarget} → 127.0.0.1:${gateway.remotePort}`
    : (gateway.url ?? '');
}

/** One gateway: its tunnel (if any), its approval client and (if enabled) its runner. */
class RemoteGatewayConnection {
  private readonly abort = new AbortController();
  /** Reaches the approval client's and the runner's sessions, also before their first connect. */
  private readonly nudges = new ReconnectNudges();
  private tunnel?: SshTunnel;
  private approvals?: ApprovalClientHandle;
  private node?: NodeHostHandle;
  status: RemoteGatewayStatus;

  constructor(
    private readonly target: RemoteGatewayTarget,
    private readonly options: RemoteGatewayServiceOptions,
    private readonly changed: (status: RemoteGatewayStatus) => void,
  ) {
    const g = target.gateway;
    this.status = {
      name: g.name,
      primary: target.primary,
      address: addressOf(g),
      state: 'connecting',
      approvals: { state: 'connecting' },
      runner: g.runner ? { state: 'connecting' } : { state: 'disabled' },
    };
  }

  private update(patch: Partial<RemoteGatewayStatus>): void {
    const next = { ...this.status, ...patch };
    const states: RemoteGatewayState[] = [next.approvals.state];
    if (next.runner.state !== 'disabled') states.push(next.runner.state);
    next.state = states.reduce((worst, s) => (SEVERITY.indexOf(s) > SEVERITY.indexOf(worst) ? s : worst));
    this.status = next;
    this.changed(next);
  }

  private fail(state: RemoteGatewayState, detail: string): void {
    this.update({
      approvals: { state, detail },
      runner: this.target.gateway.runner ? { state, detail } : { state: 'disabled' },
    });
  }

  async start(): Promise<void> {
    const g = this.target.gateway;
    const log = this.options.log ?? (() => undefined);
    let url: string;
    if (g.transport === 'ssh') {
      this.tunnel = new SshTunnel({
        target: g.sshTarget ?? '',
        remotePort: g.remotePort ?? 18789,
        localPort: g.localPort,
        hostKeyPolicy: g.sshHostKeyPolicy,
        identityFile: g.sshIdentity,
        knownHostsFile: g.sshKnownHostsFile ?? this.options.knownHostsFile?.(g),
        initialBackoffMs: this.options.reconnect?.initialBackoffMs,
        maxBackoffMs: this.options.reconnect?.maxBackoffMs,
        log: (level, message) => log(level, `${g.name}: ${message}`),
      });
      let wasUp = false;
      this.tunnel.on('status', (tunnel: SshTunnelStatus) => {
        this.update({ tunnel });
        // A tunnel back after a restart: the clients behind it need not sleep out their backoff.
        if (tunnel.state === 'up' && wasUp) this.nudges.nudge();
        if (tunnel.state === 'up') wasUp = true;
        if (tunnel.state === 'failed') this.fail('tunnel-failed', tunnel.error ?? 'the SSH tunnel failed');
      });
      try {
        url = `ws://127.0.0.1:${await this.tunnel.start()}`;
      } catch (error) {
        if (!this.abort.signal.aborted) this.fail('tunnel-failed', (error as Error).message);
        return;
      }
    } else {
      try {
        url = assertGatewayUrlAllowed(g.url ?? '', {
          allowInsecurePrivateWs: g.allowInsecurePrivateWs,
          env: this.options.env,
        }).href;
      } catch (error) {
        this.fail('refused', (error as Error).message);
        return;
      }
    }
    if (this.abort.signal.aborted) return;
    const host = g.transport === 'ssh' ? (g.sshTarget ?? '') : new URL(url).host;
    const verifyServerCertificate =
      g.transport === 'direct' && g.tlsFingerprint ? pinnedCertificateVerifier(host, g.tlsFingerprint) : undefined;
    const tokenKey = gatewayTokenKey(g);
    const secret = {
      ...(g.auth === 'token' && this.target.secret ? { token: this.target.secret } : {}),
      ...(g.auth === 'password' && this.target.secret ? { password: this.target.secret } : {}),
    };
    const connectionFor = async (role: string) => {
      const stored = await this.options.deviceTokens?.getDeviceToken(tokenKey, role).catch(() => null);
      // A stored device token is sent only to the gateway it was issued by (its key), and only when this
      // gateway's auth is the device token: a shared secret is never mixed with another gateway's token.
      const deviceToken = g.auth === 'device-token' ? stored?.token : undefined;
      return {
        ...(verifyServerCertificate ? { verifyServerCertificate } : {}),
        ...(deviceToken ? { deviceToken } : {}),
      };
    };
    const keepToken = (role: string, session: { deviceToken?: string; hello?: any }) => {
      const token = session.deviceToken;
      if (!token || !this.options.deviceTokens) return;
      const scopes: string[] = Array.isArray(session.hello?.auth?.scopes) ? session.hello.auth.scopes : [];
      this.options.deviceTokens.setDeviceToken(tokenKey, role, token, scopes).catch((error) => {
        log('warn', `${g.name}: could not keep the device token: ${(error as Error).message}`);
      });
    };
    const origin: ApprovalOrigin = { gateway: g.name, address: this.status.address };
    const approver: Approver = {
      canPresent: () => this.options.approver.canPresent(),
      present: (event, signal) => this.options.approver.present(event, signal, origin),
    };
    const starting: Promise<unknown>[] = [
      (async () => {
        this.approvals = await startApprovalClient({
          url,
          ...secret,
          identity: this.options.identity,
          approver,
          stateDir: this.options.stateDir,
          promptTimeoutMs: this.options.promptTimeoutMs,
          displayName: 'Clawdesk approvals',
          reconnect: { ...this.options.reconnect, nudges: this.nudges },
          connection: await connectionFor('operator'),
          signal: this.abort.signal,
          log: (level, message) => log(level, `${g.name}: ${message}`),
          onStatus: (status) => {
            if (status.state === 'connected') keepToken('operator', status.session);
            this.update({ approvals: roleStatus(status) });
          },
        });
      })(),
    ];
    if (g.runner) {
      starting.push(
        (async () => {
          this.node = await startNodeHost({
            url,
            ...secret,
            identity: this.options.identity,
            stateDir: this.options.stateDir,
            reconnect: { ...this.options.reconnect, nudges: this.nudges },
            connection: await connectionFor('node'),
            signal: this.abort.signal,
            log: (level, message) => log(level, `${g.name}: ${message}`),
            onStatus: (status) => {
              if (status.state === 'connected') keepToken('node', status.session);
              this.update({ runner: roleStatus(status) });
            },
          });
        })(),
      );
    }
    // A role that ends before its first connect (a refused pin, a wrong token) has already reported its state.
    await Promise.allSettled(starting);
  }

  /**
   * Every pending wait ends now: the tunnel's restart and both clients' reconnects, backoff reset; live sessions are
   * pinged, and replaced at once if they do not answer. Says what it did, for the log.
   */
  reconnectNow(): string | undefined {
    if (this.abort.signal.aborted) return undefined;
    // Behind a restarting tunnel the clients would only find a closed port; the tunnel's `up` nudges them.
    if (this.tunnel?.restartNow()) return 'restarting the SSH tunnel now';
    const { reconnecting, probing } = this.nudges.nudge();
    const done = [...(reconnecting ? ['reconnecting now'] : []), ...(probing ? ['checking the live connections'] : [])];
    return done.length ? done.join(', ') : undefined;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([this.approvals?.stop(), this.node?.stop()]);
    await this.tunnel?.stop();
    this.update({
      approvals: { state: 'stopped' },
      runner: this.target.gateway.runner ? { state: 'stopped' } : { state: 'disabled' },
    });
  }
}

export class RemoteGatewayService extends EventEmitter {
  private readonly connections = new Map<string, RemoteGatewayConnection>();
  private unsubscribeNetwork?: () => void;

  constructor(private readonly options: RemoteGatewayServiceOptions) {
    super();
  }

  /**
   * Ends every gateway's pending waits now (the approval client's and the runner's reconnect, a tunnel's restart),
   * with their backoff reset: the machine woke up or the network changed, so the last failure says nothing about
   * the next try. Connected sessions are pinged and replaced at once when they do not answer (a connection can die
   * with the network without either side saying so). `reason` goes into the log line.
   */
  reconnectNow(reason = 'asked to'): void {
    for (const connection of this.connections.values()) {
      const done = connection.reconnectNow();
      if (done) this.options.log?.('info', `${connection.status.name}: ${reason}: ${done}`);
    }
  }

  private watchNetwork(): void {
    if (this.unsubscribeNetwork || this.options.networkChanges === false) return;
    const source = this.options.networkChanges ?? new NetworkChangeWatcher();
    this.unsubscribeNetwork = source.subscribe((change: NetworkChange) => {
      this.reconnectNow(describeNetworkChange(change));
    });
  }

  /**
   * Starts a connection per target and returns at once: a gateway can wait for a pairing approval or a tunnel for
   * as long as it takes, and reports each step as a `status` event (and in `statuses()`).
   */
  start(targets: readonly RemoteGatewayTarget[]): void {
    this.watchNetwork();
    for (const target of targets) {
      const key = target.gateway.name.toLowerCase();
      if (this.connections.has(key)) continue;
      const connection = new RemoteGatewayConnection(target, this.options, (status) => this.emit('status', status));
      this.connections.set(key, connection);
      connection.start().catch((error) => {
        this.options.log?.('error', `${target.gateway.name}: ${(error as Error).message}`);
      });
    }
  }

  statuses(): RemoteGatewayStatus[] {
    return [...this.connections.values()].map((c) => c.status);
  }

  status(name: string): RemoteGatewayStatus | undefined {
    return this.connections.get(name.toLowerCase())?.status;
  }

  async stop(): Promise<void> {
    this.unsubscribeNetwork?.();
    this.unsubscribeNetwork = undefined;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.allSettled(all.map((c) => c.stop()));
  }
}
