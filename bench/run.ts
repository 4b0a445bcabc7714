import os from 'node:os';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { agentApprovalPathJson, benchAgentApprovalPath, formatAgentApprovalPath } from './agent-approval-path';
import { benchRealSystemRun, formatRealSystemRun, realSystemRunJson } from './exec-real-openclaw';
import {
  benchGateway,
  DEFAULT_GATEWAY_BENCH,
  figuresJson,
  type GatewayBenchOptions,
  type GatewayFigures,
} from './gateway-bench';
import { startClawdeskGateway } from './gateway-process';
import { loadRealOpenclaw } from './gateway-real';
import { fmt, round, table } from './stats';
import { benchMainEventLoop } from './main-event-loop';
import { benchStateMigration } from './state-migration';
import { benchOpenclawSupervisor, formatOpenclawSupervisor } from './openclaw-supervisor';

/**
 * `npm run bench`: Clawdesk's gateway and, in the same run, the real openclaw gateway from the interop cache;
 * then the exec benchmarks when their modules are present. Prints a table and, last, one JSON line.
 */

const USAGE = `Usage: node dist/bench/run.js [--only clawdesk|openclaw] [--quick] [--skip-exec] [--clawdesk-node-args "..."]
  --only                measure one gateway only
  --quick               20 connects, 1 s throughput runs (a smoke run; figures are noisy)
  --skip-exec           skip the exec benchmarks (bench/exec-*.ts, bench/agent-approval-path.ts)
  --clawdesk-node-args  extra node flags for Clawdesk's gateway process, space-separated
                        (to try a tuning, e.g. "--max-semi-space-size=1")
`;

interface Measure {
  label: string;
  unit: string;
  better: 'lower' | 'higher';
  target: number;
  value: (f: GatewayFigures) => number;
  digits: number;
}

/** What the table shows; `target` is Clawdesk's on a 2-core machine (issue 2, section 8), NaN where there is none. */
const MEASURES: Measure[] = [
  {
    label: 'token handshake p50',
    unit: 'ms',
    better: 'lower',
    target: 1.0,
    value: (f) => f.tokenHandshake.p50,
    digits: 3,
  },
  {
    label: 'token handshake p99',
    unit: 'ms',
    better: 'lower',
    target: Number.NaN,
    value: (f) => f.tokenHandshake.p99,
    digits: 3,
  },
  {
    label: 'device handshake p50',
    unit: 'ms',
    better: 'lower',
    target: 1.7,
    value: (f) => f.deviceHandshake.p50,
    digits: 3,
  },
  {
    label: 'device handshake p99',
    unit: 'ms',
    better: 'lower',
    target: Number.NaN,
    value: (f) => f.deviceHandshake.p99,
    digits: 3,
  },
  {
    label: 'health, 1 in flight',
    unit: 'req/s',
    better: 'higher',
    target: 5000,
    value: (f) => f.health1.reqPerSec,
    digits: 0,
  },
  {
    label: 'health, 32 in flight',
    unit: 'req/s',
    better: 'higher',
    target: 18000,
    value: (f) => f.health32.reqPerSec,
    digits: 0,
  },
  { label: 'spawn → first hello-ok', unit: 'ms', better: 'lower', target: 300, value: (f) => f.coldStartMs, digits: 0 },
  { label: 'idle RSS (process tree)', unit: 'MiB', better: 'lower', target: 60, value: (f) => f.idleRssMiB, digits: 1 },
  // Gateway CPU time per operation: barely moved by other load on the machine, unlike the wall-clock rows above.
  {
    label: 'gateway CPU to first hello-ok',
    unit: 'ms',
    better: 'lower',
    target: Number.NaN,
    value: (f) => f.gatewayCpu.coldStartMs,
    digits: 0,
  },
  {
    label: 'gateway CPU per token handshake',
    unit: 'µs',
    better: 'lower',
    target: Number.NaN,
    value: (f) => f.gatewayCpu.tokenHandshakeUs,
    digits: 0,
  },
  {
    label: 'gateway CPU per device handshake',
    unit: 'µs',
    better: 'lower',
    target: Number.NaN,
    value: (f) => f.gatewayCpu.deviceHandshakeUs,
    digits: 0,
  },
  {
    label: 'gateway CPU per health, 1 in flight',
    unit: 'µs',
    better: 'lower',
    target: Number.NaN,
    value: (f) => f.gatewayCpu.health1Us,
    digits: 1,
  },
  {
    label: 'gateway CPU per health, 32 in flight',
    unit: 'µs',
    better: 'lower',
    target: Number.NaN,
    value: (f) => f.gatewayCpu.health32Us,
    digits: 1,
  },
];

