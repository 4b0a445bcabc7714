import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { approvalsCommand } from '../../gateway/cli/commands/approvals-command';
import { nodePlatform } from '../../gateway/node-host/node-host';
import type { CliIo } from '../../gateway/cli/cli-io';
import {
  agentFlow,
  invoke,
  rejection,
  scriptedApprover,
  startExecHarness,
  TOKEN,
  waitFor,
  type ExecHarness,
} from './exec-harness';
import { commandPayload } from '../helpers/node-payload';

/**
 * Issue 10: the rules a real OpenClaw agent and OpenClaw's gateway need, kept at Clawdesk's gateway.
 * - Visibility: an exec approval is shown (sent, listed, read, resolved) only to operator.admin holders and to its
 *   requester, as OpenClaw 2026.9.6's isApprovalRecordVisibleToClient does; operator.approvals alone sees nothing.
 * - The backend replay rule of `openclaw agent --local`: a device-less gateway-client/backend request replayed as
 *   system.run on a new local backend connection with the same shared secret, carrying a device or (as OpenClaw's
 *   gateway allows) none but holding operator.approvals.
 * - Agent-runtime methods answer with what to do.
 * - `clawdesk approvals` presents the node's device metadata and the approver scopes.
 */

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

const backend = { clientId: 'gateway-client', clientMode: 'backend' } as const;
/** The gateway's detail code (or reason) of a refused request. */
const detail = (error: any): string | undefined => error?.error?.details?.code ?? error?.error?.details?.reason;

describe('who sees an exec approval (OpenClaw visibility rule)', () => {
  it('an approval client with operator.approvals only is never sent, listed or allowed to resolve another client’s request', async () => {
    h = await startExecHarness();
    const approver = scriptedApprover('allow-once');
    await h.approvalClient(approver, { scopes: undefined } as any);
    const narrow = await h.operator({ scopes: ['operator.approvals'], caps: ['exec-approvals'] });
    const narrowEvents: string[] = [];
    narrow.on('event', (name: string) => narrowEvents.push(name));
    const agent = await h.operator({ device: null, ...backend, scopes: ['operator.write', 'operator.approvals'] });
    const flow = await agentFlow(agent, h.nodeId, ['/bin/echo', 'vis'], { cwd: h.work, ask: 'always' });
    // The admin approval client (Clawdesk's, as the app wires it) decided; the narrow one saw nothing.
    expect(flow.approval.decision).toBe('allow-once');
    expect(approver.seen).toHaveLength(1);
    expect(narrowEvents).not.toContain('exec.approval.requested');
  });

  it('with only narrow approvers connected the request has no route; list, get and resolve treat it as unknown', async () => {
    h = await startExecHarness();
    const narrow = await h.operator({ scopes: ['operator.approvals'], caps: ['exec-approvals'] });
    const admin = await h.operator({ scopes: ['operator.admin', 'operator.approvals'] });
    const agent = await h.operator({ device: null, ...backend, scopes: ['operator.write', 'operator.approvals'] });
    const noRoute = await agentFlow(agent, h.nodeId, ['/bin/echo', 'nr'], { cwd: h.work, ask: 'always' });
    expect(noRoute.approval.decision).toBeNull();

    // With an admin approval client connected the request is pending: the narrow client still cannot see it.
    const ui = await h.operator({ scopes: ['operator.admin', 'operator.approvals'], caps: ['exec-approvals'] });
    let id = '';
    ui.on('event', (name: string, payload: any) => name === 'exec.approval.requested' && (id = payload.id));
    const pendingFlow = agentFlow(agent, h.nodeId, ['/bin/echo', 'hidden'], { cwd: h.work, ask: 'always' });
    await waitFor(() => id !== '');
    expect(await narrow.request('exec.approval.list', {})).toEqual([]);
    expect((await admin.request('exec.approval.list', {})).map((a) => a.id)).toEqual([id]);
    expect((await rejection(narrow.request('approval.get', { id }))).message).toContain('approval not found');
    expect(
      (await rejection(narrow.request('approval.resolve', { id, kind: 'exec', decision: 'allow-once' }))).message,
    ).toContain('approval not found');
    expect((await rejection(narrow.request('exec.approval.resolve', { id, decision: 'allow-once' }))).message).toMatch(
      /unknown or expired/,
    );
    await admin.request('exec.approval.resolve', { id, decision: 'deny' });
    expect((await pendingFlow).approval.decision).toBe('deny');
  });
});

