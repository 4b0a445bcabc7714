import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ClientRequest } from 'node:http';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import WebSocket from 'ws';
import { buildDeviceAuthPayloadV3, type DeviceSigner } from '../protocol/device-auth';
import type { ErrorShape } from '../protocol/frames';
import type { GatewayMethodName, MethodParams, MethodResult } from '../protocol/gateway-contract';

/** The params `request(method)` takes: the contract's for its methods, anything for the others. */
export type RequestParams<M extends string> = M extends GatewayMethodName ? MethodParams<M> : unknown;
/**
 * What `request(method)` resolves to: the contract's result for its methods; `unknown` for a method only other
 * gateways (OpenClaw's) serve, for the caller to check before use.
 */
export type RequestResult<M extends string> = M extends GatewayMethodName ? MethodResult<M> : unknown;

export interface GatewayClientOptions {
  url: string;
  clientId?: string;
  clientMode?: string;
  clientVersion?: string;
  platform?: string;
  deviceFamily?: string;
  displayName?: string;
  instanceId?: string;
  role?: 'operator' | 'node';
  scopes?: string[];
  caps?: string[];
  commands?: string[];
  permissions?: Record<string, boolean>;
  pathEnv?: string;
  token?: string;
  password?: string;
  deviceToken?: string;
  device?: DeviceSigner;
  minProtocol?: number;
  maxProtocol?: number;
  /** Extra upgrade headers (tests use them for Origin/Host/forwarding cases). */
  headers?: Record<string, string>;
  /** How long to wait for the challenge and for hello-ok. */
  connectTimeoutMs?: number;
  /** Retries while the gateway answers 1013 "starting" or the port is not open yet. */
  startupRetries?: number;
  /** Overrides `signedAt` (tests); defaults to the challenge `ts`, which sidesteps client clock skew. */
  signedAtMs?: (challengeTs: number) => number;
  /**
   * wss:// only: decides whether to trust the server's certificate, after the TLS handshake and before the upgrade
   * request (with its headers) is sent. Set, it replaces the chain check: a pinned self-signed certificate is the
   * usual case (gateway/remote/tls-pin.ts). An Error it returns fails the connect with that error.
   */
  verifyServerCertificate?: (certificate: PeerCertificate) => Error | undefined;
}

/** A failed `connect` or request, with the gateway's error and (for connect) the close code. */
export class GatewayClientError extends Error {
  constructor(
    message: string,
    readonly error?: ErrorShape,
    readonly closeCode?: number,
    readonly closeReason?: string,
  ) {
    super(message);
  }
  get detailCode(): string | undefined {
    return (this.error?.details as { code?: string } | undefined)?.code;
  }
}

interface Pending {
  resolve: (payload: unknown) => void;
  reject: (error: Error) => void;
  expectFinal: boolean;
  timer?: NodeJS.Timeout;
  onInterim?: (payload: unknown) => void;
}

/** One authenticated protocol session: `request()`, and `event` emissions `(name, payload, frame)`. */
export class GatewaySession extends EventEmitter {
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  closed = false;

  constructor(
    readonly ws: WebSocket,
    readonly hello: any,
  ) {
    super();
    ws.on('message', (data) => this.onMessage(data.toString()));
    ws.on('close', (code, reason) => {
      this.closed = true;
      const error = new GatewayClientError(
        `connection closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`,
        undefined,
        code,
        reason.toString(),
      );
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(error);
      }
      this.pending.clear();
      this.emit('close', code, reason.toString());
    });
    ws.on('error', () => undefined);
  }

  get deviceToken(): string | undefined {
    return this.hello?.auth?.deviceToken;
  }

  private onMessage(text: string): void {
    let frame: any;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame?.type === 'event') {
      this.emit('event', frame.event, frame.payload, frame);
      return;
    }
    if (frame?.type !== 'res') return;
    const pending = this.pending.get(frame.id);
    if (!pending) return;
    if (frame.ok && pending.expectFinal && frame.payload?.status === 'accepted') {
      pending.onInterim?.(frame.payload);
      return;
    }
    this.pending.delete(frame.id);
    clearTimeout(pending.timer);
    if (frame.ok) pending.resolve(frame.payload);
    else pending.reject(new GatewayClientError(frame.error?.message ?? 'request failed', frame.error));
  }

  /**
   * Calls a gateway method. For a method of the typed contract (gateway/protocol/gateway-contract.ts) the params
   * and the result are typed from it; any other method answers `unknown`.
   */
  request<M extends string>(
    method: M,
    params?: RequestParams<M>,
    options: { timeoutMs?: number; expectFinal?: boolean; onInterim?: (payload: unknown) => void } = {},
  ): Promise<RequestResult<M>> {
    if (this.closed) return Promise.reject(new GatewayClientError('connection is closed'));
    const id = `${this.nextId++}:${randomUUID()}`;
    return new Promise<RequestResult<M>>((resolve, reject) => {
      const pending: Pending = {
        // The gateway's answer is taken as the contract says; method-contracts.test.ts checks the gateway keeps it.
        resolve: resolve as (payload: unknown) => void,
        reject,
        expectFinal: options.expectFinal ?? false,
        onInterim: options.onInterim,
      };
      if (options.timeoutMs) {
        pending.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new GatewayClientError(`${method} timed out after ${options.timeoutMs} ms`));
        }, options.timeoutMs);
      }
      this.pending.set(id, pending);
      this.ws.send(JSON.stringify({ type: 'req', id, method, ...(params === undefined ? {} : { params }) }));
    });
  }

  /** Resolves once the socket is closed. */
  close(code = 1000, reason = 'client closing'): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.once('close', () => resolve());
      this.ws.close(code, reason);
    });
  }
}

