import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nextEvent } from '../helpers/gateway-fixture';
import {
  agentFlow,
  invoke,
  rejection,
  scriptedApprover,
  startExecHarness,
  waitFor,
  type ExecHarness,
} from './exec-harness';
import { commandPayload } from '../helpers/node-payload';

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

const touch = (file: string) => ['/bin/sh', '-lc', `touch ${file}`];

describe('the agent flow end to end (prepare → approval → system.run)', () => {
  it('allow-once runs exactly once, and the requester never sees its own request', async () => {
    h = await startExecHarness();
    const approver = scriptedApprover('allow-once');
    await h.approvalClient(approver);
    const agent = await h.operator();
    const seenByAgent: string[] = [];
    agent.on('event', (name: string) => seenByAgent.push(name));

    const flow = await agentFlow(agent, h.nodeId, touch('once'), { rawCommand: 'touch once', cwd: h.work });
    expect(flow.interim).toMatchObject({ status: 'accepted', id: flow.approval.id, deliveryRoute: 'approval-client' });
    expect(flow.approval).toMatchObject({ decision: 'allow-once' });
    // The text shown is computed from the argv that will run; the agent's own text is only its description.
    expect(approver.seen[0].request).toMatchObject({
      command: `${flow.plan.argv[0]} -lc 'touch once'`,
      agentCommandText: 'touch once',
      resolvedPath: flow.plan.argv[0],
      nodeId: h.nodeId,
      host: 'node',
      allowedDecisions: ['allow-once', 'allow-always', 'deny'],
    });
    expect(approver.seen[0].request.systemRunBinding.argv).toEqual(flow.plan.argv);

    const res = await flow.run();
    expect(res.payload).toMatchObject({ exitCode: 0, success: true, timedOut: false, error: null });
    expect(existsSync(path.join(h.work, 'once'))).toBe(true);
    expect(seenByAgent).not.toContain('exec.approval.requested');

    const again = await rejection(flow.run());
    expect(again.error.details.code).toBe('APPROVAL_CONSUMED');
  });

  it('allow-always persists the pattern; the next identical run needs no prompt', async () => {
    h = await startExecHarness();
    const approver = scriptedApprover('allow-always');
    await h.approvalClient(approver);
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('a1'), { rawCommand: 'touch a1', cwd: h.work });
    expect(flow.approval.decision).toBe('allow-always');
    expect((await flow.run()).payload.success).toBe(true);

    const file = JSON.parse(readFileSync(path.join(h.nodeStateDir, 'exec-approvals.json'), 'utf8'));
    const patterns = file.agents.main.allowlist.map((e: any) => e.pattern);
    expect(patterns).toEqual([expect.stringMatching(/\/touch$/)]);

    // Same command again: the node's own policy lets it through without any approval.
    const prep = await invoke(agent, h.nodeId, 'system.run.prepare', {
      command: touch('a1'),
      agentId: 'main',
      sessionKey: 'agent:main:s1',
      cwd: h.work,
    });
    expect(commandPayload(prep).execPolicy.requiresApproval).toBe(false);
    const plain = await invoke(agent, h.nodeId, 'system.run', {
      command: touch('a1'),
      cwd: h.work,
      agentId: 'main',
      sessionKey: 'agent:main:s1',
    });
    expect(commandPayload(plain).success).toBe(true);
    expect(approver.seen).toHaveLength(1);
  });

  it('"Always allow" on bash -lc does not allowlist bash', async () => {
    h = await startExecHarness();
    await h.approvalClient(scriptedApprover('allow-always'));
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, ['bash', '-lc', 'touch b1'], { rawCommand: 'touch b1', cwd: h.work });
    await flow.run();
    const file = JSON.parse(readFileSync(path.join(h.nodeStateDir, 'exec-approvals.json'), 'utf8'));
    const patterns: string[] = file.agents.main.allowlist.map((e: any) => e.pattern);
    expect(patterns.some((p) => /bash$|\/sh$/.test(p))).toBe(false);
    // The program inside was allowed, the shell was not: other programs under bash still ask.
    const other = await rejection(
      invoke(agent, h.nodeId, 'system.run', { command: ['bash', '-lc', 'mkdir b2'], cwd: h.work, agentId: 'main' }),
    );
    expect(other.message).toBe('SYSTEM_RUN_DENIED: approval required');
    const script = await rejection(
      invoke(agent, h.nodeId, 'system.run', {
        command: ['bash', '-c', 'touch b3; mkdir b4'],
        cwd: h.work,
        agentId: 'main',
      }),
    );
    expect(script.message).toBe('SYSTEM_RUN_DENIED: approval required');
    expect(existsSync(path.join(h.work, 'b2')) || existsSync(path.join(h.work, 'b3'))).toBe(false);
  });

  it('deny: the approved call is refused with APPROVAL_REQUIRED and nothing runs', async () => {
    h = await startExecHarness();
    await h.approvalClient(scriptedApprover('deny'));
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('d1'), { cwd: h.work });
    expect(flow.approval.decision).toBe('deny');
    const err = await rejection(flow.run());
    expect(err.error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'approval required',
      details: { code: 'APPROVAL_REQUIRED' },
    });
    // Without the approval fields the node's own policy asks, and refuses.
    const raw = await rejection(invoke(agent, h.nodeId, 'system.run', { command: touch('d1'), cwd: h.work }));
    expect(raw.message).toBe('SYSTEM_RUN_DENIED: approval required');
    expect(existsSync(path.join(h.work, 'd1'))).toBe(false);
  });

  it('no answer in time: askFallback decides (deny by default, allow-once under full), never a silent allow', async () => {
    h = await startExecHarness();
    const slow = await h.approvalClient(scriptedApprover('never'), { promptTimeoutMs: 200 });
    const agent = await h.operator();
    const denied = await agentFlow(agent, h.nodeId, touch('f1'), { cwd: h.work });
    expect(denied.approval.decision).toBe('deny');
    await slow.stop();

    await h.approvalClient(scriptedApprover('never'), { promptTimeoutMs: 200, askFallback: () => 'full' });
    const allowed = await agentFlow(agent, h.nodeId, touch('f2'), { cwd: h.work });
    expect(allowed.approval.decision).toBe('allow-once');
    expect((await allowed.run()).payload.success).toBe(true);
    expect(existsSync(path.join(h.work, 'f1'))).toBe(false);
  });

  it("askFallback=allowlist: nothing is resolved; the requester's ask-fallback replay runs what the node's allowlist covers, once", async () => {
    const touchBin = realpathSync('/usr/bin/touch');
    h = await startExecHarness({
      nodePolicy: {
        version: 1,
        agents: {
          main: { security: 'allowlist', ask: 'always', askFallback: 'allowlist', allowlist: [{ pattern: touchBin }] },
        },
      },
    });
    const outcomes: unknown[] = [];
    await h.approvalClient(scriptedApprover('never'), {
      promptTimeoutMs: 100,
      askFallback: () => 'allowlist',
      onOutcome: (o) => outcomes.push(o),
    });
    const agent = await h.operator();
    // ask=always: even a covered command is asked about; nobody answers, so the request expires undecided.
    const hit = await agentFlow(agent, h.nodeId, [touchBin, 'hit'], { cwd: h.work, ask: 'always', timeoutMs: 1500 });
    expect(hit.approval).toMatchObject({ decision: null, terminalReason: 'timeout' });
    expect(outcomes).toEqual([{ id: hit.approval.id, decision: null, source: 'fallback', fallback: 'allowlist' }]);
    // An approval claim is refused (nobody approved); the ask-fallback replay goes to the node, which decides.
    expect((await rejection(hit.run())).error.details.code).toBe('APPROVAL_EXPIRED');
    expect((await hit.fallbackRun()).payload).toMatchObject({ exitCode: 0, success: true });
    expect(existsSync(path.join(h.work, 'hit'))).toBe(true);
    expect((await rejection(hit.fallbackRun())).error.details.code).toBe('APPROVAL_CONSUMED');

    const miss = await agentFlow(agent, h.nodeId, ['/bin/mkdir', 'miss'], {
      cwd: h.work,
      ask: 'always',
      timeoutMs: 1500,
    });
    expect(miss.approval).toMatchObject({ decision: null, terminalReason: 'timeout' });
    const refused = await rejection(miss.fallbackRun());
    expect(refused.message).toMatch(
      /^SYSTEM_RUN_DENIED: nobody answered the approval, and askFallback=allowlist does not cover/,
    );
    expect(existsSync(path.join(h.work, 'miss'))).toBe(false);
  });

  it('an approver that cannot present falls back at once', async () => {
    h = await startExecHarness();
    await h.approvalClient(scriptedApprover(null));
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('n1'), { cwd: h.work });
    expect(flow.approval.decision).toBe('deny');
  });

  it('expiry with nobody answering gives decision null, and the gateway names its askFallback (deny)', async () => {
    h = await startExecHarness();
    // An approval client that sees the request and never answers.
    const silent = await h.operator({ scopes: ['operator.admin', 'operator.approvals'], caps: ['exec-approvals'] });
    const seen = nextEvent(silent, 'exec.approval.requested');
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('x1'), { cwd: h.work, timeoutMs: 300 });
    expect((await seen).id).toBe(flow.approval.id);
    expect(flow.approval).toMatchObject({
      decision: null,
      terminalReason: 'timeout',
      askFallback: 'deny',
      fallbackDecision: 'deny',
    });
    expect((await rejection(flow.run())).error.details.code).toBe('APPROVAL_EXPIRED');
  });

  it("a gateway's approval timeout caps what the requester asks for (OpenClaw's agent asks 30 min)", async () => {
    h = await startExecHarness({ exec: { maxTimeoutMs: 400 } });
    await h.operator({ scopes: ['operator.admin', 'operator.approvals'], caps: ['exec-approvals'] });
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('cap'), { cwd: h.work, timeoutMs: 30 * 60_000 });
    expect(flow.approval).toMatchObject({ decision: null, terminalReason: 'timeout' });
    expect(flow.approval.expiresAtMs - flow.approval.createdAtMs).toBe(400);
  });

  it('with no approval client connected the request answers decision null at once', async () => {
    h = await startExecHarness();
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('z1'), { cwd: h.work });
    expect(flow.interim).toBeUndefined();
    expect(flow.approval).toMatchObject({
      decision: null,
      terminalReason: 'no-approval-route',
      askFallback: 'deny',
      fallbackDecision: 'deny',
    });
    // The requester cannot supply the decision itself (issue 9 finding 4): askFallback=deny stands.
    const err = await rejection(flow.run());
    expect(err.error).toMatchObject({ code: 'INVALID_REQUEST', details: { code: 'APPROVAL_REQUIRED' } });
    expect(err.message).toContain('askFallback=deny');
    expect(existsSync(path.join(h.work, 'z1'))).toBe(false);
  });

  it('an operator without the exec-approvals cap is not an approval client', async () => {
    h = await startExecHarness();
    const bystander = await h.operator({ scopes: ['operator.approvals'] });
    const events: string[] = [];
    bystander.on('event', (n: string) => events.push(n));
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('c1'), { cwd: h.work });
    expect(flow.approval.decision).toBeNull();
    expect(events).not.toContain('exec.approval.requested');
  });
});

