import { createHash, randomUUID } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectGateway } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { startNodeHost, type NodeHostHandle } from '../../gateway/node-host/node-host';
import { startGatewayServer } from '../../gateway/server/gateway-server';
import { createExecModules } from '../../gateway/approvals/exec-modules';
import { nextEvent } from '../helpers/gateway-fixture';
import { invoke, rejection, startExecHarness, TOKEN, waitFor, type ExecHarness } from '../approvals/exec-harness';
import { commandPayload } from '../helpers/node-payload';

let h: ExecHarness | undefined;
const extra: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const f of extra.splice(0)) await f().catch(() => undefined);
  await h?.dispose();
  h = undefined;
});

async function foreignNode(
  harness: ExecHarness,
  stateDir = path.join(harness.root, 'foreign-state'),
): Promise<NodeHostHandle> {
  const node = await startNodeHost({
    url: harness.gateway.url,
    token: TOKEN,
    identity: createEphemeralDeviceSigner(),
    stateDir,
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
    expect(me).toMatchObject({
      clientId: 'node-host',
      clientMode: 'node',
      platform: 'linux',
      paired: true,
      connected: true,
    });
    expect(me?.commands).toEqual([
      'system.run.prepare',
      'system.run',
      'system.which',
      'system.execApprovals.get',
      'system.execApprovals.set',
    ]);
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
    expect(event).toMatchObject({
      nodeId: foreign.nodeId,
      requiredApproveScopes: ['operator.pairing', 'operator.admin'],
    });

    const blocked = await rejection(invoke(pairing, foreign.nodeId, 'system.which', { bins: ['sh'] }));
    expect(blocked.error).toMatchObject({
      code: 'UNAVAILABLE',
      details: { code: 'NODE_APPROVAL_REQUIRED', requestId: event.requestId },
    });
    expect(blocked.message).toContain(`openclaw nodes approve ${event.requestId}`);

    const listed = await pairing.request('node.pair.list', {});
    expect(listed.pending.map((p: any) => p.requestId)).toContain(event.requestId);
    const noAdmin = await rejection(pairing.request('node.pair.approve', { requestId: event.requestId }));
    expect(noAdmin.error.details).toMatchObject({ code: 'MISSING_SCOPE', missingScope: 'operator.admin' });

    const admin = await h.operator({ scopes: ['operator.admin'] });
    const approved = await admin.request('node.pair.approve', { requestId: event.requestId });
    expect(approved.node.commands).toContain('system.run');
    const which = await invoke(admin, foreign.nodeId, 'system.which', { bins: ['sh'] });
    expect(commandPayload(which).bins.sh).toMatch(/\/sh$/);

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
    expect((await rejection(invoke(admin, foreign.nodeId, 'system.which', { bins: ['sh'] }))).error.details.code).toBe(
      'NODE_APPROVAL_REQUIRED',
    );
  });

  it('raw node.invoke of system.execApprovals.* is refused; exec.approvals.node.get/set relay with CAS and no token', async () => {
    h = await startExecHarness();
    const admin = await h.operator({ scopes: ['operator.admin'] });
    expect((await rejection(invoke(admin, h.nodeId, 'system.execApprovals.get', {}))).error.details.code).toBe(
      'COMMAND_RESERVED',
    );
    const snap = await admin.request('exec.approvals.node.get', { nodeId: h.nodeId });
    expect(Object.keys(snap).sort()).toEqual(['exists', 'file', 'hash', 'path']);
    // The node wrote its default file on start: the snapshot has a real hash to write against.
    const onDisk = readFileSync(path.join(h.nodeStateDir, 'exec-approvals.json'), 'utf8');
    expect(snap).toMatchObject({
      exists: true,
      hash: createHash('sha256').update(onDisk).digest('hex'),
      path: path.join(h.nodeStateDir, 'exec-approvals.json'),
    });
    expect(snap.file.socket?.path).toBeTruthy();
    expect(snap.file.socket).not.toHaveProperty('token');

    const blind = await rejection(
      admin.request('exec.approvals.node.set', { nodeId: h.nodeId, file: { version: 1, agents: {} } }),
    );
    expect(blind.message).toMatch(/base hash required/);
    expect(readFileSync(path.join(h.nodeStateDir, 'exec-approvals.json'), 'utf8')).toBe(onDisk);

    const set = await admin.request('exec.approvals.node.set', {
      nodeId: h.nodeId,
      file: { version: 1, agents: { '*': { ask: 'always' } } },
      baseHash: snap.hash,
    });
    expect(set.exists).toBe(true);
    expect(set.file.socket).not.toHaveProperty('token');
    expect(
      JSON.parse(readFileSync(path.join(h.nodeStateDir, 'exec-approvals.json'), 'utf8')).socket.token,
    ).toBeTruthy();
    const stale = await rejection(
      admin.request('exec.approvals.node.set', { nodeId: h.nodeId, file: { version: 1, agents: {} }, baseHash: 'old' }),
    );
    expect(stale.message).toMatch(/changed; reload and retry/);
    const ok = await admin.request('exec.approvals.node.set', {
      nodeId: h.nodeId,
      file: { version: 1, agents: {} },
      baseHash: set.hash,
    });
    expect(ok.hash).not.toBe(set.hash);

    // Gateway host file (written with the defaults when the gateway started), admin only.
    const gw = await admin.request('exec.approvals.get', {});
    expect(gw).toMatchObject({
      exists: true,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      path: path.join(h.root, 'gateway-state', 'exec-approvals.json'),
    });
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

    // The node reports exec.started once the child runs: from then on the invoke is in flight on the node.
    const started = new Promise<void>((resolve) => {
      const listener = (name: string, payload: any) => {
        if (name !== 'node.event' || payload?.event !== 'exec.started') return;
        op.off('event', listener);
        resolve();
      };
      op.on('event', listener);
    });
    const long = invoke(op, h.nodeId, 'system.run', { command: ['sleep', '30'] });
    await started;
    await h.node.stop();
    const err = await rejection(long);
    expect(err.error).toMatchObject({ code: 'UNAVAILABLE', details: { code: 'NOT_CONNECTED' } });
  });

  it('a node invoke that gets no answer times out with TIMEOUT, and the gateway tells the node to cancel it', async () => {
    h = await startExecHarness({ exec: { defaultInvokeTimeoutMs: 300 } });
    // A node that never answers (Clawdesk's own node answers a timed-out run before the invoke deadline).
    const mute = createEphemeralDeviceSigner();
    h.exec.approveNodeSilently(mute.deviceId);
    const node = await connectGateway({
      url: h.gateway.url,
      token: TOKEN,
      device: mute,
      clientId: 'node-host',
      clientMode: 'node',
      role: 'node',
      scopes: [],
      platform: 'linux',
      commands: ['system.run', 'system.which'],
    });
    extra.push(() => node.close());
    await waitFor(() => h!.exec.registry.surfaceOf(mute.deviceId).includes('system.which'));
    const seen: Array<{ event: string; payload: any }> = [];
    node.on('event', (event: string, payload: any) => seen.push({ event, payload }));
    const op = await h.operator();
    const err = await rejection(invoke(op, mute.deviceId, 'system.which', { bins: ['sh'] }));
    expect(err.error.details.code).toBe('TIMEOUT');
    const request = seen.find((e) => e.event === 'node.invoke.request')!;
    expect(request.payload.timeoutMs).toBe(300);
    await waitFor(() => seen.some((e) => e.event === 'node.invoke.cancel'));
    expect(seen.find((e) => e.event === 'node.invoke.cancel')!.payload).toEqual({
      id: request.payload.id,
      nodeId: mute.deviceId,
      reason: 'timed out on the gateway after 300 ms',
    });
  });

  it("the node answers a run that outlives the invoke's timeout itself, before the gateway gives up (issue 9 finding 14)", async () => {
    h = await startExecHarness({
      // 3 s leaves the node a 300 ms margin (runCeilingMs) to stop the run and answer: with 400 ms the margin was
      // 40 ms, which a loaded CI machine missed and the gateway's own timeout answered first.
      exec: { defaultInvokeTimeoutMs: 3_000 },
      nodePolicy: { version: 1, agents: { '*': { security: 'full', ask: 'off' } } },
    });
    const op = await h.operator();
    const result = await invoke(op, h.nodeId, 'system.run', { command: ['sleep', '30'] });
    expect(result.payload).toMatchObject({ timedOut: true, success: false });
  });
});

