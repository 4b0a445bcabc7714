import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecModules, type ExecModules } from '../../gateway/approvals/exec-modules';
import { connectGateway, type GatewayClientError, type GatewaySession } from '../../gateway/client/gateway-client';
import { NODE_INVOKE_CANCEL_EVENT } from '../../gateway/nodes/node-invoke';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { nextEvent, startTestGateway, type TestGateway } from '../helpers/gateway-fixture';

/** Invoke routing (docs/protocol.md § Nodes) through a real gateway, with a hand-driven node on a real socket. */

const TOKEN = 'test-token';
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface InvokeRequestEvent {
  id: string;
  nodeId: string;
  command: string;
  paramsJSON: string | null;
  idempotencyKey: string;
}

interface Stack {
  gateway: TestGateway;
  exec: ExecModules;
  node: GatewaySession;
  nodeId: string;
  /** Events the node received, in order. */
  nodeEvents: Array<{ event: string; payload: any }>;
  operator(): Promise<GatewaySession>;
}

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function startStack(): Promise<Stack> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-node-invoke-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  const exec = createExecModules({ home: path.join(root, 'home') });
  const identity = createEphemeralDeviceSigner();
  exec.approveNodeSilently(identity.deviceId);
  const gateway = await startTestGateway({ stateDir: path.join(root, 'state'), modules: exec.modules });
  cleanups.push(() => gateway.dispose());
  const node = await connectGateway({
    url: gateway.url,
    token: TOKEN,
    device: identity,
    role: 'node',
    clientId: 'node-host',
    clientMode: 'node',
    platform: 'linux',
    commands: ['system.which', 'system.run'],
  });
  cleanups.push(() => node.close());
  const nodeEvents: Stack['nodeEvents'] = [];
  node.on('event', (event: string, payload: unknown) => nodeEvents.push({ event, payload }));
  await until(
    () => (exec.registry.surfaceOf(identity.deviceId).includes('system.which') ? true : undefined),
    'the node surface',
  );
  return {
    gateway,
    exec,
    node,
    nodeId: identity.deviceId,
    nodeEvents,
    async operator() {
      const session = await connectGateway({
        url: gateway.url,
        token: TOKEN,
        device: createEphemeralDeviceSigner(),
        scopes: ['operator.write'],
      });
      cleanups.push(() => session.close());
      return session;
    },
  };
}

function requestsSeen(stack: Stack): InvokeRequestEvent[] {
  return stack.nodeEvents.filter((e) => e.event === 'node.invoke.request').map((e) => e.payload as InvokeRequestEvent);
}

describe('node.invoke routing', () => {
  it("relays the call to the node and the node's answer back; a retry with the same key joins the first", async () => {
    const stack = await startStack();
    const operator = await stack.operator();
    const call = {
      nodeId: stack.nodeId,
      command: 'system.which',
      params: { bins: ['sh'] },
      idempotencyKey: 'key-1',
    };
    const first = operator.request('node.invoke', call);
    const request = await until(() => requestsSeen(stack)[0], 'node.invoke.request');
    expect(request).toMatchObject({ nodeId: stack.nodeId, command: 'system.which', idempotencyKey: 'key-1' });
    expect(JSON.parse(request.paramsJSON!)).toEqual({ bins: ['sh'] });
    const retry = operator.request('node.invoke', call);

    await stack.node.request('node.invoke.result', {
      id: request.id,
      nodeId: stack.nodeId,
      ok: true,
      payloadJSON: JSON.stringify({ bins: { sh: '/bin/sh' } }),
    });
    const expected = {
      ok: true,
      nodeId: stack.nodeId,
      command: 'system.which',
      payload: { bins: { sh: '/bin/sh' } },
      payloadJSON: '{"bins":{"sh":"/bin/sh"}}',
    };
    expect(await first).toEqual(expected);
    expect(await retry).toEqual(expected);
    expect(requestsSeen(stack)).toHaveLength(1);
  });

  it("relays a node's own error code, and refuses a result for an invoke it does not know", async () => {
    const stack = await startStack();
    const operator = await stack.operator();
    const failed = operator
      .request('node.invoke', { nodeId: stack.nodeId, command: 'system.which', idempotencyKey: 'key-2' })
      .catch((error: GatewayClientError) => error);
    const request = await until(() => requestsSeen(stack)[0], 'node.invoke.request');
    await stack.node.request('node.invoke.result', {
      id: request.id,
      nodeId: stack.nodeId,
      ok: false,
      error: { code: 'NODE_SAYS_NO', message: 'not today' },
    });
    const error = (await failed) as GatewayClientError;
    expect(error.error).toMatchObject({
      code: 'UNAVAILABLE',
      message: 'not today',
      details: { code: 'NODE_SAYS_NO', nodeError: { code: 'NODE_SAYS_NO', message: 'not today' } },
    });
    const late = await stack.node
      .request('node.invoke.result', { id: request.id, nodeId: stack.nodeId, ok: true })
      .catch((e: GatewayClientError) => e);
    expect((late as GatewayClientError).error?.details).toEqual({ code: 'UNKNOWN_INVOKE_ID' });
  });

  it('tells the node to cancel when the only client waiting leaves', async () => {
    const stack = await startStack();
    const operator = await stack.operator();
    void operator
      .request('node.invoke', { nodeId: stack.nodeId, command: 'system.which', idempotencyKey: 'key-3' })
      .catch(() => undefined);
    const request = await until(() => requestsSeen(stack)[0], 'node.invoke.request');
    await operator.close();
    const cancel = await until(
      () => stack.nodeEvents.find((e) => e.event === NODE_INVOKE_CANCEL_EVENT)?.payload,
      'node.invoke.cancel',
    );
    expect(cancel).toEqual({ id: request.id, nodeId: stack.nodeId, reason: 'requester disconnected' });
  });

  it('refuses reserved and unapproved commands before anything reaches the node', async () => {
    const stack = await startStack();
    const operator = await stack.operator();
    const refusal = (command: string) =>
      operator.request('node.invoke', { nodeId: stack.nodeId, command, idempotencyKey: `k-${command}` }).then(
        () => undefined,
        (e: GatewayClientError) => e.detailCode,
      );
    expect(await refusal('system.execApprovals.get')).toBe('COMMAND_RESERVED');
    expect(await refusal('system.notify')).toBe('COMMAND_NOT_ALLOWED');
    expect(
      await operator
        .request('node.invoke', { nodeId: 'no-such-node', command: 'system.which', idempotencyKey: 'k' })
        .catch((e: GatewayClientError) => e.detailCode),
    ).toBe('NOT_CONNECTED');
    expect(requestsSeen(stack)).toEqual([]);
  });
});

