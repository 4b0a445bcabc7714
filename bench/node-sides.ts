import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectGateway, GatewayClientError, type GatewaySession } from '../gateway/client/gateway-client';
import { writeJsonAtomic } from '../gateway/fs/atomic-file';
import {
  ensureOpenclawInstalled,
  openclawEnv,
  readEgressAttempts,
  removeOpenclawTempDir,
  spawnOpenclaw,
  startRealOpenclawGateway,
  type OpenclawProcess,
  type RealGateway,
} from '../test/interop/openclaw-harness';
import { captureOutput, exitDescription, freePort, REPO_ROOT, stopChild, treeCpuMs } from './gateway-process';
import { msSince, nowNs, sleep } from './stats';

/**
 * The two stacks the exec benchmarks compare, started the same way for each of them: Clawdesk's `gateway run`
 * (gateway + its own runner, one process) and the real openclaw gateway + `openclaw node run` (two processes), each
 * under the loopback guard, its node's exec policy set, and CPU left to settle before anything is timed.
 */

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  failed?: () => string | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed?.();
    if (why) throw new Error(`${what}: ${why}`);
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * Waits until the processes under test are quiet (under 5% of a core over half a second), at most `limitMs`: the real
 * gateway keeps its workers busy for a while after its first hello-ok, which would otherwise be measured too.
 * Returns how long it waited, and whether they did go quiet.
 */
export async function settle(pids: number[], limitMs = 15_000): Promise<{ waitedMs: number; quiet: boolean }> {
  const started = Date.now();
  const cpu = () => pids.reduce((sum, pid) => sum + treeCpuMs(pid), 0);
  let before = cpu();
  while (Date.now() - started < limitMs) {
    await sleep(500);
    const now = cpu();
    if (now - before <= 25) return { waitedMs: Date.now() - started, quiet: true };
    before = now;
  }
  return { waitedMs: Date.now() - started, quiet: false };
}

export function describeSettle(s: { waitedMs: number; quiet: boolean }): string {
  return s.quiet
    ? `quiet after ${(s.waitedMs / 1000).toFixed(1)} s`
    : `still busy after ${(s.waitedMs / 1000).toFixed(1)} s, measuring anyway`;
}

export function operator(url: string, token: string): Promise<GatewaySession> {
  // Device-less shared-token operator on loopback: both gateways grant the requested scopes
  // (docs/protocol.md § Auth modes).
  return connectGateway({
    url,
    token,
    clientId: 'gateway-client',
    clientMode: 'backend',
    scopes: ['operator.admin'],
    startupRetries: 200,
    connectTimeoutMs: 10_000,
  });
}

export async function connectedNode(session: GatewaySession, match: (n: any) => boolean): Promise<any> {
  const list = await session.request('node.list', {}, { timeoutMs: 10_000 });
  return (list?.nodes ?? []).find((n: any) => n.connected && (n.commands ?? []).includes('system.run') && match(n));
}

export function loopbackGuard(): string | undefined {
  const guard = path.join(REPO_ROOT, 'scripts', 'loopback-guard.cjs');
  return existsSync(guard) ? guard : undefined;
}

export interface NodeSide {
  url: string;
  token: string;
  nodeId: string;
  /** From spawning the first process to the node ready with its policy. */
  setupMs: number;
  settle: { waitedMs: number; quiet: boolean };
}

export interface NodeSideOptions {
  /** The node's exec-approvals policy (an exec-approvals.json document). */
  policy: unknown;
  /** How the policy reads in the log line, e.g. "security=full ask=off". */
  policyLabel: string;
  tmpPrefix: string;
  log: (line: string) => void;
}

