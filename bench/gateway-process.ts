import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nowNs } from './stats';
import { freePort } from '../test/helpers/free-port';
export { freePort } from '../test/helpers/free-port';

/** A gateway running in its own process, as the benchmarks see it (ours or the real openclaw one). */
export interface GatewayUnderTest {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly token: string;
  /** `process.hrtime.bigint()` taken just before the process was spawned. */
  readonly spawnedAtNs: bigint;
  /** The last lines the process wrote to stdout/stderr, for error messages. */
  outputTail(): string;
  /** Fulfilled with a message if the process exits on its own before `stop()`. */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Keeps the last `limit` characters a child wrote, for failure messages. */
export function captureOutput(child: ChildProcess, limit = 4000): () => string {
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-limit);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}

/** Resolves once the child has exited, with a description of how. */
export function exitDescription(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with code ${code}`));
    child.once('error', (error) => resolve(`failed to start: ${error.message}`));
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

export interface ClawdeskGatewayOptions {
  port?: number;
  token?: string;
  /** Extra `node` flags for the gateway process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  extraArgs?: string[];
}

/** Spawns `node bin/clawdesk.js gateway run --no-node` with token auth and a fresh temp state dir. */
export async function startClawdeskGateway(options: ClawdeskGatewayOptions = {}): Promise<GatewayUnderTest> {
  const port = options.port ?? (await freePort());
  // A prefix keeps a base64url token from starting with "-", which a flag parser would take for an option.
  const token = options.token ?? `bench-${randomBytes(24).toString('base64url')}`;
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'clawdesk-bench-'));
  const stateDir = path.join(home, '.openclaw');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: path.join(stateDir, 'openclaw.json'),
  };
  delete env.OPENCLAW_GATEWAY_TOKEN;
  delete env.OPENCLAW_GATEWAY_PORT;
  const args = [
    ...(options.nodeArgs ?? []),
    path.join(REPO_ROOT, 'bin', 'clawdesk.js'),
    'gateway',
    'run',
    '--no-node',
    '--port',
    String(port),
    '--auth',
    'token',
    `--token=${token}`,
    ...(options.extraArgs ?? []),
  ];
  const spawnedAtNs = nowNs();
  const child = spawn(process.execPath, args, { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'] });
  const outputTail = captureOutput(child);
  const exited = exitDescription(child);
  return {
    name: 'clawdesk',
    pid: child.pid ?? -1,
    url: `ws://127.0.0.1:${port}`,
    token,
    spawnedAtNs,
    outputTail,
    exited,
    async stop() {
      await stopChild(child);
      await fs.rm(home, { recursive: true, force: true });
    },
  };
}

/** The pid and all its descendants, from /proc (Linux). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // The command name is in parentheses and may contain spaces; ppid is the 2nd field after it.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** VmRSS in bytes of one process (0 if it is gone). */
export function rssBytes(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Summed VmRSS of a process and its descendants. */
export function treeRss(rootPid: number): { bytes: number; processes: number } {
  const pids = processTree(rootPid);
  return { bytes: pids.reduce((sum, pid) => sum + rssBytes(pid), 0), processes: pids.length };
}

export const MiB = 1024 * 1024;

/** Linux reports utime/stime in USER_HZ ticks, which is 100 on every mainstream kernel. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) in ms one process has used so far (0 if it is gone). */
export function cpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the comm field: state(0) ppid(1) ... utime(11) stime(12).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/**
 * CPU time of a process and its live descendants, in ms (10 ms resolution). Unlike wall time it barely moves when
 * other work competes for the CPUs, so it is the steadier figure on a busy machine.
 */
export function treeCpuMs(rootPid: number): number {
  return processTree(rootPid).reduce((sum, pid) => sum + cpuMs(pid), 0);
}
