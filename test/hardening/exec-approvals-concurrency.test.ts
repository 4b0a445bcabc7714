import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createExecModules, type ExecModules } from '../../gateway/approvals/exec-modules';
import {
  connectGateway,
  GatewayClientError,
  type GatewayClientOptions,
  type GatewaySession,
} from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { errorDetails } from '../helpers/gateway-fixture';
import { prng, seedFromEnv, startTestGateway, TOKEN, type TestGateway } from './helpers/harness';

/**
 * Exec approvals under load and under attack (issue 6, items 2 and 6): many concurrent requests, several
 * approvers racing in random order, and the system.run gate that must let exactly the approved runs through.
 * The node is a bare protocol client that records every system.run the gateway forwards to it. Replay: APPROVALS_SEED.
 */

const SEED = seedFromEnv('APPROVALS_SEED');
type Decision = 'allow-once' | 'allow-always' | 'deny';

interface Setup {
  gateway: TestGateway;
  exec: ExecModules;
  nodeId: string;
  /** runId → how many approved system.run calls reached the node. */
  ran: Map<string, number>;
  /** system.run calls the node received without an approval claim. */
  unapproved: number;
  session(options?: Partial<GatewayClientOptions>): Promise<GatewaySession>;
}

const sessions: GatewaySession[] = [];
const gateways: TestGateway[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)));
  await Promise.all(gateways.splice(0).map((g) => g.cleanup()));
});

async function setup(): Promise<Setup> {
  const exec = createExecModules();
  const nodeDevice = createEphemeralDeviceSigner();
  exec.approveNodeSilently(nodeDevice.deviceId);
  const gateway = await startTestGateway({ modules: exec.modules });
  gateways.push(gateway);
  const session = async (options: Partial<GatewayClientOptions> = {}) => {
    const s = await connectGateway({ url: gateway.url, token: TOKEN, connectTimeoutMs: 5_000, ...options });
    sessions.push(s);
    return s;
  };
  const state: Setup = { gateway, exec, nodeId: nodeDevice.deviceId, ran: new Map(), unapproved: 0, session };
  const node = await session({
    role: 'node',
    clientId: 'node-host',
    clientMode: 'node',
    platform: 'linux',
    device: nodeDevice,
    commands: ['system.run', 'system.run.prepare'],
    caps: ['system'],
  });
  node.on('event', (event: string, payload: any) => {
    if (event !== 'node.invoke.request') return;
    const params = payload.paramsJSON ? JSON.parse(payload.paramsJSON) : {};
    if (payload.command === 'system.run') {
      if (params.approved === true) state.ran.set(params.runId, (state.ran.get(params.runId) ?? 0) + 1);
      else state.unapproved++;
    }
    void node.request('node.invoke.result', {
      id: payload.id,
      nodeId: state.nodeId,
      ok: true,
      payload: { exitCode: 0, stdout: '', stderr: '' },
    });
  });
  await expect.poll(() => exec.registry.surfaceOf(state.nodeId).includes('system.run'), { timeout: 5_000 }).toBe(true);
  return state;
}

/** The system.run that an approval `id` for `argv` allows, as its requester sends it. */
const run = (requester: GatewaySession, nodeId: string, id: string, argv: string[], decision: Decision) =>
  requester.request('node.invoke', {
    nodeId,
    command: 'system.run',
    idempotencyKey: randomUUID(),
    params: {
      command: argv,
      approved: true,
      approvalDecision: decision === 'allow-always' ? 'allow-always' : 'allow-once',
      runId: id,
    },
  });

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: GatewayClientError) => error,
  );

