import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectGateway, type GatewayClientOptions, type GatewaySession } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner, type DeviceSigner } from '../../gateway/protocol/device-auth';
import { createExecModules, type ExecModules, type ExecModulesOptions } from '../../gateway/approvals/exec-modules';
import {
  startApprovalClient,
  type ApprovalClientHandle,
  type ApprovalClientOptions,
} from '../../gateway/approvals/approval-client';
import type { Approver } from '../../gateway/approvals/approver';
import { ExecApprovalsStore } from '../../gateway/exec/approvals-file';
import { startNodeHost, type NodeHostHandle } from '../../gateway/node-host/node-host';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';
import { commandPayload } from '../helpers/node-payload';

export const TOKEN = 'test-token';

export interface ExecHarness {
  root: string;
  work: string;
  nodeStateDir: string;
  gateway: TestGateway;
  exec: ExecModules;
  node: NodeHostHandle;
  nodeId: string;
  nodeStore: ExecApprovalsStore;
  auth: 'token' | 'none';
  /** Connects an operator; `device: null` connects without a device identity. */
  operator(
    opts?: Omit<Partial<GatewayClientOptions>, 'device'> & { device?: DeviceSigner | null },
  ): Promise<GatewaySession>;
  approvalClient(approver: Approver, opts?: Partial<ApprovalClientOptions>): Promise<ApprovalClientHandle>;
  dispose(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];

export async function startExecHarness(
  opts: { auth?: 'token' | 'none'; exec?: ExecModulesOptions; nodePolicy?: unknown; trustNode?: boolean } = {},
): Promise<ExecHarness> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-exec-e2e-'));
  const work = path.join(root, 'work');
  const nodeStateDir = path.join(root, 'node-state');
  mkdirSync(work, { recursive: true });
  const auth = opts.auth ?? 'token';
  // The gateway host's legacy-approvals check looks in this home, never the real one.
  const exec = createExecModules({ home: path.join(root, 'home'), ...opts.exec });
  const nodeIdentity = createEphemeralDeviceSigner();
  if (opts.trustNode !== false) exec.approveNodeSilently(nodeIdentity.deviceId);
  const nodeStore = new ExecApprovalsStore({ stateDir: nodeStateDir });
  if (opts.nodePolicy) await nodeStore.set(opts.nodePolicy, undefined);
  const gateway = await startTestGateway({
    stateDir: path.join(root, 'gateway-state'),
    auth: auth === 'token' ? { mode: 'token', token: TOKEN } : { mode: 'none' },
    modules: exec.modules,
  });
  const node = await startNodeHost({
    url: gateway.url,
    token: auth === 'token' ? TOKEN : undefined,
    identity: nodeIdentity,
    stateDir: nodeStateDir,
    home: path.join(root, 'home'),
    defaultCwd: work,
    reconnect: { initialBackoffMs: 50, maxBackoffMs: 200 },
  });
  if (opts.trustNode !== false)
    await waitFor(() => exec.registry.surfaceOf(nodeIdentity.deviceId).includes('system.run'));
  const sessions: GatewaySession[] = [];
  const clients: ApprovalClientHandle[] = [];
  const harness: ExecHarness = {
    root,
    work,
    nodeStateDir,
    gateway,
    exec,
    node,
    nodeId: nodeIdentity.deviceId,
    nodeStore,
    auth,
    async operator(o = {}) {
      const { device, ...rest } = o;
      const session = await connectGateway({
        url: gateway.url,
        token: auth === 'token' ? TOKEN : undefined,
        device: device === null ? undefined : (device ?? createEphemeralDeviceSigner()),
        clientId: 'gateway-client',
        clientMode: 'backend',
        scopes: ['operator.write', 'operator.approvals'],
        ...rest,
      });
      sessions.push(session);
      return session;
    },
    async approvalClient(approver, o = {}) {
      const client = await startApprovalClient({
        url: gateway.url,
        token: auth === 'token' ? TOKEN : undefined,
        identity: createEphemeralDeviceSigner(),
        approver,
        reconnect: { initialBackoffMs: 50, maxBackoffMs: 200 },
        ...o,
      });
      clients.push(client);
      return client;
    },
    async dispose() {
      for (const c of clients) await c.stop().catch(() => undefined);
      for (const s of sessions) await s.close().catch(() => undefined);
      await node.stop().catch(() => undefined);
      await gateway.close().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
  cleanups.push(() => harness.dispose());
  return harness;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An approver that answers with a fixed decision (or never, until aborted) and records what it saw. */
export function scriptedApprover(answer: 'allow-once' | 'allow-always' | 'deny' | 'never' | null) {
  const seen: any[] = [];
  const approver: Approver & { seen: any[] } = {
    seen,
    canPresent: () => answer !== null,
    present: (event, signal) => {
      seen.push(event);
      if (answer === 'never') return new Promise((resolve) => signal.addEventListener('abort', () => resolve(null)));
      return Promise.resolve(answer);
    },
  };
  return approver;
}

export function invoke(
  session: GatewaySession,
  nodeId: string,
  command: string,
  params: unknown,
  extra: Record<string, unknown> = {},
) {
  return session.request(
    'node.invoke',
    { nodeId, command, params, idempotencyKey: randomUUID(), ...extra },
    { timeoutMs: 20_000 },
  );
}

export interface AgentRun {
  plan: any;
  approval: any;
  interim?: any;
  run: () => Promise<any>;
  /** The replay OpenClaw's agent makes when its wait came back with no decision: `approvalSource: "ask-fallback"`. */
  fallbackRun: () => Promise<any>;
}

/**
 * The agent's flow (docs/protocol.md § The agent's exec flow): prepare → exec.approval.request (twoPhase) → system.run
 * with the approval id.
 */
export async function agentFlow(
  agent: GatewaySession,
  nodeId: string,
  argv: string[],
  o: {
    rawCommand?: string;
    cwd?: string;
    env?: Record<string, string>;
    ask?: string;
    security?: string;
    timeoutMs?: number;
    agentId?: string;
    sessionKey?: string;
  } = {},
): Promise<AgentRun> {
  const agentId = o.agentId ?? 'main';
  const sessionKey = o.sessionKey ?? 'agent:main:s1';
  const prep = await invoke(agent, nodeId, 'system.run.prepare', {
    command: argv,
    rawCommand: o.rawCommand,
    cwd: o.cwd,
    agentId,
    sessionKey,
  });
  const plan = commandPayload(prep).plan;
  let interim: any;
  const approval = await agent.request(
    'exec.approval.request',
    {
      command: plan.commandText,
      commandArgv: argv,
      systemRunPlan: plan,
      cwd: o.cwd,
      env: o.env,
      nodeId,
      host: 'node',
      security: o.security ?? 'allowlist',
      ask: o.ask ?? 'on-miss',
      agentId,
      sessionKey,
      timeoutMs: o.timeoutMs,
      twoPhase: true,
    },
    { expectFinal: true, onInterim: (p) => (interim = p), timeoutMs: 20_000 },
  );
  const replay = (command: string[], claim: Record<string, unknown>) =>
    invoke(agent, nodeId, 'system.run', {
      command,
      rawCommand: o.rawCommand,
      systemRunPlan: plan,
      cwd: o.cwd,
      env: o.env,
      agentId,
      sessionKey,
      runId: approval.id,
      ...claim,
    });
  return {
    plan,
    approval,
    interim,
    run: () =>
      replay(argv, {
        approved: true,
        approvalDecision: approval.decision === 'allow-always' ? 'allow-always' : 'allow-once',
      }),
    fallbackRun: () => replay(plan.argv, { approvalSource: 'ask-fallback' }),
  };
}

export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}