/** `node bin/clawdesk.js gateway run` with its runner's policy written into the state dir before the start. */
export async function withClawdeskSide<T>(options: NodeSideOptions, fn: (side: NodeSide) => Promise<T>): Promise<T> {
  const home = mkdtempSync(path.join(os.tmpdir(), `clawdesk-${options.tmpPrefix}-`));
  const stateDir = path.join(home, 'state');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // Written before the start: the runner materializes defaults only when the file is missing.
  await writeJsonAtomic(path.join(stateDir, 'exec-approvals.json'), options.policy);
  const port = await freePort();
  // A prefix keeps a base64url token from starting with "-".
  const token = `bench-${randomBytes(24).toString('base64url')}`;
  const guard = loopbackGuard();
  const egressLog = path.join(home, 'egress-blocked.log');
  // A minimal environment, as the interop suite uses: no D-Bus, so the runner's key stays in memory and never
  // reaches the user's keychain; the same loopback guard the real side runs under.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    TMPDIR: home,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: path.join(stateDir, 'openclaw.json'),
  };
  if (guard) Object.assign(env, { NODE_OPTIONS: `--require ${guard}`, PEER_EGRESS_LOG: egressLog });
  const spawnedAt = nowNs();
  const args = ['gateway', 'run', '--port', String(port), '--auth', 'token', `--token=${token}`];
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'clawdesk.js'), ...args], {
    cwd: home,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = captureOutput(child);
  let exitedHow: string | undefined;
  void exitDescription(child).then((how) => (exitedHow = how));
  const url = `ws://127.0.0.1:${port}`;
  try {
    const session = await operator(url, token).catch((error: Error) => {
      throw new Error(
        `clawdesk gateway did not answer hello-ok: ${error.message}${exitedHow ? ` (${exitedHow})` : ''}\n${output()}`,
      );
    });
    let node;
    try {
      node = await waitFor(
        'the clawdesk runner in node.list',
        () => connectedNode(session, () => true),
        20_000,
        () => (exitedHow ? `gateway ${exitedHow}\n${output()}` : undefined),
      );
    } finally {
      await session.close().catch(() => undefined);
    }
    const setupMs = msSince(spawnedAt);
    const settled = await settle([child.pid ?? -1]);
    options.log(
      `clawdesk: gateway + runner ready (${options.policyLabel}) in ${setupMs.toFixed(0)} ms (node ${String(node.nodeId).slice(0, 12)}…), ${describeSettle(settled)}`,
    );
    return await fn({ url, token, nodeId: node.nodeId, setupMs, settle: settled });
  } catch (error) {
    throw new Error(
      `${(error as Error).message}${exitedHow ? '' : `\n--- gateway output (tail) ---\n${output().slice(-1500)}`}`,
    );
  } finally {
    await stopChild(child);
    const blocked = readEgressAttempts(egressLog);
    if (blocked.length) options.log(`clawdesk: the loopback guard blocked egress:\n${blocked.join('\n')}`);
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * The real openclaw gateway and `openclaw node run`, isolated under the loopback guard; the node's command surface
 * approved (`node.pair.approve`, what `openclaw nodes approve` sends) and its policy, which the node host keeps, set
 * over `exec.approvals.node.set` with the base hash from `exec.approvals.node.get` (what `openclaw approvals set
 * --node --stdin` sends).
 */
export async function withOpenclawSide<T>(options: NodeSideOptions, fn: (side: NodeSide) => Promise<T>): Promise<T> {
  const { log } = options;
  const install = ensureOpenclawInstalled();
  if (install.installed)
    log(`installed openclaw ${install.openclawVersion} into ${install.cacheDir} in ${install.seconds.toFixed(0)} s`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), `openclaw-${options.tmpPrefix}-`));
  const token = randomBytes(24).toString('base64url');
  let gateway: RealGateway | undefined;
  let node: OpenclawProcess | undefined;
  let nodeEgressLog: string | undefined;
  const displayName = 'clawdesk-bench-node';
  try {
    const spawnedAt = nowNs();
    gateway = await startRealOpenclawGateway({
      authMode: 'token',
      token,
      tmpDir: path.join(tmp, 'gateway'),
      startTimeoutMs: 60_000,
    });
    log(
      `openclaw: gateway answered hello-ok after ${(gateway.firstHelloMs / 1000).toFixed(1)} s; starting openclaw node run`,
    );
    const nodeEnv = openclawEnv({ tmpDir: path.join(tmp, 'node'), port: gateway.port, authMode: 'token', token });
    nodeEgressLog = nodeEnv.egressLog;
    const host = spawnOpenclaw(
      ['node', 'run', '--host', '127.0.0.1', '--port', String(gateway.port), '--display-name', displayName],
      nodeEnv.env,
    );
    node = host;
    const url = `ws://127.0.0.1:${gateway.port}`;
    const s = await operator(url, token);
    let nodeId: string;
    try {
      const nodeGone = () => {
        const exited = host.exited();
        return exited
          ? `openclaw node run exited (${exited.code ?? exited.signal}):\n${host.output().slice(-3000)}`
          : undefined;
      };
      const pending = await waitFor(
        'a node pairing request from openclaw node run',
        async () =>
          ((await s.request('node.pair.list', {}, { timeoutMs: 10_000 }))?.pending ?? []).find(
            (p: any) => p.displayName === displayName,
          ),
        45_000,
        nodeGone,
      );
      await s.request('node.pair.approve', { requestId: pending.requestId }, { timeoutMs: 10_000 });
      const live = await waitFor(
        'the approved openclaw node in node.list',
        () => connectedNode(s, (x) => x.nodeId === pending.nodeId),
        20_000,
        nodeGone,
      );
      nodeId = live.nodeId;
      // Right after the node connects, openclaw answers a retryable UNAVAILABLE ("node pairing state unavailable
      // before dispatch") for a moment: wait as its retryAfterMs says.
      const current = await whileUnavailable(() =>
        s.request('exec.approvals.node.get', { nodeId }, { timeoutMs: 10_000 }),
      );
      await whileUnavailable(() =>
        s.request(
          'exec.approvals.node.set',
          { nodeId, file: options.policy, ...(current?.hash ? { baseHash: current.hash } : {}) },
          { timeoutMs: 10_000 },
        ),
      );
    } finally {
      await s.close().catch(() => undefined);
    }
    const setupMs = msSince(spawnedAt);
    const settled = await settle([gateway.pid, host.pid]);
    log(
      `openclaw: gateway + node host paired and set to ${options.policyLabel} in ${(setupMs / 1000).toFixed(1)} s, ${describeSettle(settled)}`,
    );
    return await fn({ url, token, nodeId, setupMs, settle: settled });
  } catch (error) {
    const tail = gateway ? `\n--- openclaw gateway output (tail) ---\n${gateway.output().slice(-1500)}` : '';
    throw new Error(`${(error as Error).message}${tail}`);
  } finally {
    await node?.stop();
    await gateway?.stop();
    // Refused by the guard, so nothing left the machine; reported because anything beyond the known clawhub.ai lookup is news.
    for (const [who, file] of [
      ['gateway', gateway?.environment.egressLog],
      ['node host', nodeEgressLog],
    ] as const) {
      const unexpected = (file ? readEgressAttempts(file) : []).filter((l) => !l.includes('clawhub.ai'));
      if (unexpected.length)
        log(`openclaw ${who}: the loopback guard blocked (nothing left the machine):\n${unexpected.join('\n')}`);
    }
    removeOpenclawTempDir(tmp);
  }
}

/** Runs `call` again while the gateway answers a retryable UNAVAILABLE, for up to 20 s. */
async function whileUnavailable<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const shape = error instanceof GatewayClientError ? error.error : undefined;
      if (shape?.code !== 'UNAVAILABLE' || Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, Math.min(Math.max(shape.retryAfterMs ?? 250, 50), 2_000)));
    }
  }
}