describe('exec approvals: 100 concurrent requests, 10 requesters, 3 racing approvers', () => {
  it(`every decision reaches exactly its request; allow-once runs once; nothing runs undecided (APPROVALS_SEED=${SEED})`, async () => {
    const r = prng(SEED);
    const s = await setup();
    const approvers = await Promise.all(
      [0, 1, 2].map((i) =>
        s.session({
          clientId: 'gateway-client',
          clientMode: 'backend',
          displayName: `approver-${i}`,
          scopes: ['operator.admin', 'operator.approvals'],
          caps: ['exec-approvals'],
          device: createEphemeralDeviceSigner(),
        }),
      ),
    );
    const seenBy = approvers.map(() => new Map<string, any>());
    approvers.forEach((a, i) =>
      a.on(
        'event',
        (event: string, payload: any) => event === 'exec.approval.requested' && seenBy[i].set(payload.id, payload),
      ),
    );
    // Half the requesters prove a device, half are device-less shared-token sessions (bound by connection).
    const requesters = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.session({
          scopes: ['operator.write', 'operator.approvals'],
          device: i % 2 === 0 ? createEphemeralDeviceSigner() : undefined,
        }),
      ),
    );

    interface Pending {
      requester: number;
      argv: string[];
      ask: 'on-miss' | 'always';
      id?: string;
      final: Promise<any>;
    }
    const pending: Pending[] = [];
    const interims = new Map<Pending, Promise<string>>();
    requesters.forEach((requester, i) => {
      for (let j = 0; j < 10; j++) {
        const argv = ['/usr/bin/printf', `requester-${i}-request-${j}`];
        const ask = r() < 0.3 ? 'always' : 'on-miss';
        let gotId!: (id: string) => void;
        const idPromise = new Promise<string>((resolve) => (gotId = resolve));
        const entry: Pending = {
          requester: i,
          argv,
          ask,
          final: requester.request(
            'exec.approval.request',
            {
              command: argv.join(' '),
              commandArgv: argv,
              nodeId: s.nodeId,
              ask,
              security: 'allowlist',
              twoPhase: true,
              timeoutMs: 60_000,
            },
            { expectFinal: true, onInterim: (p) => gotId((p as { id: string }).id), timeoutMs: 30_000 },
          ),
        };
        interims.set(entry, idPromise);
        pending.push(entry);
      }
    });
    for (const entry of pending) entry.id = await interims.get(entry)!;
    expect(new Set(pending.map((p) => p.id)).size).toBe(100);
    // Every approver was shown every request, each with its own command.
    for (const seen of seenBy) await expect.poll(() => seen.size, { timeout: 10_000 }).toBe(100);
    for (const entry of pending)
      for (const seen of seenBy) expect(seen.get(entry.id!)?.request.commandArgv).toEqual(entry.argv);

    // Nothing runs while undecided, whatever the requester claims.
    for (const entry of pending.slice(0, 20)) {
      const error = await failure(run(requesters[entry.requester], s.nodeId, entry.id!, entry.argv, 'allow-once'));
      expect(errorDetails(error)?.code).toBe('APPROVAL_REQUIRED');
    }
    expect(s.ran.size).toBe(0);

    // Random order, random approver, random allowed decision; a quarter of them contested by a second approver.
    const order = [...pending].sort(() => r() - 0.5);
    const decided = new Map<string, Decision>();
    const attempts: Promise<void>[] = [];
    for (const entry of order) {
      const allowed: Decision[] =
        entry.ask === 'always' ? ['allow-once', 'deny'] : ['allow-once', 'allow-always', 'deny'];
      const contenders = r() < 0.25 ? [0, 1, 2].sort(() => r() - 0.5).slice(0, 2) : [Math.floor(r() * 3)];
      for (const who of contenders) {
        const decision = allowed[Math.floor(r() * allowed.length)];
        attempts.push(
          approvers[who].request('exec.approval.resolve', { id: entry.id, decision }).then(
            () => {
              expect(decided.has(entry.id!), `${entry.id} resolved twice`).toBe(false);
              decided.set(entry.id!, decision);
            },
            (error: GatewayClientError) =>
              expect(['approval already resolved', 'unknown or expired approval id']).toContain(error.message),
          ),
        );
      }
    }
    await Promise.all(attempts);
    expect(decided.size).toBe(100);

    // Each requester receives exactly the decision that won for its own request.
    const finals = await Promise.all(pending.map((p) => p.final));
    pending.forEach((entry, i) => {
      expect(finals[i]!.id).toBe(entry.id);
      expect(finals[i]!.decision, entry.id).toBe(decided.get(entry.id!));
    });

    // Runs: allow-once exactly once, allow-always more than once, deny never; only by the requester itself.
    // A device-less shared-token backend request may be replayed by a backend device holding the same shared token
    // (the `openclaw agent --local` replay, docs/protocol.md): such a stranger is indistinguishable from the agent.
    // Every other stranger is refused: here a `cli` client with its own device, for the device-less requesters.
    const cliStranger = await s.session({
      clientId: 'cli',
      clientMode: 'cli',
      scopes: ['operator.write'],
      device: createEphemeralDeviceSigner(),
    });
    for (const entry of pending) {
      const decision = decided.get(entry.id!)!;
      const requester = requesters[entry.requester];
      const stranger = entry.requester % 2 === 1 ? cliStranger : requesters[(entry.requester + 1) % requesters.length];
      const stolen = await failure(run(stranger, s.nodeId, entry.id!, entry.argv, decision));
      expect(errorDetails(stolen)?.code, `${entry.id} run by another requester`).toBe('APPROVAL_DEVICE_MISMATCH');
      const tampered = await failure(run(requester, s.nodeId, entry.id!, [...entry.argv, '; rm -rf ~'], decision));
      expect(errorDetails(tampered)?.code).toMatch(/APPROVAL_(ARGV_MISMATCH|REQUIRED)/);
      const first = await failure(run(requester, s.nodeId, entry.id!, entry.argv, decision));
      const second = await failure(run(requester, s.nodeId, entry.id!, entry.argv, decision));
      if (decision === 'deny') {
        expect(errorDetails(first)?.code).toBe('APPROVAL_REQUIRED');
        expect(errorDetails(second)?.code).toBe('APPROVAL_REQUIRED');
      } else if (decision === 'allow-once') {
        expect(first).toBeNull();
        expect(errorDetails(second)?.code).toBe('APPROVAL_CONSUMED');
      } else {
        expect(first).toBeNull();
        expect(second).toBeNull();
      }
    }
    for (const entry of pending) {
      const expected = { deny: 0, 'allow-once': 1, 'allow-always': 2 }[decided.get(entry.id!)!];
      expect(s.ran.get(entry.id!) ?? 0, `${entry.id} (${decided.get(entry.id!)}) reached the node`).toBe(expected);
    }
    expect(s.unapproved).toBe(0);
  }, 60_000);
});