describe('the backend replay rule (openclaw agent --local, token mode)', () => {
  async function backendRequest(
    harness: ExecHarness,
    argv: string[],
    decision: 'allow-once' | 'allow-always' = 'allow-once',
  ) {
    const approver = scriptedApprover(decision);
    await harness.approvalClient(approver);
    const requester = await harness.operator({
      device: null,
      ...backend,
      scopes: ['operator.write', 'operator.approvals'],
    });
    // ask "always" offers allow-once only; allow-always needs a policy that may remember.
    const flow = await agentFlow(requester, harness.nodeId, argv, {
      cwd: harness.work,
      ask: decision === 'allow-always' ? 'on-miss' : 'always',
    });
    expect(flow.approval.decision).toBe(decision);
    return { flow, requester };
  }
  const replayParams = (harness: ExecHarness, flow: Awaited<ReturnType<typeof agentFlow>>, argv: string[]) => ({
    command: argv,
    systemRunPlan: flow.plan,
    cwd: harness.work,
    agentId: 'main',
    sessionKey: 'agent:main:s1',
    approved: true,
    approvalDecision: flow.approval.decision,
    runId: flow.approval.id,
  });

  it('runs when replayed on a new backend connection carrying a device, with the same shared token', async () => {
    h = await startExecHarness();
    const argv = ['/bin/echo', 'replayed'];
    const { flow } = await backendRequest(h, argv);
    const agentDevice = await h.operator({
      device: createEphemeralDeviceSigner(),
      ...backend,
      scopes: ['operator.write'],
    });
    const res = await invoke(agentDevice, h.nodeId, 'system.run', replayParams(h, flow, argv));
    const payload = commandPayload(res);
    expect(payload.stdout).toBe('replayed\n');
    // allow-once: once.
    expect(detail(await rejection(invoke(agentDevice, h.nodeId, 'system.run', replayParams(h, flow, argv))))).toBe(
      'APPROVAL_CONSUMED',
    );
  });

  it('runs when replayed device-less on a new backend connection with the same shared token and approvals scope (as the agent replays an ask-fallback)', async () => {
    h = await startExecHarness();
    const argv = ['/bin/echo', 'device-less'];
    const { flow } = await backendRequest(h, argv);
    const writeOnly = await h.operator({ device: null, ...backend, scopes: ['operator.write'] });
    expect(detail(await rejection(invoke(writeOnly, h.nodeId, 'system.run', replayParams(h, flow, argv))))).toBe(
      'APPROVAL_DEVICE_MISMATCH',
    );
    const agentRun = await h.operator({ device: null, ...backend, scopes: ['operator.write', 'operator.approvals'] });
    const res = await invoke(agentRun, h.nodeId, 'system.run', replayParams(h, flow, argv));
    expect(commandPayload(res).stdout).toBe('device-less\n');
    expect(detail(await rejection(invoke(agentRun, h.nodeId, 'system.run', replayParams(h, flow, argv))))).toBe(
      'APPROVAL_CONSUMED',
    );
  });

  it('refuses the replay from a non-backend client, from a device-token session, and from a second device', async () => {
    h = await startExecHarness();
    const argv = ['/bin/echo', 'nope'];
    const { flow } = await backendRequest(h, argv, 'allow-always');
    const asCli = await h.operator({
      device: createEphemeralDeviceSigner(),
      clientId: 'cli',
      clientMode: 'cli',
      scopes: ['operator.write'],
    });
    expect(detail(await rejection(invoke(asCli, h.nodeId, 'system.run', replayParams(h, flow, argv))))).toBe(
      'APPROVAL_DEVICE_MISMATCH',
    );

    const device = createEphemeralDeviceSigner();
    const first = await h.operator({ device, ...backend, scopes: ['operator.write'] });
    const deviceToken = (first as any).hello.auth.deviceToken as string;
    const viaDeviceToken = await h.operator({
      device,
      ...backend,
      token: undefined,
      deviceToken,
      scopes: ['operator.write'],
    });
    expect(detail(await rejection(invoke(viaDeviceToken, h.nodeId, 'system.run', replayParams(h, flow, argv))))).toBe(
      'APPROVAL_DEVICE_MISMATCH',
    );

    // The first backend device to replay pins the approval; another device cannot reuse an allow-always.
    await invoke(first, h.nodeId, 'system.run', replayParams(h, flow, argv));
    const second = await h.operator({ device: createEphemeralDeviceSigner(), ...backend, scopes: ['operator.write'] });
    expect(detail(await rejection(invoke(second, h.nodeId, 'system.run', replayParams(h, flow, argv))))).toBe(
      'APPROVAL_DEVICE_MISMATCH',
    );
  });

  it('the device that resolved the request can neither resolve as its requester nor replay what it decided', async () => {
    h = await startExecHarness();
    const argv = ['/bin/echo', 'self'];
    const resolverDevice = createEphemeralDeviceSigner();
    const requester = await h.operator({ device: null, ...backend, scopes: ['operator.write', 'operator.approvals'] });
    // A device-less connection with the requester's shared token is the requester: it may not resolve.
    const sameCredential = await h.operator({
      device: null,
      ...backend,
      scopes: ['operator.admin', 'operator.approvals'],
      caps: ['exec-approvals'],
    });
    const resolver = await h.operator({
      device: resolverDevice,
      ...backend,
      scopes: ['operator.admin', 'operator.approvals'],
      caps: ['exec-approvals'],
    });
    let id = '';
    resolver.on('event', (name: string, payload: any) => name === 'exec.approval.requested' && (id = payload.id));
    const flowP = agentFlow(requester, h.nodeId, argv, { cwd: h.work, ask: 'always' });
    await waitFor(() => id !== '');
    expect(
      detail(await rejection(sameCredential.request('exec.approval.resolve', { id, decision: 'allow-once' }))),
    ).toBe('APPROVAL_SELF_RESOLVE');
    await resolver.request('exec.approval.resolve', { id, decision: 'allow-once' });
    const flow = await flowP;
    const replay = await h.operator({ device: resolverDevice, ...backend, scopes: ['operator.write'] });
    expect(detail(await rejection(invoke(replay, h.nodeId, 'system.run', replayParams(h, flow, argv))))).toBe(
      'APPROVAL_DEVICE_MISMATCH',
    );
  });

  it('under auth none there is no shared secret to bind the replay to: refused', async () => {
    h = await startExecHarness({ auth: 'none' });
    const argv = ['/bin/echo', 'none'];
    const approver = scriptedApprover('allow-once');
    await h.approvalClient(approver);
    const requester = await h.operator({ device: null, ...backend, scopes: ['operator.write', 'operator.approvals'] });
    const flow = await agentFlow(requester, h.nodeId, argv, { cwd: h.work, ask: 'always' });
    const replay = await h.operator({ device: createEphemeralDeviceSigner(), ...backend, scopes: ['operator.write'] });
    expect(detail(await rejection(invoke(replay, h.nodeId, 'system.run', replayParams(h, flow, argv))))).toBe(
      'APPROVAL_DEVICE_MISMATCH',
    );
  });
});

