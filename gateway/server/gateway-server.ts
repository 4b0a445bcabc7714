import { CLAWDESK_VERSION } from '../version';
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { DevicePairingStore, type PendingPairingRequest } from '../pairing/device-pairing-store';
import { canSeePairingConn as canSeePairing, createDevicePairingModule } from '../pairing/device-pairing-module';
import {
  DEFAULT_GATEWAY_PORT,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  describeZodError,
  errorResponse,
  MAX_BUFFERED_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_PREAUTH_PAYLOAD_BYTES,
  okResponse,
  PROTOCOL_VERSION,
  isRequestFrame,
  requestFrameSchema,
  TICK_INTERVAL_MS,
  type ErrorShape,
  type ResponseFrame,
} from '../protocol/frames';
import { scopeSatisfied } from '../protocol/scopes';
import { createCoreModule, type CoreModule } from './core-module';
import {
  GatewayMethodError,
  type ClientInfo,
  type ConnectionRole,
  type GatewayConnection,
  type GatewayHost,
  type GatewayModule,
  type Locality,
  type MethodDefinition,
} from './gateway-module';
import { evaluateConnect, type AcceptedConnection } from './handshake';
import { GATEWAY_TLS_MIN_VERSION, type GatewayTlsMaterial } from './gateway-tls';
import { isLoopbackAddress, normalizeOrigin } from './locality';
import {
  addressPeerKey,
  createPeerIdentifier,
  createSameUserCheck,
  PeerUidResolver,
  type PeerIdentity,
  type PeerSocket,
} from './peer-user';
import {
  AuthRateLimiter,
  checkSharedSecret,
  DEFAULT_RATE_LIMIT,
  validateAuthConfig,
  type GatewayAuthConfig,
  type RateLimitOptions,
} from './shared-auth';

export const GATEWAY_VERSION = CLAWDESK_VERSION;

