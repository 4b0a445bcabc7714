import { createEphemeralDeviceSigner } from '../gateway/protocol/device-auth';
import { MiB, treeCpuMs, treeRss, type GatewayUnderTest } from './gateway-process';
import {
  closeSession,
  firstHello,
  measureThroughput,
  openSession,
  type BenchIdentity,
  type ThroughputResult,
} from './gateway-wire';
import { msSince, nowNs, round, sleep, summarize, type LatencySummary } from './stats';

/** What `npm run bench` measures for one gateway (section 8 of issue 2). */
export interface GatewayFigures {
  name: string;
  coldStartMs: number;
  coldStartAttempts: number;
  idleRssMiB: number;
  idleProcesses: number;
  /** ms after the first hello-ok until the gateway's CPU use settled (it may keep starting things in the background). */
  settleMs: number;
  tokenHandshake: LatencySummary;
  devicePairingMs: number;
  deviceHandshake: LatencySummary;
  health1: Omit<ThroughputResult, 'latencies'>;
  health32: Omit<ThroughputResult, 'latencies'>;
  handshakeErrors: number;
  /** Gateway CPU time (process tree, user+system): to the first hello-ok, and per operation in µs. */
  gatewayCpu: {
    coldStartMs: number;
    tokenHandshakeUs: number;
    deviceHandshakeUs: number;
    health1Us: number;
    health32Us: number;
  };
}

export interface GatewayBenchOptions {
  connects: number;
  warmupConnects: number;
  throughputMs: number;
  /** Minimum idle time before RSS is read; the wait continues until the gateway is quiet, up to `settleMaxMs`. */
  idleMs: number;
  settleMaxMs: number;
  coldStartDeadlineMs: number;
  log: (line: string) => void;
}

export const DEFAULT_GATEWAY_BENCH: Omit<GatewayBenchOptions, 'log'> = {
  connects: 200,
  warmupConnects: 20,
  throughputMs: 5000,
  idleMs: 3000,
  settleMaxMs: 30_000,
  coldStartDeadlineMs: 60_000,
};

/**
 * Waits at least `minMs`, then until the process tree used under 5% of a core over the last second (or `maxMs`
 * passed): a gateway still busy starting in the background would otherwise distort every later figure.
 */
async function waitUntilQuiet(
  pid: number,
  minMs: number,
  maxMs: number,
): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = nowNs();
  await sleep(Math.max(0, minMs - 1000));
  for (;;) {
    const before = treeCpuMs(pid);
    await sleep(1000);
    const busy = treeCpuMs(pid) - before;
    if (busy <= 50) return { waitedMs: msSince(started), quiet: true };
    if (msSince(started) >= maxMs) return { waitedMs: msSince(started), quiet: false };
  }
}

/** Sequential connects (each closed fully before the next); returns ms from socket creation to hello-ok. */
async function handshakeSeries(
  id: BenchIdentity,
  count: number,
  warmup: number,
): Promise<{ samples: number[]; errors: number; attempts: number }> {
  const samples: number[] = [];
  let errors = 0;
  for (let i = 0; i < warmup + count; i++) {
    try {
      const session = await openSession(id);
      if (i >= warmup) samples.push(session.handshakeMs);
      await closeSession(session.ws);
    } catch (error) {
      errors += 1;
      if (errors > 5) throw new Error(`handshakes keep failing: ${(error as Error).message}`);
    }
  }
  return { samples, errors, attempts: warmup + count };
}

function strip(result: ThroughputResult & { latencies?: number[] }): Omit<ThroughputResult, 'latencies'> {
  const { latencies: _unused, ...rest } = result;
  return rest;
}

/**
 * Runs every measurement against a gateway that `start()` spawns: cold start, idle RSS, handshakes (token, then a
 * device paired once up front), `health` at 1 and 32 in flight. Stops the gateway in all cases.
 */