describe('agent-runtime methods', () => {
  it('`agent` and friends answer with what to do instead of "unknown method"', async () => {
    h = await startExecHarness();
    const cli = await h.operator({ device: null, clientId: 'cli', clientMode: 'cli', scopes: ['operator.write'] });
    for (const method of ['agent', 'agent.wait', 'chat.send']) {
      const error = await rejection(cli.request(method, { message: 'hi', sessionKey: 'agent:main:main' }));
      expect(error.message).toContain('openclaw agent --local');
      expect(error.message).toContain('openclaw gateway run');
      expect(detail(error)).toBe('AGENT_RUNTIME_UNAVAILABLE');
    }
  });
});

describe('clawdesk approvals: one device, one look', () => {
  it('connects with the node’s platform and device family and the scopes OpenClaw requires to see agent approvals', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    const connects: any[] = [];
    wss.on('connection', (ws) => {
      ws.send(JSON.stringify({ type: 'event', event: 'connect.challenge', payload: { nonce: 'n-1', ts: Date.now() } }));
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data));
        if (frame.method === 'connect') {
          connects.push(frame.params);
          ws.send(
            JSON.stringify({
              type: 'res',
              id: frame.id,
              ok: false,
              error: { code: 'INVALID_REQUEST', message: 'recorded' },
            }),
          );
          ws.close(1008, 'recorded');
        }
      });
    });
    await new Promise((r) => wss.once('listening', r));
    const port = (wss.address() as AddressInfo).port;
    const io: CliIo = {
      stdout: () => undefined,
      stderr: () => undefined,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      waitForStopSignal: () => new Promise(() => undefined),
    };
    try {
      await approvalsCommand(['pending', '--url', `ws://127.0.0.1:${port}`, '--token', TOKEN, '--no-device'], io);
    } finally {
      await new Promise((r) => wss.close(r));
    }
    expect(connects.length).toBeGreaterThan(0);
    const node = nodePlatform();
    expect(connects[0].client.platform).toBe(node.platform);
    expect(connects[0].client.deviceFamily).toBe(node.deviceFamily);
    expect(connects[0].scopes).toEqual(expect.arrayContaining(['operator.admin', 'operator.approvals']));
  });
});

