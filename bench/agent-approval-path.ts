import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { connectGateway, type GatewaySession } from '../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../gateway/protocol/device-auth';
import { nodeAnswer } from './exec-real-openclaw';
import { describeSettle, withClawdeskSide, withOpenclawSide, type NodeSide } from './node-sides';
import { fmt, msSince, nowNs, percentile, round, sleep, summarize, table, type LatencySummary } from './stats';

/**
 * The agent approval path (issue 10): what an exec approval costs in latency, measured the same way on both sides,
 * Clawdesk's `gateway run` (gateway + its own runner, one process) and the real openclaw gateway + `openclaw node run`
 * (two processes). A requester acts as `openclaw agent --local` does against a gateway (node.invoke
 * system.run.prepare → exec.approval.request twoPhase → exec.approval.waitDecision → node.invoke system.run with the
 * approval's id); an approval client with its own device decides allow-once. Per turn:
 *   1. request → approver sees it: the requester sends exec.approval.request → the approval client receives
 *      exec.approval.requested for that id;
 *   2. decision → replayed system.run result: the approval client sends exec.approval.resolve → the requester has
 *      the result of its replayed system.run (waitDecision answered, replay sent, command run, answer back).
 * The second is not "decision → exec.started": openclaw's gateway consumes the node's exec.started itself (it becomes
 * a system event for the session) and forwards it to no operator, so both sides are measured to the replay's result.
 * The sides run one after the other, never at the same time, each under the loopback guard.
 */

export interface AgentApprovalPathOptions {
  log?: (line: string) => void;
  /** Timed turns per side (default 20). */
  turns?: number;
  /** Untimed turns first (default 3). */
  warmups?: number;
  /** Which sides to measure (default both). */
  sides?: { clawdesk?: boolean; openclaw?: boolean };
}

export interface LatencySummary95 extends LatencySummary {
  p95: number;
}

export interface AgentApprovalPathSide {
  name: 'clawdesk' | 'openclaw';
  /** exec.approval.request sent → exec.approval.requested received by the approval client. */
  requestToApprover: LatencySummary95;
  /** exec.approval.resolve sent by the approval client → the requester's replayed system.run answered. */
  decisionToResult: LatencySummary95;
  /** Its first part: exec.approval.resolve sent → the requester's waitDecision answered (not a ratio row's input). */
  decisionToRequester: LatencySummary95;
  /** Spawn of the gateway → node ready with the ask-always policy (pairing and policy included). */
  setupMs: number;
  settle: { waitedMs: number; quiet: boolean };
  /** The node's answer to one replayed system.run, as evidence of what was measured. */
  sample: unknown;
}

export interface AgentApprovalPathResult {
  measure: string;
  command: string;
  turns: number;
  warmups: number;
  clawdesk?: AgentApprovalPathSide;
  openclaw?: AgentApprovalPathSide;
  /** Why a side has no figures. */
  problems: Record<string, string>;
}

/** Issue 10: Clawdesk adds at most one fifth of the latency openclaw's stack adds (clawdesk / openclaw ≤ 0.2). */
export const AGENT_APPROVAL_RATIO_TARGET = 0.2;

const ARGV = ['/bin/true'];
/** As the real agent and test/interop/exec-flow.ts: the main agent's main session. */
const AGENT = { agentId: 'main', sessionKey: 'agent:main:main' };
const INVOKE_TIMEOUT_MS = 15_000;
/**
 * Between the requester's waitDecision and the approver's resolve: long enough that the waitDecision is parked in the
 * gateway when the decision comes, as it is when a person decides. Not part of either timed span.
 */
const PARK_MS = 50;
/**
 * Every run must be approved (docs/exec-policy.md § When a decision is needed): allowlist security, ask always; the
 * command itself is allowlisted.
 */
const ASK_ALWAYS = {
  version: 1,
  defaults: { security: 'allowlist', ask: 'always', askFallback: 'deny' },
  agents: { '*': { security: 'allowlist', ask: 'always', allowlist: [{ pattern: ARGV[0] }] } },
};

function summarize95(samples: readonly number[]): LatencySummary95 {
  return { ...summarize(samples), p95: percentile(samples, 95) };
}

