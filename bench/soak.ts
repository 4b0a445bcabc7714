import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type WebSocket from 'ws';
import { MiB, startClawdeskGateway, treeCpuMs, treeRss } from './gateway-process';
import { closeSession, firstHello, openSession, type BenchIdentity } from './gateway-wire';
import { fmt, msSince, nowNs, percentile, round, sleep, table } from './stats';

/**
 * `npm run bench:soak` (not in CI): N authenticated connections held idle plus a steady RPC load for a while against
 * Clawdesk's gateway (its own process). Prints RSS growth (target ≤ 30 MiB), latency percentiles and errors (target 0).
 */

const USAGE = `Usage: npm run bench:soak -- [--connections N] [--seconds S] [--rate R] [--load-connections L]
  --connections       idle authenticated connections to hold (default 1000)
  --seconds           length of the load phase (default 60)
  --rate              RPCs per second, spread over the load connections (default 2000)
  --load-connections  connections carrying the RPC load (default 8)
  --gateway-node-args extra node flags for the gateway process, space-separated (e.g. "--max-semi-space-size=1")
`;

const RSS_GROWTH_TARGET_MIB = 30;
const REQUEST_TIMEOUT_MS = 10_000;
/** File descriptors this process needs beyond its sockets (stdio, the child's pipes, node's own). */
const FD_HEADROOM = 200;

function openFileLimits(): { soft: number; hard: number } {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').replace('Max open files', '').trim().split(/\s+/);
  const parse = (v: string | undefined) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: parse(soft), hard: parse(hard) };
}

/**
 * Node raises its soft limit to the hard limit at start-up, so normally only the hard limit matters; for a runtime
 * that does not, and since Node cannot call setrlimit itself, when the soft limit is too low (and the hard limit allows more) the script re-runs
 * itself under `ulimit -n`. Returns the exit code of that re-run, or undefined when the limit was already enough.
 */
function ensureFileLimit(needed: number): number | undefined {
  const { soft, hard } = openFileLimits();
  if (soft >= needed) return undefined;
  if (hard < needed) {
    console.error(
      `soak: needs ${needed} open files but the hard limit is ${hard} (soft ${soft}). Raise it (e.g. \`ulimit -Hn ${needed}\` as root, or /etc/security/limits.conf) or run with fewer --connections.`,
    );
    return 1;
  }
  if (process.env.CLAWDESK_SOAK_RAISED_LIMIT) {
    console.error(
      `soak: raising the soft open-file limit to ${needed} did not take effect (still ${soft}); giving up.`,
    );
    return 1;
  }
  console.error(
    `soak: the open-file limit (ulimit -n) is ${soft}, below the ${needed} this run needs; re-running under \`ulimit -n ${needed}\` (hard limit ${hard}).`,
  );
  const result = spawnSync(
    '/bin/sh',
    ['-c', `ulimit -n ${needed} && exec "$0" "$@"`, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, CLAWDESK_SOAK_RAISED_LIMIT: '1' },
    },
  );
  return result.status ?? 1;
}

interface LoadStats {
  sent: number;
  completed: number;
  errors: number;
  timeouts: number;
  latencies: number[];
  firstError?: string;
}

