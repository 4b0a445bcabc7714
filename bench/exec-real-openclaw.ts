import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type GatewaySession } from '../gateway/client/gateway-client';
import { describeSettle, operator, withClawdeskSide, withOpenclawSide, type NodeSide } from './node-sides';
import { fmt, msSince, nowNs, round, summarize, table, type LatencySummary } from './stats';

/**
 * `system.run` of a trivial command through `node.invoke`, measured the same way on both sides (issue 3, section 7):
 * Clawdesk's `gateway run` (gateway + its own runner, one process) and the real openclaw gateway + `openclaw node run`
 * (two processes), each driven from this process by a Clawdesk operator session, with a bare `child_process.spawn`
 * of the same command interleaved as the baseline. The sides run one after the other, never at the same time.
 */

export interface RealSystemRunOptions {
  log?: (line: string) => void;
  /** Timed round trips per side (default 100). */
  iterations?: number;
  /** Untimed round trips first (default 20). */
  warmups?: number;
  /** Which sides to measure (default both). */
  sides?: { clawdesk?: boolean; openclaw?: boolean };
}

export interface SystemRunSide {
  name: 'clawdesk' | 'openclaw';
  /** node.invoke system.run round trip, as the operator sees it. */
  viaNode: LatencySummary;
  /** Bare spawn of the same command from this process, interleaved with the round trips. */
  bare: LatencySummary;
  /** viaNode.p50 − bare.p50 (what the target is stated in; a difference of p99s would mean nothing). */
  overheadP50: number;
  /** Spawn of the gateway → node ready for system.run (pairing and policy included). */
  setupMs: number;
  /** How long the processes under test took to go quiet before the timed runs (and whether they did). */
  settle: { waitedMs: number; quiet: boolean };
  /** The node's answer to one system.run, as evidence of what was measured. */
  sample: unknown;
}

export interface RealSystemRunResult {
  measure: string;
  command: string;
  iterations: number;
  warmups: number;
  clawdesk?: SystemRunSide;
  openclaw?: SystemRunSide;
  /** Why a side has no figures. */
  problems: Record<string, string>;
}

const ARGV = ['/bin/true'];
const INVOKE_TIMEOUT_MS = 15_000;
/**
 * `security: full, ask: off`: the node runs the command without asking anyone
 * (docs/exec-policy.md § When a decision is needed).
 */
const RUN_WITHOUT_PROMPT = {
  version: 1,
  defaults: { security: 'full', ask: 'off', askFallback: 'deny' },
  agents: { '*': { security: 'full', ask: 'off' } },
};

function bareSpawn(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

/** The node's own answer inside a node.invoke result: `payload`, or `payloadJSON` parsed. */
export function nodeAnswer(res: any): any {
  if (res?.payload !== undefined) return res.payload;
  if (typeof res?.payloadJSON === 'string') return JSON.parse(res.payloadJSON);
  return undefined;
}

function invokeSystemRun(session: GatewaySession, nodeId: string): Promise<any> {
  return session.request(
    'node.invoke',
    {
      nodeId,
      command: 'system.run',
      params: { command: ARGV },
      idempotencyKey: randomUUID(),
      timeoutMs: INVOKE_TIMEOUT_MS,
    },
    { timeoutMs: INVOKE_TIMEOUT_MS + 5_000 },
  );
}

/** Warm-ups, then `n` interleaved pairs (bare spawn, node.invoke) so both see the same machine load. */
async function measure(
  name: SystemRunSide['name'],
  session: GatewaySession,
  nodeId: string,
  n: number,
  warmups: number,
  context: Pick<SystemRunSide, 'setupMs' | 'settle'>,
): Promise<SystemRunSide> {
  let sample: unknown;
  const viaNode: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < warmups + n; i++) {
    let start = nowNs();
    await bareSpawn(ARGV);
    const b = msSince(start);
    start = nowNs();
    const res = await invokeSystemRun(session, nodeId);
    const v = msSince(start);
    const answer = nodeAnswer(res);
    if (answer?.success !== true || answer?.exitCode !== 0)
      throw new Error(`${name}: system.run did not succeed: ${JSON.stringify(res).slice(0, 500)}`);
    sample ??= answer;
    if (i >= warmups) {
      bare.push(b);
      viaNode.push(v);
    }
  }
  const sv = summarize(viaNode);
  const sb = summarize(bare);
  return { name, viaNode: sv, bare: sb, overheadP50: sv.p50 - sb.p50, ...context, sample };
}