/**
 * What the gateway lets through to a node for `system.run`. A node host acts on approval fields it is sent: OpenClaw's
 * own node host runs an `approvalSource: "auto-review"` call as allowed once, and an `"ask-fallback"` call under its
 * askFallback with ask off. The gateway forwarded every field it did not know, so any operator.write client could
 * skip the person's approval on a real OpenClaw node host attached to Clawdesk's gateway by adding one field.
 */
describe('system.run as it reaches the node', () => {
  const argv = ['/bin/echo', 'hi'];
  const binding = { cwd: '/tmp', agentId: 'main', sessionKey: 'agent:main:s1' };
  const plan = { argv, ...binding, commandText: '/bin/echo hi' };

  async function approvalsOperator(stack: Stack): Promise<GatewaySession> {
    const session = await connectGateway({
      url: stack.gateway.url,
      token: TOKEN,
      device: createEphemeralDeviceSigner(),
      scopes: ['operator.write', 'operator.approvals'],
    });
    cleanups.push(() => session.close());
    return session;
  }

  /** Files a request nobody can be asked about: it ends at once with no decision (askFallback's case). */
  async function undecided(stack: Stack, operator: GatewaySession): Promise<string> {
    const answer = await operator.request('exec.approval.request', {
      command: '/bin/echo hi',
      commandArgv: argv,
      systemRunPlan: plan,
      nodeId: stack.nodeId,
      host: 'node',
      ...binding,
    });
    expect(answer).toMatchObject({ decision: null, terminalReason: 'no-approval-route' });
    return answer.id;
  }

  const refusal = (operator: GatewaySession, stack: Stack, params: Record<string, unknown>, key: string) =>
    operator.request('node.invoke', { nodeId: stack.nodeId, command: 'system.run', params, idempotencyKey: key }).then(
      () => 'forwarded',
      (e: GatewayClientError) => e.detailCode,
    );

  it('a forged approvalSource is refused before anything reaches the node', async () => {
    const stack = await startStack();
    const operator = await approvalsOperator(stack);
    const base = { command: argv, systemRunPlan: plan, ...binding };
    expect(await refusal(operator, stack, { ...base, approvalSource: 'auto-review', runId: 'x' }, 'a1')).toBe(
      'INVALID_APPROVAL_SOURCE',
    );
    expect(await refusal(operator, stack, { ...base, approvalSource: 'person' }, 'a2')).toBe('INVALID_APPROVAL_SOURCE');
    expect(await refusal(operator, stack, { ...base, approvalSource: 'ask-fallback' }, 'a3')).toBe('MISSING_RUN_ID');
    expect(await refusal(operator, stack, { ...base, approvalSource: 'ask-fallback', runId: 'nope' }, 'a4')).toBe(
      'UNKNOWN_APPROVAL_ID',
    );
    const id = await undecided(stack, operator);
    expect(
      await refusal(operator, stack, { ...base, approvalSource: 'ask-fallback', runId: id, approved: true }, 'a5'),
    ).toBe('APPROVAL_SOURCE_MISMATCH');
    // Another device cannot use the requester's fallback, and operator.write alone cannot use one at all.
    expect(
      await refusal(
        await approvalsOperator(stack),
        stack,
        { ...base, approvalSource: 'ask-fallback', runId: id },
        'a6',
      ),
    ).toBe('APPROVAL_DEVICE_MISMATCH');
    expect(
      await refusal(await stack.operator(), stack, { ...base, approvalSource: 'ask-fallback', runId: id }, 'a7'),
    ).toBe('APPROVAL_DEVICE_MISMATCH');
    // A different command under the undecided request's id.
    expect(
      await refusal(
        operator,
        stack,
        { ...base, command: ['/bin/rm', '-rf', '/tmp/x'], approvalSource: 'ask-fallback', runId: id },
        'a8',
      ),
    ).toBe('APPROVAL_ARGV_MISMATCH');
    expect(requestsSeen(stack)).toEqual([]);
  });

  it('ask-fallback for a request nobody decided reaches the node once, as ask-fallback and never as an approval', async () => {
    const stack = await startStack();
    const operator = await approvalsOperator(stack);
    const id = await undecided(stack, operator);
    const call = operator.request('node.invoke', {
      nodeId: stack.nodeId,
      command: 'system.run',
      params: { command: argv, systemRunPlan: plan, ...binding, approvalSource: 'ask-fallback', runId: id },
      idempotencyKey: 'f1',
    });
    const request = await until(() => requestsSeen(stack)[0], 'node.invoke.request');
    const forwarded = JSON.parse(request.paramsJSON!);
    expect(forwarded).toMatchObject({ approvalSource: 'ask-fallback', runId: id, systemRunPlan: plan });
    expect(forwarded).not.toHaveProperty('approved');
    expect(forwarded).not.toHaveProperty('approvalDecision');
    await stack.node.request('node.invoke.result', { id: request.id, nodeId: stack.nodeId, ok: true });
    await call;
    // Single use, as an allow-once is.
    expect(
      await refusal(
        operator,
        stack,
        { command: argv, systemRunPlan: plan, ...binding, approvalSource: 'ask-fallback', runId: id },
        'f2',
      ),
    ).toBe('APPROVAL_CONSUMED');
    expect(requestsSeen(stack)).toHaveLength(1);
  });

  it('ask-fallback is refused while the request is pending, after a denial, and in place of an allow', async () => {
    const stack = await startStack();
    const operator = await approvalsOperator(stack);
    // An approval client (an admin, so it is sent the request) keeps it pending until it answers.
    const approver = await connectGateway({
      url: stack.gateway.url,
      token: TOKEN,
      device: createEphemeralDeviceSigner(),
      scopes: ['operator.admin', 'operator.approvals'],
      caps: ['exec-approvals'],
    });
    cleanups.push(() => approver.close());
    const fallbackReplay = (id: string, key: string) =>
      refusal(
        operator,
        stack,
        { command: argv, systemRunPlan: plan, ...binding, approvalSource: 'ask-fallback', runId: id },
        key,
      );
    for (const [decision, expected] of [
      ['deny', 'APPROVAL_REQUIRED'],
      ['allow-once', 'APPROVAL_SOURCE_MISMATCH'],
    ] as const) {
      const requested = nextEvent(approver, 'exec.approval.requested', 10_000);
      const filed = operator.request('exec.approval.request', {
        command: '/bin/echo hi',
        commandArgv: argv,
        systemRunPlan: plan,
        nodeId: stack.nodeId,
        host: 'node',
        ...binding,
      });
      const { id } = (await requested) as { id: string };
      expect(await fallbackReplay(id, `p-${decision}`)).toBe('APPROVAL_REQUIRED');
      await approver.request('exec.approval.resolve', { id, decision });
      await filed;
      expect(await fallbackReplay(id, `d-${decision}`)).toBe(expected);
    }
    expect(requestsSeen(stack)).toEqual([]);
  });

  it('only the fields a node host knows are forwarded', async () => {
    const stack = await startStack();
    const operator = await stack.operator();
    const known = {
      command: argv,
      rawCommand: '/bin/echo hi',
      cwd: '/tmp',
      env: { A: '1' },
      timeoutMs: 5000,
      agentId: 'main',
      sessionKey: 's',
      suppressNotifyOnExit: true,
    };
    const unknown = {
      approvalSource: null,
      turnSourceChannel: 'telegram',
      policyOverride: { security: 'full' },
      autoReview: true,
    };
    const call = operator.request('node.invoke', {
      nodeId: stack.nodeId,
      command: 'system.run',
      params: { ...known, ...unknown },
      idempotencyKey: 'w1',
    });
    const request = await until(() => requestsSeen(stack)[0], 'node.invoke.request');
    expect(JSON.parse(request.paramsJSON!)).toEqual(known);
    await stack.node.request('node.invoke.result', { id: request.id, nodeId: stack.nodeId, ok: true });
    await call;
  });
});