describe('runtime tokens (approvalRuntimeToken, agentRuntimeIdentityToken)', () => {
  /** A raw connect with exactly these params (no client library in between). */
  async function rawConnect(
    url: string,
    params: Record<string, unknown>,
  ): Promise<{ ok: boolean; payload?: any; error?: any }> {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(url);
    try {
      return await new Promise((resolve, reject) => {
        ws.on('error', reject);
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data));
          if (frame.event === 'connect.challenge')
            ws.send(JSON.stringify({ type: 'req', id: 'c1', method: 'connect', params }));
          else if (frame.id === 'c1') resolve(frame);
        });
      });
    } finally {
      ws.close();
    }
  }
  const client = (id: string, mode: string) => ({
    id,
    mode,
    version: '2026.9.6',
    platform: 'linux',
    deviceFamily: 'Linux',
  });

  it('are refused from anything but a local shared-secret backend client, and grant nothing there', async () => {
    h = await startExecHarness();
    const forged = {
      approvalRuntimeToken: 'not-issued-by-clawdesk',
      agentRuntimeIdentityToken: 'eyJmb3JnZWQiOnRydWV9.c2ln',
    };
    const asCli = await rawConnect(h.gateway.url, {
      minProtocol: 4,
      maxProtocol: 4,
      client: client('cli', 'cli'),
      role: 'operator',
      scopes: ['operator.read'],
      auth: { token: TOKEN, ...forged },
    });
    expect(asCli.ok).toBe(false);
    expect(asCli.error.details.code).toBe('RUNTIME_TOKEN_UNTRUSTED_CLIENT');
    const asBackend = await rawConnect(h.gateway.url, {
      minProtocol: 4,
      maxProtocol: 4,
      client: client('gateway-client', 'backend'),
      role: 'operator',
      scopes: ['operator.approvals'],
      auth: { token: TOKEN, ...forged },
    });
    expect(asBackend.ok).toBe(true);
    // Exactly the scopes asked for: the tokens add no admin, no approval-runtime visibility.
    expect(asBackend.payload.auth.scopes).toEqual(['operator.approvals']);
  });
});
