import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectGateway } from '../../gateway/client/gateway-client';
import { startGatewayServer } from '../../gateway/server/gateway-server';
import { nextEvent, startTestGateway, type TestGateway } from '../helpers/gateway-fixture';

function httpGet(url: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      })
      .on('error', reject);
  });
}

/** Sends raw text on an authenticated session and returns the next response frame. */
function sendRaw(
  session: Awaited<ReturnType<typeof connectGateway>>,
  data: string | Buffer,
  binary = false,
): Promise<any> {
  return new Promise((resolve) => {
    const onMessage = (raw: WebSocket.RawData) => {
      const frame = JSON.parse(raw.toString());
      if (frame.type !== 'res') return;
      session.ws.off('message', onMessage);
      resolve(frame);
    };
    session.ws.on('message', onMessage);
    session.ws.send(data, { binary });
  });
}

describe('an authenticated session', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ tickIntervalMs: 50 });
  });
  afterAll(() => gw.dispose());

  it('hello-ok advertises exactly the methods it serves, and its policy', async () => {
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.admin'] });
    const { methods, events } = s.hello.features;
    expect(methods).toEqual(
      expect.arrayContaining([
        'health',
        'status',
        'system-presence',
        'config.get',
        'device.pair.list',
        'device.pair.approve',
        'device.token.revoke',
      ]),
    );
    expect(methods).not.toContain('connect');
    for (const method of methods) {
      const result = await s.request(method, {}).then(
        () => 'ok',
        (error) => String(error.message),
      );
      expect(result, method).not.toMatch(/^unknown method/);
    }
    expect(events).toEqual(
      expect.arrayContaining([
        'connect.challenge',
        'tick',
        'shutdown',
        'device.pair.requested',
        'device.pair.resolved',
      ]),
    );
    expect(s.hello.policy).toEqual({ maxPayload: 26214400, maxBufferedBytes: 52428800, tickIntervalMs: 50 });
    expect(s.hello.snapshot).toMatchObject({
      authMode: 'token',
      stateDir: gw.stateDir,
      presence: expect.any(Array),
      health: { ok: true },
    });
    await s.close();
  });

  it('sensitive snapshot fields are only for admins', async () => {
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    expect(s.hello.snapshot.stateDir).toBeUndefined();
    await s.close();
  });

  it('unknown methods, malformed JSON, binary frames and a second connect get clear errors and the session stays open', async () => {
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    await expect(s.request('no.such.method', {})).rejects.toThrow('unknown method: no.such.method');
    expect((await sendRaw(s, '{not json')).error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'invalid frame: not valid JSON',
    });
    expect((await sendRaw(s, Buffer.from('{}'), true)).error.message).toMatch(/binary frames are not supported/);
    expect((await sendRaw(s, JSON.stringify({ type: 'event', id: 'e1', event: 'x' }))).id).toBe('e1');
    await expect(s.request('connect', {})).rejects.toThrow('connect is only valid as the first request');
    await expect(s.request('health', { probe: 'yes' })).rejects.toThrow(/^invalid health params: at \/probe: /);
    expect((await s.request('health')).ok).toBe(true);
    await s.close();
  });

  it('scope checks: missing scope names it; more than 10 unauthorized calls in a row close the socket', async () => {
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    const closed = new Promise<[number, string]>((resolve) =>
      s.once('close', (code: number, reason: string) => resolve([code, reason])),
    );
    const results: string[] = [];
    for (let i = 0; i < 11; i++) {
      results.push(
        await s.request('device.pair.list', {}).then(
          () => 'ok',
          (e) => e.message,
        ),
      );
    }
    expect(results[0]).toBe('missing scope: operator.pairing');
    expect(await closed).toEqual([1008, 'repeated unauthorized calls']);
  });

  it('an authorized call resets the unauthorized streak', async () => {
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 8; i++) await s.request('device.pair.list', {}).catch(() => undefined);
      expect((await s.request('health')).ok).toBe(true);
    }
    expect(s.closed).toBe(false);
    await s.close();
  });

  it('nodes may call only node methods and health', async () => {
    const { createEphemeralDeviceSigner } = await import('../../gateway/protocol/device-auth');
    const node = await connectGateway({
      url: gw.url,
      token: 'test-token',
      clientId: 'node-host',
      clientMode: 'node',
      role: 'node',
      device: createEphemeralDeviceSigner(),
    });
    await expect(node.request('status', {})).rejects.toThrow('unauthorized role: node');
    expect((await node.request('health')).ok).toBe(true);
    await node.close();
  });

  it('broadcast events carry an increasing per-connection seq; tick arrives at the policy interval', async () => {
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    const seqs: number[] = [];
    await new Promise<void>((resolve) => {
      s.on('event', (name: string, _payload: unknown, frame: any) => {
        if (name !== 'tick') return;
        seqs.push(frame.seq);
        if (seqs.length === 3) resolve();
      });
    });
    expect(seqs[1]).toBeGreaterThan(seqs[0]);
    expect(seqs[2]).toBeGreaterThan(seqs[1]);
    await s.close();
  });

  it('GET /healthz, /readyz and /startupz answer on the same port', async () => {
    const base = gw.url.replace('ws://', 'http://');
    expect(await httpGet(`${base}/healthz`)).toEqual({ status: 200, body: { ok: true, status: 'live' } });
    expect(await httpGet(`${base}/readyz`)).toMatchObject({ status: 200, body: { ready: true, failing: [] } });
    expect(await httpGet(`${base}/startupz`)).toMatchObject({ status: 200, body: { ok: true, status: 'started' } });
  });

  it('health has the shape the openclaw CLI reads: the default agent, arrays of recent sessions, event-loop figures', async () => {
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    const health = await s.request('health');
    expect(health).toMatchObject({
      ok: true,
      defaultAgentId: 'main',
      channels: {},
      sessions: { count: 0, recent: [] },
    });
    expect(health.agents).toEqual([
      expect.objectContaining({ agentId: 'main', isDefault: true, sessions: expect.objectContaining({ recent: [] }) }),
    ]);
    expect(health.eventLoop).toMatchObject({
      degraded: false,
      reasons: [],
      delayP99Ms: expect.any(Number),
      utilization: expect.any(Number),
    });
    expect(Number.isInteger(health.durationMs)).toBe(true);
    await s.close();
  });

  it('config.get never echoes secrets', async () => {
    const { writeFileSync } = await import('node:fs');
    const path = await import('node:path');
    writeFileSync(
      path.join(gw.stateDir, 'openclaw.json'),
      '{ gateway: { auth: { mode: "token", token: "very-secret" } } }',
    );
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    const config = await s.request('config.get', {});
    expect(config.exists).toBe(true);
    expect(JSON.stringify(config)).not.toContain('very-secret');
    await s.close();
  });
});

describe('gateway lifecycle', () => {
  it('refuses to bind beyond loopback without token or password auth', async () => {
    await expect(
      startGatewayServer({ stateDir: '/nonexistent', auth: { mode: 'none' }, host: '0.0.0.0', port: 0 }),
    ).rejects.toThrow(/requires token or password/);
  });

  it('token mode without a token is a configuration error', async () => {
    await expect(startGatewayServer({ stateDir: '/nonexistent', auth: { mode: 'token' }, port: 0 })).rejects.toThrow(
      /needs a token/,
    );
  });

  it('shutdown sends a shutdown event, then closes clients with 1012', async () => {
    const gw = await startTestGateway();
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    const shutdown = nextEvent(s, 'shutdown');
    const closed = new Promise<number>((resolve) => s.once('close', (code: number) => resolve(code)));
    await gw.dispose();
    expect(await shutdown).toMatchObject({ reason: expect.any(String) });
    expect(await closed).toBe(1012);
  });
});