function meets(t: Measure, v: number): boolean | null {
  if (!Number.isFinite(t.target) || !Number.isFinite(v)) return null;
  return t.better === 'lower' ? v <= t.target : v >= t.target;
}

/** How many times better Clawdesk is (>1 = Clawdesk better), whichever direction "better" is. */
function advantage(t: Measure, ours: number, real: number): number {
  return t.better === 'lower' ? real / ours : ours / real;
}

function printTable(ours: GatewayFigures | undefined, real: GatewayFigures | undefined): void {
  const rows: string[][] = [['measure', 'unit', 'clawdesk', 'openclaw', 'advantage', 'target', '']];
  for (const t of MEASURES) {
    const o = ours ? t.value(ours) : Number.NaN;
    const r = real ? t.value(real) : Number.NaN;
    const adv = ours && real ? advantage(t, o, r) : Number.NaN;
    const pass = meets(t, o);
    rows.push([
      t.label,
      t.unit,
      fmt(o, t.digits),
      fmt(r, t.digits),
      Number.isFinite(adv) ? `${fmt(adv, adv >= 10 ? 0 : 1)}×` : '—',
      Number.isFinite(t.target) ? `${t.better === 'lower' ? '≤' : '≥'} ${fmt(t.target, t.digits === 0 ? 0 : 1)}` : '',
      pass === null ? '' : pass ? 'pass' : 'MISS',
    ]);
  }
  console.log(table(rows));
  console.log(
    'advantage = how many times better Clawdesk is than openclaw (>1 = Clawdesk better). Gateway CPU: user+system of the process tree, 10 ms resolution.',
  );
  for (const f of [ours, real]) {
    if (!f) continue;
    const busy = [f.health1, f.health32].filter((h) => h.clientCpuCores > 0.9);
    if (busy.length)
      console.log(
        `note: the load generator used >90% of a core during ${f.name} health runs; that figure is a lower bound.`,
      );
    if (f.health1.errors || f.health32.errors || f.handshakeErrors) {
      console.log(
        `note: ${f.name} errors: handshakes ${f.handshakeErrors}, health ${f.health1.errors + f.health32.errors}${(f.health1.firstError ?? f.health32.firstError) ? ` (${f.health1.firstError ?? f.health32.firstError})` : ''}`,
      );
    }
  }
}

