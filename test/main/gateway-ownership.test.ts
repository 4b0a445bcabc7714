import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayServer } from '../../gateway/server/gateway-server';
import {
  decideOwnership,
  findPortOwnerLinux,
  listeningInodes,
  parseNetstatListeners,
  probeGatewayPort,
} from '../../main/gateway-ownership';
import { freePort } from '../helpers/free-port';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A foreign OpenClaw-speaking gateway in its own process: it greets with connect.challenge like the real one. */
async function startForeignGateway(): Promise<{ child: ChildProcess; port: number }> {
  const wsPath = require.resolve('ws');
  const script = `
    const { WebSocketServer } = require(${JSON.stringify(wsPath)});
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => console.log('PORT ' + wss.address().port));
    wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: require('crypto').randomUUID(), ts: Date.now() } })));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => {
    child.kill();
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => {
      const match = /PORT (\d+)/.exec(data.toString());
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`foreign gateway exited ${code}`)));
  });
  return { child, port };
}

describe('gateway ownership', () => {
  it('a free port: embed', async () => {
    const port = await freePort();
    expect(await probeGatewayPort(port)).toEqual({ kind: 'free' });
    expect(await decideOwnership({ port })).toEqual({
      mode: 'embed',
      owner: { kind: 'clawdesk', description: 'Clawdesk (this app)' },
    });
  });

  it('an OpenClaw gateway in another process: attach, and name its PID', async () => {
    const { child, port } = await startForeignGateway();
    const decision = await decideOwnership({ port });
    expect(decision.mode).toBe('attach');
    if (decision.mode !== 'attach') return;
    expect(decision.url).toBe(`ws://127.0.0.1:${port}`);
    if (process.platform === 'linux') {
      expect(decision.owner).toMatchObject({ kind: 'other-process', pid: child.pid });
      expect(decision.owner.description).toContain(`PID ${child.pid}`);
    }
    expect(decision.handOver).toMatch(/never stops it/);
  });

  it("Clawdesk's own gateway server (the real one) is recognised as an OpenClaw gateway", async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-own-'));
    const gateway = await startGatewayServer({
      stateDir,
      port: 0,
      host: '127.0.0.1',
      auth: { mode: 'token', token: 'test-token-0123456789' },
    });
    cleanups.push(() => gateway.close());
    const decision = await decideOwnership({ port: gateway.port });
    expect(decision).toMatchObject({ mode: 'attach', url: `ws://127.0.0.1:${gateway.port}` });
    if (process.platform === 'linux') expect(decision.owner.pid).toBe(process.pid);
  });

  it('an HTTP server on the port: blocked, never fought over', async () => {
    const server = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;
    const decision = await decideOwnership({ port, timeoutMs: 1000 });
    expect(decision.mode).toBe('blocked');
    if (decision.mode === 'blocked') {
      expect(decision.reason).toMatch(/HTTP server/);
      if (process.platform === 'linux') expect(decision.owner.pid).toBe(process.pid);
    }
  });

  it('a TCP service that never speaks: blocked after the probe timeout', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as net.AddressInfo).port;
    expect((await probeGatewayPort(port, { timeoutMs: 150 })).kind).toBe('other');
  });

  it('the OS lookups parse what the OS prints', () => {
    const procNetTcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 100 0 0 10 0',
      '   1: 0100007F:4965 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 777777 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(listeningInodes(procNetTcp, 18789)).toEqual(['123456']);
    expect(listeningInodes(procNetTcp, 18790)).toEqual([]);
    const netstat =
      '\r\nActive Connections\r\n\r\n  Proto  Local Address          Foreign Address        State           PID\r\n  TCP    127.0.0.1:18789        0.0.0.0:0              LISTENING       4242\r\n  TCP    127.0.0.1:18789        127.0.0.1:50000        ESTABLISHED     4242\r\n';
    expect(parseNetstatListeners(netstat, 18789)).toBe(4242);
    expect(parseNetstatListeners(netstat, 1)).toBeUndefined();
  });

  it.runIf(process.platform === 'linux')('finds nobody for a port nobody listens on', async () => {
    expect(await findPortOwnerLinux(await freePort())).toBeUndefined();
  });
});