describe('ask: always on a loopback gateway (the seed report)', () => {
  for (const auth of ['token', 'none'] as const) {
    it(`works end to end in ${auth} mode with a device-less CLI-style agent; a device-less approver sharing its credential is never asked (issue 9 finding 4)`, async () => {
      h = await startExecHarness({
        auth,
        nodePolicy: { version: 1, agents: { '*': { security: 'full', ask: 'always' } } },
      });
      // The real CLI connects without a device on loopback (docs/protocol.md § Auth modes).
      const agent = await h.operator({
        device: null,
        clientId: 'cli',
        clientMode: 'cli',
        scopes: ['operator.write', 'operator.approvals'],
      });
      const raw = await rejection(invoke(agent, h.nodeId, 'system.run', { command: touch('s1'), cwd: h.work }));
      expect(raw.message).toBe('SYSTEM_RUN_DENIED: approval required');
      // A device-less approver with the same credential cannot be told apart from the agent: it is not asked, and
      // askFallback (deny) decides at once.
      const sameCredential = scriptedApprover('allow-once');
      const blind = await h.approvalClient(sameCredential, { identity: undefined, clientId: 'cli', clientMode: 'cli' });
      const unrouted = await agentFlow(agent, h.nodeId, touch('s1'), { cwd: h.work, ask: 'always', security: 'full' });
      expect(unrouted.approval).toMatchObject({
        decision: null,
        terminalReason: 'no-approval-route',
        askFallback: 'deny',
        fallbackDecision: 'deny',
      });
      expect(sameCredential.seen).toHaveLength(0);
      expect((await rejection(unrouted.run())).error.details.code).toBe('APPROVAL_REQUIRED');
      await blind.stop();
      // An approver with its own device (the tray, `clawdesk approvals watch`) decides.
      await h.approvalClient(scriptedApprover('allow-once'), { clientId: 'cli', clientMode: 'cli' });
      const flow = await agentFlow(agent, h.nodeId, touch('s1'), { cwd: h.work, ask: 'always', security: 'full' });
      expect(flow.approval.decision).toBe('allow-once');
      expect((await flow.run()).payload.success).toBe(true);
      expect(existsSync(path.join(h.work, 's1'))).toBe(true);
    });
  }

  it('offers no allow-always while ask=always', async () => {
    h = await startExecHarness({ nodePolicy: { version: 1, agents: { '*': { security: 'full', ask: 'always' } } } });
    const approver = scriptedApprover('never');
    await h.approvalClient(approver, { promptTimeoutMs: 60_000 });
    const agent = await h.operator();
    const resolver = await h.operator({ scopes: ['operator.admin', 'operator.approvals'] });
    const pending = agentFlow(agent, h.nodeId, touch('aa'), { cwd: h.work, ask: 'always' });
    await waitFor(() => approver.seen.length === 1);
    const id = approver.seen[0].id;
    expect(approver.seen[0].request.allowedDecisions).toEqual(['allow-once', 'deny']);
    const err = await rejection(resolver.request('exec.approval.resolve', { id, decision: 'allow-always' }));
    expect(err.error.details.reason).toBe('APPROVAL_ALLOW_ALWAYS_UNAVAILABLE');
    await resolver.request('exec.approval.resolve', { id: id.slice(0, 8), decision: 'allow-once' });
    expect((await pending).approval.decision).toBe('allow-once');
  });
});

