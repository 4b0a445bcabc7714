import { afterEach, describe, expect, it } from 'vitest';
import { ReconnectingSession, type SessionStatus } from '../../gateway/node-host/reconnecting-session';
import { startGatewayServer, type RunningGateway } from '../../gateway/server/gateway-server';
import { freePort } from '../helpers/free-port';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The session the runner and the approver keep open: jittered backoff (so the clients of one gateway do not return in
 * lockstep after it restarts) and reconnectNow for a resume from sleep, against a real port and a real gateway.
 */

const TOKEN = 'reconnect-test-token-0123456789abcdef';
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function session(port: number, reconnect: ConstructorParameters<typeof ReconnectingSession>[1]) {
  const live = new ReconnectingSession(
    { url: `ws://127.0.0.1:${port}`, token: TOKEN, scopes: ['operator.read'], connectTimeoutMs: 2_000 },
    reconnect,
  );
  const seen: SessionStatus[] = [];
  live.on('status', (s: SessionStatus) => seen.push(s));
  cleanups.push(() => live.stop());
  void live.start().catch(() => undefined);
  return { live, seen };
}

async function until<T>(probe: () => T | undefined | false, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const waits = (seen: SessionStatus[]) => seen.flatMap((s) => (s.state === 'waiting' ? [s.retryInMs] : []));

describe('ReconnectingSession', () => {
  it('each wait is the doubling backoff within ±20 %, drawn anew each time', async () => {
    const port = await freePort(); // nothing listens: every attempt is refused
    const draws = [0, 1, 0.5, 0.25];
    let i = 0;
    const { seen } = session(port, { initialBackoffMs: 100, maxBackoffMs: 1_000, random: () => draws[i++ % 4] });
    await until(() => waits(seen).length >= 4);
    // 100 × 0.8, 200 × 1.2, 400 × 1.0, 800 × 0.9
    expect(waits(seen).slice(0, 4)).toEqual([80, 240, 400, 720]);
  });

  it('with Math.random, many clients spread out instead of retrying together', async () => {
    const port = await freePort();
    const clients = Array.from({ length: 12 }, () => session(port, { initialBackoffMs: 1_000 }));
    await until(() => clients.every((c) => waits(c.seen).length >= 1));
    const first = clients.map((c) => waits(c.seen)[0]);
    for (const w of first) {
      expect(w).toBeGreaterThanOrEqual(800);
      expect(w).toBeLessThanOrEqual(1_200);
    }
    expect(new Set(first).size).toBeGreaterThan(6);
  });

  it('reconnectNow ends a long wait at once and connects when the gateway is back; idle otherwise', async () => {
    const port = await freePort();
    const { live, seen } = session(port, { initialBackoffMs: 60_000, maxBackoffMs: 60_000, jitter: 0 });
    await until(() => live.status.state === 'waiting');
    expect(waits(seen)).toEqual([60_000]);
    // The gateway comes up while the client would still wait a minute.
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdesk-reconnect-'));
    cleanups.push(() => fs.rmSync(stateDir, { recursive: true, force: true }));
    const gateway: RunningGateway = await startGatewayServer({
      stateDir,
      port,
      host: '127.0.0.1',
      auth: { mode: 'token', token: TOKEN },
      authFailureDelayMs: 0,
    });
    cleanups.push(() => gateway.close());
    const started = Date.now();
    expect(live.reconnectNow()).toBe(true);
    await until(() => live.status.state === 'connected');
    expect(Date.now() - started).toBeLessThan(5_000);
    // Connected: nothing to cut short.
    expect(live.reconnectNow()).toBe(false);
    await live.stop();
    expect(live.reconnectNow()).toBe(false);
  });
});