/** Exec benchmark modules written by the exec engineer (`bench/exec-*.ts`), each exporting async functions. */
async function runExecBenches(log: (line: string) => void): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  let files: string[];
  try {
    // exec-real-openclaw is called by main() itself, so that --only and --quick reach it.
    files = readdirSync(__dirname)
      .filter((f) => /^exec-.*\.js$/.test(f) && f !== 'exec-real-openclaw.js')
      .sort();
  } catch {
    return results;
  }
  if (!files.length) {
    log('exec benchmarks: none present (bench/exec-*.ts)');
    return results;
  }
  for (const file of files) {
    const mod = require(path.join(__dirname, file)) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(mod)) {
      if (typeof fn !== 'function' || !/^(bench|run)/i.test(name)) continue;
      log(`exec benchmark ${file}:${name} ...`);
      try {
        // Their own log lines are the human output; a function that says nothing gets its result printed on one line.
        let said = false;
        const value = await (fn as (o?: unknown) => Promise<unknown>)({
          log: (line: string) => {
            said = true;
            console.log(line);
          },
        });
        results[`${file.replace(/\.js$/, '')}:${name}`] = value;
        if (!said && value !== undefined)
          console.log(`${name}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
      } catch (error) {
        results[`${file.replace(/\.js$/, '')}:${name}`] = { error: (error as Error).message };
        console.log(`exec benchmark ${name} failed: ${(error as Error).message}`);
      }
    }
  }
  return results;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        only: { type: 'string' },
        quick: { type: 'boolean', default: false },
        'skip-exec': { type: 'boolean', default: false },
        'clawdesk-node-args': { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.only && values.only !== 'clawdesk' && values.only !== 'openclaw') {
    process.stderr.write(`--only must be clawdesk or openclaw, not "${values.only}"\n${USAGE}`);
    return 2;
  }
  const started = Date.now();
  const loadAtStart = os.loadavg()[0];
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const options: GatewayBenchOptions = values.quick
    ? { ...DEFAULT_GATEWAY_BENCH, connects: 20, warmupConnects: 5, throughputMs: 1000, idleMs: 1000, log }
    : { ...DEFAULT_GATEWAY_BENCH, log };
  console.log(
    `Clawdesk gateway benchmark · ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? 'unknown'}) · client node ${process.version} · load average ${os.loadavg()[0].toFixed(2)} · ${new Date().toISOString()}`,
  );
  if (os.loadavg()[0] > os.cpus().length * 0.5)
    console.log('note: the machine is busy (load average above half the CPUs); figures will be noisy.');
  console.log(
    `${options.connects} sequential connects after ${options.warmupConnects} warm-up; health over ${options.throughputMs / 1000} s per depth on one connection; idle RSS once the gateway is quiet, ≥ ${options.idleMs / 1000} s after the first hello-ok. Gateways run in their own processes.`,
  );

  let ours: GatewayFigures | undefined;
  let real: GatewayFigures | undefined;
  const problems: Record<string, string> = {};
  if (values.only !== 'openclaw') {
    log('clawdesk gateway: node bin/clawdesk.js gateway run --no-node ...');
    try {
      const nodeArgs = values['clawdesk-node-args'].split(/\s+/).filter(Boolean);
      if (nodeArgs.length) console.log(`clawdesk gateway node flags: ${nodeArgs.join(' ')}`);
      ours = await benchGateway(() => startClawdeskGateway({ nodeArgs }), options);
    } catch (error) {
      problems.clawdesk = (error as Error).message;
      console.log(`clawdesk gateway could not be measured: ${problems.clawdesk}`);
    }
  }
  if (values.only !== 'clawdesk') {
    log('openclaw gateway (real, from the interop cache) ...');
    try {
      const starter = loadRealOpenclaw(log);
      real = await benchGateway(starter, { ...options, coldStartDeadlineMs: 120_000 });
    } catch (error) {
      problems.openclaw = (error as Error).message;
      console.log(`real openclaw gateway could not be measured: ${problems.openclaw}`);
    }
  }
  console.log('');
  printTable(ours, real);

  let exec: Record<string, unknown> = {};
  if (!values['skip-exec']) {
    console.log('');
    exec = await runExecBenches(log);
    log(
      'exec benchmark: system.run through the real gateways (clawdesk gateway run, then openclaw gateway + node host) ...',
    );
    const real = await benchRealSystemRun({
      log,
      sides: { clawdesk: values.only !== 'openclaw', openclaw: values.only !== 'clawdesk' },
      ...(values.quick ? { iterations: 30, warmups: 5 } : {}),
    });
    console.log('');
    console.log(formatRealSystemRun(real));
    const inProcess = exec['exec-approvals:benchSystemRunVsSpawn'] as
      { viaNodeP50?: number; overheadP50?: number } | undefined;
    if (typeof inProcess?.viaNodeP50 === 'number') {
      console.log(
        `for reference, in-process (bench/exec-approvals.ts, gateway and runner inside the load generator): via node.invoke p50 ${fmt(inProcess.viaNodeP50, 3)} ms, overhead +${fmt(inProcess.overheadP50, 3)} ms.`,
      );
    }
    exec['exec-real-openclaw:benchRealSystemRun'] = realSystemRunJson(real);
    log('exec benchmark: the agent approval path through the real gateways (clawdesk, then openclaw) ...');
    const approvalPath = await benchAgentApprovalPath({
      log,
      sides: { clawdesk: values.only !== 'openclaw', openclaw: values.only !== 'clawdesk' },
      ...(values.quick ? { turns: 5 } : {}),
    });
    console.log('');
    console.log(formatAgentApprovalPath(approvalPath));
    exec['agent-approval-path:benchAgentApprovalPath'] = agentApprovalPathJson(approvalPath);
  }

  console.log('');
  const migration = await benchStateMigration({ log }).catch((error: Error) => ({ error: error.message }));
  let openclawSupervisor: unknown = null;
  if (values.only !== 'clawdesk') {
    console.log('');
    openclawSupervisor = await benchOpenclawSupervisor({ log }).then(
      (figures) => (console.log(formatOpenclawSupervisor(figures)), figures),
      (error: Error) => (
        console.log(`openclaw supervisor benchmark failed: ${error.message}`),
        { error: error.message }
      ),
    );
  }

  // The booted app's main (UI) process while its embedded gateway is busy (issue 13): the target is p99 ≤ 10 ms,
  // and targetRatio = 10 ms / p99 (>1 = within the target).
  const mainEventLoop = await benchMainEventLoop({ seconds: values.quick ? 1 : 5 }).then(
    (f) => {
      console.log(
        `main-process event-loop delay: idle p99 ${f.idle.p99} ms; at ${f.loaded.achievedRps} RPC/s p99 ${f.loaded.p99} ms, max ${f.loaded.max} ms; with ${f.approvals.pending} approvals waiting p99 ${f.approvals.p99} ms (target p99 ≤ 10 ms)`,
      );
      console.log(
        `approval hand-off in the app (agent's request → tray shows it), ${f.approvals.pending} arriving under load: p50 ${f.approvals.handOffP50} ms, p99 ${f.approvals.handOffP99} ms (target ≤ 20 ms)`,
      );
      return {
        ...f,
        targetP99Ms: 10,
        targetRatio: round(10 / Math.max(f.loaded.p99, f.approvals.p99, 0.001), 2),
        handOffTargetMs: 20,
        handOffRatio: round(20 / Math.max(f.approvals.handOffP99, 0.001), 2),
      };
    },
    (error: Error) => ({ error: error.message }),
  );

  const targets = Object.fromEntries(
    MEASURES.filter((t) => Number.isFinite(t.target)).map((t) => [
      t.label,
      {
        target: t.target,
        unit: t.unit,
        value: ours ? round(t.value(ours), 3) : null,
        pass: ours ? meets(t, t.value(ours)) : null,
      },
    ]),
  );
  const ratios = Object.fromEntries(
    MEASURES.map((t) => [t.label, ours && real ? round(advantage(t, t.value(ours), t.value(real)), 2) : null]),
  );
  console.log(`\nbench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(
    JSON.stringify({
      bench: 'clawdesk-gateway',
      at: new Date().toISOString(),
      cpus: os.cpus().length,
      loadAverageAtStart: round(loadAtStart, 2),
      clawdesk: ours ? figuresJson(ours) : null,
      openclaw: real ? figuresJson(real) : null,
      advantage: ratios,
      advantageMeaning:
        'openclaw/clawdesk for lower-is-better measures, clawdesk/openclaw for higher-is-better; >1 = Clawdesk better',
      targets,
      exec,
      migration,
      openclawSupervisor,
      mainEventLoop,
      problems,
    }),
  );
  return ours ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