/** The `connect` params a client sends (exported for tests that need to tamper with them). */
export function buildConnectParams(
  options: GatewayClientOptions,
  challenge: { nonce: string; ts: number },
): Record<string, unknown> {
  const role = options.role ?? 'operator';
  const scopes = options.scopes ?? [];
  const clientId = options.clientId ?? 'gateway-client';
  const clientMode = options.clientMode ?? 'backend';
  const platform = options.platform ?? process.platform;
  const auth: Record<string, string> = {};
  if (options.token) auth.token = options.token;
  if (options.password) auth.password = options.password;
  if (options.deviceToken) auth.deviceToken = options.deviceToken;
  const params: Record<string, unknown> = {
    minProtocol: options.minProtocol ?? 3,
    maxProtocol: options.maxProtocol ?? 4,
    client: {
      id: clientId,
      version: options.clientVersion ?? 'clawdesk',
      platform,
      mode: clientMode,
      ...(options.deviceFamily ? { deviceFamily: options.deviceFamily } : {}),
      ...(options.displayName ? { displayName: options.displayName } : {}),
      ...(options.instanceId ? { instanceId: options.instanceId } : {}),
    },
    role,
    scopes,
    caps: options.caps ?? [],
  };
  if (options.commands) params.commands = options.commands;
  if (options.permissions) params.permissions = options.permissions;
  if (options.pathEnv) params.pathEnv = options.pathEnv;
  if (Object.keys(auth).length) params.auth = auth;
  if (options.device) {
    const signedAt = options.signedAtMs ? options.signedAtMs(challenge.ts) : challenge.ts;
    const payload = buildDeviceAuthPayloadV3({
      deviceId: options.device.deviceId,
      clientId,
      clientMode,
      role,
      scopes,
      signedAtMs: signedAt,
      token: options.token ?? options.deviceToken ?? '',
      nonce: challenge.nonce,
      platform,
      deviceFamily: options.deviceFamily,
    });
    params.device = {
      id: options.device.deviceId,
      publicKey: options.device.publicKey,
      signature: options.device.sign(payload),
      signedAt,
      nonce: challenge.nonce,
    };
  }
  return params;
}

/** ws options that hold the upgrade request back until `verify` accepted the server's certificate. */
export function certificateCheckOptions(verify: NonNullable<GatewayClientOptions['verifyServerCertificate']>) {
  return {
    rejectUnauthorized: false,
    finishRequest: (request: ClientRequest) => {
      request.once('socket', (socket) => {
        const check = () => {
          if (request.destroyed) return;
          const refusal =
            socket instanceof TLSSocket
              ? verify(socket.getPeerCertificate())
              : new GatewayClientError('the server did not speak TLS');
          if (refusal) request.destroy(refusal);
          else request.end();
        };
        // `secureConnecting` (set by tls.connect until the handshake ends) is missing from Node's typings.
        const handshaking = socket instanceof TLSSocket && (socket as { secureConnecting?: boolean }).secureConnecting;
        if (handshaking) socket.once('secureConnect', check);
        else check();
      });
    },
  };
}

function connectOnce(options: GatewayClientOptions): Promise<GatewaySession> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(options.url, {
      headers: options.headers,
      perMessageDeflate: false,
      maxPayload: 25 * 1024 * 1024,
      ...(options.verifyServerCertificate ? certificateCheckOptions(options.verifyServerCertificate) : {}),
    });
    let settled = false;
    let failure: ErrorShape | undefined;
    const timeout = setTimeout(() => {
      finish(new GatewayClientError(`connect to ${options.url} timed out`));
      ws.terminate();
    }, options.connectTimeoutMs ?? 15_000);
    const finish = (result: GatewaySession | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      ws.removeListener('message', onMessage);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const connectId = `connect:${randomUUID()}`;
    const onMessage = (data: WebSocket.RawData) => {
      let frame: any;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (frame.type === 'event' && frame.event === 'connect.challenge') {
        const params = buildConnectParams(options, frame.payload);
        ws.send(JSON.stringify({ type: 'req', id: connectId, method: 'connect', params }));
        return;
      }
      if (frame.type === 'res' && frame.id === connectId) {
        if (frame.ok) finish(new GatewaySession(ws, frame.payload));
        else failure = frame.error;
      }
    };
    ws.on('message', onMessage);
    ws.on('error', (error) =>
      // A refusal of the certificate keeps its own type and message (it names both fingerprints).
      finish(
        error instanceof GatewayClientError
          ? error
          : new GatewayClientError(`cannot connect to ${options.url}: ${error.message}`),
      ),
    );
    ws.on('close', (code, reason) => {
      const why = reason.toString();
      finish(
        new GatewayClientError(
          failure ? failure.message : `connection closed during handshake (${code}${why ? ` ${why}` : ''})`,
          failure,
          code,
          why,
        ),
      );
    });
  });
}

/** Connects and completes the handshake; retries while the gateway is starting (close 1013 / connection refused). */
export async function connectGateway(options: GatewayClientOptions): Promise<GatewaySession> {
  let attempts = options.startupRetries ?? 0;
  for (;;) {
    try {
      return await connectOnce(options);
    } catch (error) {
      const starting =
        error instanceof GatewayClientError && (error.closeCode === 1013 || /ECONNREFUSED/.test(error.message));
      if (!starting || attempts-- <= 0) throw error;
      await new Promise((r) => setTimeout(r, error.error?.retryAfterMs ?? 250));
    }
  }
}
