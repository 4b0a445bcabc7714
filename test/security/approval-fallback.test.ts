import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewaySession } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { nextEvent } from '../helpers/gateway-fixture';
import {
  agentFlow,
  invoke,
  rejection,
  scriptedApprover,
  startExecHarness,
  type ExecHarness,
} from '../approvals/exec-harness';

/**
 * Issue 9 finding 4: with no approval client connected the request came back `deliveryRoute: "none"`, then the
 * requester called system.run with `approved: true, approvalDecision: "allow-once"` and it ran; and a second
 * connection with the same token resolved the first connection's request (the check compared connection ids).
 * Each case below ran or resolved on that code.
 */

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

const touch = (file: string) => ['/bin/sh', '-lc', `touch ${file}`];

/** The agent's system.run replay claiming a decision of its own choosing. */
function claimRun(
  agent: GatewaySession,
  harness: ExecHarness,
  flow: { plan: any; approval: any },
  argv: string[],
  decision: string,
) {
  return invoke(agent, harness.nodeId, 'system.run', {
    command: argv,
    systemRunPlan: flow.plan,
    cwd: harness.work,
    agentId: 'main',
    sessionKey: 'agent:main:s1',
    approved: true,
    approvalDecision: decision,
    runId: flow.approval.id,
  });
}

/** Files a request that an approval client `watcher` is sent, and returns its id. */
async function filed(harness: ExecHarness, agent: GatewaySession, watcher: GatewaySession, file: string) {
  const requested = nextEvent(watcher, 'exec.approval.requested', 10_000);
  const flow = agentFlow(agent, harness.nodeId, touch(file), { cwd: harness.work });
  flow.catch(() => undefined);
  return { id: (await requested).id as string, flow };
}

describe('askFallback is applied by the gateway; a requester never supplies its own decision', () => {
  it('no approval route: the requester claiming allow-once (or allow-always) is refused with askFallback=deny named, and nothing runs', async () => {
    h = await startExecHarness();
    const agent = await h.operator({ scopes: ['operator.write', 'operator.approvals'] });
    const flow = await agentFlow(agent, h.nodeId, touch('nr1'), { cwd: h.work });
    expect(flow.approval).toMatchObject({
      decision: null,
      terminalReason: 'no-approval-route',
      askFallback: 'deny',
      fallbackDecision: 'deny',
    });
    for (const decision of ['allow-once', 'allow-always']) {
      const err = await rejection(claimRun(agent, h, flow, touch('nr1'), decision));
      expect(err.error).toMatchObject({ code: 'INVALID_REQUEST', details: { code: 'APPROVAL_REQUIRED' } });
      expect(err.message).toBe('approval required: nobody decided, and askFallback=deny denies the run');
    }
    expect(existsSync(path.join(h.work, 'nr1'))).toBe(false);
  });

  it("the requester's own askFallback claim cannot loosen the gateway's (default deny)", async () => {
    h = await startExecHarness();
    const agent = await h.operator();
    const answer = await agent.request('exec.approval.request', {
      command: 'touch nr2',
      commandArgv: touch('nr2'),
      host: 'gateway',
      askFallback: 'full',
      systemRunPlan: { argv: touch('nr2'), policySnapshot: { askFallback: 'full' } },
    });
    expect(answer).toMatchObject({ decision: null, askFallback: 'deny', fallbackDecision: 'deny' });
  });

  it('with the gateway configured to askFallback=full, an unanswered request runs exactly once as allow-once, whatever the requester claims', async () => {
    h = await startExecHarness({ exec: { askFallbackCeiling: 'full' } });
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('nr3'), { cwd: h.work });
    // The requester states no askFallback: it is taken as deny (fail closed), even under a looser ceiling.
    expect(flow.approval).toMatchObject({ decision: null, askFallback: 'deny', fallbackDecision: 'deny' });
    expect((await rejection(claimRun(agent, h, flow, touch('nr3'), 'allow-once'))).error.details.code).toBe(
      'APPROVAL_REQUIRED',
    );

    const stated = await agent.request('exec.approval.request', {
      command: 'x',
      commandArgv: touch('nr3'),
      systemRunPlan: { argv: touch('nr3'), cwd: h.work, agentId: 'main', sessionKey: 'agent:main:s1' },
      nodeId: h.nodeId,
      host: 'node',
      cwd: h.work,
      agentId: 'main',
      sessionKey: 'agent:main:s1',
      askFallback: 'full',
    });
    expect(stated).toMatchObject({ decision: null, askFallback: 'full', fallbackDecision: 'allow-once' });
    const replay = {
      plan: { argv: touch('nr3'), cwd: h.work, agentId: 'main', sessionKey: 'agent:main:s1' },
      approval: stated,
    };
    // The decision is the gateway's: a claimed allow-always is run as the fallback's allow-once, and only once.
    const ran = await claimRun(agent, h, replay, touch('nr3'), 'allow-always');
    expect(ran.payload).toMatchObject({ exitCode: 0, success: true });
    expect((await rejection(claimRun(agent, h, replay, touch('nr3'), 'allow-once'))).error.details.code).toBe(
      'APPROVAL_CONSUMED',
    );
  });
});

