import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewaySession } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { nextEvent } from '../helpers/gateway-fixture';
import { agentFlow, rejection, startExecHarness, waitFor, type AgentRun, type ExecHarness } from './exec-harness';

/**
 * What `openclaw approvals pending` and `openclaw approvals resolve` call (interop notes §1, §6): the three
 * `*.approval.list` methods, and the kind-agnostic `approval.get` / `approval.resolve`.
 */

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

const touch = (file: string) => ['/bin/sh', '-lc', `touch ${file}`];

/** The real CLI: device-less on loopback, client `cli`, the scopes it asks for `approvals resolve`. */
const cliLike = (harness: ExecHarness) =>
  harness.operator({
    device: null,
    clientId: 'cli',
    clientMode: 'cli',
    scopes: ['operator.admin', 'operator.approvals'],
  });

/**
 * An agent that signs in with its own device token rather than the shared token: a device-less resolver holding the
 * shared token is then a different credential, so the CLI-like resolver may decide for it (issue 9 finding 4).
 */
async function deviceTokenAgent(
  harness: ExecHarness,
  scopes = ['operator.write', 'operator.approvals'],
): Promise<GatewaySession> {
  const device = createEphemeralDeviceSigner();
  const first = await harness.operator({ device, scopes });
  const deviceToken: string = (first as any).hello.auth.deviceToken;
  expect(deviceToken).toEqual(expect.any(String));
  await first.close();
  const agent = await harness.operator({ device, scopes, token: undefined, deviceToken });
  expect((agent as any).hello.auth.method).toBe('device-token');
  return agent;
}

interface Pending {
  id: string;
  /** Settles when someone decides (the agent's two-phase request gets its final answer). */
  flow: Promise<AgentRun>;
}

/** Files an exec approval from `agent` and returns its id once the approval client `watcher` has been sent it. */
async function fileApproval(
  harness: ExecHarness,
  agent: GatewaySession,
  watcher: GatewaySession,
  file: string,
  o: { timeoutMs?: number; ask?: string } = {},
): Promise<Pending> {
  const requested = nextEvent(watcher, 'exec.approval.requested', 10_000);
  const flow = agentFlow(agent, harness.nodeId, touch(file), { cwd: harness.work, ...o });
  flow.catch(() => undefined);
  const event = await requested;
  return { id: event.id, flow };
}

describe('the approval lists `openclaw approvals pending` calls', () => {
  it('are advertised and answer bare arrays to an admin-only operator; plugin and openclaw approvals are empty', async () => {
    h = await startExecHarness();
    const admin = await h.operator({ device: null, clientId: 'cli', clientMode: 'cli', scopes: ['operator.admin'] });
    const methods: string[] = (admin as any).hello.features.methods;
    expect(methods).toEqual(
      expect.arrayContaining([
        'exec.approval.list',
        'plugin.approval.list',
        'openclaw.approval.list',
        'approval.get',
        'approval.resolve',
      ]),
    );

    const [exec, plugin, openclaw] = await Promise.all([
      admin.request('exec.approval.list', {}),
      admin.request('plugin.approval.list', {}),
      admin.request('openclaw.approval.list', {}),
    ]);
    expect(exec).toEqual([]);
    expect(plugin).toEqual([]);
    expect(openclaw).toEqual([]);

    const writer = await h.operator({ scopes: ['operator.write'] });
    for (const method of ['plugin.approval.list', 'openclaw.approval.list', 'approval.get', 'approval.resolve']) {
      const err = await rejection(writer.request(method, { id: 'x', kind: 'exec', decision: 'deny' }));
      expect(err.error.details.code, method).toBe('MISSING_SCOPE');
    }
  });
});

