import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { connectGateway, GatewayClientError, type GatewayClientOptions } from '../../gateway/client/gateway-client';
import {
  startGatewayServer,
  type GatewayServerOptions,
  type RunningGateway,
} from '../../gateway/server/gateway-server';

export interface TestGateway extends RunningGateway {
  dispose(): Promise<void>;
}

/** A real gateway on an ephemeral loopback port with a fresh temp state dir. */
export async function startTestGateway(options: Partial<GatewayServerOptions> = {}): Promise<TestGateway> {
  const stateDir = options.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'clawdesk-gw-'));
  const gateway = await startGatewayServer({
    stateDir,
    auth: { mode: 'token', token: 'test-token' },
    port: 0,
    authFailureDelayMs: 0,
    ...options,
  });
  return {
    ...gateway,
    async dispose() {
      await gateway.close();
      if (!options.stateDir) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface RawExchange {
  /** Frames the server sent after the challenge. */
  frames: any[];
  challenge: { nonce: string; ts: number };
  closeCode: number;
  closeReason: string;
}

/**
 * Opens a raw socket, waits for the challenge, sends whatever `firstFrame` builds, and collects every frame
 * until the server closes (or `waitMs` passes, then closes itself with 4999).
 */
export function rawExchange(
  url: string,
  firstFrame: (challenge: { nonce: string; ts: number }) => string | Buffer | null,
  options: { headers?: Record<string, string>; waitMs?: number; binary?: boolean } = {},
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: options.headers });
    const frames: any[] = [];
    let challenge: { nonce: string; ts: number } | undefined;
    const timer = setTimeout(() => ws.close(4999, 'test timeout'), options.waitMs ?? 5000);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (!challenge && frame.event === 'connect.challenge') {
        challenge = frame.payload;
        const out = firstFrame(frame.payload);
        if (out !== null) ws.send(out, { binary: options.binary ?? false });
        return;
      }
      frames.push(frame);
    });
    ws.on('error', reject);
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ frames, challenge: challenge!, closeCode: code, closeReason: reason.toString() });
    });
  });
}

export function connectFrame(params: unknown, id = 'c1'): string {
  return JSON.stringify({ type: 'req', id, method: 'connect', params });
}

/** Minimal valid operator connect params. */
export function operatorParams(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    minProtocol: 3,
    maxProtocol: 4,
    client: { id: 'cli', version: 'test', platform: 'linux', mode: 'cli' },
    role: 'operator',
    scopes: ['operator.read'],
    auth: { token: 'test-token' },
    ...overrides,
  };
}

/** Waits for the next event of a given name on a session. */
export function nextEvent(
  session: {
    on: (e: 'event', l: (name: string, payload: any) => void) => unknown;
    off: (e: 'event', l: (...a: any[]) => void) => unknown;
  },
  name: string,
  timeoutMs = 3000,
): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.off('event', listener);
      reject(new Error(`no ${name} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (event: string, payload: any) => {
      if (event !== name) return;
      clearTimeout(timer);
      session.off('event', listener);
      resolve(payload);
    };
    session.on('event', listener);
  });
}

/** Connects and expects the gateway to refuse; returns the refusal (error shape, close code and reason). */
export async function connectError(options: GatewayClientOptions): Promise<GatewayClientError> {
  try {
    const session = await connectGateway(options);
    await session.close();
  } catch (error) {
    if (error instanceof GatewayClientError) return error;
    throw error;
  }
  throw new Error('connect unexpectedly succeeded');
}

/** What the gateway puts in an error's `details`: its sub-code, a pairing refusal's reason and request id. */
export interface ErrorDetails {
  code?: string;
  reason?: string;
  requestId?: string;
  [key: string]: unknown;
}

/** The `details` of a refused request or connect (the wire types them `unknown`). */
export function errorDetails(error: GatewayClientError | null | undefined): ErrorDetails | undefined {
  return error?.error?.details;
}