describe('a request cannot be resolved by its requester, judged by device and by credential', () => {
  it('a second device-less connection with the same token cannot resolve a device-less requester’s request', async () => {
    h = await startExecHarness();
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const agent = await h.operator({ device: null, clientId: 'gateway-client', clientMode: 'backend' });
    const pending = await filed(h, agent, watcher, 'sr1');
    const twin = await h.operator({ device: null, scopes: ['operator.admin', 'operator.approvals'] });
    for (const [method, params] of [
      ['exec.approval.resolve', { id: pending.id, decision: 'allow-once' }],
      ['approval.resolve', { id: pending.id, kind: 'exec', decision: 'allow-once' }],
    ] as const) {
      const err = await rejection(twin.request(method, params));
      expect(err.error).toMatchObject({
        code: 'INVALID_REQUEST',
        details: { reason: 'APPROVAL_SELF_RESOLVE', match: 'credential' },
      });
      expect(err.message).toContain('authenticated with the same shared gateway token as the requester');
    }
    expect(h.exec.approvals.find(pending.id)?.status).toBe('pending');
    // Someone with a device of its own decides.
    await watcher.request('exec.approval.resolve', { id: pending.id, decision: 'deny' });
    expect((await pending.flow).approval.decision).toBe('deny');
  });

  it('a device-less connection with the shared token cannot resolve for a requester that also authenticated with it (with a device); it may for one that used its own device token', async () => {
    h = await startExecHarness();
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const agent = await h.operator();
    const pending = await filed(h, agent, watcher, 'sr2');
    const deviceLess = await h.operator({ device: null, scopes: ['operator.approvals'] });
    const err = await rejection(
      deviceLess.request('exec.approval.resolve', { id: pending.id, decision: 'allow-once' }),
    );
    expect(err.error.details).toMatchObject({ reason: 'APPROVAL_SELF_RESOLVE', match: 'credential' });
    expect(h.exec.approvals.find(pending.id)?.status).toBe('pending');

    // When the requester signed in with its own device token instead, a device-less CLI is another credential.
    const device = createEphemeralDeviceSigner();
    const first = await h.operator({ device });
    const deviceToken = (first as any).hello.auth.deviceToken as string;
    await first.close();
    const tokenAgent = await h.operator({ device, token: undefined, deviceToken });
    const own = await filed(h, tokenAgent, watcher, 'sr5');
    const cli = await h.operator({
      device: null,
      clientId: 'cli',
      clientMode: 'cli',
      scopes: ['operator.admin', 'operator.approvals'],
    });
    const res = await cli.request('approval.resolve', { id: own.id, kind: 'exec', decision: 'allow-once' });
    expect(res).toMatchObject({
      applied: true,
      approval: { status: 'allowed', resolver: { kind: 'runtime', id: 'cli' } },
    });
    expect((await (await own.flow).run()).payload.success).toBe(true);
  });

  it('the requester’s device on another connection cannot resolve it either', async () => {
    h = await startExecHarness();
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const device = createEphemeralDeviceSigner();
    const agent = await h.operator({ device });
    const pending = await filed(h, agent, watcher, 'sr3');
    const again = await h.operator({ device, scopes: ['operator.approvals'] });
    const err = await rejection(
      again.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'allow-once' }),
    );
    expect(err.error.details).toMatchObject({ reason: 'APPROVAL_SELF_RESOLVE', match: 'device' });
    expect(err.message).toBe('an approval cannot be resolved by the device that requested it');
    expect(h.exec.approvals.find(pending.id)?.status).toBe('pending');
  });

  it('an approval client sharing the requester’s identity is not asked: askFallback decides at once', async () => {
    h = await startExecHarness();
    const device = createEphemeralDeviceSigner();
    const agent = await h.operator({ device });
    const approver = scriptedApprover('allow-once');
    await h.approvalClient(approver, { identity: device });
    const flow = await agentFlow(agent, h.nodeId, touch('sr4'), { cwd: h.work });
    expect(flow.approval).toMatchObject({
      decision: null,
      terminalReason: 'no-approval-route',
      fallbackDecision: 'deny',
    });
    expect(approver.seen).toHaveLength(0);
    expect(existsSync(path.join(h.work, 'sr4'))).toBe(false);
  });
});