describe('exec approvals: who may resolve', () => {
  it('a client without operator.approvals cannot resolve, nor can a node or the requester itself', async () => {
    const s = await setup();
    const approver = await s.session({
      scopes: ['operator.admin', 'operator.approvals'],
      caps: ['exec-approvals'],
      device: createEphemeralDeviceSigner(),
    });
    const requester = await s.session({
      scopes: ['operator.write', 'operator.approvals'],
      device: createEphemeralDeviceSigner(),
    });
    const argv = ['/usr/bin/id'];
    let id = '';
    const final = requester.request(
      'exec.approval.request',
      { command: 'id', commandArgv: argv, nodeId: s.nodeId, twoPhase: true, timeoutMs: 60_000 },
      { expectFinal: true, onInterim: (p) => (id = (p as { id: string }).id), timeoutMs: 20_000 },
    );
    await expect.poll(() => id).not.toBe('');

    const writer = await s.session({
      scopes: ['operator.read', 'operator.write', 'operator.pairing'],
      device: createEphemeralDeviceSigner(),
    });
    const writerTry = await failure(writer.request('exec.approval.resolve', { id, decision: 'allow-always' }));
    expect(errorDetails(writerTry)?.code).toBe('MISSING_SCOPE');
    // Reading or waiting on approvals needs the scope too.
    expect(errorDetails(await failure(writer.request('exec.approval.list')))?.code).toBe('MISSING_SCOPE');
    expect(errorDetails(await failure(writer.request('exec.approval.get', { id })))?.code).toBe('MISSING_SCOPE');

    const deviceLess = await s.session({ scopes: ['operator.read'] });
    expect(
      errorDetails(await failure(deviceLess.request('exec.approval.resolve', { id, decision: 'allow-once' })))?.code,
    ).toBe('MISSING_SCOPE');

    const node = createEphemeralDeviceSigner();
    const nodeSession = await s.session({
      role: 'node',
      clientId: 'node-host',
      clientMode: 'node',
      device: node,
      scopes: [],
    });
    expect(
      errorDetails(await failure(nodeSession.request('exec.approval.resolve', { id, decision: 'allow-once' })))?.code,
    ).toBe('UNAUTHORIZED_ROLE');

    const self = await failure(requester.request('exec.approval.resolve', { id, decision: 'allow-always' }));
    expect(errorDetails(self)?.reason).toBe('APPROVAL_SELF_RESOLVE');

    // Still pending, and nothing can run on it.
    expect((await approver.request('exec.approval.get', { id })).status).toBe('pending');
    expect(errorDetails(await failure(run(requester, s.nodeId, id, argv, 'allow-once')))?.code).toBe(
      'APPROVAL_REQUIRED',
    );
    expect(s.ran.size).toBe(0);

    await approver.request('exec.approval.resolve', { id, decision: 'deny' });
    expect((await final).decision).toBe('deny');
    expect(errorDetails(await failure(run(requester, s.nodeId, id, argv, 'allow-once')))?.code).toBe(
      'APPROVAL_REQUIRED',
    );
    expect(s.ran.size).toBe(0);
  });
});
