import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { startNodeHost, type NodeHostHandle } from '../../gateway/node-host/node-host';
import { startGatewayServer } from '../../gateway/server/gateway-server';
import { createExecModules } from '../../gateway/approvals/exec-modules';
import { nextEvent } from '../helpers/gateway-fixture';
import { invoke, rejection, startExecHarness, TOKEN, waitFor, type ExecHarness } from '../approvals/exec-harness';

let h: ExecHarness | undefined;
const extra: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of extra.splice(0)) await f().catch(() => undefined);
  await h?.dispose();
  h = undefined;
});

async function foreignNode(harness: ExecHarness): Promise<NodeHostHandle> {
  const node = await startNodeHost({
    url: harness.gateway.url,
    token: TOKEN,
    identity: createEphemeralDeviceSigner(),
    stateDir: path.join(harness.root, 'foreign-state'),
    home: path.join(harness.root, 'home'),
    displayName: 'foreign',
    reconnect: { initialBackoffMs: 50, maxBackoffMs: 200 },
  });
  extra.push(() => node.stop());
  return node;
}

describe('node registration and pairing', () => {
  it('registers as node-host/node with its commands; node.list and node.describe show it', async () => {
    h = await startExecHarness();
    const op = await h.operator({ scopes: ['operator.read'] });
    const list = await op.request('node.list', {});
    const me = list.nodes.find((n: any) => n.nodeId === h!.nodeId);
    expect(me).toMatchObject({ clientId: 'node-host', clientMode: 'node', platform: 'linux', paired: true, connected: true });
    expect(me.commands).toEqual(['system.run.prepare', 'system.run', 'system.which', 'system.execApprovals.get', 'system.execApprovals.set']);
    const described = await op.request('node.describe', { nodeId: h.nodeId });
    expect(described).toMatchObject({ nodeId: h.nodeId, connected: true, caps: ['system'] });
    expect(typeof described.ts).toBe('number');
  });

  it("hides a foreign node's commands until node.pair.approve, which needs admin for system.*", async () => {
    h = await startExecHarness();
    const pairing = await h.operator({ scopes: ['operator.pairing', 'operator.write'] });
    const requested = nextEvent(pairing, 'node.pair.requested');
    const foreign = await foreignNode(h);
    const event = await requested;
    expect(event).toMatchObject({ nodeId: foreign.nodeId, requiredApproveScopes: ['operator.pairing', 'operator.admin'] });

    const blocked = await rejection(invoke(pairing, foreign.nodeId, 'system.which', { bins: ['sh'] }));
    expect(blocked.error).toMatchObject({ code: 'UNAVAILABLE', details: { code: 'NODE_APPROVAL_REQUIRED', requestId: event.requestId } });
    expect(blocked.message).toContain(`openclaw nodes approve ${event.requestId}`);

    const listed = await pairing.request('node.pair.list', {});
    expect(listed.pending.map((p: any) => p.requestId)).toContain(event.requestId);
    const noAdmin = await rejection(pairing.request('node.pair.approve', { requestId: event.requestId }));
    expect(noAdmin.error.details).toMatchObject({ code: 'MISSING_SCOPE', missingScope: 'operator.admin' });

    const admin = await h.operator({ scopes: ['operator.admin'] });
    const approved = await admin.request('node.pair.approve', { requestId: event.requestId });
    expect(approved.node.commands).toContain('system.run');
    const which = await invoke(admin, foreign.nodeId, 'system.which', { bins: ['sh'] });
    expect(which.payload.bins.sh).toMatch(/\/sh$/);

    await admin.request('node.rename', { nodeId: foreign.nodeId, displayName: 'Build box' });
    expect((await admin.request('node.describe', { nodeId: foreign.nodeId })).displayName).toBe('Build box');
  });

  it('a rejected node stays without a command surface', async () => {
    h = await startExecHarness();
    const admin = await h.operator({ scopes: ['operator.admin'] });
    const requested = nextEvent(admin, 'node.pair.requested');
    const foreign = await foreignNode(h);
    const { requestId } = await requested;
    await admin.request('node.pair.reject', { requestId });
    expect((await rejection(invoke(admin, foreign.nodeId, 'system.which', { bins: ['sh'] }))).error.details.code).toBe('NODE_APPROVAL_REQUIRED');
  });

  it('raw node.invoke of system.execApprovals.* is refused; exec.approvals.node.get/set relay with CAS and no token', async () => {
    h = await startExecHarness();
    const admin = await h.operator({ scopes: ['operator.admin'] });
    expect((await rejection(invoke(admin, h.nodeId, 'system.execApprovals.get', {}))).error.details.code).toBe('COMMAND_RESERVED');
    const snap = await admin.request('exec.approvals.node.get', { nodeId: h.nodeId });
    expect(Object.keys(snap).sort()).toEqual(['exists', 'file', 'hash', 'path']);
    expect(snap).toMatchObject({ exists: false, hash: '', path: path.join(h.nodeStateDir, 'exec-approvals.json') });
    expect(snap.file.socket.path).toBeTruthy();

    const set = await admin.request('exec.approvals.node.set', { nodeId: h.nodeId, file: { version: 1, agents: { '*': { ask: 'always' } } } });
    expect(set.exists).toBe(true);
    expect(set.file.socket.token).toBeUndefined();
    expect(JSON.parse(readFileSync(path.join(h.nodeStateDir, 'exec-approvals.json'), 'utf8')).socket.token).toBeTruthy();
    const stale = await rejection(admin.request('exec.approvals.node.set', { nodeId: h.nodeId, file: { version: 1, agents: {} }, baseHash: 'old' }));
    expect(stale.message).toMatch(/changed; reload and retry/);
    const ok = await admin.request('exec.approvals.node.set', { nodeId: h.nodeId, file: { version: 1, agents: {} }, baseHash: set.hash });
    expect(ok.hash).not.toBe(set.hash);

    // Gateway host file, admin only.
    const gw = await admin.request('exec.approvals.get', {});
    expect(gw).toMatchObject({ exists: false, hash: '' });
    const writer = await h.operator({ scopes: ['operator.write', 'operator.approvals'] });
    expect((await rejection(writer.request('exec.approvals.get', {}))).error.details.code).toBe('MISSING_SCOPE');
  });

  it('pending invokes fail when the node drops; the runner emits exec events', async () => {
    h = await startExecHarness({ nodePolicy: { version: 1, agents: { '*': { security: 'full', ask: 'off' } } } });
    const op = await h.operator({ scopes: ['operator.write', 'operator.read'], caps: ['node-events'] });
    const finished = nextEvent(op, 'node.event');
    await invoke(op, h.nodeId, 'system.run', { command: ['true'] });
    const ev = await finished;
    expect(ev).toMatchObject({ nodeId: h.nodeId, event: expect.stringMatching(/^exec\./) });

    const long = invoke(op, h.nodeId, 'system.run', { command: ['sleep', '30'] });
    await new Promise((r) => setTimeout(r, 200));
    await h.node.stop();
    const err = await rejection(long);
    expect(err.error).toMatchObject({ code: 'UNAVAILABLE', details: { code: 'NOT_CONNECTED' } });
  });

  it('a node invoke that gets no answer times out with TIMEOUT', async () => {
    h = await startExecHarness({ exec: { defaultInvokeTimeoutMs: 200 }, nodePolicy: { version: 1, agents: { '*': { security: 'full', ask: 'off' } } } });
    const op = await h.operator();
    const err = await rejection(invoke(op, h.nodeId, 'system.run', { command: ['sleep', '5'] }));
    expect(err.error.details.code).toBe('TIMEOUT');
  });
});

