import WebSocket from 'ws';
import { buildConnectParams, type GatewayClientOptions } from '../gateway/client/gateway-client';
import type { DeviceSigner } from '../gateway/protocol/device-auth';
import { msSince, nowNs, sleep } from './stats';

/**
 * A lean protocol client for load generation: the same `connect` params as Clawdesk's client
 * (`buildConnectParams`), but no per-frame bookkeeping beyond what a measurement needs, so the
 * generator is not the bottleneck.
 */
export interface BenchIdentity {
  url: string;
  token: string;
  device?: DeviceSigner;
  scopes?: string[];
  clientId?: string;
  clientMode?: string;
}

export interface OpenSession {
  ws: WebSocket;
  hello: any;
  /** new WebSocket() → hello-ok received, in ms. */
  handshakeMs: number;
}

export class HandshakeError extends Error {
  constructor(
    message: string,
    readonly closeCode?: number,
    readonly errorCode?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
  /** Not listening yet, or the gateway said "starting" (1013 / UNAVAILABLE). */
  get starting(): boolean {
    return (
      this.closeCode === 1013 ||
      this.errorCode === 'UNAVAILABLE' ||
      /ECONNREFUSED|ECONNRESET|socket hang up/.test(this.message)
    );
  }
}

function clientOptions(id: BenchIdentity): GatewayClientOptions {
  return {
    url: id.url,
    token: id.token,
    device: id.device,
    scopes: id.scopes ?? ['operator.read'],
    clientId: id.clientId ?? 'cli',
    clientMode: id.clientMode ?? 'cli',
    clientVersion: 'clawdesk-bench',
    platform: 'linux',
    deviceFamily: 'Linux',
    minProtocol: 3,
    maxProtocol: 4,
  };
}

let connectSeq = 0;

/** One connect: challenge → connect → hello-ok. Rejects with HandshakeError on anything else. */
export function openSession(id: BenchIdentity, timeoutMs = 10_000, localAddress?: string): Promise<OpenSession> {
  const options = clientOptions(id);
  const started = nowNs();
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(id.url, {
      perMessageDeflate: false,
      maxPayload: 25 * 1024 * 1024,
      ...(localAddress ? { localAddress } : {}),
    });
    const connectId = `bench-connect-${++connectSeq}`;
    let settled = false;
    let failure: { code?: string; message?: string; retryAfterMs?: number } | undefined;
    const finish = (result: OpenSession | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.off('message', onMessage);
      if (result instanceof Error) {
        ws.terminate();
        reject(result);
      } else resolve(result);
    };
    const timer = setTimeout(
      () => finish(new HandshakeError(`handshake with ${id.url} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onMessage = (data: WebSocket.RawData) => {
      let frame: any;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (frame.type === 'event' && frame.event === 'connect.challenge') {
        ws.send(
          JSON.stringify({
            type: 'req',
            id: connectId,
            method: 'connect',
            params: buildConnectParams(options, frame.payload),
          }),
        );
      } else if (frame.type === 'res' && frame.id === connectId) {
        if (frame.ok) finish({ ws, hello: frame.payload, handshakeMs: msSince(started) });
        else
          failure = { code: frame.error?.code, message: frame.error?.message, retryAfterMs: frame.error?.retryAfterMs };
      }
    };
    ws.on('message', onMessage);
    ws.on('error', (error) => finish(new HandshakeError(`cannot connect to ${id.url}: ${error.message}`)));
    ws.on('close', (code, reason) =>
      finish(
        new HandshakeError(
          failure?.message ?? `closed during handshake (${code} ${reason.toString()})`,
          code,
          failure?.code,
          failure?.retryAfterMs,
        ),
      ),
    );
  });
}

/** Closes and waits for the close handshake to finish, so the next measurement starts from a quiet server. */
export function closeSession(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 2000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(1000, 'bench done');
  });
}

/** Connect attempts until the first hello-ok: retries on refused / 1013 "starting" with a short pause. */
export async function firstHello(
  id: BenchIdentity,
  options: { deadlineMs: number; exited?: Promise<string> },
): Promise<{ session: OpenSession; attempts: number }> {
  let attempts = 0;
  let exitedWith: string | undefined;
  void options.exited?.then((why) => {
    exitedWith = why;
  });
  const started = nowNs();
  for (;;) {
    attempts += 1;
    try {
      return { session: await openSession(id, 15_000), attempts };
    } catch (error) {
      if (exitedWith) throw new Error(`gateway process ${exitedWith} before the first hello-ok`);
      const he = error as HandshakeError;
      if (!(he instanceof HandshakeError) || !he.starting) throw error;
      if (msSince(started) > options.deadlineMs)
        throw new Error(`no hello-ok within ${options.deadlineMs} ms (last: ${he.message})`);
      // Poll fast while the port is closed; a "starting" answer is retried sooner than its hint so the figure stays sharp.
      await sleep(he.closeCode === 1013 || he.errorCode === 'UNAVAILABLE' ? Math.min(he.retryAfterMs ?? 50, 50) : 2);
    }
  }
}

export interface ThroughputResult {
  inFlight: number;
  durationMs: number;
  completed: number;
  errors: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  firstError?: string;
  /** Client CPU used during the run, as a fraction of one core: near 1 means the generator, not the gateway, was the limit. */
  clientCpuCores: number;
}

/**
 * Keeps `inFlight` requests of one method outstanding on one connection for `durationMs`, and counts responses.
 * Latencies are sampled for every request (hrtime at send → response parsed).
 */
export function measureThroughput(
  ws: WebSocket,
  method: string,
  params: unknown,
  inFlight: number,
  durationMs: number,
): Promise<ThroughputResult & { latencies: number[] }> {
  return new Promise((resolve) => {
    const sentAt = new Map<string, bigint>();
    const latencies: number[] = [];
    let seq = 0;
    let completed = 0;
    let errors = 0;
    let firstError: string | undefined;
    let stopping = false;
    const cpu0 = process.cpuUsage();
    const started = nowNs();
    const deadline = started + BigInt(durationMs) * 1_000_000n;
    const paramsJson = params === undefined ? '' : `,"params":${JSON.stringify(params)}`;
    const sendOne = () => {
      const id = `b${++seq}`;
      sentAt.set(id, nowNs());
      ws.send(`{"type":"req","id":"${id}","method":${JSON.stringify(method)}${paramsJson}}`);
    };
    const done = () => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
      const elapsedMs = msSince(started);
      const cpu = process.cpuUsage(cpu0);
      const sorted = latencies.slice().sort((a, b) => a - b);
      const pick = (p: number) =>
        sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : Number.NaN;
      resolve({
        inFlight,
        durationMs: elapsedMs,
        completed,
        errors,
        reqPerSec: (completed / elapsedMs) * 1000,
        p50Ms: pick(50),
        p99Ms: pick(99),
        firstError,
        clientCpuCores: (cpu.user + cpu.system) / 1000 / elapsedMs,
        latencies,
      });
    };
    const onMessage = (data: WebSocket.RawData) => {
      const now = nowNs();
      let frame: any;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (frame.type !== 'res') return; // ticks, presence, health broadcasts
      const sent = sentAt.get(frame.id);
      if (sent === undefined) return;
      sentAt.delete(frame.id);
      if (frame.ok) {
        completed += 1;
        latencies.push(Number(now - sent) / 1e6);
      } else {
        errors += 1;
        firstError ??= `${frame.error?.code}: ${frame.error?.message}`;
      }
      if (!stopping && now >= deadline) stopping = true;
      if (!stopping) sendOne();
      else if (sentAt.size === 0) done();
    };
    const onClose = (code: number, reason: Buffer) => {
      errors += sentAt.size;
      firstError ??= `connection closed (${code} ${reason.toString()})`;
      sentAt.clear();
      done();
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
    for (let i = 0; i < inFlight; i++) sendOne();
  });
}