/** Clawdesk's `gateway run` with the run-without-prompt policy. */
function benchClawdesk(n: number, warmups: number, log: (line: string) => void): Promise<SystemRunSide> {
  const options = { policy: RUN_WITHOUT_PROMPT, policyLabel: 'security=full ask=off', tmpPrefix: 'exec-bench', log };
  return withClawdeskSide(options, (side) => measureSide('clawdesk', side, n, warmups, log));
}

/** The real openclaw gateway and `openclaw node run`, the node set to the run-without-prompt policy. */
function benchOpenclaw(n: number, warmups: number, log: (line: string) => void): Promise<SystemRunSide> {
  const options = { policy: RUN_WITHOUT_PROMPT, policyLabel: 'security=full ask=off', tmpPrefix: 'exec-bench', log };
  return withOpenclawSide(options, (side) => measureSide('openclaw', side, n, warmups, log));
}

async function measureSide(
  name: SystemRunSide['name'],
  side: NodeSide,
  n: number,
  warmups: number,
  log: (line: string) => void,
): Promise<SystemRunSide> {
  log(`${name}: ${warmups} warm-up + ${n} system.run`);
  const session = await operator(side.url, side.token);
  try {
    return await measure(name, session, side.nodeId, n, warmups, { setupMs: side.setupMs, settle: side.settle });
  } finally {
    await session.close().catch(() => undefined);
  }
}

/**
 * Both sides, one after the other (Clawdesk first: the real gateway's ~1 GiB of workers would otherwise weigh on it).
 * A side that cannot start is reported in `problems`; the other is still measured.
 */
export async function benchRealSystemRun(opts: RealSystemRunOptions = {}): Promise<RealSystemRunResult> {
  const log = opts.log ?? (() => undefined);
  const n = opts.iterations ?? 100;
  const warmups = opts.warmups ?? 20;
  const result: RealSystemRunResult = {
    measure: 'system.run via node.invoke vs bare spawn, gateways as processes',
    command: ARGV.join(' '),
    iterations: n,
    warmups,
    problems: {},
  };
  if (opts.sides?.clawdesk !== false) {
    try {
      result.clawdesk = await benchClawdesk(n, warmups, log);
    } catch (error) {
      result.problems.clawdesk = (error as Error).message;
    }
  }
  if (opts.sides?.openclaw !== false) {
    try {
      result.openclaw = await benchOpenclaw(n, warmups, log);
    } catch (error) {
      result.problems.openclaw = (error as Error).message;
    }
  }
  return result;
}

/** Clawdesk's target (issue 3, section 7): p50 via the node ≤ bare spawn + 3 ms. */
export const SYSTEM_RUN_OVERHEAD_TARGET_MS = 3;