describe('node host reconnects', () => {
  it('comes back after the gateway restarts (1012), and stops on a wrong token', async () => {
    h = await startExecHarness();
    const port = h.gateway.port;
    const exec2 = createExecModules({ trustedLocalNodeIds: [h.nodeId] });
    await h.gateway.close('restart');
    let again!: Awaited<ReturnType<typeof startGatewayServer>>;
    for (let attempt = 0; ; attempt++) {
      try {
        again = await startGatewayServer({ stateDir: path.join(h.root, 'gateway-state'), auth: { mode: 'token', token: TOKEN }, port, modules: exec2.modules, authFailureDelayMs: 0 });
        break;
      } catch (error) {
        // The old listener may take a moment to release the port on a loaded machine.
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt > 20) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    extra.push(() => again.close());
    await waitFor(() => exec2.registry.surfaceOf(h!.nodeId).includes('system.run'), 8000);
    // The gateway registers the node a moment before the node has read its hello-ok.
    await waitFor(() => h!.node.status().state === 'connected');

    const wrong = await rejection(
      startNodeHost({ url: again.url, token: 'wrong', identity: createEphemeralDeviceSigner(), stateDir: path.join(h.root, 'x'), home: h.root, reconnect: { initialBackoffMs: 20 } }),
    );
    expect(wrong.message).toMatch(/token|unauthorized/i);
  });
});

describe('system.which through the gateway', () => {
  it('answers found names only', async () => {
    h = await startExecHarness();
    const op = await h.operator();
    const res = await op.request('node.invoke', { nodeId: h.nodeId, command: 'system.which', params: { bins: ['sh', 'nope-xyz'] }, idempotencyKey: randomUUID() });
    expect(Object.keys(res.payload.bins)).toEqual(['sh']);
    expect(existsSync(res.payload.bins.sh)).toBe(true);
  });
});
