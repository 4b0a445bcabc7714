import crypto from 'node:crypto';
import { WebSocket } from 'ws';

/**
 * A minimal gateway client for interop tests: connects with (or without) an Ed25519 device identity signed the
 * way the real openclaw CLI signs it (v3 payload, docs/protocol.md § Handshake), and can issue requests on the open
 * connection. Deliberately independent of gateway/ so the tests check our server against the documented protocol,
 * not against itself.
 */

export interface DeviceIdentity {
  deviceId: string;
  publicKeyB64Url: string;
  privateKey: crypto.KeyObject;
}

export function createDeviceIdentity(): DeviceIdentity {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return {
    deviceId: crypto.createHash('sha256').update(raw).digest('hex'),
    publicKeyB64Url: raw.toString('base64url'),
    privateKey,
  };
}

export interface ConnectOptions {
  port: number;
  token?: string;
  /** Sign in with a device token (the device's own credential) instead of the shared token. */
  deviceToken?: string;
  device?: DeviceIdentity;
  clientId?: string;
  clientMode?: string;
  role?: 'operator' | 'node';
  scopes?: string[];
  caps?: string[];
  commands?: string[];
  platform?: string;
  deviceFamily?: string;
  displayName?: string;
  /** Extra upgrade headers, e.g. `x-forwarded-for` to make a loopback connection count as remote. */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface GatewayError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface ConnectResult {
  ok: boolean;
  hello?: Record<string, any>;
  error?: GatewayError;
  closeCode?: number;
  closeReason?: string;
  client?: OpenClient;
}

export interface OpenClient {
  request(
    method: string,
    params?: unknown,
    timeoutMs?: number,
  ): Promise<{ ok: boolean; payload?: any; error?: GatewayError }>;
  events: Array<{ event: string; payload: any }>;
  waitForEvent(event: string, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

function signV3(
  device: DeviceIdentity,
  parts: {
    clientId: string;
    clientMode: string;
    role: string;
    scopes: string[];
    signedAt: number;
    token: string;
    nonce: string;
    platform: string;
    deviceFamily: string;
  },
): string {
  const payload = [
    'v3',
    device.deviceId,
    parts.clientId,
    parts.clientMode,
    parts.role,
    parts.scopes.join(','),
    String(parts.signedAt),
    parts.token,
    parts.nonce,
    parts.platform.replace(/[A-Z]/g, (c) => c.toLowerCase()),
    parts.deviceFamily.replace(/[A-Z]/g, (c) => c.toLowerCase()),
  ].join('|');
  return crypto.sign(null, Buffer.from(payload, 'utf8'), device.privateKey).toString('base64url');
}

/**
 * Runs the handshake. On success the connection stays open (`result.client`); on failure the server's error
 * and close code are returned. A 1013 close ("gateway starting") is reported like any other close.
 */
export function connectGateway(options: ConnectOptions): Promise<ConnectResult> {
  const clientId = options.clientId ?? 'cli';
  const clientMode = options.clientMode ?? 'cli';
  const role = options.role ?? 'operator';
  const scopes = options.scopes ?? [];
  const platform = options.platform ?? 'linux';
  const deviceFamily = options.deviceFamily ?? 'Linux';
  const timeoutMs = options.timeoutMs ?? 10_000;

  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${options.port}/`, { headers: options.headers, perMessageDeflate: false });
    let settled = false;
    let connectResult: ConnectResult | undefined;
    const pending = new Map<string, (frame: any) => void>();
    const events: Array<{ event: string; payload: any }> = [];
    const eventWaiters: Array<{ event: string; resolve: (p: any) => void }> = [];
    let nextId = 0;
    const timer = setTimeout(
      () => finish({ ok: false, error: { code: 'CLIENT_TIMEOUT', message: 'handshake timed out' } }),
      timeoutMs,
    );

    function finish(result: ConnectResult) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!result.ok && ws.readyState === WebSocket.OPEN) ws.close();
      resolve(result);
    }

    const client: OpenClient = {
      events,
      request(method, params, reqTimeoutMs = 10_000) {
        const id = `t${++nextId}:${crypto.randomUUID()}`;
        return new Promise((res, rej) => {
          const t = setTimeout(() => {
            pending.delete(id);
            rej(new Error(`${method}: no response within ${reqTimeoutMs} ms`));
          }, reqTimeoutMs);
          pending.set(id, (frame) => {
            clearTimeout(t);
            res({ ok: frame.ok, payload: frame.payload, error: frame.error });
          });
          ws.send(JSON.stringify({ type: 'req', id, method, params }));
        });
      },
      waitForEvent(event, waitMs = 10_000) {
        const seen = events.find((e) => e.event === event);
        if (seen) return Promise.resolve(seen.payload);
        return new Promise((res, rej) => {
          const t = setTimeout(() => rej(new Error(`event ${event} not received within ${waitMs} ms`)), waitMs);
          eventWaiters.push({
            event,
            resolve: (p) => {
              clearTimeout(t);
              res(p);
            },
          });
        });
      },
      close() {
        return new Promise((res) => {
          if (ws.readyState === WebSocket.CLOSED) return res();
          ws.once('close', () => res());
          ws.close();
        });
      },
    };

    ws.on('message', (data) => {
      let frame: any;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (frame.type === 'event' && frame.event === 'connect.challenge' && !connectResult && nextId === 0) {
        const { nonce, ts } = frame.payload;
        const params: Record<string, unknown> = {
          minProtocol: 4,
          maxProtocol: 4,
          client: {
            id: clientId,
            version: '0.0.0-interop',
            platform,
            deviceFamily,
            mode: clientMode,
            instanceId: crypto.randomUUID(),
            ...(options.displayName ? { displayName: options.displayName } : {}),
          },
          caps: options.caps ?? [],
          role,
          scopes,
        };
        if (options.commands) params.commands = options.commands;
        if (options.token !== undefined) params.auth = { token: options.token };
        if (options.deviceToken !== undefined) params.auth = { deviceToken: options.deviceToken };
        if (options.device) {
          params.device = {
            id: options.device.deviceId,
            publicKey: options.device.publicKeyB64Url,
            signature: signV3(options.device, {
              clientId,
              clientMode,
              role,
              scopes,
              signedAt: ts,
              token: options.token ?? options.deviceToken ?? '',
              nonce,
              platform,
              deviceFamily,
            }),
            signedAt: ts,
            nonce,
          };
        }
        const id = `t${++nextId}:connect`;
        pending.set(id, (res) => {
          if (res.ok) {
            connectResult = { ok: true, hello: res.payload, client };
            finish(connectResult);
          } else {
            connectResult = { ok: false, error: res.error };
          }
        });
        ws.send(JSON.stringify({ type: 'req', id, method: 'connect', params }));
        return;
      }
      if (frame.type === 'res' && pending.has(frame.id)) {
        // Interim two-phase answers (`status: accepted`) are not final; keep waiting for the final one.
        if (frame.ok && frame.payload?.status === 'accepted' && !String(frame.id).endsWith(':connect')) {
          events.push({ event: '__interim', payload: { id: frame.id, ...frame.payload } });
          return;
        }
        const handler = pending.get(frame.id)!;
        pending.delete(frame.id);
        handler(frame);
        return;
      }
      if (frame.type === 'event') {
        events.push({ event: frame.event, payload: frame.payload });
        for (let i = eventWaiters.length - 1; i >= 0; i--) {
          if (eventWaiters[i].event === frame.event) {
            eventWaiters[i].resolve(frame.payload);
            eventWaiters.splice(i, 1);
          }
        }
      }
    });
    ws.on('close', (code, reason) => {
      if (!settled) {
        finish({ ...(connectResult ?? { ok: false }), ok: false, closeCode: code, closeReason: reason.toString() });
      }
    });
    ws.on('error', (error) => {
      if (!settled) finish({ ok: false, error: { code: 'SOCKET_ERROR', message: error.message } });
    });
  });
}

/** Connects, retrying while the gateway is still starting (close 1013 / connection refused). */
export async function connectWithRetry(options: ConnectOptions, deadlineMs = 60_000): Promise<ConnectResult> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const result = await connectGateway(options);
    const starting =
      result.closeCode === 1013 || result.error?.code === 'SOCKET_ERROR' || result.error?.code === 'UNAVAILABLE';
    if (result.ok || !starting || Date.now() > deadline) return result;
    await new Promise((r) => setTimeout(r, 250));
  }
}