describe('binding violations are refused with their codes and nothing runs', () => {
  it('another device, changed argv, cwd or env, reused allow-once', async () => {
    h = await startExecHarness();
    await h.approvalClient(scriptedApprover('allow-once'));
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('v1'), { cwd: h.work, env: { LANG: 'C' } });
    const base = {
      command: touch('v1'),
      systemRunPlan: flow.plan,
      cwd: h.work,
      env: { LANG: 'C' },
      agentId: 'main',
      sessionKey: 'agent:main:s1',
      approved: true,
      approvalDecision: 'allow-once',
      runId: flow.approval.id,
    };
    const other = await h.operator();
    const cases: Array<[string, Promise<unknown>]> = [
      ['APPROVAL_DEVICE_MISMATCH', invoke(other, h.nodeId, 'system.run', base)],
      [
        'APPROVAL_ARGV_MISMATCH',
        invoke(agent, h.nodeId, 'system.run', {
          ...base,
          command: touch('v2'),
          systemRunPlan: { ...flow.plan, argv: touch('v2') },
        }),
      ],
      [
        'APPROVAL_CWD_MISMATCH',
        invoke(agent, h.nodeId, 'system.run', { ...base, cwd: '/tmp', systemRunPlan: { ...flow.plan, cwd: '/tmp' } }),
      ],
      ['APPROVAL_ENV_MISMATCH', invoke(agent, h.nodeId, 'system.run', { ...base, env: { LANG: 'C', LC_ALL: 'C' } })],
      ['MISSING_RUN_ID', invoke(agent, h.nodeId, 'system.run', { ...base, runId: undefined })],
      ['UNKNOWN_APPROVAL_ID', invoke(agent, h.nodeId, 'system.run', { ...base, runId: 'nope' })],
      [
        'APPROVAL_SESSION_MISMATCH',
        invoke(agent, h.nodeId, 'system.run', {
          ...base,
          sessionKey: 'other',
          systemRunPlan: { ...flow.plan, sessionKey: 'other' },
        }),
      ],
    ];
    for (const [code, call] of cases) expect((await rejection(call)).error.details.code, code).toBe(code);
    expect(existsSync(path.join(h.work, 'v1'))).toBe(false);
    expect(existsSync(path.join(h.work, 'v2'))).toBe(false);
    expect(commandPayload(await invoke(agent, h.nodeId, 'system.run', base)).success).toBe(true);
    expect((await rejection(invoke(agent, h.nodeId, 'system.run', base))).error.details.code).toBe('APPROVAL_CONSUMED');
  });

  it('an approval for one node does not open another', async () => {
    h = await startExecHarness();
    await h.approvalClient(scriptedApprover('allow-once'));
    const agent = await h.operator();
    const flow = await agentFlow(agent, h.nodeId, touch('w1'), { cwd: h.work });
    const err = await rejection(
      invoke(agent, 'other-node', 'system.run', { approved: true, runId: flow.approval.id, command: touch('w1') }),
    );
    expect(err.error.details.code).toBe('NOT_CONNECTED');
    expect(() =>
      h!.exec.approvals.gateSystemRun({
        conn: { connId: 'x' } as any,
        nodeId: 'other-node',
        params: { approved: true, runId: flow.approval.id, command: touch('w1') },
      }),
    ).toThrow(/another node/);
  });
});

