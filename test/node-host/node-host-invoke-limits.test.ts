import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { ExecApprovalsStore } from '../../gateway/exec/approvals-file';
import { DEFAULT_RUN_TIMEOUT_MS } from '../../gateway/exec/process-runner';
import {
  capRunTimeout,
  INVOKE_CANCEL_EVENT,
  runCeilingMs,
  startNodeHost,
  type NodeHostHandle,
} from '../../gateway/node-host/node-host';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { processesIn } from '../hardening/helpers/processes';

/**
 * Issue 9 finding 14: the node's own limits, against a minimal stand-in for an OpenClaw gateway that never sends
 * `node.invoke.cancel` (real OpenClaw gateways may not): the invoke's timeout is a ceiling the node enforces
 * alone. Also: Clawdesk's cancel event, and the gateway connection going away.
 */

interface FakeGateway {
  url: string;
  results: any[];
  /** The node's socket, once connected. */
  node(): Promise<WebSocket>;
  sendEvent(event: string, payload: unknown): Promise<void>;
  close(): Promise<void>;
}

async function startFakeGateway(): Promise<FakeGateway> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  const results: any[] = [];
  let connected: (ws: WebSocket) => void;
  const nodeSocket = new Promise<WebSocket>((resolve) => (connected = resolve));
  wss.on('connection', (ws) => {
    ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: 'n', ts: Date.now() } }));
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      if (frame.type !== 'req') return;
      if (frame.method === 'connect') {
        ws.send(
          JSON.stringify({
            type: 'res',
            id: frame.id,
            ok: true,
            payload: {
              type: 'hello-ok',
              protocol: 4,
              server: { version: 'fake', connId: 'c' },
              features: { methods: [], events: [] },
              snapshot: {},
              auth: { role: 'node', scopes: [] },
              policy: { tickIntervalMs: 30_000 },
            },
          }),
        );
        connected(ws);
        return;
      }
      if (frame.method === 'node.invoke.result') results.push(frame.params);
      ws.send(JSON.stringify({ type: 'res', id: frame.id, ok: true, payload: { ok: true } }));
    });
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    results,
    node: () => nodeSocket,
    async sendEvent(event, payload) {
      (await nodeSocket).send(JSON.stringify({ type: 'event', event, payload }));
    },
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

let root = '';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of cleanups.splice(0).reverse()) await f().catch(() => undefined);
  if (root) rmSync(root, { recursive: true, force: true });
});

async function setup(): Promise<{ gateway: FakeGateway; node: NodeHostHandle; cwd: string; nodeId: string }> {
  root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-node-limits-'));
  const stateDir = path.join(root, 'state');
  const cwd = realpathSync(path.join(root));
  mkdirSync(path.join(root, 'home'), { recursive: true });
  await new ExecApprovalsStore({ stateDir }).set(
    { version: 1, agents: { '*': { security: 'full', ask: 'off' } } },
    undefined,
  );
  const gateway = await startFakeGateway();
  cleanups.push(() => gateway.close());
  const identity = createEphemeralDeviceSigner();
  const node = await startNodeHost({
    url: gateway.url,
    token: 't',
    identity,
    stateDir,
    home: path.join(root, 'home'),
    defaultCwd: cwd,
    reconnect: { initialBackoffMs: 5_000, maxBackoffMs: 5_000 },
  });
  cleanups.push(() => node.stop());
  await gateway.node();
  return { gateway, node, cwd, nodeId: identity.deviceId };
}

const runRequest = (id: string, nodeId: string, params: unknown, timeoutMs?: number) => ({
  id,
  nodeId,
  command: 'system.run',
  paramsJSON: JSON.stringify(params),
  ...(timeoutMs === undefined ? {} : { timeoutMs }),
  idempotencyKey: id,
});