export async function benchGateway(
  start: () => Promise<GatewayUnderTest>,
  options: GatewayBenchOptions,
): Promise<GatewayFigures> {
  const gateway = await start();
  const log = (line: string) => options.log(`  [${gateway.name}] ${line}`);
  try {
    const tokenId: BenchIdentity = { url: gateway.url, token: gateway.token };
    const cold = await firstHello(tokenId, { deadlineMs: options.coldStartDeadlineMs, exited: gateway.exited });
    const coldStartMs = msSince(gateway.spawnedAtNs);
    const coldStartCpuMs = treeCpuMs(gateway.pid);
    await closeSession(cold.session.ws);
    log(
      `first hello-ok ${coldStartMs.toFixed(0)} ms after spawn (${cold.attempts} attempts; gateway CPU ${coldStartCpuMs.toFixed(0)} ms)`,
    );
    /** Gateway CPU µs per operation over a phase. */
    const cpuPerOp = async <T>(
      ops: (result: T) => number,
      phase: () => Promise<T>,
    ): Promise<{ result: T; us: number }> => {
      const before = treeCpuMs(gateway.pid);
      const result = await phase();
      const n = ops(result);
      return { result, us: n > 0 ? ((treeCpuMs(gateway.pid) - before) * 1000) / n : Number.NaN };
    };

    const settled = await waitUntilQuiet(gateway.pid, options.idleMs, options.settleMaxMs);
    const rss = treeRss(gateway.pid);
    log(
      `idle RSS ${(rss.bytes / MiB).toFixed(1)} MiB over ${rss.processes} process(es), ${(settled.waitedMs / 1000).toFixed(1)} s after the first hello-ok` +
        (settled.quiet ? '' : ' (still busy in the background; later figures share the CPU with it)'),
    );

    const tokenRun = await cpuPerOp(
      (r) => r.attempts,
      () => handshakeSeries(tokenId, options.connects, options.warmupConnects),
    );
    const token = tokenRun.result;
    const tokenHandshake = summarize(token.samples);
    log(
      `token handshake p50 ${tokenHandshake.p50.toFixed(3)} ms, p99 ${tokenHandshake.p99.toFixed(3)} ms (gateway CPU ~${tokenRun.us.toFixed(0)} µs each)`,
    );

    const deviceId: BenchIdentity = { ...tokenId, device: createEphemeralDeviceSigner() };
    const pairing = await openSession(deviceId);
    if (!pairing.hello?.auth?.deviceToken) log('note: the pairing connect returned no device token');
    await closeSession(pairing.ws);
    const deviceRun = await cpuPerOp(
      (r) => r.attempts,
      () => handshakeSeries(deviceId, options.connects, options.warmupConnects),
    );
    const device = deviceRun.result;
    const deviceHandshake = summarize(device.samples);
    log(
      `device handshake p50 ${deviceHandshake.p50.toFixed(3)} ms, p99 ${deviceHandshake.p99.toFixed(3)} ms (first pairing ${pairing.handshakeMs.toFixed(1)} ms; gateway CPU ~${deviceRun.us.toFixed(0)} µs each)`,
    );

    const session = await openSession(tokenId);
    // A short untimed run so both gateways are measured warm.
    await measureThroughput(session.ws, 'health', {}, 8, Math.min(500, options.throughputMs));
    const health1Run = await cpuPerOp(
      (r) => r.completed + r.errors,
      () => measureThroughput(session.ws, 'health', {}, 1, options.throughputMs),
    );
    const health1 = strip(health1Run.result);
    log(
      `health x1: ${health1.reqPerSec.toFixed(0)} req/s (${health1.errors} errors; client CPU ${(health1.clientCpuCores * 100).toFixed(0)}%, gateway CPU ~${health1Run.us.toFixed(0)} µs/req)`,
    );
    const health32Run = await cpuPerOp(
      (r) => r.completed + r.errors,
      () => measureThroughput(session.ws, 'health', {}, 32, options.throughputMs),
    );
    const health32 = strip(health32Run.result);
    log(
      `health x32: ${health32.reqPerSec.toFixed(0)} req/s (${health32.errors} errors; client CPU ${(health32.clientCpuCores * 100).toFixed(0)}%, gateway CPU ~${health32Run.us.toFixed(0)} µs/req)`,
    );
    await closeSession(session.ws);

    return {
      name: gateway.name,
      coldStartMs,
      coldStartAttempts: cold.attempts,
      idleRssMiB: rss.bytes / MiB,
      idleProcesses: rss.processes,
      settleMs: settled.waitedMs,
      tokenHandshake,
      devicePairingMs: pairing.handshakeMs,
      deviceHandshake,
      health1,
      health32,
      handshakeErrors: token.errors + device.errors,
      gatewayCpu: {
        coldStartMs: coldStartCpuMs,
        tokenHandshakeUs: tokenRun.us,
        deviceHandshakeUs: deviceRun.us,
        health1Us: health1Run.us,
        health32Us: health32Run.us,
      },
    };
  } catch (error) {
    const tail = gateway.outputTail().trim();
    throw new Error(
      `${(error as Error).message}${tail ? `\n--- ${gateway.name} output (tail) ---\n${tail.slice(-2000)}` : ''}`,
    );
  } finally {
    await gateway.stop();
  }
}

/** The figures as plain JSON numbers (ms, req/s, MiB). */
export function figuresJson(f: GatewayFigures): Record<string, unknown> {
  const lat = (s: LatencySummary) => ({ p50: round(s.p50, 3), p99: round(s.p99, 3), n: s.n });
  const thr = (t: Omit<ThroughputResult, 'latencies'>) => ({
    reqPerSec: round(t.reqPerSec, 0),
    p50Ms: round(t.p50Ms, 3),
    p99Ms: round(t.p99Ms, 3),
    errors: t.errors,
    clientCpuCores: round(t.clientCpuCores, 2),
  });
  return {
    coldStartMs: round(f.coldStartMs, 1),
    idleRssMiB: round(f.idleRssMiB, 1),
    idleProcesses: f.idleProcesses,
    settleMs: round(f.settleMs, 0),
    tokenHandshakeMs: lat(f.tokenHandshake),
    deviceHandshakeMs: lat(f.deviceHandshake),
    devicePairingMs: round(f.devicePairingMs, 2),
    health1: thr(f.health1),
    health32: thr(f.health32),
    handshakeErrors: f.handshakeErrors,
    gatewayCpu: {
      coldStartMs: round(f.gatewayCpu.coldStartMs, 0),
      tokenHandshakeUs: round(f.gatewayCpu.tokenHandshakeUs, 0),
      deviceHandshakeUs: round(f.gatewayCpu.deviceHandshakeUs, 0),
      health1Us: round(f.gatewayCpu.health1Us, 1),
      health32Us: round(f.gatewayCpu.health32Us, 1),
    },
  };
}