/** An operator with its own ephemeral device on the shared token (paired silently on loopback by both gateways). */
function deviceOperator(url: string, token: string, displayName: string, caps: string[]): Promise<GatewaySession> {
  return connectGateway({
    url,
    token,
    clientId: 'gateway-client',
    clientMode: 'backend',
    displayName,
    device: createEphemeralDeviceSigner(),
    role: 'operator',
    scopes: ['operator.admin', 'operator.approvals'],
    caps,
    startupRetries: 200,
    connectTimeoutMs: 10_000,
  });
}

/** When the approval client received exec.approval.requested, by id; waiters for ids not seen yet. */
function watchRequested(approver: GatewaySession) {
  const seen = new Map<string, bigint>();
  const waiters = new Map<string, (at: bigint) => void>();
  approver.on('event', (name: string, payload: any) => {
    if (name !== 'exec.approval.requested' || typeof payload?.id !== 'string') return;
    const at = nowNs();
    seen.set(payload.id, at);
    waiters.get(payload.id)?.(at);
  });
  return (id: string, timeoutMs = 15_000): Promise<bigint> => {
    const at = seen.get(id);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(id);
        reject(new Error(`the approval client never saw exec.approval.requested for ${id}`));
      }, timeoutMs);
      waiters.set(id, (t) => {
        clearTimeout(timer);
        waiters.delete(id);
        resolve(t);
      });
    });
  };
}

/** One agent turn; returns both spans in ms and the node's answer to the replay. */
async function turn(
  name: AgentApprovalPathSide['name'],
  requester: GatewaySession,
  approver: GatewaySession,
  seenAt: (id: string) => Promise<bigint>,
  nodeId: string,
): Promise<{ requestToApprover: number; decisionToResult: number; decisionToRequester: number; answer: any }> {
  const invoke = (command: string, params: Record<string, unknown>) =>
    requester.request(
      'node.invoke',
      { nodeId, command, params, idempotencyKey: randomUUID(), timeoutMs: INVOKE_TIMEOUT_MS },
      { timeoutMs: INVOKE_TIMEOUT_MS + 5_000 },
    );
  const prepared = nodeAnswer(
    await invoke('system.run.prepare', { command: ARGV, rawCommand: ARGV.join(' '), ...AGENT }),
  );
  const plan = prepared?.plan;
  if (!plan?.argv) throw new Error(`${name}: system.run.prepare returned no plan: ${JSON.stringify(prepared)}`);
  const requestedAt = nowNs();
  // No expectFinal: the first answer is the two-phase "accepted" with the id, as the agent reads it.
  const accepted = await requester.request(
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
    { timeoutMs: 20_000 },
  );
  const id = accepted?.id;
  if (typeof id !== 'string' || (accepted && Object.hasOwn(accepted, 'decision')))
    throw new Error(`${name}: exec.approval.request was not accepted for an approver: ${JSON.stringify(accepted)}`);
  const decision = requester.request('exec.approval.waitDecision', { id }, { timeoutMs: 130_000 });
  const seen = await seenAt(id);
  const requestToApprover = Number(seen - requestedAt) / 1e6;
  await sleep(PARK_MS);
  const decidedAt = nowNs();
  const resolved = approver.request('exec.approval.resolve', { id, decision: 'allow-once' }, { timeoutMs: 20_000 });
  const outcome = await decision;
  const decisionToRequester = msSince(decidedAt);
  if (outcome?.decision !== 'allow-once')
    throw new Error(`${name}: waitDecision answered ${JSON.stringify(outcome)}, not allow-once`);
  const res = await invoke('system.run', {
    command: plan.argv,
    rawCommand: plan.commandText,
    systemRunPlan: plan,
    cwd: plan.cwd,
    ...AGENT,
    approved: true,
    approvalDecision: 'allow-once',
    runId: id,
  });
  const decisionToResult = msSince(decidedAt);
  await resolved;
  const answer = nodeAnswer(res);
  if (answer?.success !== true || answer?.exitCode !== 0)
    throw new Error(`${name}: the approved system.run did not succeed: ${JSON.stringify(res).slice(0, 500)}`);
  return { requestToApprover, decisionToResult, decisionToRequester, answer };
}

