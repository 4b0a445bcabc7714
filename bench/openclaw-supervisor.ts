import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { locateOpenclawInstall } from '../gateway/openclaw/install';
import { OpenclawSupervisor } from '../gateway/openclaw/supervisor';
import { freePort } from '../test/helpers/free-port';
import {
  ensureOpenclawInstalled,
  openclawEnv,
  removeOpenclawTempDir,
  spawnRealOpenclawGateway,
  waitForHelloOk,
} from '../test/interop/openclaw-harness';
import { fmt, round, table } from './stats';

/**
 * `npm run bench`: OpenClaw's own gateway under Clawdesk's supervisor (issue 11's benchmark). Start → hello-ok,
 * cold (a fresh state dir) and warm (the same state dir again); the supervisor's added RSS in this process; and a
 * kill -9 → serving again, against OpenClaw's own cold start (a bare spawn → hello-ok in the same run). Targets:
 * added RSS under 5 MiB; crash → serving within OpenClaw's cold start + 1 s (the first restart waits 1 s).
 */

export interface OpenclawSupervisorFigures {
  bareColdStartMs: number;
  supervisedColdStartMs: number;
  supervisedWarmStartMs: number;
  crashToServingMs: number;
  /** RSS after the supervised start minus before (after GC); may be negative when the OS takes pages back. */
  addedRssBytes: number;
  /** V8 heap used + external + array buffers, after minus before (after GC): what the supervisor keeps alive. */
  addedHeapBytes: number;
  targets: { addedRssMiB: { target: number; pass: boolean }; crashToServingMs: { target: number; pass: boolean } };
}

function gc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

async function settledMemory(): Promise<{ rss: number; heap: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed + m.external + m.arrayBuffers };
}

export async function benchOpenclawSupervisor(
  options: { log?: (line: string) => void } = {},
): Promise<OpenclawSupervisorFigures> {
  const log = options.log ?? (() => undefined);
  const cache = ensureOpenclawInstalled();
  const found = locateOpenclawInstall({ installPath: cache.cacheDir });
  if (!found.ok) throw new Error(found.reason);
  const token = randomBytes(24).toString('base64url');

  log('openclaw supervisor: a bare spawn to hello-ok (OpenClaw’s own cold start) ...');
  const bareDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-bench-bare-'));
  const bare = await spawnRealOpenclawGateway({ authMode: 'token', token, tmpDir: bareDir });
  await waitForHelloOk(bare, { authMode: 'token', token }, 180_000);
  const bareColdStartMs = Number(process.hrtime.bigint() - bare.spawnedAtNs) / 1e6;
  await bare.stop(10_000);
  removeOpenclawTempDir(bareDir);

  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-bench-sup-'));
  const port = await freePort();
  const environment = openclawEnv({ tmpDir, port, authMode: 'token', token });
  const before = await settledMemory();
  const supervisor = new OpenclawSupervisor({
    install: found.install,
    env: environment.env,
    port,
    logFile: path.join(tmpDir, 'logs', 'openclaw-gateway.log'),
    readyTimeoutMs: 300_000,
  });
  try {
    log('openclaw supervisor: cold start (fresh state dir) ...');
    let t = performance.now();
    await supervisor.start();
    if (supervisor.status().state !== 'running') throw new Error(`not running: ${supervisor.status().reason}`);
    const supervisedColdStartMs = performance.now() - t;
    const after = await settledMemory();
    const addedRssBytes = after.rss - before.rss;
    const addedHeapBytes = after.heap - before.heap;

    log('openclaw supervisor: kill -9 → serving again ...');
    const pid = supervisor.childPid()!;
    t = performance.now();
    process.kill(pid, 'SIGKILL');
    await supervisor.waitFor(['backoff'], 60_000);
    await supervisor.waitFor(['running'], 300_000);
    const crashToServingMs = performance.now() - t;

    log('openclaw supervisor: warm start (same state dir) ...');
    await supervisor.stop();
    t = performance.now();
    await supervisor.start();
    if (supervisor.status().state !== 'running') throw new Error(`not running: ${supervisor.status().reason}`);
    const supervisedWarmStartMs = performance.now() - t;

    const crashTarget = bareColdStartMs + 1_000;
    return {
      bareColdStartMs,
      supervisedColdStartMs,
      supervisedWarmStartMs,
      crashToServingMs,
      addedRssBytes,
      addedHeapBytes,
      targets: {
        addedRssMiB: { target: 5, pass: Math.max(addedRssBytes, addedHeapBytes) < 5 * 1024 * 1024 },
        crashToServingMs: { target: round(crashTarget, 0) ?? crashTarget, pass: crashToServingMs <= crashTarget },
      },
    };
  } finally {
    await supervisor.dispose();
    removeOpenclawTempDir(tmpDir);
  }
}

export function formatOpenclawSupervisor(f: OpenclawSupervisorFigures): string {
  const pass = (ok: boolean) => (ok ? 'yes' : 'NO');
  return [
    "OpenClaw's gateway under Clawdesk's supervisor (openclaw 2026.9.6, Node 26; one run each, machine load applies):",
    table([
      ['measure', 'value', 'target', 'met'],
      ['bare spawn → hello-ok (OpenClaw cold start)', `${fmt(f.bareColdStartMs, 0)} ms`, '', ''],
      ['supervised start → hello-ok, cold', `${fmt(f.supervisedColdStartMs, 0)} ms`, '', ''],
      ['supervised start → hello-ok, warm', `${fmt(f.supervisedWarmStartMs, 0)} ms`, '', ''],
      [
        'kill -9 → serving again',
        `${fmt(f.crashToServingMs, 0)} ms`,
        `≤ ${fmt(f.targets.crashToServingMs.target, 0)} ms`,
        pass(f.targets.crashToServingMs.pass),
      ],
      [
        'supervisor added RSS (V8 heap + buffers)',
        `${fmt(f.addedRssBytes / 1024 / 1024, 2)} MiB (${fmt(f.addedHeapBytes / 1024 / 1024, 2)} MiB)`,
        '< 5 MiB',
        pass(f.targets.addedRssMiB.pass),
      ],
    ]),
  ].join('\n');
}