describe('approval.get and approval.resolve (`openclaw approvals resolve <id> <decision>`)', () => {
  it('resolves a pending exec approval like exec.approval.resolve: final answer, broadcast, consumed once', async () => {
    h = await startExecHarness();
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const agent = await deviceTokenAgent(h);
    const cli = await cliLike(h);
    const pending = await fileApproval(h, agent, watcher, 'r1');

    const got = await cli.request('approval.get', { id: pending.id });
    expect(got.approval).toMatchObject({
      id: pending.id,
      status: 'pending',
      // The text computed from the argv that runs; the agent's own text only as its description (issue 9 finding 3).
      presentation: {
        kind: 'exec',
        commandText: expect.stringMatching(/ -lc 'touch r1'$/),
        agentCommandText: 'touch r1',
        host: 'node',
        nodeId: h.nodeId,
        agentId: 'main',
        allowedDecisions: ['allow-once', 'allow-always', 'deny'],
      },
    });
    expect(typeof got.approval.createdAtMs).toBe('number');
    expect(got.approval.expiresAtMs).toBeGreaterThan(got.approval.createdAtMs);
    expect(got.approval.decision).toBeUndefined();

    const resolved = nextEvent(watcher, 'exec.approval.resolved', 5_000);
    const res = await cli.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'allow-once' });
    expect(res).toMatchObject({
      applied: true,
      approval: {
        id: pending.id,
        status: 'allowed',
        decision: 'allow-once',
        resolver: { kind: 'runtime', id: 'cli' },
        source: { agentId: 'main', sessionKey: 'agent:main:s1' },
      },
    });
    expect(typeof res.approval.resolvedAtMs).toBe('number');
    expect(await resolved).toMatchObject({ id: pending.id, decision: 'allow-once', resolvedBy: 'cli' });

    const flow = await pending.flow;
    expect(flow.approval).toMatchObject({ id: pending.id, decision: 'allow-once' });
    expect((await flow.run()).payload).toMatchObject({ exitCode: 0, success: true });
    expect(existsSync(path.join(h.work, 'r1'))).toBe(true);
    expect((await rejection(flow.run())).error.details.code).toBe('APPROVAL_CONSUMED');

    // Still readable after the decision, with its outcome.
    expect((await cli.request('approval.get', { id: pending.id })).approval).toMatchObject({
      status: 'allowed',
      decision: 'allow-once',
      resolver: { kind: 'runtime', id: 'cli' },
    });
    // No longer pending: not listed.
    expect(await cli.request('exec.approval.list', {})).toEqual([]);
  });

  it('a device-backed resolver is named by its device; a deny is reported as denied and nothing runs', async () => {
    h = await startExecHarness();
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const agent = await h.operator();
    const reviewer = await h.operator({ scopes: ['operator.admin', 'operator.approvals'] });
    const pending = await fileApproval(h, agent, watcher, 'd1');
    const res = await reviewer.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'deny' });
    expect(res.applied).toBe(true);
    expect(res.approval).toMatchObject({
      status: 'denied',
      decision: 'deny',
      resolver: { kind: 'device', id: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    const flow = await pending.flow;
    expect(flow.approval.decision).toBe('deny');
    expect((await rejection(flow.run())).error.details.code).toBe('APPROVAL_REQUIRED');
    expect(existsSync(path.join(h.work, 'd1'))).toBe(false);
  });

  it('an unknown id is "approval not found" for both; prefixes are not ids here', async () => {
    h = await startExecHarness();
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const agent = await deviceTokenAgent(h);
    const cli = await cliLike(h);
    const pending = await fileApproval(h, agent, watcher, 'u1');

    for (const id of ['no-such-approval', pending.id.slice(0, 8)]) {
      const get = await rejection(cli.request('approval.get', { id }));
      expect(get.error).toMatchObject({ code: 'INVALID_REQUEST', details: { reason: 'APPROVAL_NOT_FOUND' } });
      expect(get.message).toContain('approval not found');
      const resolve = await rejection(cli.request('approval.resolve', { id, kind: 'exec', decision: 'allow-once' }));
      expect(resolve.message).toContain('approval not found');
    }
    expect((await cli.request('approval.get', { id: pending.id })).approval.status).toBe('pending');
  });

  it('refuses an unknown kind, a decision the approval does not offer, and the requester itself, deciding nothing', async () => {
    h = await startExecHarness({ nodePolicy: { version: 1, agents: { '*': { security: 'full', ask: 'always' } } } });
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const agent = await deviceTokenAgent(h, ['operator.write', 'operator.admin']);
    const cli = await cliLike(h);
    const pending = await fileApproval(h, agent, watcher, 'k1', { ask: 'always' });

    const kind = await rejection(
      cli.request('approval.resolve', { id: pending.id, kind: 'plugin', decision: 'allow-once' }),
    );
    expect(kind.error.code).toBe('INVALID_REQUEST');
    expect(kind.message).toMatch(/kind/);
    const missingKind = await rejection(cli.request('approval.resolve', { id: pending.id, decision: 'allow-once' }));
    expect(missingKind.error.code).toBe('INVALID_REQUEST');

    const always = await rejection(
      cli.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'allow-always' }),
    );
    expect(always.error.details.reason).toBe('APPROVAL_ALLOW_ALWAYS_UNAVAILABLE');

    const self = await rejection(
      agent.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'allow-once' }),
    );
    expect(self.error.details.reason).toBe('APPROVAL_SELF_RESOLVE');

    expect((await cli.request('approval.get', { id: pending.id })).approval.status).toBe('pending');
    expect(await cli.request('exec.approval.list', {})).toHaveLength(1);

    await cli.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'allow-once' });
    expect((await pending.flow).approval.decision).toBe('allow-once');
  });

  it('an already-resolved approval: the same decision is applied:false, another one is an error, and nothing changes', async () => {
    h = await startExecHarness();
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const agent = await deviceTokenAgent(h);
    const cli = await cliLike(h);
    const pending = await fileApproval(h, agent, watcher, 'a1');
    // Decided through the older method: approval.* sees the same record.
    await watcher.request('exec.approval.resolve', { id: pending.id, decision: 'deny' });
    expect((await pending.flow).approval.decision).toBe('deny');

    const events: string[] = [];
    watcher.on('event', (name: string) => events.push(name));
    const again = await cli.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'deny' });
    expect(again).toMatchObject({ applied: false, approval: { id: pending.id, status: 'denied', decision: 'deny' } });

    const other = await rejection(
      cli.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'allow-once' }),
    );
    expect(other.error).toMatchObject({
      code: 'INVALID_REQUEST',
      details: { reason: 'APPROVAL_ALREADY_RESOLVED', decision: 'deny' },
    });
    expect(other.message).toContain('already resolved with deny');

    expect((await cli.request('approval.get', { id: pending.id })).approval).toMatchObject({
      status: 'denied',
      decision: 'deny',
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(events).not.toContain('exec.approval.resolved');
  });

  it('an approval nobody answered in time reads as expired and cannot be resolved afterwards', async () => {
    h = await startExecHarness();
    const watcher = await h.operator({ scopes: ['operator.admin'], caps: ['exec-approvals'] });
    const agent = await deviceTokenAgent(h);
    const cli = await cliLike(h);
    const pending = await fileApproval(h, agent, watcher, 'e1', { timeoutMs: 300 });
    const flow = await pending.flow;
    expect(flow.approval).toMatchObject({
      decision: null,
      terminalReason: 'timeout',
      askFallback: 'deny',
      fallbackDecision: 'deny',
    });
    await waitFor(async () => (await cli.request('approval.get', { id: pending.id })).approval.status === 'expired');
    const late = await rejection(
      cli.request('approval.resolve', { id: pending.id, kind: 'exec', decision: 'allow-once' }),
    );
    expect(late.error.details.reason).toBe('APPROVAL_EXPIRED');
    expect((await rejection(flow.run())).error.details.code).toBe('APPROVAL_EXPIRED');
    expect(existsSync(path.join(h.work, 'e1'))).toBe(false);
  });
});