async function measure(
  name: AgentApprovalPathSide['name'],
  url: string,
  token: string,
  nodeId: string,
  turns: number,
  warmups: number,
  context: Pick<AgentApprovalPathSide, 'setupMs' | 'settle'>,
): Promise<AgentApprovalPathSide> {
  // The approval client first: with none connected, a gateway answers the request with no decision at once.
  const approver = await deviceOperator(url, token, 'bench approval client', ['exec-approvals']);
  const seenAt = watchRequested(approver);
  const requester = await deviceOperator(url, token, 'bench agent', []);
  try {
    const toApprover: number[] = [];
    const toResult: number[] = [];
    const toRequester: number[] = [];
    let sample: unknown;
    for (let i = 0; i < warmups + turns; i++) {
      const t = await turn(name, requester, approver, seenAt, nodeId);
      sample ??= t.answer;
      if (i < warmups) continue;
      toApprover.push(t.requestToApprover);
      toResult.push(t.decisionToResult);
      toRequester.push(t.decisionToRequester);
    }
    return {
      name,
      requestToApprover: summarize95(toApprover),
      decisionToResult: summarize95(toResult),
      decisionToRequester: summarize95(toRequester),
      ...context,
      sample,
    };
  } finally {
    await requester.close().catch(() => undefined);
    await approver.close().catch(() => undefined);
  }
}

const sideContext = (side: NodeSide) => ({ setupMs: side.setupMs, settle: side.settle });

/** Clawdesk's `gateway run`, its runner set to ask always. */
function benchClawdesk(turns: number, warmups: number, log: (line: string) => void): Promise<AgentApprovalPathSide> {
  const options = {
    policy: ASK_ALWAYS,
    policyLabel: 'security=allowlist ask=always',
    tmpPrefix: 'approval-bench',
    log,
  };
  return withClawdeskSide(options, (side) => {
    log(`clawdesk: ${warmups} warm-up + ${turns} approved turns`);
    return measure('clawdesk', side.url, side.token, side.nodeId, turns, warmups, sideContext(side));
  });
}

/** The real openclaw gateway and `openclaw node run`, the node set to ask always. */
function benchOpenclaw(turns: number, warmups: number, log: (line: string) => void): Promise<AgentApprovalPathSide> {
  const options = {
    policy: ASK_ALWAYS,
    policyLabel: 'security=allowlist ask=always',
    tmpPrefix: 'approval-bench',
    log,
  };
  return withOpenclawSide(options, (side) => {
    log(`openclaw: ${warmups} warm-up + ${turns} approved turns`);
    return measure('openclaw', side.url, side.token, side.nodeId, turns, warmups, sideContext(side));
  });
}

/** Both sides, one after the other (Clawdesk first); a side that cannot start is reported in `problems`. */
export async function benchAgentApprovalPath(opts: AgentApprovalPathOptions = {}): Promise<AgentApprovalPathResult> {
  const log = opts.log ?? (() => undefined);
  const turns = opts.turns ?? 20;
  const warmups = opts.warmups ?? 3;
  const result: AgentApprovalPathResult = {
    measure: 'agent exec approval path (request → approver sees it; decision → replayed system.run result)',
    command: ARGV.join(' '),
    turns,
    warmups,
    problems: {},
  };
  if (opts.sides?.clawdesk !== false) {
    try {
      result.clawdesk = await benchClawdesk(turns, warmups, log);
    } catch (error) {
      result.problems.clawdesk = (error as Error).message;
    }
  }
  if (opts.sides?.openclaw !== false) {
    try {
      result.openclaw = await benchOpenclaw(turns, warmups, log);
    } catch (error) {
      result.problems.openclaw = (error as Error).message;
    }
  }
  return result;
}

const SPANS: Array<{ key: 'requestToApprover' | 'decisionToResult'; label: string }> = [
  { key: 'requestToApprover', label: 'request → approver sees it' },
  { key: 'decisionToResult', label: 'decision → replayed system.run result' },
];

