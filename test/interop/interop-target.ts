import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectGateway as connectClawdeskClient } from '../../gateway/client/gateway-client';
import { connectGateway, connectWithRetry, createDeviceIdentity, type DeviceIdentity } from './device-client';
import {
  ensureOpenclawInstalled,
  freePort,
  openclawEnv,
  readEgressAttempts,
  removeOpenclawTempDir,
  repoRoot,
  runOpenclaw,
  startRealOpenclawGateway,
  type AuthMode,
  type OpenclawEnvironment,
  type RunResult,
} from './openclaw-harness';

/**
 * Which gateway the interop suite runs the real CLI against. `clawdesk` (default) is the product; `real` runs
 * the same tests against openclaw's own gateway, to prove the tests themselves right (a few expectations differ
 * where Clawdesk deliberately does better; see `expectations`).
 */
export type InteropTarget = 'clawdesk' | 'real';

export function interopTarget(): InteropTarget {
  const value = process.env.CLAWDESK_INTEROP_TARGET ?? 'clawdesk';
  if (value !== 'clawdesk' && value !== 'real')
    throw new Error(`CLAWDESK_INTEROP_TARGET must be "clawdesk" or "real", not "${value}"`);
  return value;
}

const tempDirs: string[] = [];

/** A private temp dir, removed by `removeTempDirs()` (call it in afterAll once every process using it stopped). */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `clawdesk-interop-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) removeOpenclawTempDir(dir);
}

export interface TargetGateway {
  kind: InteropTarget;
  port: number;
  authMode: AuthMode;
  token?: string;
  password?: string;
  /** The gateway process (Clawdesk's: the runner's parent). */
  pid?: number;
  stateDir: string;
  /** The gateway's own loopback-guard log. */
  egressLog: string;
  output(): string;
  stop(): Promise<void>;
}

export interface StartTargetOptions {
  authMode: AuthMode;
  token?: string;
  /** The shared password (`authMode: 'password'`, Clawdesk only). */
  password?: string;
  /** Clawdesk only: start the embedded exec runner (default true, as `gateway run` does). */
  withNode?: boolean;
  /** Clawdesk only: more `gateway run` options (e.g. `--approval-timeout`). */
  extraArgs?: string[];
  /** Clawdesk only: files to write into the state dir before the gateway starts (name → JSON). */
  stateFiles?: Record<string, unknown>;
}

export async function startTargetGateway(kind: InteropTarget, options: StartTargetOptions): Promise<TargetGateway> {
  return kind === 'real' ? startRealTarget(options) : startClawdeskGateway(options);
}

async function startRealTarget(options: StartTargetOptions): Promise<TargetGateway> {
  const gw = await startRealOpenclawGateway({
    authMode: options.authMode,
    token: options.token,
    tmpDir: makeTempDir('real-gw'),
    // So a test client's X-Forwarded-For counts as a remote peer (the real gateway refuses untrusted ones).
    trustedProxies: ['127.0.0.1'],
  });
  return {
    kind: 'real',
    port: gw.port,
    authMode: options.authMode,
    token: options.token,
    stateDir: gw.environment.stateDir,
    egressLog: gw.environment.egressLog,
    output: gw.output,
    stop: gw.stop,
  };
}

/** `node bin/clawdesk.js gateway run` as a real child process, on a temp state dir, under the loopback guard. */
export async function startClawdeskGateway(options: StartTargetOptions): Promise<TargetGateway> {
  const install = ensureOpenclawInstalled();
  const cli = path.join(repoRoot, 'dist', 'gateway', 'cli', 'main.js');
  if (!fs.existsSync(cli))
    throw new Error(`Clawdesk is not built (${cli} missing): run \`npm run build\` (npm run test:interop does)`);
  const tmpDir = makeTempDir('clawdesk-gw');
  const stateDir = path.join(tmpDir, 'state');
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const egressLog = path.join(tmpDir, 'egress-blocked.log');
  const port = await freePort();
  const args = [
    path.join(repoRoot, 'bin', 'clawdesk.js'),
    'gateway',
    'run',
    '--port',
    String(port),
    '--auth',
    options.authMode,
  ];
  if (options.authMode === 'token') args.push('--token', options.token!);
  if (options.authMode === 'password') args.push('--password', options.password!);
  if (options.withNode === false) args.push('--no-node');
  args.push(...(options.extraArgs ?? []));
  for (const [name, content] of Object.entries(options.stateFiles ?? {}))
    fs.writeFileSync(path.join(stateDir, name), JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
  const child = spawn(process.execPath, args, {
    cwd: tmpDir,
    env: {
      PATH: process.env.PATH,
      HOME: tmpDir,
      OPENCLAW_STATE_DIR: stateDir,
      TMPDIR: tmpDir,
      NODE_OPTIONS: `--require ${install.loopbackGuard}`,
      PEER_EGRESS_LOG: egressLog,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  const stop = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exitPromise;
    clearTimeout(forced);
  };
  if (options.authMode === 'password') {
    // The interop device client speaks no password: Clawdesk's own client checks the gateway answers hello-ok.
    await waitForPasswordHello(port, options.password!, () => exited !== undefined, 20_000).catch(async (error) => {
      await stop();
      throw new Error(`Clawdesk gateway did not answer hello-ok on ${port}: ${(error as Error).message}\n${output}`);
    });
    return {
      kind: 'clawdesk',
      pid: child.pid,
      port,
      authMode: options.authMode,
      password: options.password,
      stateDir,
      egressLog,
      output: () => output,
      stop,
    };
  }
  const hello = await connectWithRetry(
    { port, token: options.token, clientId: 'gateway-client', clientMode: 'backend', scopes: [], timeoutMs: 5_000 },
    20_000,
  );
  if (!hello.ok) {
    await stop();
    throw new Error(
      `Clawdesk gateway did not answer hello-ok on ${port}: ${JSON.stringify(hello.error ?? hello.closeCode)}\n${output}`,
    );
  }
  await hello.client?.close();
  return {
    kind: 'clawdesk',
    pid: child.pid,
    port,
    authMode: options.authMode,
    token: options.token,
    stateDir,
    egressLog,
    output: () => output,
    stop,
  };
}

/** Polls until a password-authenticated gateway-client/backend connection gets hello-ok. */
export async function waitForPasswordHello(
  port: number,
  password: string,
  gone: () => boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline && !gone()) {
    try {
      const session = await connectClawdeskClient({
        url: `ws://127.0.0.1:${port}`,
        password,
        clientId: 'gateway-client',
        clientMode: 'backend',
        role: 'operator',
        scopes: [],
        connectTimeoutMs: 5_000,
      });
      await session.close();
      return;
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(gone() ? 'the process exited' : `no hello-ok in ${timeoutMs} ms (last: ${String(last)})`);
}

/** A person at a terminal with the real openclaw CLI configured for the gateway (own HOME and state dir). */
export interface CliUser {
  environment: OpenclawEnvironment;
  run(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** Runs and parses `--json` stdout, failing with the whole output when the command failed. */
  json<T = any>(args: string[]): Promise<T>;
  egressAttempts(): string[];
}

export function cliUser(gateway: Pick<TargetGateway, 'port' | 'authMode' | 'token'> & { password?: string }): CliUser {
  const environment = openclawEnv({
    tmpDir: makeTempDir('cli'),
    port: gateway.port,
    authMode: gateway.authMode,
    token: gateway.token,
    password: gateway.password,
  });
  const run = (args: string[], options: { input?: string; timeoutMs?: number } = {}) =>
    runOpenclaw(args, environment.env, { timeoutMs: options.timeoutMs ?? 60_000, input: options.input });
  return {
    environment,
    run,
    async json(args) {
      const result = await run([...args, '--json']);
      if (result.code !== 0)
        throw new Error(`openclaw ${args.join(' ')} --json exited ${result.code}\n${describeRun(result)}`);
      try {
        return JSON.parse(result.stdout);
      } catch {
        throw new Error(`openclaw ${args.join(' ')} --json printed no JSON\n${describeRun(result)}`);
      }
    },
    egressAttempts: () => readEgressAttempts(environment.egressLog),
  };
}

export function describeRun(result: RunResult): string {
  return `exit ${result.code}${result.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
}

export interface PendingDevice {
  device: DeviceIdentity;
  requestId: string;
}

/** The upgrade header that makes a loopback test client a remote peer, whose pairing is never silent. */
export const REMOTE_PEER_HEADERS = { 'x-forwarded-for': '203.0.113.7' };

/** Connects a brand-new device as a remote peer so the gateway files a real pending pairing request. */
export async function createPendingDevice(
  gateway: Pick<TargetGateway, 'port' | 'token'>,
  scopes = ['operator.read'],
): Promise<PendingDevice> {
  const device = createDeviceIdentity();
  const result = await connectGateway({
    port: gateway.port,
    token: gateway.token,
    device,
    scopes,
    headers: REMOTE_PEER_HEADERS,
  });
  const requestId = result.error?.details?.requestId;
  if (result.ok || typeof requestId !== 'string') {
    await result.client?.close();
    throw new Error(
      `expected a pairing-required answer with a requestId, got ${JSON.stringify({ ok: result.ok, error: result.error, close: result.closeCode })}`,
    );
  }
  return { device, requestId };
}
