import https from 'node:https';
import type net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { RemoteGatewayService, type RemoteGatewayStatus } from '../../gateway/remote/remote-gateway-service';
import { validateNewGateway } from '../../gateway/remote/saved-gateways';
import { waitFor } from '../helpers/cli-io';
import { disposeCertificate, makeSelfSignedCertificate, type TestCertificate } from './helpers/tls';

type Mode = 'silent' | 'not-websocket' | 'oversized' | 'record';

/** A wss:// server that misbehaves in one way, with the pinned certificate (so only the behaviour is wrong). */
function startHostileServer(cert: TestCertificate, mode: Mode) {
  const received: any[] = [];
  const server = https.createServer({ cert: cert.cert, key: cert.key }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html>not a gateway</html>');
  });
  const sockets = new Set<{ destroy(): void; on(e: 'close', f: () => void): unknown }>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  if (mode !== 'not-websocket') {
    const wss = new WebSocketServer({ server, maxPayload: 1024 * 1024 });
    wss.on('connection', (ws) => {
      if (mode === 'silent') return;
      ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: 'n', ts: Date.now() } }));
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        received.push(frame);
        if (mode === 'oversized') ws.send('x'.repeat(26 * 1024 * 1024));
        else
          ws.send(
            JSON.stringify({
              type: 'res',
              id: frame.id,
              ok: false,
              error: { code: 'UNAVAILABLE', message: 'busy', details: { code: 'SOMETHING' } },
            }),
          );
      });
    });
  }
  return new Promise<{ url: string; received: any[]; close: () => Promise<void> }>((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `wss://127.0.0.1:${port}`,
        received,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

describe('a hostile or broken gateway never crashes the service nor gets another gateway’s secret', () => {
  let cert: TestCertificate;
  let root: string;
  let service: RemoteGatewayService;
  const servers: Record<string, Awaited<ReturnType<typeof startHostileServer>>> = {};
  const prompts: string[] = [];
  /** Every reason a gateway was retried for, by name (the state itself moves on to the next attempt). */
  const retryReasons: Record<string, string[]> = {};

  beforeAll(async () => {
    cert = makeSelfSignedCertificate();
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-hostile-'));
    for (const mode of ['silent', 'not-websocket', 'oversized', 'record'] as const)
      servers[mode] = await startHostileServer(cert, mode);
    // Two "record" gateways with different tokens: each must only ever see its own.
    servers.record2 = await startHostileServer(cert, 'record');
    const entry = (name: string, url: string, secret: string) => ({
      gateway: validateNewGateway({ name, url, tlsFingerprint: cert.fingerprint, auth: 'token', secret }, {}),
      primary: false,
      secret,
    });
    service = new RemoteGatewayService({
      identity: createEphemeralDeviceSigner(),
      stateDir: root,
      env: {},
      approver: { canPresent: () => true, present: async (e) => (prompts.push(e.id), null) },
      reconnect: { initialBackoffMs: 100, maxBackoffMs: 500 },
    });
    service.on('status', (s: RemoteGatewayStatus) => {
      if (s.approvals.state === 'retrying') (retryReasons[s.name] ??= []).push(s.approvals.detail ?? '');
    });
    service.start([
      entry('silent', servers.silent.url, 'tok-silent'),
      entry('not-websocket', servers['not-websocket'].url, 'tok-nows'),
      entry('oversized', servers.oversized.url, 'tok-big'),
      entry('record', servers.record.url, 'tok-record-1'),
      entry('record2', servers.record2.url, 'tok-record-2'),
    ]);
  });
  afterAll(async () => {
    await service?.stop();
    for (const s of Object.values(servers)) await s.close();
    if (cert) disposeCertificate(cert);
    rmSync(root, { recursive: true, force: true });
  });

  const state = (name: string) => service.status(name) as RemoteGatewayStatus;

  it('a server that is not a WebSocket, or sends an oversized frame, leaves the gateway retrying', async () => {
    for (const name of ['not-websocket', 'oversized', 'record', 'record2'])
      await waitFor(() => (retryReasons[name]?.length ?? 0) > 0, 60_000, `${name} retrying`);
    expect(retryReasons['not-websocket'][0]).toMatch(/Unexpected server response: 200/);
    expect(retryReasons.oversized[0]).toMatch(/1009|too big|Max payload/i);
  });

  it('a server that never sends the challenge times out and is retried, never connected', async () => {
    await waitFor(() => (retryReasons.silent?.length ?? 0) > 0, 60_000, 'silent retrying');
    expect(retryReasons.silent[0]).toMatch(/timed out/);
  });

  it('each gateway receives only its own token, and nothing unrequested became a prompt', () => {
    const tokens = (name: string) => servers[name].received.map((f) => f.params?.auth?.token);
    expect(tokens('record').length).toBeGreaterThan(0);
    expect(new Set(tokens('record'))).toEqual(new Set(['tok-record-1']));
    expect(new Set(tokens('record2'))).toEqual(new Set(['tok-record-2']));
    expect(prompts).toEqual([]);
    for (const name of ['silent', 'not-websocket', 'oversized', 'record', 'record2'])
      expect(state(name).state).not.toBe('connected');
  });
});