describe('bad input through the gateway', () => {
  it('unknown commands, malformed params and a mismatched rawCommand are clear errors', async () => {
    h = await startExecHarness({ nodePolicy: { version: 1, agents: { '*': { security: 'full', ask: 'off' } } } });
    const agent = await h.operator();
    expect((await rejection(invoke(agent, h.nodeId, 'system.format-disk', {}))).message).toMatch(
      /node command not allowed/,
    );
    expect(
      (await rejection(invoke(agent, h.nodeId, 'system.run', { command: 'ls' }))).error.details.nodeError.code,
    ).toBe('INVALID_REQUEST');
    expect(
      (await rejection(invoke(agent, h.nodeId, 'system.run', { command: ['ls'], rawCommand: 'rm -rf /' }))).message,
    ).toMatch(/^RAW_COMMAND_MISMATCH/);
    expect((await rejection(invoke(agent, h.nodeId, 'system.run', { command: ['no-such-exe-xyz'] }))).message).toMatch(
      /^EXECUTABLE_NOT_FOUND/,
    );
    expect(
      (await rejection(invoke(agent, h.nodeId, 'system.run', { command: ['ls'], cwd: path.join(h.work, 'gone') })))
        .message,
    ).toMatch(/^CWD_NOT_FOUND/);
    expect(
      (await rejection(agent.request('node.invoke', { nodeId: h.nodeId, command: 'system.which', params: {} })))
        .message,
    ).toMatch(/idempotencyKey/);
    const ok = await invoke(agent, h.nodeId, 'system.run', { command: ['pwd'], cwd: h.work });
    expect(commandPayload(ok).stdout.trim()).toBe(realpathSync(h.work));
  });
});