/** Open-loop load: requests go out on a fixed schedule whatever the responses do, so slow answers show as latency. */
function startLoad(sockets: WebSocket[], rate: number, stats: LoadStats): () => Promise<void> {
  const pending = new Map<string, { at: bigint; method: string }>();
  const methods = ['health', 'status', 'health', 'health'];
  let seq = 0;
  const onMessage = (data: WebSocket.RawData) => {
    const now = nowNs();
    let frame: any;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      stats.errors += 1;
      stats.firstError ??= 'a response was not JSON';
      return;
    }
    if (frame.type !== 'res') return;
    const p = pending.get(frame.id);
    if (!p) return;
    pending.delete(frame.id);
    if (frame.ok) {
      stats.completed += 1;
      stats.latencies.push(Number(now - p.at) / 1e6);
    } else {
      stats.errors += 1;
      stats.firstError ??= `${p.method}: ${frame.error?.code} ${frame.error?.message}`;
    }
  };
  for (const ws of sockets) ws.on('message', onMessage);
  const tickMs = 10;
  let carry = 0;
  const started = nowNs();
  let ticks = 0;
  const timer = setInterval(() => {
    // Catch up from the wall clock so a late timer does not lower the rate.
    const due = Math.floor((msSince(started) / 1000) * rate);
    carry = due - seq;
    for (let i = 0; i < carry; i++) {
      const ws = sockets[seq % sockets.length];
      const method = methods[seq % methods.length];
      const id = `s${++seq}`;
      pending.set(id, { at: nowNs(), method });
      stats.sent += 1;
      ws.send(`{"type":"req","id":"${id}","method":"${method}","params":{}}`);
    }
    if (++ticks % 100 === 0) {
      const cutoff = nowNs() - BigInt(REQUEST_TIMEOUT_MS) * 1_000_000n;
      for (const [id, p] of pending) {
        if (p.at < cutoff) {
          pending.delete(id);
          stats.timeouts += 1;
          stats.firstError ??= `${p.method}: no answer within ${REQUEST_TIMEOUT_MS} ms`;
        }
      }
    }
  }, tickMs);
  return async () => {
    clearInterval(timer);
    const deadline = Date.now() + REQUEST_TIMEOUT_MS;
    while (pending.size && Date.now() < deadline) await sleep(20);
    stats.timeouts += pending.size;
    if (pending.size) stats.firstError ??= `${pending.size} requests unanswered at the end`;
    for (const ws of sockets) ws.off('message', onMessage);
  };
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        connections: { type: 'string', default: '1000' },
        seconds: { type: 'string', default: '60' },
        rate: { type: 'string', default: '2000' },
        'load-connections': { type: 'string', default: '8' },
        'gateway-node-args': { type: 'string', default: '' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const idleCount = Number(values.connections);
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  const loadCount = Number(values['load-connections']);
  for (const [name, v] of Object.entries({ connections: idleCount, seconds, rate, 'load-connections': loadCount })) {
    if (!Number.isInteger(v) || v < 1) {
      console.error(`--${name} must be a positive integer\n${USAGE}`);
      return 2;
    }
  }
  const reran = ensureFileLimit(idleCount + loadCount + FD_HEADROOM);
  if (reran !== undefined) return reran;

  console.log(
    `Clawdesk gateway soak: ${idleCount} idle authenticated connections + ${rate} RPC/s (health, status) over ${loadCount} connections for ${seconds} s`,
  );
  const nodeArgs = values['gateway-node-args'].split(/\s+/).filter(Boolean);
  if (nodeArgs.length) console.log(`gateway node flags: ${nodeArgs.join(' ')}`);
  const gateway = await startClawdeskGateway({ nodeArgs });
  const errors: string[] = [];
  try {
    const tokenId: BenchIdentity = { url: gateway.url, token: gateway.token };
    const first = await firstHello(tokenId, { deadlineMs: 30_000, exited: gateway.exited });
    await closeSession(first.session.ws);
    await sleep(2000);
    const rssIdle = treeRss(gateway.pid).bytes;

    // Idle clients: token-authenticated backends holding no scopes, so each connect does not fan a presence
    // broadcast out to every other idle client (that fan-out is O(n²) bytes and would measure itself, not the soak).
    const idleId: BenchIdentity = { ...tokenId, clientId: 'gateway-client', clientMode: 'backend', scopes: [] };
    const idle: WebSocket[] = [];
    let unexpectedCloses = 0;
    let connectErrors = 0;
    let stopping = false;
    const rampStarted = nowNs();
    let next = 0;
    const opener = async () => {
      while (next < idleCount) {
        next += 1;
        try {
          const s = await openSession(idleId, 20_000);
          s.ws.on('close', (code) => {
            if (!stopping) {
              unexpectedCloses += 1;
              if (unexpectedCloses <= 3) errors.push(`an idle connection closed unexpectedly (${code})`);
            }
          });
          idle.push(s.ws);
        } catch (error) {
          connectErrors += 1;
          if (connectErrors <= 3) errors.push(`idle connect failed: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, opener));
    console.log(
      `opened ${idle.length}/${idleCount} idle connections in ${(msSince(rampStarted) / 1000).toFixed(1)} s (${connectErrors} failed)`,
    );

    const loaders: WebSocket[] = [];
    for (let i = 0; i < loadCount; i++) loaders.push((await openSession(tokenId)).ws);
    for (const ws of loaders) {
      ws.on('close', (code) => {
        if (!stopping) errors.push(`a load connection closed unexpectedly (${code})`);
      });
    }
    await sleep(2000);
    const rssStart = treeRss(gateway.pid).bytes;
    const cpuStart = treeCpuMs(gateway.pid);
    const stats: LoadStats = { sent: 0, completed: 0, errors: 0, timeouts: 0, latencies: [] };
    const stopLoad = startLoad(loaders, rate, stats);
    const samples: string[][] = [['t (s)', 'RSS MiB', 'answered', 'p99 ms (last 10 s)']];
    let rssPeak = rssStart;
    const loadStarted = nowNs();
    let lastIndex = 0;
    for (let t = 10; t <= seconds; t += 10) {
      await sleep(Math.max(0, t * 1000 - msSince(loadStarted)));
      const rss = treeRss(gateway.pid).bytes;
      rssPeak = Math.max(rssPeak, rss);
      const windowLat = stats.latencies.slice(lastIndex);
      lastIndex = stats.latencies.length;
      samples.push([String(t), fmt(rss / MiB, 1), String(stats.completed), fmt(percentile(windowLat, 99), 2)]);
      process.stderr.write(`  t=${t}s RSS ${(rss / MiB).toFixed(1)} MiB, ${stats.completed} answered\n`);
    }
    const remaining = seconds * 1000 - msSince(loadStarted);
    if (remaining > 0) await sleep(remaining);
    const loadMs = msSince(loadStarted);
    await stopLoad();
    const cpuUsedMs = treeCpuMs(gateway.pid) - cpuStart;
    const rssEnd = treeRss(gateway.pid).bytes;
    rssPeak = Math.max(rssPeak, rssEnd);
    const aliveIdle = idle.filter((ws) => ws.readyState === ws.OPEN).length;

    stopping = true;
    await Promise.all([...idle, ...loaders].map((ws) => closeSession(ws)));
    await sleep(2000);
    const rssAfterClose = treeRss(gateway.pid).bytes;

    const growthMiB = (rssEnd - rssStart) / MiB;
    const totalErrors = stats.errors + stats.timeouts + connectErrors + unexpectedCloses;
    console.log('');
    console.log(table(samples));
    console.log('');
    const rows = [
      ['measure', 'value', 'target', ''],
      ['RSS idle, before connections', `${fmt(rssIdle / MiB, 1)} MiB`, '', ''],
      ['RSS with connections, load start', `${fmt(rssStart / MiB, 1)} MiB`, '', ''],
      ['RSS at end of load', `${fmt(rssEnd / MiB, 1)} MiB`, '', ''],
      ['RSS peak', `${fmt(rssPeak / MiB, 1)} MiB`, '', ''],
      [
        'RSS growth during load',
        `${fmt(growthMiB, 1)} MiB`,
        `≤ ${RSS_GROWTH_TARGET_MIB} MiB`,
        growthMiB <= RSS_GROWTH_TARGET_MIB ? 'pass' : 'MISS',
      ],
      ['RSS 2 s after all closed', `${fmt(rssAfterClose / MiB, 1)} MiB`, '', ''],
      ['RPCs answered', `${stats.completed} (${fmt((stats.completed / loadMs) * 1000, 0)}/s)`, '', ''],
      [
        'latency p50 / p99 / max',
        `${fmt(percentile(stats.latencies, 50), 2)} / ${fmt(percentile(stats.latencies, 99), 2)} / ${fmt(stats.latencies.length ? Math.max(...stats.latencies) : Number.NaN, 1)} ms`,
        '',
        '',
      ],
      ['gateway CPU during load', `${fmt(cpuUsedMs / loadMs, 2)} cores`, '', ''],
      ['idle connections alive at end', `${aliveIdle}/${idleCount}`, '', ''],
      [
        'errors (RPC errors, timeouts, connect failures, unexpected closes)',
        `${totalErrors} (${stats.errors}, ${stats.timeouts}, ${connectErrors}, ${unexpectedCloses})`,
        '0',
        totalErrors === 0 ? 'pass' : 'MISS',
      ],
    ];
    console.log(table(rows));
    for (const e of [stats.firstError, ...errors].filter(Boolean).slice(0, 5)) console.log(`error: ${e}`);
    console.log(
      JSON.stringify({
        bench: 'clawdesk-soak',
        at: new Date().toISOString(),
        connections: idleCount,
        seconds,
        rate,
        rssMiB: {
          idle: round(rssIdle / MiB, 1),
          start: round(rssStart / MiB, 1),
          end: round(rssEnd / MiB, 1),
          peak: round(rssPeak / MiB, 1),
          afterClose: round(rssAfterClose / MiB, 1),
        },
        rssGrowthMiB: round(growthMiB, 1),
        rssGrowthPass: growthMiB <= RSS_GROWTH_TARGET_MIB,
        answered: stats.completed,
        latencyMs: {
          p50: round(percentile(stats.latencies, 50), 3),
          p99: round(percentile(stats.latencies, 99), 3),
          max: round(stats.latencies.length ? Math.max(...stats.latencies) : Number.NaN, 3),
        },
        gatewayCpuCores: round(cpuUsedMs / loadMs, 2),
        errors: {
          total: totalErrors,
          rpc: stats.errors,
          timeouts: stats.timeouts,
          connect: connectErrors,
          unexpectedCloses,
        },
        errorsPass: totalErrors === 0,
      }),
    );
    return totalErrors === 0 && growthMiB <= RSS_GROWTH_TARGET_MIB ? 0 : 1;
  } catch (error) {
    console.error(
      `soak failed: ${(error as Error).message}\n--- gateway output (tail) ---\n${gateway.outputTail().slice(-2000)}`,
    );
    return 1;
  } finally {
    await gateway.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(`soak failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exitCode = 1;
  },
);