/** The side-by-side table; `ratio` = clawdesk / openclaw (the target is ≤ 0.2). */
export function formatAgentApprovalPath(result: AgentApprovalPathResult): string {
  const c = result.clawdesk;
  const o = result.openclaw;
  const rows: string[][] = [['agent approval path', 'unit', 'clawdesk', 'openclaw', 'ratio', 'target', '']];
  for (const span of SPANS) {
    for (const p of ['p50', 'p95'] as const) {
      const cv = c ? c[span.key][p] : Number.NaN;
      const ov = o ? o[span.key][p] : Number.NaN;
      const ratio = cv / ov;
      const known = Number.isFinite(ratio) && ov > 0;
      rows.push([
        `${span.label} ${p}`,
        'ms',
        fmt(cv, 3),
        fmt(ov, 3),
        known ? fmt(ratio, 2) : '—',
        `≤ ${fmt(AGENT_APPROVAL_RATIO_TARGET, 2)}`,
        known ? (ratio <= AGENT_APPROVAL_RATIO_TARGET ? 'pass' : 'MISS') : '',
      ]);
    }
  }
  const lines = [
    table(rows),
    `${result.warmups} warm-up + ${result.turns} sequential agent turns per side (${result.command}); ratio = clawdesk / openclaw (<1 = Clawdesk faster); target: Clawdesk adds at most a fifth of openclaw's latency (issue 10).`,
    'requester as `openclaw agent --local`: system.run.prepare → exec.approval.request (twoPhase) → waitDecision → system.run with the approval id; approval client: its own device, caps exec-approvals, decides allow-once.',
    `"decision → replayed system.run result" (both sides): openclaw's gateway forwards no exec.started node event to operators, so the span ends at the requester's system.run answer; the approver resolves ${PARK_MS} ms after the requester's waitDecision is sent (not timed).`,
  ];
  for (const s of [c, o])
    if (s)
      lines.push(
        `${s.name}: ready ${(s.setupMs / 1000).toFixed(1)} s after spawn, then ${describeSettle(s.settle)}; request → approver min/max ${fmt(s.requestToApprover.min, 2)}/${fmt(s.requestToApprover.max, 2)} ms, decision → result min/max ${fmt(s.decisionToResult.min, 2)}/${fmt(s.decisionToResult.max, 2)} ms, of which decision → the requester's waitDecision answered p50 ${fmt(s.decisionToRequester.p50, 3)} ms (the rest is the replayed system.run).`,
      );
  for (const [side, why] of Object.entries(result.problems))
    lines.push(`${side} agent approval path could not be measured: ${why}`);
  return lines.join('\n');
}

/** Machine form for the JSON line: figures rounded, the node's sample answer left out. */
export function agentApprovalPathJson(result: AgentApprovalPathResult) {
  const span = (s: LatencySummary95) => ({
    p50: round(s.p50, 3),
    p95: round(s.p95, 3),
    min: round(s.min, 3),
    max: round(s.max, 3),
    n: s.n,
  });
  const side = (s: AgentApprovalPathSide | undefined) =>
    s && {
      requestToApprover: span(s.requestToApprover),
      decisionToResult: span(s.decisionToResult),
      decisionToRequester: span(s.decisionToRequester),
      setupMs: round(s.setupMs, 0),
      settleMs: s.settle.waitedMs,
      settledQuiet: s.settle.quiet,
    };
  const c = result.clawdesk;
  const o = result.openclaw;
  const ratio =
    c && o
      ? Object.fromEntries(
          SPANS.flatMap((x) =>
            (['p50', 'p95'] as const).map((p) => [`${x.key}${p.toUpperCase()}`, round(c[x.key][p] / o[x.key][p], 3)]),
          ),
        )
      : null;
  return {
    measure: result.measure,
    command: result.command,
    turns: result.turns,
    warmups: result.warmups,
    clawdesk: side(c) ?? null,
    openclaw: side(o) ?? null,
    ratio,
    ratioMeaning: 'clawdesk / openclaw; <1 = Clawdesk faster',
    target: `ratio ≤ ${AGENT_APPROVAL_RATIO_TARGET} (issue 10: Clawdesk adds at most a fifth of openclaw's latency)`,
    meets: ratio ? Object.values(ratio).every((r) => r !== null && r <= AGENT_APPROVAL_RATIO_TARGET) : null,
    spanNote:
      'decisionToResult ends at the replayed system.run result on both sides (openclaw forwards no exec.started)',
    problems: result.problems,
  };
}

// `node dist/bench/agent-approval-path.js [--quick] [--only clawdesk|openclaw]`: this benchmark alone.
if (require.main === module) {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, quick: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.only && values.only !== 'clawdesk' && values.only !== 'openclaw') {
    console.error(`--only must be clawdesk or openclaw, not "${values.only}"`);
    process.exit(2);
  }
  benchAgentApprovalPath({
    log: (line) => process.stderr.write(`${line}\n`),
    sides: { clawdesk: values.only !== 'openclaw', openclaw: values.only !== 'clawdesk' },
    ...(values.quick ? { turns: 5 } : {}),
  }).then(
    (result) => {
      console.log(formatAgentApprovalPath(result));
      console.log(JSON.stringify(agentApprovalPathJson(result)));
    },
    (error) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exitCode = 1;
    },
  );
}
