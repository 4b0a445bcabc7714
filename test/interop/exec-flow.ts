import { execFileSync } from 'node:child_process';
import { connectGateway, type DeviceIdentity, type OpenClient } from './device-client';

/**
 * The agent's side of an exec approval, as the real gateway and node host do it
 * (docs/protocol.md § The agent's exec flow): prepare on the node, request an approval, wait for someone to decide,
 * then run with the approval's id. Used by the interop tests with the real openclaw CLI as the one who decides.
 */

export const AGENT = { agentId: 'main', sessionKey: 'agent:main:main' };

export function resolvedPath(bin: string): string {
  return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim();
}

export interface Operator {
  client: OpenClient;
  close(): Promise<void>;
}

/**
 * An operator with the given scopes and caps: device-less (shared token, or direct-local under auth none) unless a
 * device is given (which is paired silently on loopback, then signs in with its device token). Clawdesk's gateway
 * never lets a connection approve a request made with its own credential (issue 9 finding 4), so a requester holding
 * the shared token cannot be approved by a device-less client holding it too.
 */
export async function connectOperator(
  port: number,
  token: string | undefined,
  scopes: string[],
  caps: string[] = [],
  device?: DeviceIdentity,
): Promise<Operator> {
  const options = { port, clientId: 'gateway-client', clientMode: 'backend', scopes, caps };
  let result = await connectGateway({ ...options, token, ...(device ? { device } : {}) });
  // A device then signs in with its own device token, so its credential is not the shared one.
  const deviceToken = device && result.ok ? result.hello?.auth?.deviceToken : undefined;
  if (device && typeof deviceToken === 'string') {
    await result.client?.close();
    result = await connectGateway({ ...options, device, deviceToken });
  }
  if (!result.ok || !result.client)
    throw new Error(`operator connect failed: ${JSON.stringify(result.error ?? result.closeCode)}`);
  return { client: result.client, close: () => result.client!.close() };
}

/** Unwraps a node.invoke result: `{ok, payload | payloadJSON}`. */
export function invokePayload(res: { ok: boolean; payload?: any; error?: any }): any {
  if (!res.ok) throw new Error(`node.invoke failed: ${JSON.stringify(res.error)}`);
  const outer = res.payload;
  if (outer?.payload !== undefined) return outer.payload;
  if (typeof outer?.payloadJSON === 'string') return JSON.parse(outer.payloadJSON);
  return outer;
}

let counter = 0;
export function idempotencyKey(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now()}-${++counter}`;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface PendingExecApproval {
  id: string;
  plan: any;
  /** The requester's final answer (resolves once someone decides). */
  decision: Promise<{ ok: boolean; payload?: any; error?: any }>;
  /** What the approval client was sent. */
  requested: any;
}

/**
 * Prepares `argv` on the node and files a two-phase exec approval request. An approval client (admin + caps
 * `exec-approvals`) must already be connected, or the gateway answers `decision: null` at once.
 */
export async function requestExecApproval(
  requester: OpenClient,
  approver: OpenClient,
  nodeId: string,
  argv: string[],
): Promise<PendingExecApproval> {
  const prepared = invokePayload(
    await requester.request(
      'node.invoke',
      {
        nodeId,
        command: 'system.run.prepare',
        params: { command: argv, rawCommand: argv.join(' '), ...AGENT },
        idempotencyKey: idempotencyKey('prepare'),
        timeoutMs: 15_000,
      },
      20_000,
    ),
  );
  const plan = prepared.plan;
  if (!plan?.argv) throw new Error(`system.run.prepare returned no plan: ${JSON.stringify(prepared)}`);
  const requestedEvent = approver.waitForEvent('exec.approval.requested', 15_000);
  const decision = requester.request(
    'exec.approval.request',
    {
      command: plan.commandText,
      commandArgv: plan.argv,
      systemRunPlan: plan,
      cwd: plan.cwd,
      nodeId,
      host: 'node',
      security: 'allowlist',
      ask: 'always',
      ...AGENT,
      timeoutMs: 120_000,
      twoPhase: true,
    },
    130_000,
  );
  const requested = await Promise.race([
    requestedEvent,
    decision.then((d) => {
      throw new Error(`exec.approval.request was answered before any approval client saw it: ${JSON.stringify(d)}`);
    }),
  ]);
  return { id: requested.id, plan, decision, requested };
}

/** `system.run` with the approval's id, as the agent does after an allow-once. */
export async function runApproved(
  requester: OpenClient,
  nodeId: string,
  approval: { id: string; plan: any },
): Promise<{ ok: boolean; payload?: any; error?: any }> {
  return requester.request(
    'node.invoke',
    {
      nodeId,
      command: 'system.run',
      params: {
        command: approval.plan.argv,
        rawCommand: approval.plan.commandText,
        systemRunPlan: approval.plan,
        cwd: approval.plan.cwd,
        ...AGENT,
        approved: true,
        approvalDecision: 'allow-once',
        runId: approval.id,
      },
      idempotencyKey: idempotencyKey('run'),
      timeoutMs: 15_000,
    },
    20_000,
  );
}

/** The policy the tests install on a node: allowlisted `uname`, but every run must be approved. */
export function askAlwaysPolicy(unamePath: string) {
  return {
    version: 1,
    defaults: { security: 'allowlist', ask: 'always', askFallback: 'deny' },
    agents: { '*': { allowlist: [{ pattern: unamePath }] } },
  };
}
