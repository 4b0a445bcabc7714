import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectWithRetry, type ConnectResult } from './device-client';
import { freePort } from '../helpers/free-port';
export { freePort } from '../helpers/free-port';

/**
 * Runs the REAL openclaw CLI and gateway (installed by scripts/openclaw-cache.mjs into .cache/openclaw) in an
 * isolated environment: its own HOME, state dir, config, TMPDIR and log file under a temp dir, Node 26 first on
 * PATH, and the loopback guard preloaded so nothing it does can leave the machine.
 */

/** The project root: the nearest ancestor with Clawdesk's package.json (works from test/ and from dist/test/). */
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    try {
      if (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'clawdesk') return dir;
    } catch {
      /* keep looking */
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find the clawdesk project root above ${start}`);
  }
}

export const repoRoot = findRepoRoot(__dirname);

export interface OpenclawInstall {
  cacheDir: string;
  nodeBin: string;
  nodeBinDir: string;
  openclawEntry: string;
  loopbackGuard: string;
  openclawVersion: string;
  nodeVersion: string;
  /** True when this call had to install (false when the cache was reused). */
  installed: boolean;
  seconds: number;
}

let cachedInstall: OpenclawInstall | undefined;

/** Installs the pinned openclaw + Node 26 into the cache when missing; reuses a complete install. */
export function ensureOpenclawInstalled(): OpenclawInstall {
  if (cachedInstall) return cachedInstall;
  const script = path.join(repoRoot, 'scripts', 'openclaw-cache.mjs');
  const result = spawnSync(process.execPath, [script], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  if (result.status !== 0) {
    throw new Error(`openclaw install failed (exit ${result.status ?? result.signal}); see the output above`);
  }
  const install = JSON.parse(result.stdout) as OpenclawInstall;
  if (!fs.existsSync(install.loopbackGuard)) {
    throw new Error(
      `loopback guard not found at ${install.loopbackGuard}: the interop tests refuse to run the real openclaw without it`,
    );
  }
  cachedInstall = install;
  return install;
}

export type AuthMode = 'token' | 'password' | 'none';

export interface OpenclawEnvOptions {
  /** A private temp dir; HOME, state, config, TMPDIR and logs all go under it. */
  tmpDir: string;
  port: number;
  authMode: AuthMode;
  token?: string;
  password?: string;
  /** e.g. ["127.0.0.1"] so a test client's X-Forwarded-For makes it a remote peer on the real gateway. */
  trustedProxies?: string[];
  /** Top-level config sections added to the written config (e.g. `models`, `agents`, `tools` for agent turns). */
  extraConfig?: Record<string, unknown>;
}

export interface OpenclawEnvironment {
  env: NodeJS.ProcessEnv;
  tmpDir: string;
  stateDir: string;
  configPath: string;
  egressLog: string;
  logFile: string;
}

/** Builds (and writes the config for) an isolated environment for the real CLI or gateway. */
export function openclawEnv(options: OpenclawEnvOptions): OpenclawEnvironment {
  const install = ensureOpenclawInstalled();
  const tmpDir = path.resolve(options.tmpDir);
  const home = path.join(tmpDir, 'home');
  const stateDir = path.join(tmpDir, 'state');
  const tmp = path.join(tmpDir, 'tmp');
  const logs = path.join(tmpDir, 'logs');
  for (const dir of [home, stateDir, tmp, logs]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const configPath = path.join(tmpDir, 'openclaw.json5');
  const logFile = path.join(logs, 'openclaw.log');

  const auth: Record<string, unknown> = { mode: options.authMode };
  if (options.authMode === 'token') {
    if (!options.token) throw new Error('openclawEnv: token auth needs a token');
    auth.token = options.token;
  }
  if (options.authMode === 'password') {
    if (!options.password) throw new Error('openclawEnv: password auth needs a password');
    auth.password = options.password;
  }
  const config = {
    gateway: {
      mode: 'local',
      port: options.port,
      bind: 'loopback',
      auth,
      ...(options.trustedProxies ? { trustedProxies: options.trustedProxies } : {}),
    },
    discovery: { mdns: { mode: 'off' } },
    update: { checkOnStart: false },
    telemetry: { enabled: false },
    // Without this the real openclaw logs to the shared /tmp/openclaw.
    logging: { file: logFile },
    ...(options.extraConfig ?? {}),
  };
  // JSON is valid JSON5.
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });

  const egressLog = path.join(tmpDir, 'egress-blocked.log');
  const inherited: NodeJS.ProcessEnv = {};
  // Only what a CLI needs from the parent; never the parent's OPENCLAW_* or proxy settings.
  for (const key of ['LANG', 'LC_ALL', 'TERM', 'USER', 'LOGNAME', 'SHELL']) {
    if (process.env[key] !== undefined) inherited[key] = process.env[key];
  }
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    HOME: home,
    OPENCLAW_STATE_DIR: stateDir,
    OPENCLAW_CONFIG_PATH: configPath,
    TMPDIR: tmp,
    OPENCLAW_NO_AUTO_UPDATE: '1',
    DO_NOT_TRACK: '1',
    OPENCLAW_DISABLE_BONJOUR: '1',
    OPENCLAW_NO_RESPAWN: '1',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    CI: '1',
    PATH: [install.nodeBinDir, process.env.PATH ?? '/usr/bin:/bin'].join(path.delimiter),
    NODE_OPTIONS: `--require ${install.loopbackGuard}`,
    PEER_EGRESS_LOG: egressLog,
  };
  return { env, tmpDir, stateDir, configPath, egressLog, logFile };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/**
 * The command line of `openclaw <args>`; in a network namespace when `netns` names one (`ip netns exec` setns()es and
 * execs, so the pid and process group stay the command's own).
 */
function openclawCommandLine(args: string[], netns?: string): [string, string[]] {
  const install = ensureOpenclawInstalled();
  const argv = [install.openclawEntry, ...args];
  return netns ? ['ip', ['netns', 'exec', netns, install.nodeBin, ...argv]] : [install.nodeBin, argv];
}

/** Runs `openclaw <args>` to completion (killing its whole process group on timeout). */
export function runOpenclaw(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { timeoutMs?: number; input?: string; cwd?: string; netns?: string } = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(...openclawCommandLine(args, options.netns), {
      env,
      cwd: options.cwd ?? env.HOME ?? os.tmpdir(),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, durationMs: Date.now() - started });
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** Lines the loopback guard logged (one per blocked attempt); [] when nothing was attempted. */
export function readEgressAttempts(egressLog: string): string[] {
  if (!fs.existsSync(egressLog)) return [];
  return fs
    .readFileSync(egressLog, 'utf8')
    .split('\n')
    .filter((line) => line.includes(' BLOCKED '));
}

export interface RealGateway {
  port: number;
  pid: number;
  environment: OpenclawEnvironment;
  /** ms from spawn to the first successful hello-ok. */
  firstHelloMs: number;
  /** Everything the gateway wrote to stdout/stderr so far (for diagnostics). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartRealGatewayOptions {
  port?: number;
  authMode: AuthMode;
  token?: string;
  password?: string;
  tmpDir?: string;
  trustedProxies?: string[];
  startTimeoutMs?: number;
  /** See OpenclawEnvOptions.extraConfig. */
  extraConfig?: Record<string, unknown>;
}

export interface SpawnedRealGateway {
  port: number;
  pid: number;
  environment: OpenclawEnvironment;
  /** `process.hrtime.bigint()` just before spawn. */
  spawnedAtNs: bigint;
  output(): string;
  /** Set once the process has exited. */
  exitInfo(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves with a description when the process exits. */
  exited: Promise<string>;
  /** SIGTERM to its process group, SIGKILL after `graceMs`; also kills any worker left in the group. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns `openclaw gateway run` in its own process group and returns at once (not yet ready). */
export async function spawnRealOpenclawGateway(options: StartRealGatewayOptions): Promise<SpawnedRealGateway> {
  const install = ensureOpenclawInstalled();
  const port = options.port ?? (await freePort());
  const tmpDir = options.tmpDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-gw-'));
  const environment = openclawEnv({
    tmpDir,
    port,
    authMode: options.authMode,
    token: options.token,
    password: options.password,
    trustedProxies: options.trustedProxies,
    extraConfig: options.extraConfig,
  });
  const args = [
    install.openclawEntry,
    'gateway',
    'run',
    '--port',
    String(port),
    '--bind',
    'loopback',
    '--auth',
    options.authMode,
  ];
  const spawnedAtNs = process.hrtime.bigint();
  const child = spawn(install.nodeBin, args, {
    env: environment.env,
    cwd: environment.env.HOME,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const append = (d: Buffer) => {
    output += d.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
    child.on('error', (error) => resolve(`failed to start: ${error.message}`));
  });
  const stop = async (graceMs = 5_000) => {
    if (!exitInfo) {
      killGroup(child, 'SIGTERM');
      const forced = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(forced);
    }
    // Workers it spawned share the group; make sure none outlive the gateway.
    killGroup(child, 'SIGKILL');
  };
  return {
    port,
    pid: child.pid!,
    environment,
    spawnedAtNs,
    output: () => output,
    exitInfo: () => exitInfo,
    exited,
    stop,
  };
}

/** Retries a handshake until the gateway answers hello-ok (it closes 1013 while starting). Returns ms waited. */
export async function waitForHelloOk(
  gw: Pick<SpawnedRealGateway, 'port' | 'exitInfo' | 'output'>,
  auth: { authMode: AuthMode; token?: string },
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: ConnectResult | undefined;
  while (Date.now() < deadline && !gw.exitInfo()) {
    last = await connectWithRetry(
      // gateway-client/backend: served without a device on loopback in every auth mode (cli/cli is not under none).
      {
        port: gw.port,
        token: auth.authMode === 'token' ? auth.token : undefined,
        clientId: 'gateway-client',
        clientMode: 'backend',
        scopes: [],
        timeoutMs: 5_000,
      },
      Math.max(1, Math.min(5_000, deadline - Date.now())),
    );
    if (last.ok) {
      await last.client?.close();
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const exited = gw.exitInfo();
  throw new Error(
    `real openclaw gateway did not answer hello-ok on port ${gw.port}` +
      (exited ? ` (exited ${exited.code ?? exited.signal})` : '') +
      `; last: ${JSON.stringify(last?.error ?? last?.closeCode)}\n--- gateway output (tail) ---\n${gw.output().slice(-4000)}`,
  );
}

/**
 * Starts `openclaw gateway run` from the cache and waits until it answers a real `hello-ok` (retrying while it
 * closes with 1013 "gateway starting" or refuses connections).
 */
export async function startRealOpenclawGateway(options: StartRealGatewayOptions): Promise<RealGateway> {
  const gw = await spawnRealOpenclawGateway(options);
  try {
    await waitForHelloOk(gw, options, options.startTimeoutMs ?? 90_000);
  } catch (error) {
    await gw.stop(1_000);
    throw error;
  }
  const firstHelloMs = Number(process.hrtime.bigint() - gw.spawnedAtNs) / 1e6;
  return {
    port: gw.port,
    pid: gw.pid,
    environment: gw.environment,
    firstHelloMs,
    output: gw.output,
    stop: () => gw.stop(),
  };
}

/** Resident set size (bytes) of a process and all its descendants, from /proc (Linux). */
export function processTreeRssBytes(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The comm field may contain spaces; ppid is the second field after the closing paren.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* process vanished */
    }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    try {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const match = /VmRSS:\s+(\d+) kB/.exec(status);
      if (match) total += Number(match[1]) * 1024;
    } catch {
      continue;
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

export interface OpenclawProcess {
  pid: number;
  output(): string;
  exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when `output()` matches `pattern` (rejects on exit or timeout). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts a long-running `openclaw <args>` (e.g. `node run`) in its own process group. */
export function spawnOpenclaw(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { netns?: string } = {},
): OpenclawProcess {
  const child = spawn(...openclawCommandLine(args, options.netns), {
    env,
    cwd: env.HOME,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const append = (d: Buffer) => {
    output += d.toString('utf8');
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  const exitPromise = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve();
    }),
  );
  return {
    pid: child.pid!,
    output: () => output,
    exited: () => exitInfo,
    waitForOutput(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) return resolve();
          if (exitInfo)
            return reject(
              new Error(
                `openclaw ${args.join(' ')} exited (${exitInfo.code ?? exitInfo.signal}) before printing ${pattern}:\n${output.slice(-3000)}`,
              ),
            );
          if (Date.now() > deadline)
            return reject(
              new Error(
                `openclaw ${args.join(' ')} did not print ${pattern} within ${timeoutMs} ms:\n${output.slice(-3000)}`,
              ),
            );
          setTimeout(check, 100);
        };
        check();
      });
    },
    async stop() {
      if (exitInfo) return;
      killGroup(child, 'SIGTERM');
      const forced = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      await exitPromise;
      clearTimeout(forced);
      killGroup(child, 'SIGKILL');
    },
  };
}

/**
 * Deletes a temp dir the real openclaw used, and the empty lock files it left for that dir's SQLite databases
 * in `/tmp/openclaw-state-locks-<uid>` (a fixed path on POSIX that TMPDIR does not move; the file names carry
 * the first 8 hex digits of SHA-256 of each database's real path).
 */
export function removeOpenclawTempDir(tmpDir: string): void {
  if (!fs.existsSync(tmpDir)) return;
  const hashes = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.sqlite')) {
        hashes.add(createHash('sha256').update(fs.realpathSync(full)).digest('hex').slice(0, 8));
      }
    }
  };
  try {
    walk(tmpDir);
  } catch {
    /* best effort */
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  const lockDir =
    process.platform === 'win32'
      ? undefined
      : path.join('/tmp', uid === undefined ? 'openclaw-state-locks' : `openclaw-state-locks-${uid}`);
  if (lockDir && hashes.size && fs.existsSync(lockDir)) {
    for (const name of fs.readdirSync(lockDir)) {
      const match = /^[a-z-]+\.([0-9a-f]{8})\.lock\.sqlite$/.exec(name);
      if (match && hashes.has(match[1])) fs.rmSync(path.join(lockDir, name), { force: true });
    }
  }
  fs.rmSync(tmpDir, { recursive: true, force: true });
}