/** The side-by-side table; `ratio` = openclaw / clawdesk (>1 = Clawdesk faster). */
export function formatRealSystemRun(result: RealSystemRunResult): string {
  const c = result.clawdesk;
  const o = result.openclaw;
  const rows: string[][] = [['system.run /bin/true', 'unit', 'clawdesk', 'openclaw', 'ratio', 'target', '']];
  const row = (
    label: string,
    get: (s: SystemRunSide) => number,
    target?: { text: string; pass: (v: number) => boolean },
    baseline = false,
  ) => {
    const cv = c ? get(c) : Number.NaN;
    const ov = o ? get(o) : Number.NaN;
    const ratio = ov / cv;
    rows.push([
      label,
      'ms',
      fmt(cv, 3),
      fmt(ov, 3),
      // The spawn baseline is this process's own, not either product's: no ratio for it.
      baseline ? '' : Number.isFinite(ratio) && cv > 0 ? `${fmt(ratio, ratio >= 10 ? 0 : 1)}×` : '—',
      target?.text ?? '',
      target && Number.isFinite(cv) ? (target.pass(cv) ? 'pass' : 'MISS') : '',
    ]);
  };
  row('via node.invoke p50', (s) => s.viaNode.p50);
  row('via node.invoke p99', (s) => s.viaNode.p99);
  row('bare spawn p50 (same run)', (s) => s.bare.p50, undefined, true);
  row('bare spawn p99 (same run)', (s) => s.bare.p99, undefined, true);
  row('overhead over spawn p50', (s) => s.overheadP50, {
    text: `≤ +${SYSTEM_RUN_OVERHEAD_TARGET_MS}`,
    pass: (v) => v <= SYSTEM_RUN_OVERHEAD_TARGET_MS,
  });
  const lines = [
    table(rows),
    `${result.warmups} warm-up + ${result.iterations} sequential round trips per side, each paired with a bare child_process.spawn from the load generator; ratio = openclaw / clawdesk (>1 = Clawdesk faster).`,
    'clawdesk: `gateway run` (gateway + its runner in one process, Node ' +
      process.version +
      '); openclaw: real gateway + `openclaw node run` (two processes, Node 26); both under the loopback guard.',
  ];
  for (const s of [c, o])
    if (s)
      lines.push(
        `${s.name}: ready for system.run ${(s.setupMs / 1000).toFixed(1)} s after spawn, then ${describeSettle(s.settle)}; via-node min/max ${fmt(s.viaNode.min, 2)}/${fmt(s.viaNode.max, 2)} ms.`,
      );
  for (const [side, why] of Object.entries(result.problems))
    lines.push(`${side} system.run could not be measured: ${why}`);
  return lines.join('\n');
}

/** Machine form for the JSON line: figures rounded, the node's sample answer left out. */
export function realSystemRunJson(result: RealSystemRunResult) {
  const side = (s: SystemRunSide | undefined) =>
    s && {
      viaNodeP50: round(s.viaNode.p50, 3),
      viaNodeP99: round(s.viaNode.p99, 3),
      bareSpawnP50: round(s.bare.p50, 3),
      bareSpawnP99: round(s.bare.p99, 3),
      overheadP50: round(s.overheadP50, 3),
      n: s.viaNode.n,
      setupMs: round(s.setupMs, 0),
      settleMs: s.settle.waitedMs,
      settledQuiet: s.settle.quiet,
    };
  const c = result.clawdesk;
  const o = result.openclaw;
  return {
    measure: result.measure,
    command: result.command,
    clawdesk: side(c) ?? null,
    openclaw: side(o) ?? null,
    ratio:
      c && o
        ? {
            viaNodeP50: round(o.viaNode.p50 / c.viaNode.p50, 2),
            viaNodeP99: round(o.viaNode.p99 / c.viaNode.p99, 2),
            overheadP50: round(o.overheadP50 / c.overheadP50, 2),
          }
        : null,
    ratioMeaning: 'openclaw / clawdesk; >1 = Clawdesk faster',
    target: `clawdesk overhead p50 ≤ ${SYSTEM_RUN_OVERHEAD_TARGET_MS} ms`,
    meets: c ? c.overheadP50 <= SYSTEM_RUN_OVERHEAD_TARGET_MS : null,
    problems: result.problems,
  };
}

// `node dist/bench/exec-real-openclaw.js [iterations]`: this benchmark alone.
if (require.main === module) {
  const iterations = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  if (iterations !== undefined && !(Number.isInteger(iterations) && iterations > 0)) {
    console.error(
      `usage: node dist/bench/exec-real-openclaw.js [iterations]; "${process.argv[2]}" is not a positive integer`,
    );
    process.exit(2);
  }
  benchRealSystemRun({ iterations, log: (line) => process.stderr.write(`${line}\n`) }).then(
    (result) => {
      console.log(formatRealSystemRun(result));
      console.log(JSON.stringify(realSystemRunJson(result)));
    },
    (error) => {
      console.error(error instanceof Error ? error.stack : error);
      process.exitCode = 1;
    },
  );
}