describe('exec-approvals.json on start (the openclaw CLI writes only against a non-empty hash)', () => {
  const approvalsOf = (dir: string) => path.join(dir, 'exec-approvals.json');

  it('the node and the gateway host each write Clawdesk defaults when their file is missing', async () => {
    h = await startExecHarness();
    for (const dir of [h.nodeStateDir, path.join(h.root, 'gateway-state')]) {
      const file = JSON.parse(readFileSync(approvalsOf(dir), 'utf8'));
      expect(file).toMatchObject({
        version: 1,
        defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' },
        agents: {},
      });
      expect(file.socket).toEqual({ path: path.join(dir, 'exec-approvals.sock'), token: expect.any(String) });
      expect(statSync(approvalsOf(dir)).mode & 0o777).toBe(0o600);
    }
    // What `openclaw approvals set --node <id> --stdin` does: get (for the hash), then set with it.
    const admin = await h.operator({ device: null, clientId: 'cli', clientMode: 'cli', scopes: ['operator.admin'] });
    const got = await admin.request('exec.approvals.node.get', { nodeId: h.nodeId });
    expect(got.hash).toMatch(/^[0-9a-f]{64}$/);
    const policy = {
      version: 1,
      defaults: { security: 'allowlist', ask: 'always', askFallback: 'deny' },
      agents: { '*': { allowlist: [{ pattern: '/usr/bin/uname' }] } },
    };
    const set = await admin.request('exec.approvals.node.set', { nodeId: h.nodeId, file: policy, baseHash: got.hash });
    expect(set.file.defaults).toEqual(policy.defaults);
    expect(JSON.parse(readFileSync(approvalsOf(h.nodeStateDir), 'utf8')).agents['*'].allowlist[0].pattern).toBe(
      '/usr/bin/uname',
    );

    const gw = await admin.request('exec.approvals.get', {});
    expect(gw.exists).toBe(true);
    expect(
      (
        await admin.request('exec.approvals.set', {
          file: { version: 1, agents: { '*': { ask: 'always' } } },
          baseHash: gw.hash,
        })
      ).file.agents['*']?.ask,
    ).toBe('always');
  });

  it('keeps a policy that is already there, byte for byte', async () => {
    h = await startExecHarness();
    const stateDir = path.join(h.root, 'configured-state');
    mkdirSync(stateDir, { recursive: true });
    const mine = '{ "version": 1, "defaults": { "security": "full", "ask": "off" }, "agents": {} }\n';
    writeFileSync(approvalsOf(stateDir), mine, { mode: 0o600 });
    await foreignNode(h, stateDir);
    expect(readFileSync(approvalsOf(stateDir), 'utf8')).toBe(mine);
  });

  it('a legacy ~/.openclaw policy is imported before any defaults are written, by the gateway host and the node', async () => {
    h = await startExecHarness();
    const home = path.join(h.root, 'home');
    mkdirSync(path.join(home, '.openclaw'), { recursive: true });
    writeFileSync(
      path.join(home, '.openclaw', 'exec-approvals.json'),
      JSON.stringify({ version: 1, agents: { '*': { security: 'deny' } } }),
    );
    const stateDir = path.join(h.root, 'legacy-state');
    const node = await foreignNode(h, stateDir);
    expect(node.legacyApprovals.kind).toBe('imported');
    const file = JSON.parse(readFileSync(approvalsOf(stateDir), 'utf8'));
    expect(file.agents['*'].security).toBe('deny');
    expect(file.defaults).toBeUndefined();

    // The gateway host does the same on start (it starts before the runner that shares its state dir).
    const gatewayState = path.join(h.root, 'gateway-2');
    const exec = createExecModules({ home });
    const gateway = await startGatewayServer({
      stateDir: gatewayState,
      auth: { mode: 'token', token: TOKEN },
      port: 0,
      modules: exec.modules,
      authFailureDelayMs: 0,
    });
    extra.push(() => gateway.close());
    expect(JSON.parse(readFileSync(approvalsOf(gatewayState), 'utf8')).agents['*'].security).toBe('deny');
  });

  it('a symlink at the path is neither followed nor replaced, and exec is refused', async () => {
    h = await startExecHarness();
    const stateDir = path.join(h.root, 'linked-state');
    mkdirSync(stateDir, { recursive: true });
    const target = path.join(h.root, 'attacker-owned.json');
    symlinkSync(target, approvalsOf(stateDir));
    const logs: string[] = [];
    const node = await startNodeHost({
      url: h.gateway.url,
      token: TOKEN,
      identity: createEphemeralDeviceSigner(),
      stateDir,
      home: path.join(h.root, 'home'),
      reconnect: { initialBackoffMs: 50, maxBackoffMs: 200 },
      log: (level, message) => void logs.push(`${level}: ${message}`),
    });
    extra.push(() => node.stop());
    expect(existsSync(target)).toBe(false);
    expect(lstatSync(approvalsOf(stateDir)).isSymbolicLink()).toBe(true);
    expect(logs.some((l) => l.startsWith('warn:') && l.includes('symbolic link'))).toBe(true);
  });

  it('deleted while running: the next get writes the defaults again; a set with no base hash on a missing file still works', async () => {
    h = await startExecHarness();
    const admin = await h.operator({ scopes: ['operator.admin'] });
    rmSync(approvalsOf(h.nodeStateDir));
    const got = await admin.request('exec.approvals.node.get', { nodeId: h.nodeId });
    expect(got).toMatchObject({ exists: true, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(existsSync(approvalsOf(h.nodeStateDir))).toBe(true);

    rmSync(approvalsOf(h.nodeStateDir));
    const set = await admin.request('exec.approvals.node.set', {
      nodeId: h.nodeId,
      file: { version: 1, agents: { '*': { ask: 'always' } } },
    });
    expect(set.exists).toBe(true);

    const gatewayFile = approvalsOf(path.join(h.root, 'gateway-state'));
    rmSync(gatewayFile);
    const gwSet = await admin.request('exec.approvals.set', {
      file: { version: 1, agents: { '*': { security: 'deny' } } },
    });
    expect(gwSet.file.agents['*']?.security).toBe('deny');
    rmSync(gatewayFile);
    expect((await admin.request('exec.approvals.get', {})).exists).toBe(true);
  });
});

describe('node host reconnects', () => {
  it('comes back after the gateway restarts (1012), and stops on a wrong token', async () => {
    h = await startExecHarness();
    const port = h.gateway.port;
    const exec2 = createExecModules();
    exec2.approveNodeSilently(h.nodeId);
    await h.gateway.close('restart');
    let again!: Awaited<ReturnType<typeof startGatewayServer>>;
    for (let attempt = 0; ; attempt++) {
      try {
        again = await startGatewayServer({
          stateDir: path.join(h.root, 'gateway-state'),
          auth: { mode: 'token', token: TOKEN },
          port,
          modules: exec2.modules,
          authFailureDelayMs: 0,
        });
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
      startNodeHost({
        url: again.url,
        token: 'wrong',
        identity: createEphemeralDeviceSigner(),
        stateDir: path.join(h.root, 'x'),
        home: h.root,
        reconnect: { initialBackoffMs: 20 },
      }),
    );
    expect(wrong.message).toMatch(/token|unauthorized/i);
  });
});

describe('system.which through the gateway', () => {
  it('answers found names only', async () => {
    h = await startExecHarness();
    const op = await h.operator();
    const res = await op.request('node.invoke', {
      nodeId: h.nodeId,
      command: 'system.which',
      params: { bins: ['sh', 'nope-xyz'] },
      idempotencyKey: randomUUID(),
    });
    expect(Object.keys(commandPayload(res).bins)).toEqual(['sh']);
    expect(existsSync(commandPayload(res).bins.sh)).toBe(true);
  });
});
