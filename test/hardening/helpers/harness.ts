import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import {
  startGatewayServer,
  type GatewayServerOptions,
  type RunningGateway,
} from '../../../gateway/server/gateway-server';

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');
export const TOKEN = 'hardening-shared-token-0123456789abcdef';

export interface TestGateway extends RunningGateway {
  cleanup(): Promise<void>;
}

/** A real gateway on 127.0.0.1 with a fresh state dir; token auth unless told otherwise. */
export async function startTestGateway(options: Partial<GatewayServerOptions> = {}): Promise<TestGateway> {
  const stateDir = options.stateDir ?? (await mkdtemp(path.join(os.tmpdir(), 'clawdesk-hardening-')));
  const gateway = await startGatewayServer({
    auth: { mode: 'token', token: TOKEN },
    port: 0,
    handshakeTimeoutMs: 3_000,
    authFailureDelayMs: 5,
    ...options,
    stateDir,
  });
  return Object.assign(gateway, {
    cleanup: async () => {
      await gateway.close('test done');
      // Modules may still be finishing a write as the gateway stops (node pairing); retry like rm -rf would.
      if (!options.stateDir) await rm(stateDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    },
  });
}

export interface RawFrame {
  type?: string;
  id?: string;
  ok?: boolean;
  event?: string;
  payload?: any;
  error?: { code: string; message: string; details?: any };
  seq?: number;
}

/** A bare WebSocket that records every frame and the close, for tests that speak the protocol by hand. */
export class RawClient {
  readonly frames: RawFrame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  challenge?: { nonce: string; ts: number };
  closeInfo?: { code: number; reason: string };
  private waiters: Array<{ match: (f: RawFrame) => boolean; resolve: (f: RawFrame) => void }> = [];

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
      });
    });
    ws.on('error', () => undefined);
    ws.on('message', (data) => {
      let frame: RawFrame;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        frame = { type: 'unparseable' };
      }
      if (frame.type === 'event' && frame.event === 'connect.challenge') this.challenge = frame.payload;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
  }

  static async open(url: string, headers?: Record<string, string>): Promise<RawClient> {
    const client = new RawClient(
      new WebSocket(url, { headers, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 }),
    );
    await client.opened;
    await client.frame((f) => f.event === 'connect.challenge');
    return client;
  }

  frame(match: (f: RawFrame) => boolean, timeoutMs = 5_000): Promise<RawFrame> {
    const seen = this.frames.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`),
          ),
        timeoutMs,
      );
      this.waiters.push({ match, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  }

  response(id: string, timeoutMs?: number): Promise<RawFrame> {
    return this.frame((f) => f.type === 'res' && f.id === id, timeoutMs);
  }

  send(data: string | Buffer | object, binary = false): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const payload = typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data);
    this.ws.send(payload, { binary });
  }

  request(id: string, method: string, params?: unknown): Promise<RawFrame> {
    this.send({ type: 'req', id, method, ...(params === undefined ? {} : { params }) });
    return this.response(id);
  }

  closedWithin(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    return Promise.race([
      this.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms`)), timeoutMs),
      ),
    ]);
  }
}

export { bundleScript, runChild, lastJsonLine, type ChildResult } from '../../helpers/child-process';

/** A deterministic PRNG (mulberry32) so every fuzz/kill schedule can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedFromEnv(name: string): number {
  const raw = process.env[name];
  if (raw !== undefined && raw !== '' && Number.isFinite(Number(raw))) return Number(raw) >>> 0;
  return (Math.random() * 0xffffffff) >>> 0;
}
