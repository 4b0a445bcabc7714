import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  ensureOpenclawInstalled,
  processTreeRssBytes,
  readEgressAttempts,
  removeOpenclawTempDir,
  spawnRealOpenclawGateway,
  waitForHelloOk,
} from '../test/interop/openclaw-harness';
import type { GatewayUnderTest } from './gateway-process';

/**
 * The real openclaw 2026.9.6 gateway from the interop cache, for `npm run bench`: started isolated (own HOME,
 * state, config, TMPDIR, logs under a temp dir), loopback only, under the loopback guard, with token auth.
 * Installs the cache first when it is missing (about 30 s, once).
 */

/**
 * Spawns the real gateway and returns at once, as a GatewayUnderTest (the caller measures cold start from
 * `spawnedAtNs` by retrying handshakes; the real gateway closes 1013 "gateway starting" for its first second).
 */
export async function startRealOpenclaw(log: (line: string) => void = () => {}): Promise<GatewayUnderTest> {
  const install = ensureOpenclawInstalled();
  if (install.installed)
    log(
      `installed openclaw ${install.openclawVersion} + node ${install.nodeVersion} into ${install.cacheDir} in ${install.seconds.toFixed(0)} s`,
    );
  const token = randomBytes(24).toString('base64url');
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-bench-'));
  const gw = await spawnRealOpenclawGateway({ authMode: 'token', token, tmpDir });
  return {
    name: 'openclaw',
    pid: gw.pid,
    url: `ws://127.0.0.1:${gw.port}`,
    token,
    spawnedAtNs: gw.spawnedAtNs,
    outputTail: () => gw.output().slice(-4000),
    exited: gw.exited,
    async stop() {
      await gw.stop(3_000);
      const blocked = readEgressAttempts(gw.environment.egressLog);
      // The real gateway looks up clawhub.ai at start; the guard refuses it. Anything else would be news.
      const unexpected = blocked.filter((line) => !line.includes('clawhub.ai'));
      if (unexpected.length)
        log(`openclaw gateway: the loopback guard blocked unexpected egress:\n${unexpected.join('\n')}`);
      removeOpenclawTempDir(tmpDir);
    },
  };
}

export interface RealOpenclawStartup {
  /** Spawn → the TCP port accepts connections. */
  listeningMs: number;
  /** Spawn → first successful `hello-ok`. */
  firstHelloMs: number;
  /** RSS of the gateway process alone, `idleMs` after the first hello-ok. */
  idleRssBytes: number;
  /** RSS of the gateway and every process it spawned (spawn broker, SQLite reader, workers). */
  idleTreeRssBytes: number;
  idleMs: number;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** One cold start of the real gateway: time to listening and to first hello-ok, then idle RSS after `idleMs`. */
export async function measureRealOpenclawStartup(
  options: { idleMs?: number; log?: (line: string) => void } = {},
): Promise<RealOpenclawStartup> {
  const idleMs = options.idleMs ?? 60_000;
  ensureOpenclawInstalled();
  const token = randomBytes(24).toString('base64url');
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-bench-'));
  const gw = await spawnRealOpenclawGateway({ authMode: 'token', token, tmpDir });
  try {
    let listeningMs = Number.NaN;
    const sinceSpawnMs = () => Number(process.hrtime.bigint() - gw.spawnedAtNs) / 1e6;
    const listening = (async () => {
      while (!gw.exitInfo() && sinceSpawnMs() < 120_000) {
        if (await portOpen(gw.port)) {
          listeningMs = sinceSpawnMs();
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await waitForHelloOk(gw, { authMode: 'token', token }, 120_000);
    const firstHelloMs = sinceSpawnMs();
    await listening;
    options.log?.(
      `openclaw gateway: first hello-ok after ${(firstHelloMs / 1000).toFixed(2)} s; idling ${idleMs / 1000} s for RSS`,
    );
    await new Promise((r) => setTimeout(r, idleMs));
    return {
      listeningMs,
      firstHelloMs,
      idleRssBytes: rssBytes(gw.pid),
      idleTreeRssBytes: processTreeRssBytes(gw.pid),
      idleMs,
    };
  } finally {
    await gw.stop(3_000);
    removeOpenclawTempDir(tmpDir);
  }
}

// `node dist/bench/real-openclaw.js [idleSeconds]`: one cold-start/RSS measurement, printed as JSON.
if (require.main === module) {
  const idleMs = Number(process.argv[2] ?? 60) * 1000;
  measureRealOpenclawStartup({ idleMs, log: (l) => process.stderr.write(l + '\n') }).then(
    (r) => {
      const mib = (b: number) => Math.round((b / 1048576) * 10) / 10;
      console.log(
        JSON.stringify({
          listeningMs: Math.round(r.listeningMs),
          firstHelloMs: Math.round(r.firstHelloMs),
          idleRssMiB: mib(r.idleRssBytes),
          idleTreeRssMiB: mib(r.idleTreeRssBytes),
          idleMs: r.idleMs,
        }),
      );
    },
    (error) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