export type LogFn = (
  level: 'debug' | 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface GatewayServerOptions {
  stateDir: string;
  auth: GatewayAuthConfig;
  /** Defaults to 127.0.0.1. Anything beyond loopback needs token or password auth, and TLS. */
  host?: string;
  /**
   * Serve wss:// (and the health endpoints over https) with this certificate (gateway-tls.ts loads it), TLS 1.3 at
   * least. Every connection on the port is TLS, loopback ones too.
   */
  tls?: Pick<GatewayTlsMaterial, 'cert' | 'key' | 'ca' | 'fingerprint'>;
  /** 0 picks a free port. */
  port?: number;
  configPath?: string;
  modules?: GatewayModule[];
  /** Browser origins allowed to connect (e.g. the dashboard's); every other Origin is refused. */
  allowedOrigins?: string[];
  handshakeTimeoutMs?: number;
  tickIntervalMs?: number;
  maxBufferedBytes?: number;
  /** Delay before answering a wrong secret, to slow guessing (the reference waits ~250 ms). */
  authFailureDelayMs?: number;
  rateLimit?: RateLimitOptions;
  /**
   * Per-peer limits. A peer is the OS user owning the client's socket where the OS tells (Linux), else its address
   * (every loopback address counting as one); see peer-user.ts. `maxConnectionsPerAddress`: open WebSocket
   * connections per peer (default 4096). `maxPendingHandshakesPerAddress`: sockets not yet authenticated per peer,
   * from TCP accept until hello-ok (default 512); one more gets HTTP 503 on its upgrade.
   */
  maxConnectionsPerAddress?: number;
  maxPendingHandshakesPerAddress?: number;
  /**
   * Sockets not yet authenticated from all peers together except the gateway's own OS user (default 2048), so
   * many addresses or users cannot exhaust the process either. The owner has its own per-peer budget on top, which
   * nobody else can use up.
   */
  maxPendingHandshakesFromOthers?: number;
  /** Consecutive unauthorized calls tolerated before the socket is closed (spec: more than 10). */
  maxUnauthorizedStreak?: number;
  /**
   * Check every answer of a contract method against its result schema before sending it, and answer
   * `UNAVAILABLE` naming the breach instead of a result that breaks the contract. For tests (on when
   * `CLAWDESK_CHECK_RESULTS=1`, which the test configs set): a handler drifting from the contract fails the suite.
   */
  checkResults?: boolean;
  /**
   * Veto on silent local pairing and on the device-less owner session under auth "none" (`deviceId` absent).
   * Default: the peer socket must belong to the gateway's own OS user (peer-user.ts).
   */
  allowSilentLocalPairing?: (input: {
    remoteAddress: string;
    remotePort: number;
    localPort: number;
    deviceId?: string;
  }) => boolean | Promise<boolean>;
  /** Every local pairing prompts (shared machines); overrides `allowSilentLocalPairing`. */
  alwaysPromptPairing?: boolean;
  log?: LogFn;
}

export interface RunningGateway {
  readonly port: number;
  readonly host: string;
  /** `wss://…` when serving TLS. */
  readonly url: string;
  /** The served certificate's SHA-256 (lowercase hex), when serving TLS. */
  readonly tlsFingerprint?: string;
  readonly stateDir: string;
  readonly gatewayHost: GatewayHost;
  readonly pairing: DevicePairingStore;
  /** Sends `shutdown`, closes every client with 1012 "service restart", stops modules. */
  close(reason?: string): Promise<void>;
}

interface QueuedFrame {
  data: RawData;
  isBinary: boolean;
}

const MAX_FRAMES_BEFORE_HELLO = 32;
export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 4096;
export const DEFAULT_MAX_PENDING_HANDSHAKES_PER_PEER = 512;
export const DEFAULT_MAX_PENDING_HANDSHAKES_FROM_OTHERS = 2048;
/** A socket accepted over a pre-auth cap has this long to send its request and read its 503; then it is cut. */
const REFUSED_SOCKET_GRACE_MS = 1_000;
/** The limiter key of a connect that cannot touch the limiter (see rateLimitKeyFor). */
const UNRESOLVED_PEER_KEY = 'unresolved';

/**
 * One accepted TCP socket's peer. Who it is (OS user or address, peer-user.ts) is looked up only when a decision
 * needs it: a per-peer cap that could be exceeded, a failed-auth record, the same-user pairing check. Reading
 * `/proc/net/tcp*` costs milliseconds on a busy machine, so an ordinary connect with the right secret does none.
 */
class SocketPeer {
  identity?: PeerIdentity;
  private lookup?: Promise<PeerIdentity>;
  /** Over a pre-auth cap: its upgrade (or HTTP request) is answered 503, and it is cut soon. */
  refused = false;
  /** Settles once the pre-auth caps have been checked for this socket (at once when no cap can be exceeded). */
  admission: Promise<void> = Promise.resolve();

  constructor(
    readonly socket: Socket,
    private readonly identifyPeer: (peer: PeerSocket) => Promise<PeerIdentity>,
  ) {}

  identify(): Promise<PeerIdentity> {
    const socket = this.socket;
    const remoteAddress = socket.remoteAddress ?? 'unknown';
    this.lookup ??= this.identifyPeer({
      remoteAddress,
      remotePort: socket.remotePort ?? 0,
      localPort: socket.localPort ?? 0,
    })
      .catch((): PeerIdentity => ({ key: addressPeerKey(remoteAddress), owner: false }))
      .then((identity) => (this.identity = identity));
    return this.lookup;
  }
}

/** Bytes a not-yet-authenticated client may pile up while its connect is decided (count alone allowed 2 MiB each). */
const MAX_BYTES_BEFORE_HELLO = MAX_PREAUTH_PAYLOAD_BYTES;

class Connection implements GatewayConnection {
  readonly connId = randomUUID();
  readonly nonce = randomUUID();
  state: 'handshake' | 'connecting' | 'open' | 'closed' = 'handshake';
  private seq = 0;
  unauthorizedStreak = 0;
  queued: QueuedFrame[] = [];
  queuedBytes = 0;
  handshakeTimer?: NodeJS.Timeout;
  accepted?: AcceptedConnection;
  connectedAtMs = 0;

  constructor(
    readonly ws: WebSocket,
    readonly request: IncomingMessage,
    readonly remoteAddress: string,
    /** The peer (OS user or address, looked up on demand): whose limits this connection counts against. */
    readonly peer: SocketPeer,
    private readonly server: GatewayServer,
  ) {}

  get role(): ConnectionRole {
    return this.accepted?.role ?? 'operator';
  }
  get scopes(): readonly string[] {
    return this.accepted?.scopes ?? [];
  }
  get deviceId(): string | undefined {
    return this.accepted?.deviceId;
  }
  get client(): ClientInfo {
    return this.accepted?.client ?? { id: 'unknown', mode: 'unknown', version: '', platform: '' };
  }
  get caps(): readonly string[] {
    return this.accepted?.caps ?? [];
  }
  get commands(): readonly string[] {
    return this.accepted?.commands ?? [];
  }
  get permissions(): Readonly<Record<string, boolean>> {
    return this.accepted?.permissions ?? {};
  }
  get pathEnv(): string | undefined {
    return this.accepted?.pathEnv;
  }
  get locality(): Locality {
    return this.accepted?.locality ?? 'remote';
  }

  /** Sends a serialized frame, closing the socket if the peer stopped reading. */
  sendRaw(text: string): boolean {
    if (this.state === 'closed' || this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount + text.length > this.server.maxBufferedBytes) {
      this.close(1008, 'slow consumer');
      // A peer that stopped reading will not read the close frame either: cut it (and its buffers) soon.
      setTimeout(() => this.ws.terminate(), 1000).unref();
      return false;
    }
    this.ws.send(text);
    return true;
  }

  send(frame: object): boolean {
    return this.sendRaw(JSON.stringify(frame));
  }

  sendEvent(event: string, payload: unknown): boolean {
    return this.send({ type: 'event', event, payload });
  }

  /** Broadcast frames carry this connection's own sequence number. */
  sendSequencedEvent(event: string, payloadJson: string): boolean {
    this.seq += 1;
    return this.sendRaw(`{"type":"event","event":${JSON.stringify(event)},"payload":${payloadJson},"seq":${this.seq}}`);
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.ws.close(code, fitCloseReason(reason));
  }
}

function socketTuple(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}|${socket.localAddress}|${socket.localPort}`;
}

/**
 * A close reason may hold at most 123 UTF-8 bytes (RFC 6455) and ws throws beyond that; reasons can carry
 * client input (an Origin, an unknown key), so cut by bytes, never mid-character.
 */
function fitCloseReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let out = [...reason].slice(0, 123).join('');
  while (Buffer.byteLength(out) > 123) out = [...out].slice(0, -1).join('');
  return out;
}

class GatewayServer {
  readonly httpServer: http.Server | https.Server;
  readonly wss: WebSocketServer;
  readonly connections = new Set<Connection>();
  /** Accepted sockets not yet authenticated (TCP accept → hello-ok or close), and open WebSocket connections. */
  private readonly preAuth = new Set<SocketPeer>();
  private readonly openPeers = new Set<SocketPeer>();
  private readonly socketPeers = new WeakMap<Socket, SocketPeer>();
  /**
   * TLS only: the admitted TCP sockets by their address pair, so the TLS socket the HTTP layer sees once the
   * handshake is done is found to be the same peer (a live TCP connection's four-tuple is unique).
   */
  private readonly tcpPeersByTuple = new Map<string, SocketPeer>();
  private readonly peerUids = new PeerUidResolver();
  private readonly identifyPeer = createPeerIdentifier({ resolver: this.peerUids });
  private readonly maxConnectionsPerPeer: number;
  private readonly maxPreAuthPerPeer: number;
  private readonly maxPreAuthFromOthers: number;
  /** No hook given: silent local pairing is the same-user check, answered from the socket's (cached) identity. */
  private readonly defaultSilentPairing: boolean;
  readonly methods = new Map<string, MethodDefinition>();
  readonly events = new Set<string>(['connect.challenge', 'tick', 'shutdown']);
  readonly rateLimiter: AuthRateLimiter;
  readonly allowedOrigins: ReadonlySet<string>;
  readonly maxBufferedBytes: number;
  private readonly handshakeTimeoutMs: number;
  /** hello-ok's fixed parts (features, policy), serialized once. */
  private helloFixedJson?: string;
  readonly allowSilentLocalPairing: NonNullable<GatewayServerOptions['allowSilentLocalPairing']>;
  private tickTimer?: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  readonly log: LogFn;
  readonly host: GatewayHost;
  private closing = false;
  private readonly checkResults: boolean;

  constructor(
    readonly options: GatewayServerOptions,
    readonly pairing: DevicePairingStore,
    /** Presence, health and state versions for hello-ok's snapshot. */
    private readonly core: CoreModule,
    readonly modules: GatewayModule[],
  ) {
    this.log = options.log ?? (() => undefined);
    this.checkResults = options.checkResults ?? process.env.CLAWDESK_CHECK_RESULTS === '1';
    this.rateLimiter = new AuthRateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
    this.allowedOrigins = new Set((options.allowedOrigins ?? []).map(normalizeOrigin));
    this.maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? handshakeTimeoutFromEnv();
    this.allowSilentLocalPairing = options.alwaysPromptPairing
      ? () => false
      : (options.allowSilentLocalPairing ?? createSameUserCheck({ resolver: this.peerUids }));
    this.defaultSilentPairing = !options.alwaysPromptPairing && !options.allowSilentLocalPairing;
    this.maxConnectionsPerPeer = options.maxConnectionsPerAddress ?? DEFAULT_MAX_CONNECTIONS_PER_PEER;
    this.maxPreAuthPerPeer = options.maxPendingHandshakesPerAddress ?? DEFAULT_MAX_PENDING_HANDSHAKES_PER_PEER;
    this.maxPreAuthFromOthers = options.maxPendingHandshakesFromOthers ?? DEFAULT_MAX_PENDING_HANDSHAKES_FROM_OTHERS;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => this.handleHttp(req, res);
    if (options.tls) {
      this.httpServer = https.createServer(
        {
          cert: options.tls.cert,
          key: options.tls.key,
          ...(options.tls.ca ? { ca: options.tls.ca } : {}),
          minVersion: GATEWAY_TLS_MIN_VERSION,
          // A socket still in its TLS handshake holds a pre-auth slot: it gets no longer than a connect would.
          handshakeTimeout: this.handshakeTimeoutMs,
        },
        onRequest,
      );
      this.httpServer.on('secureConnection', (socket: TLSSocket) => {
        const peer = this.tcpPeersByTuple.get(socketTuple(socket));
        if (peer) this.socketPeers.set(socket, peer);
      });
      this.httpServer.on('tlsClientError', (error: Error, socket: TLSSocket) =>
        this.log('debug', 'TLS handshake failed', { remoteAddress: socket.remoteAddress, error: error.message }),
      );
    } else {
      this.httpServer = http.createServer(onRequest);
    }
    // For https too this is the raw TCP socket, admitted before its handshake.
    this.httpServer.on('connection', (socket: Socket) => this.admitSocket(socket));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PREAUTH_PAYLOAD_BYTES, perMessageDeflate: false });
    this.httpServer.on(
      'upgrade',
      (req: IncomingMessage, socket: Socket, head: Buffer) => void this.onUpgrade(req, socket, head),
    );
    this.host = {
      stateDir: options.stateDir,
      connections: () => [...this.connections].filter((c) => c.state === 'open'),
      broadcast: (event, payload, filter) => this.broadcast(event, payload, filter),
      log: this.log,
    };
    for (const module of modules) {
      for (const method of module.methods()) {
        if (this.methods.has(method.name))
          throw new Error(`gateway method ${method.name} registered twice (module ${module.name})`);
        this.methods.set(method.name, method);
      }
      for (const event of module.events()) this.events.add(event);
    }
  }

  uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  private handleHttp(req: IncomingMessage, res: ServerResponse): void {
    if (this.socketPeers.get(req.socket)?.refused) {
      res.writeHead(503, { connection: 'close', 'content-length': 0 });
      res.end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json',
        'cache-control': 'no-store',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (req.method === 'GET' && path === '/healthz') return json(200, { ok: true, status: 'live' });
    if (req.method === 'GET' && path === '/startupz')
      return json(200, { ok: true, status: 'started', version: GATEWAY_VERSION, uptimeMs: this.uptimeMs() });
    if (req.method === 'GET' && path === '/readyz') {
      return this.closing
        ? json(503, { ready: false, failing: ['shutting-down'], uptimeMs: this.uptimeMs() })
        : json(200, { ready: true, failing: [], uptimeMs: this.uptimeMs() });
    }
    json(404, { ok: false, error: 'not found' });
  }

  /**
   * Every accepted TCP socket is a pre-auth socket of its peer (OS user where the OS tells, else address) until it
   * authenticates or closes. Over its peer's cap, or over the cap for everyone but the owner together, it is
   * refused: its upgrade gets 503, and it is cut soon whatever it does. The owner's own budget is never counted
   * against others, so no other user can lock the owner out by holding sockets. While the gateway holds no more
   * pre-auth sockets than the smallest cap, no cap can be exceeded and nobody is looked up.
   */
  private admitSocket(socket: Socket): void {
    const peer = new SocketPeer(socket, this.identifyPeer);
    this.socketPeers.set(socket, peer);
    this.preAuth.add(peer);
    socket.once('close', () => this.preAuth.delete(peer));
    if (this.options.tls) {
      const tuple = socketTuple(socket);
      this.tcpPeersByTuple.set(tuple, peer);
      socket.once('close', () => {
        if (this.tcpPeersByTuple.get(tuple) === peer) this.tcpPeersByTuple.delete(tuple);
      });
    }
    if (this.preAuth.size > Math.min(this.maxPreAuthPerPeer, this.maxPreAuthFromOthers))
      peer.admission = this.checkPreAuthCaps(peer);
  }

  private async checkPreAuthCaps(peer: SocketPeer): Promise<void> {
    // Counting per peer needs every pre-auth socket identified: one batched read of the tables covers a burst.
    const everyone = [...this.preAuth];
    await Promise.all(everyone.map((p) => p.identify()));
    if (!this.preAuth.has(peer) || peer.socket.destroyed) return;
    const me = peer.identity!;
    let mine = 0;
    let others = 0;
    for (const p of this.preAuth) {
      if (!p.identity) continue;
      if (p.identity.key === me.key) mine += 1;
      if (!p.identity.owner) others += 1;
    }
    if (mine <= this.maxPreAuthPerPeer && (me.owner || others <= this.maxPreAuthFromOthers)) return;
    peer.refused = true;
    // A peer far beyond its cap is not even given the grace: it would only hold file descriptors.
    if (mine > 2 * this.maxPreAuthPerPeer) peer.socket.destroy();
    else setTimeout(() => peer.socket.destroy(), REFUSED_SOCKET_GRACE_MS).unref();
  }

  /** Open WebSocket connections of this socket's peer; identities are looked up only near the cap. */
  private async openConnectionsOf(peer: SocketPeer): Promise<number> {
    if (this.openPeers.size < this.maxConnectionsPerPeer) return 0;
    const [me] = await Promise.all([peer.identify(), ...[...this.openPeers].map((p) => p.identify())]);
    let mine = 0;
    for (const p of this.openPeers) if (p.identity?.key === me.key) mine += 1;
    return mine;
  }

  private async onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    this.log('debug', 'websocket upgrade request', { remoteAddress: socket.remoteAddress });
    const peer = this.socketPeers.get(socket);
    if (peer) await peer.admission;
    const open = peer && !peer.refused ? await this.openConnectionsOf(peer) : 0;
    if (socket.destroyed) return;
    // Fails closed: a socket the gateway never admitted is refused too.
    if (this.closing || !peer || peer.refused || open >= this.maxConnectionsPerPeer) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, socket.remoteAddress ?? 'unknown', peer));
  }

  private accept(ws: WebSocket, req: IncomingMessage, address: string, peer: SocketPeer): void {
    const conn = new Connection(ws, req, address, peer, this);
    this.connections.add(conn);
    this.openPeers.add(peer);
    const leaveHandshake = () => this.preAuth.delete(peer);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary, leaveHandshake));
    ws.on('error', (error) => this.log('debug', 'websocket error', { connId: conn.connId, error: error.message }));
    ws.on('close', (code, reasonBuffer) => {
      const wasOpen = conn.state === 'open';
      conn.state = 'closed';
      clearTimeout(conn.handshakeTimer);
      leaveHandshake();
      this.openPeers.delete(peer);
      this.connections.delete(conn);
      if (wasOpen) {
        for (const module of this.modules) {
          try {
            module.onDisconnected?.(conn, code, reasonBuffer.toString());
          } catch (error) {
            this.log('error', `module ${module.name} failed in onDisconnected`, { error: String(error) });
          }
        }
      }
    });
    conn.handshakeTimer = setTimeout(() => conn.close(1000, 'handshake timeout'), this.handshakeTimeoutMs);
    conn.send({ type: 'event', event: 'connect.challenge', payload: { nonce: conn.nonce, ts: Date.now() } });
  }

  /**
   * The per-peer key for this connect (failed-auth limiter; also the source of a pairing request). Looking the peer
   * up costs a read of the kernel's tables, so it is skipped only when it cannot matter: no device (so no pairing
   * request), nothing locked out or counting, and the right shared secret (nothing will be recorded). Otherwise the
   * lookup happens before the connect is decided, so parallel guesses are counted in order.
   */
  private async rateLimitKeyFor(conn: Connection, params: unknown): Promise<string> {
    if (conn.peer.identity) return conn.peer.identity.key;
    if ((params as { device?: unknown } | null)?.device !== undefined) return (await conn.peer.identify()).key;
    const auth = (params as { auth?: unknown } | null)?.auth;
    const secret = auth && typeof auth === 'object' ? (auth as { token?: unknown; password?: unknown }) : {};
    const provided = {
      token: typeof secret.token === 'string' ? secret.token : undefined,
      password: typeof secret.password === 'string' ? secret.password : undefined,
    };
    if (this.rateLimiter.isIdle() && checkSharedSecret(this.options.auth, provided).kind === 'ok')
      return UNRESOLVED_PEER_KEY;
    return (await conn.peer.identify()).key;
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean, leaveHandshake: () => void): void {
    if (conn.state === 'closed') return;
    if (conn.state === 'connecting') {
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
      conn.queuedBytes += size;
      if (conn.queued.length >= MAX_FRAMES_BEFORE_HELLO || conn.queuedBytes > MAX_BYTES_BEFORE_HELLO) {
        conn.queued = [];
        conn.close(1008, 'too many frames before hello-ok');
        return;
      }
      conn.queued.push({ data, isBinary });
      return;
    }
    if (conn.state === 'handshake') {
      void this.handleFirstFrame(conn, data, isBinary, leaveHandshake);
      return;
    }
    void this.handleRequestFrame(conn, data, isBinary);
  }

  private async handleFirstFrame(
    conn: Connection,
    data: RawData,
    isBinary: boolean,
    leaveHandshake: () => void,
  ): Promise<void> {
    conn.state = 'connecting';
    let frame: unknown;
    try {
      if (isBinary) throw new Error('binary frame');
      frame = JSON.parse(data.toString());
    } catch {
      // The reference closes silently here; the close reason still says why.
      conn.close(1000, 'invalid handshake: expected a JSON text frame');
      return;
    }
    const parsed = requestFrameSchema.safeParse(frame);
    const id =
      typeof (frame as { id?: unknown })?.id === 'string' && (frame as { id: string }).id
        ? (frame as { id: string }).id
        : 'invalid';
    if (!parsed.success || parsed.data.method !== 'connect') {
      conn.send(
        errorResponse(id, { code: 'INVALID_REQUEST', message: 'invalid handshake: first request must be connect' }),
      );
      conn.close(1008, 'invalid handshake: first request must be connect');
      return;
    }
    let result;
    try {
      const rateLimitKey = await this.rateLimitKeyFor(conn, parsed.data.params);
      if ((conn.state as Connection['state']) === 'closed') return;
      result = await evaluateConnect({
        params: parsed.data.params,
        challengeNonce: conn.nonce,
        remoteAddress: conn.remoteAddress,
        headers: conn.request.headers,
        auth: this.options.auth,
        allowedOrigins: this.allowedOrigins,
        pairing: this.pairing,
        rateLimiter: this.rateLimiter,
        rateLimitKey,
        nowMs: Date.now(),
        allowSilentLocalPairing: async ({ deviceId }) =>
          this.defaultSilentPairing
            ? this.isSameUser(conn)
            : this.allowSilentLocalPairing({
                remoteAddress: conn.remoteAddress,
                remotePort: conn.request.socket.remotePort ?? 0,
                localPort: conn.request.socket.localPort ?? 0,
                deviceId,
              }),
        onPairingRequested: (request) => this.broadcastPairingRequested(request),
        onPairingResolved: (event) => this.broadcast('device.pair.resolved', event, canSeePairing),
      });
    } catch (error) {
      this.log('error', 'connect failed unexpectedly', { error: String(error) });
      conn.send(
        errorResponse(parsed.data.id, {
          code: 'UNAVAILABLE',
          message: 'gateway error while connecting; retry shortly',
          retryable: true,
          retryAfterMs: 1000,
        }),
      );
      conn.close(1011, 'internal error');
      return;
    }
    if ((conn.state as Connection['state']) === 'closed') return;
    if (!result.ok) {
      const failure = result;
      const finish = () => {
        conn.send(errorResponse(parsed.data.id, failure.error));
        conn.close(failure.closeCode, failure.closeReason);
      };
      if (failure.slow) setTimeout(finish, this.options.authFailureDelayMs ?? 250).unref();
      else finish();
      return;
    }
    clearTimeout(conn.handshakeTimer);
    leaveHandshake();
    conn.accepted = result.connection;
    conn.connectedAtMs = Date.now();
    raisePayloadLimit(conn.ws, MAX_PAYLOAD_BYTES);
    conn.sendRaw(this.helloFrame(conn, parsed.data.id));
    conn.state = 'open';
    for (const module of this.modules) {
      try {
        module.onConnected?.(conn);
      } catch (error) {
        this.log('error', `module ${module.name} failed in onConnected`, { error: String(error) });
      }
    }
    const queued = conn.queued;
    conn.queued = [];
    for (const frame of queued) await this.handleRequestFrame(conn, frame.data, frame.isBinary);
  }

  /** The default silent-pairing check (peer-user.ts `createSameUserCheck`), from the socket's cached identity. */
  private async isSameUser(conn: Connection): Promise<boolean> {
    if (process.platform !== 'linux') return true;
    return (await conn.peer.identify()).owner;
  }

  private helloPayload(conn: Connection): Record<string, unknown> {
    const accepted = conn.accepted!;
    const isAdmin = accepted.scopes.includes('operator.admin');
    const core = this.core;
    const auth: Record<string, unknown> = { method: accepted.authMethod, role: accepted.role, scopes: accepted.scopes };
    if (accepted.deviceToken) {
      auth.deviceToken = accepted.deviceToken.token;
      auth.issuedAtMs = accepted.deviceToken.issuedAtMs;
    }
    return {
      type: 'hello-ok',
      protocol: PROTOCOL_VERSION,
      server: { version: GATEWAY_VERSION, connId: conn.connId },
      snapshot: {
        presence: core.presence(),
        health: core.healthSummary(),
        stateVersion: core.stateVersion(),
        uptimeMs: this.uptimeMs(),
        authMode: this.options.auth.mode,
        ...(isAdmin ? { stateDir: this.options.stateDir, configPath: this.options.configPath } : {}),
      },
      auth,
    };
  }

  /** The hello-ok frame: the per-connection part, with the fixed features/policy JSON spliced in. */
  private helloFrame(conn: Connection, requestId: string): string {
    this.helloFixedJson ??= JSON.stringify({
      features: { methods: [...this.methods.keys()], events: [...this.events] },
      policy: {
        maxPayload: MAX_PAYLOAD_BYTES,
        maxBufferedBytes: this.maxBufferedBytes,
        tickIntervalMs: this.options.tickIntervalMs ?? TICK_INTERVAL_MS,
      },
    }).slice(1, -1);
    const variable = JSON.stringify(this.helloPayload(conn));
    return `{"type":"res","id":${JSON.stringify(requestId)},"ok":true,"payload":${variable.slice(0, -1)},${this.helloFixedJson}}}`;
  }

  private async handleRequestFrame(conn: Connection, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) {
      conn.send(
        errorResponse('invalid', {
          code: 'INVALID_REQUEST',
          message: 'invalid frame: binary frames are not supported; send JSON text frames',
        }),
      );
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      conn.send(errorResponse('invalid', { code: 'INVALID_REQUEST', message: 'invalid frame: not valid JSON' }));
      return;
    }
    const parsed = isRequestFrame(frame)
      ? { success: true as const, data: frame }
      : requestFrameSchema.safeParse(frame);
    if (!parsed.success) {
      const rawId = (frame as { id?: unknown } | null)?.id;
      const id = typeof rawId === 'string' && rawId ? rawId : 'invalid';
      conn.send(
        errorResponse(id, {
          code: 'INVALID_REQUEST',
          message: `invalid frame: ${describeZodError(parsed.error)}; only {type:"req", id, method, params?} frames are accepted after connect`,
        }),
      );
      return;
    }
    const { id, method: name, params } = parsed.data;
    const respond = (frame: ResponseFrame) => conn.send(frame);
    if (name === 'connect') {
      respond(errorResponse(id, { code: 'INVALID_REQUEST', message: 'connect is only valid as the first request' }));
      return;
    }
    const method = this.methods.get(name);
    if (!method) {
      respond(
        errorResponse(id, {
          code: 'INVALID_REQUEST',
          message: `unknown method: ${name}`,
          details: { code: 'UNKNOWN_METHOD', method: name },
        }),
      );
      return;
    }
    const denial = this.accessDenial(conn, method);
    if (denial) {
      respond(errorResponse(id, denial));
      conn.unauthorizedStreak += 1;
      if (conn.unauthorizedStreak > (this.options.maxUnauthorizedStreak ?? 10))
        conn.close(1008, 'repeated unauthorized calls');
      return;
    }
    conn.unauthorizedStreak = 0;
    const checked = method.params.safeParse(params ?? {});
    if (!checked.success) {
      respond(
        errorResponse(id, {
          code: 'INVALID_REQUEST',
          message: `invalid ${name} params: ${describeZodError(checked.error)}`,
        }),
      );
      return;
    }
    try {
      const result = await method.handler({
        params: checked.data,
        conn,
        requestId: id,
        sendInterim: (payload) => respond(okResponse(id, payload)),
      });
      const breach = this.checkResults ? contractBreach(method, result ?? {}) : null;
      if (breach) {
        this.log('error', `${name} answered outside its contract: ${breach}`);
        respond(
          errorResponse(id, { code: 'UNAVAILABLE', message: `${name} answered outside its contract: ${breach}` }),
        );
        return;
      }
      respond(okResponse(id, result ?? {}));
    } catch (error) {
      respond(errorResponse(id, toErrorShape(error, name, this.log)));
    }
  }

  private accessDenial(conn: Connection, method: MethodDefinition): ErrorShape | null {
    const access = method.access;
    if (access.kind === 'any') return null;
    if (access.kind === 'node') {
      return conn.role === 'node'
        ? null
        : {
            code: 'INVALID_REQUEST',
            message: `unauthorized role: ${conn.role}`,
            details: { code: 'UNAUTHORIZED_ROLE' },
          };
    }
    if (conn.role !== 'operator') {
      return {
        code: 'INVALID_REQUEST',
        message: `unauthorized role: ${conn.role}`,
        details: { code: 'UNAUTHORIZED_ROLE' },
      };
    }
    if (!scopeSatisfied(conn.scopes, access.scope)) {
      return {
        code: 'INVALID_REQUEST',
        message: `missing scope: ${access.scope}`,
        details: { code: 'MISSING_SCOPE', missingScope: access.scope, requiredScopes: [access.scope] },
      };
    }
    return null;
  }

  broadcast(event: string, payload: unknown, filter?: (conn: GatewayConnection) => boolean): void {
    const payloadJson = JSON.stringify(payload ?? {});
    for (const conn of this.connections) {
      if (conn.state !== 'open') continue;
      if (filter && !filter(conn)) continue;
      conn.sendSequencedEvent(event, payloadJson);
    }
  }

  broadcastPairingRequested(request: PendingPairingRequest): void {
    this.broadcast('device.pair.requested', request, canSeePairing);
  }

  startTicks(): void {
    const interval = this.options.tickIntervalMs ?? TICK_INTERVAL_MS;
    this.tickTimer = setInterval(() => this.broadcast('tick', { ts: Date.now() }), interval);
    this.tickTimer.unref();
  }

  async close(reason: string): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.tickTimer);
    this.broadcast('shutdown', { reason });
    for (const conn of this.connections) conn.close(1012, 'service restart');
    for (const module of [...this.modules].reverse()) {
      try {
        await module.stop?.();
      } catch (error) {
        this.log('error', `module ${module.name} failed to stop`, { error: String(error) });
      }
    }
    await new Promise<void>((resolve) => {
      this.wss.close(() => resolve());
    });
    // Sockets that ignore the close handshake are cut after a grace period.
    const deadline = setTimeout(() => {
      for (const conn of this.connections) conn.ws.terminate();
    }, 1000);
    deadline.unref();
    await new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    clearTimeout(deadline);
  }
}

function handshakeTimeoutFromEnv(): number {
  const fromEnv = Number(process.env.OPENCLAW_HANDSHAKE_TIMEOUT_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_HANDSHAKE_TIMEOUT_MS;
}

/** ws enforces one maxPayload for the server; after the handshake this connection may send larger frames. */
function raisePayloadLimit(ws: WebSocket, limit: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = limit;
}

function toErrorShape(error: unknown, method: string, log: LogFn): ErrorShape {
  if (error instanceof GatewayMethodError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
      ...(error.retryable !== undefined ? { retryable: error.retryable } : {}),
    };
  }
  log('error', `method ${method} failed`, { error: error instanceof Error ? error.stack : String(error) });
  return {
    code: 'UNAVAILABLE',
    message: `${method} failed: ${error instanceof Error ? error.message : String(error)}`,
  };
}

export async function startGatewayServer(options: GatewayServerOptions): Promise<RunningGateway> {
  validateAuthConfig(options.auth);
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackAddress(host) && host !== 'localhost' && options.auth.mode === 'none') {
    throw new Error(
      `refusing to bind ${host} with auth "none": binding beyond loopback requires token or password auth`,
    );
  }
  if (!isLoopbackAddress(host) && host !== 'localhost' && !options.tls) {
    throw new Error(`refusing to bind ${host} without TLS: binding beyond loopback requires a certificate (tls)`);
  }
  const pairing = await DevicePairingStore.open(options.stateDir);
  for (const report of pairing.corruptFiles) {
    options.log?.('warn', `corrupt state file moved aside: ${report.error}`, {
      file: report.file,
      quarantinedTo: report.quarantinedTo,
    });
  }
  const core = createCoreModule({
    stateDir: options.stateDir,
    configPath: options.configPath,
    authMode: options.auth.mode,
  });
  const modules: GatewayModule[] = [core, createDevicePairingModule(pairing), ...(options.modules ?? [])];
  const server = new GatewayServer(options, pairing, core, modules);
  for (const module of modules) await module.start?.(server.host);
  await new Promise<void>((resolve, reject) => {
    server.httpServer.once('error', reject);
    server.httpServer.listen(options.port ?? DEFAULT_GATEWAY_PORT, host, () => {
      server.httpServer.off('error', reject);
      resolve();
    });
  });
  server.startTicks();
  const address = server.httpServer.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    port: address.port,
    host,
    url: `${options.tls ? 'wss' : 'ws'}://${urlHost}:${address.port}`,
    ...(options.tls ? { tlsFingerprint: options.tls.fingerprint } : {}),
    stateDir: options.stateDir,
    gatewayHost: server.host,
    pairing,
    close: (reason = 'gateway stopping') => server.close(reason),
  };
}

/** Why `result` breaks the contract of `method`'s definition, or null when it keeps it (or there is none). */
function contractBreach(method: MethodDefinition, result: unknown): string | null {
  if (!method.result) return null;
  const checked = method.result.safeParse(result);
  return checked.success ? null : describeZodError(checked.error);
}