describe.runIf(process.platform === 'linux')('issue 9 finding 14: the node stops runs by itself', () => {
  it('issue 9 finding 14: a gateway that never cancels: the invoke timeout alone stops `sleep 300` (tree killed, answer sent in time)', async () => {
    const { gateway, cwd, nodeId } = await setup();
    await gateway.sendEvent(
      'node.invoke.request',
      runRequest('inv-1', nodeId, { command: ['sh', '-c', 'sleep 300 & sleep 300'] }, 1_000),
    );
    await expect.poll(() => gateway.results.length, { timeout: 5_000, interval: 25 }).toBe(1);
    const payload = JSON.parse(gateway.results[0].payloadJSON);
    expect(payload).toMatchObject({
      timedOut: true,
      success: false,
      error: `command timed out after ${runCeilingMs(1_000)} ms; its process tree was killed`,
    });
    await expect.poll(() => processesIn(cwd), { timeout: 5_000, interval: 25 }).toEqual([]);
  });

  it("issue 9 finding 14: Clawdesk's node.invoke.cancel stops that run only, and no answer is sent for it", async () => {
    const { gateway, cwd, nodeId } = await setup();
    const other = realpathSync(mkdtempSync(path.join(root, 'other-')));
    await gateway.sendEvent('node.invoke.request', runRequest('inv-a', nodeId, { command: ['sleep', '300'] }, 600_000));
    await gateway.sendEvent(
      'node.invoke.request',
      runRequest('inv-b', nodeId, { command: ['sleep', '300'], cwd: other }, 600_000),
    );
    await expect
      .poll(() => processesIn(cwd).length + processesIn(other).length, { timeout: 5_000, interval: 25 })
      .toBe(2);
    // Wrong node id: ignored.
    await gateway.sendEvent(INVOKE_CANCEL_EVENT, { id: 'inv-a', nodeId: 'someone-else', reason: 'x' });
    await gateway.sendEvent(INVOKE_CANCEL_EVENT, { id: 'inv-a', nodeId, reason: 'requester disconnected' });
    await expect.poll(() => processesIn(cwd), { timeout: 5_000, interval: 25 }).toEqual([]);
    expect(processesIn(other)).toHaveLength(1);
    await gateway.sendEvent(INVOKE_CANCEL_EVENT, { id: 'inv-b', nodeId });
    await expect.poll(() => processesIn(other), { timeout: 5_000, interval: 25 }).toEqual([]);
    // The next invoke is answered, and it is the only answer: the cancelled runs sent none.
    await gateway.sendEvent('node.invoke.request', runRequest('inv-c', nodeId, { command: ['true'] }, 10_000));
    await expect.poll(() => gateway.results.length, { timeout: 5_000, interval: 25 }).toBeGreaterThan(0);
    expect(gateway.results.map((r) => r.id)).toEqual(['inv-c']);
  });

  it('issue 9 finding 14: the gateway connection going away stops the runs it asked for', async () => {
    const { gateway, cwd, nodeId } = await setup();
    await gateway.sendEvent('node.invoke.request', runRequest('inv-1', nodeId, { command: ['sleep', '300'] }));
    await expect.poll(() => processesIn(cwd).length, { timeout: 5_000, interval: 25 }).toBe(1);
    (await gateway.node()).terminate();
    await expect.poll(() => processesIn(cwd), { timeout: 5_000, interval: 25 }).toEqual([]);
  });

  it('caps system.run timeouts at the ceiling, applies the default when none is given, and leaves invalid ones to the schema', () => {
    expect(runCeilingMs(30_000)).toBe(29_000);
    expect(runCeilingMs(1_000)).toBe(900);
    expect(runCeilingMs(1)).toBe(1);
    expect(capRunTimeout({ command: ['x'] }, 5_000)).toEqual({ command: ['x'], timeoutMs: 5_000 });
    expect(capRunTimeout({ command: ['x'], timeoutMs: null }, 3_600_000)).toEqual({
      command: ['x'],
      timeoutMs: DEFAULT_RUN_TIMEOUT_MS,
    });
    expect(capRunTimeout({ command: ['x'], timeoutMs: 2_000 }, 5_000)).toEqual({ command: ['x'], timeoutMs: 2_000 });
    expect(capRunTimeout({ command: ['x'], timeoutMs: 'soon' }, 5_000)).toEqual({ command: ['x'], timeoutMs: 'soon' });
    expect(capRunTimeout({ command: ['x'], timeoutMs: 25 * 3600_000 }, 5_000)).toEqual({
      command: ['x'],
      timeoutMs: 25 * 3600_000,
    });
    expect(capRunTimeout({ command: ['x'] }, undefined)).toEqual({ command: ['x'] });
    expect(capRunTimeout(['x'], 5_000)).toEqual(['x']);
  });
});
