import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { controlUiLink, type ControlUiLink } from './control-ui';
import {
  connectGateway,
  GatewayClientError,
  type GatewayClientOptions,
  type GatewaySession,
} from '../client/gateway-client';
import { pinnedCertificateVerifier } from '../remote/tls-pin';
import { localGatewayTlsFingerprint } from '../server/gateway-tls';
import { TERMINAL_CONNECT_CODES } from '../node-host/reconnecting-session';
import { resolveOpenclawTarget, type OpenclawTarget } from './gateway-target';
import type { OpenclawInstall } from './install';
import { legacyExecApprovalsWarning, type StateWarning } from './legacy-exec-approvals';
import { OutputLog } from './output-log';
import {
  findPortOwner,
  findServiceOwner,
  probeGatewayPort,
  type PortOwner,
  type PortProbe,
  type ServiceOwner,
} from './port-owner';

/**
 * Supervises OpenClaw's own gateway as a child process, the way OpenClaw's embedding guide describes it: a real
 * Node runtime runs the installed package's `openclaw.mjs gateway`; readiness is the protocol (`connect.challenge`,
 * `connect`, `hello-ok`, retrying while startup sidecars are pending); exit 78 means a configuration failure
 * (`openclaw doctor --fix` once, one retry, then the failure is shown); a `shutdown` event before the 1012 close
 * tells an in-process restart from a terminal stop; any other exit is restarted with exponential backoff inside a
 * budget. A gateway already on the port is attached to, never duplicated; a port held by anything else is a
 * failure that names the holder. Lifecycle decisions come from exit codes and protocol frames, never from the
 * child's log text.
 */

export type SupervisorStateName =
  | 'stopped'
  /** Looking at the port before a spawn. */
  | 'checking'
  /** A child is running and Clawdesk waits for its hello-ok. */
  | 'starting'
  /** Our child answers hello-ok. */
  | 'running'
  /** A gateway Clawdesk did not start owns the port; Clawdesk uses it and never stops it. */
  | 'attached'
  /** `openclaw doctor --fix` runs after an exit 78. */
  | 'repairing'
  /** The child exited; another starts after `retryInMs`. */
  | 'backoff'
  | 'stopping'
  /** Stopped for a reason the person must act on (see `fix`); nothing restarts until the next start(). */
  | 'failed';

export type SupervisorFailureCode =
  | 'port-busy'
  | 'config-invalid'
  | 'doctor-failed'
  | 'legacy-exec-approvals'
  | 'crash-loop'
  | 'not-ready'
  | 'spawn-failed'
  | 'auth-failed';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export interface ShutdownNotice {
  reason: string;
  restartExpectedMs?: number;
  at: number;
}

/** Everything a tray or `clawdesk openclaw status` shows. */
export interface SupervisorStatus {
  state: SupervisorStateName;
  /** One sentence for a person. */
  reason: string;
  /** What to do about a failure. */
  fix?: string;
  code?: SupervisorFailureCode;
  /** supervised: Clawdesk started the gateway; external: it found one running. */
  mode?: 'supervised' | 'external';
  port: number;
  url: string;
  /** The child's PID (supervised) or the owner's, when the OS tells (external). */
  pid?: number;
  /** Who owns the gateway (external) or holds the port (port-busy). */
  owner?: string;
  service?: ServiceOwner;
  /** Restarts inside the current budget window. */
  restarts: number;
  retryInMs?: number;
  lastExit?: ExitInfo;
  lastShutdown?: ShutdownNotice;
  /** Where the child's output goes. */
  logFile: string;
  /** Something about OpenClaw's state that will make it refuse work though it runs (see legacy-exec-approvals.ts). */
  warning?: StateWarning;
  since: number;
}

export interface RestartPolicy {
  /** First restart delay; doubles per consecutive crash. Default 1 s. */
  initialDelayMs: number;
  /** Default 30 s. */
  maxDelayMs: number;
  /** Restarts allowed inside `windowMs` before Clawdesk gives up. Default 5. */
  maxRestarts: number;
  /** Default 10 min. */
  windowMs: number;
  /** A child that served this long resets the delay to `initialDelayMs`. Default 60 s. */
  stableAfterMs: number;
}

export interface OpenclawSupervisorOptions {
  install: OpenclawInstall;
  /** The child's base environment (default: this process's). OpenClaw's state dir and config come from it. */
  env?: NodeJS.ProcessEnv;
  /** Default: OPENCLAW_GATEWAY_PORT, then gateway.port in the config, then 18789. */
  port?: number;
  /** OpenClaw profile (`~/.openclaw-NAME`), when the env names none. */
  profile?: string;
  /** Skip channel start-up (`OPENCLAW_SKIP_CHANNELS=1`): a control-plane-only gateway. */
  controlPlaneOnly?: boolean;
  /** The rotating log of the child's output. */
  logFile: string;
  logMaxFileBytes?: number;
  logKeepFiles?: number;
  logTailBytes?: number;
  /** Working directory of the child (default: its HOME, else this process's cwd). */
  cwd?: string;
  /** hello-ok must come within this long after a spawn. Default 120 s. */
  readyTimeoutMs?: number;
  /** SIGTERM, then SIGKILL to the whole process tree after this long. Default 20 s. */
  stopGraceMs?: number;
  doctorTimeoutMs?: number;
  restart?: Partial<RestartPolicy>;
  /** Injected for tests. */
  probe?: (port: number) => Promise<PortProbe>;
  findOwner?: (port: number) => Promise<PortOwner | undefined>;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  /** The child wrote output (or the supervisor a note); for a log view to refresh. Called often: throttle it. */
  onOutput?: () => void;
}

/** Environment keys that make OpenClaw believe a service manager (systemd, launchd, Task Scheduler) runs it. */
export const SERVICE_MANAGER_ENV_KEYS = [
  'OPENCLAW_SUPERVISOR_MODE',
  'OPENCLAW_SERVICE_MARKER',
  'OPENCLAW_SERVICE_KIND',
  'OPENCLAW_SYSTEMD_UNIT',
  'OPENCLAW_LAUNCHD_LABEL',
  'OPENCLAW_WINDOWS_TASK_NAME',
  'INVOCATION_ID',
  'SYSTEMD_EXEC_PID',
  'JOURNAL_STREAM',
  'LAUNCH_JOB_LABEL',
  'LAUNCH_JOB_NAME',
  'XPC_SERVICE_NAME',
];

/**
 * The child's environment: the base env without service-manager markers (Clawdesk is the supervisor here; under
 * a systemd marker OpenClaw would exit 78 on a port conflict, which must not read as a config failure) and without
 * Electron's, plus OpenClaw's embedding preset, the runtime's directory first on PATH, and a secret when the
 * gateway has no config to take one from.
 */
export function embeddingEnvironment(
  base: NodeJS.ProcessEnv,
  install: OpenclawInstall,
  options: { controlPlaneOnly?: boolean; token?: string } = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of SERVICE_MANAGER_ENV_KEYS) delete env[key];
  for (const key of Object.keys(env)) if (key.startsWith('ELECTRON_')) delete env[key];
  env.OPENCLAW_DISABLE_BONJOUR = '1';
  env.OPENCLAW_NO_RESPAWN = '1';
  env.OPENCLAW_EXEC_SHELL_SNAPSHOT = '0';
  if (options.controlPlaneOnly) env.OPENCLAW_SKIP_CHANNELS = '1';
  else delete env.OPENCLAW_SKIP_CHANNELS;
  const pathKey = Object.keys(env).find((k) => k.toUpperCase() === 'PATH') ?? 'PATH';
  env[pathKey] = [path.dirname(install.nodeBin), env[pathKey]].filter(Boolean).join(path.delimiter);
  if (options.token) env.OPENCLAW_GATEWAY_TOKEN = options.token;
  return env;
}

const DEFAULT_RESTART: RestartPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRestarts: 5,
  windowMs: 10 * 60_000,
  stableAfterMs: 60_000,
};

function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/** Windows' own taskkill, not whatever `taskkill` PATH finds first (OpenClaw resolves it the same way). */
export function windowsTaskkillPath(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.SystemRoot || env.SYSTEMROOT || env.windir || 'C:\\Windows';
  return path.win32.join(root, 'System32', 'taskkill.exe');
}

/**
 * How a stop reaches the child. POSIX: SIGTERM to the gateway (it broadcasts `shutdown` and drains), SIGKILL to its
 * process group when forced. Windows has no SIGTERM (Node's kill() there is TerminateProcess, an instant kill), so
 * Clawdesk stops OpenClaw's gateway the way OpenClaw's own service code does: `taskkill /T /PID` first, then
 * `taskkill /F /T /PID` after the grace period.
 */
export function stopCommand(
  pid: number,
  force: boolean,
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
): { kind: 'signal'; signal: NodeJS.Signals; group: boolean } | { kind: 'spawn'; command: string; args: string[] } {
  if (platform === 'win32')
    return {
      kind: 'spawn',
      command: windowsTaskkillPath(env),
      args: [...(force ? ['/F'] : []), '/T', '/PID', String(pid)],
    };
  return force
    ? { kind: 'signal', signal: 'SIGKILL', group: true }
    : { kind: 'signal', signal: 'SIGTERM', group: false };
}

function killTree(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): void {
  if (child.pid === undefined) return;
  const force = signal === 'SIGKILL';
  const how = stopCommand(child.pid, force);
  if (how.kind === 'spawn') {
    // Where the forced taskkill cannot run or refuses (Wine's rejects /T; a stripped-down image may lack it), the
    // child itself is terminated, so a forced stop always ends it.
    const terminateChild = () => {
      if (force && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    spawn(how.command, how.args, { windowsHide: true, stdio: 'ignore' })
      .on('error', terminateChild)
      .on('exit', (code) => {
        if (code !== 0) terminateChild();
      });
    return;
  }
  try {
    if (how.group) process.kill(-child.pid, how.signal);
    else child.kill(how.signal);
  } catch {
    try {
      child.kill(how.signal);
    } catch {
      // gone
    }
  }
}

/**
 * Stops a child and its tree: the graceful stop first (SIGTERM; `taskkill /T` on Windows), the forced one after
 * `graceMs`; resolves once `exited` has (the child's exit). Exported for the Windows tier.
 */
export async function endChildTree(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  killTree(child, 'SIGTERM');
  const forced = setTimeout(() => killTree(child, 'SIGKILL'), graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(forced);
  }
}

function startupRetryDelay(error: GatewayClientError): number | undefined {
  const shape = error.error as
    { code?: string; retryable?: boolean; retryAfterMs?: unknown; details?: { reason?: string } } | undefined;
  if (shape?.code === 'UNAVAILABLE' && shape.details?.reason === 'startup-sidecars') {
    const asked =
      typeof shape.retryAfterMs === 'number' && Number.isFinite(shape.retryAfterMs) ? shape.retryAfterMs : 500;
    return Math.min(Math.max(Math.floor(asked), 100), 2_000);
  }
  if (error.closeCode === 1013) return 500;
  return undefined;
}

interface Generation {
  id: number;
  child: ChildProcess;
  pid: number;
  exited?: ExitInfo;
  exitedPromise: Promise<ExitInfo>;
  runningSince?: number;
  session?: GatewaySession;
  shutdown?: ShutdownNotice;
}

export class OpenclawSupervisor extends EventEmitter {
  private readonly policy: RestartPolicy;
  private readonly output: OutputLog;
  private target?: OpenclawTarget;
  private generatedToken?: string;
  /** gateway.tls: the SHA-256 of the certificate OpenClaw serves, read from its file at the last connect. */
  private tlsPin?: string;
  private status_: SupervisorStatus;
  private gen?: Generation;
  private generationIds = 0;
  private doctor?: ChildProcess;
  private timer?: NodeJS.Timeout;
  private stopIntent = false;
  private repairUsed = false;
  private consecutiveCrashes = 0;
  private restartTimes: number[] = [];
  private external?: { session?: GatewaySession; timer?: NodeJS.Timeout };
  private queue: Promise<void> = Promise.resolve();
  /** Counters for tests and the benchmark. */
  readonly counters = { spawns: 0, doctorRuns: 0, startupRetries: 0, readyConnects: 0 };

  constructor(private readonly options: OpenclawSupervisorOptions) {
    super();
    this.policy = { ...DEFAULT_RESTART, ...options.restart };
    this.output = new OutputLog({
      file: options.logFile,
      maxFileBytes: options.logMaxFileBytes,
      keepFiles: options.logKeepFiles,
      tailBytes: options.logTailBytes,
    });
    const port = options.port ?? 0;
    this.status_ = {
      state: 'stopped',
      reason: 'not started',
      port,
      url: `ws://127.0.0.1:${port}`,
      restarts: 0,
      logFile: options.logFile,
      since: Date.now(),
    };
  }

  status(): SupervisorStatus {
    return { ...this.status_ };
  }

  /** The last output of the child (and the supervisor's notes), bounded. */
  outputTail(maxBytes?: number): string {
    return this.output.tail(maxBytes);
  }

  outputStats() {
    return { ...this.output.stats, heldBytes: this.output.heldBytes() };
  }

  /** The PID of the running child, if Clawdesk started one. */
  childPid(): number | undefined {
    return this.gen && !this.gen.exited ? this.gen.pid : undefined;
  }

  /** The shared secret the supervisor uses (and gives the node and approver): from env/config, or generated. */
  credentials(): {
    url: string;
    token?: string;
    password?: string;
    connection?: Pick<GatewayClientOptions, 'verifyServerCertificate'>;
  } {
    return {
      url: this.status_.url,
      token: this.target?.token ?? this.generatedToken,
      password: this.target?.password,
      ...(this.target?.tls && this.tlsPin ? { connection: pinnedTo(this.tlsPin) } : {}),
    };
  }

  /**
   * How to reach the gateway now: plain, or under gateway.tls pinned to the certificate in its file. OpenClaw writes
   * a generated certificate during its first start, so it is read at each connect; none there yet throws, and the
   * caller retries as for any gateway not ready.
   */
  private async connection(): Promise<Pick<GatewayClientOptions, 'verifyServerCertificate'>> {
    const tls = this.target?.tls;
    if (!tls) return {};
    const pin = await localGatewayTlsFingerprint(this.target!.stateDir, { enabled: true, ...tls });
    if (!pin) throw new Error("gateway.tls is on, but there is no certificate to pin OpenClaw's gateway to yet");
    this.tlsPin = pin;
    return pinnedTo(pin);
  }

  private gatewayUrl(port: number): string {
    return `${this.target?.tls ? 'wss' : 'ws'}://127.0.0.1:${port}`;
  }

  /** The environment for OpenClaw's own CLI against this gateway: its state, config, port and shared secret. */
  cliEnvironment(): NodeJS.ProcessEnv {
    const env = this.childEnv();
    if (this.target) env.OPENCLAW_GATEWAY_PORT = String(this.target.port);
    const { token, password } = this.credentials();
    if (token && !env.OPENCLAW_GATEWAY_TOKEN) env.OPENCLAW_GATEWAY_TOKEN = token;
    if (password && !env.OPENCLAW_GATEWAY_PASSWORD) env.OPENCLAW_GATEWAY_PASSWORD = password;
    return env;
  }

  /** A single-use link that opens this gateway's Control UI signed in (OpenClaw's `dashboard --json`). */
  controlUiLink(timeoutMs?: number): Promise<ControlUiLink> {
    return controlUiLink({
      install: this.options.install,
      env: this.cliEnvironment(),
      expectPort: this.target?.port,
      timeoutMs,
    });
  }

  /** True while anything is still scheduled or running (a child, doctor, a restart timer, an attachment). */
  busy(): boolean {
    return Boolean((this.gen && !this.gen.exited) || this.doctor || this.timer || this.external);
  }

  private appendOutput(chunk: Buffer): void {
    this.output.append(chunk);
    this.options.onOutput?.();
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.output.note(message);
    this.options.onOutput?.();
    this.options.log?.(level, message);
  }

  private set(patch: Partial<SupervisorStatus> & { state: SupervisorStateName; reason: string }): void {
    const keep = {
      port: this.status_.port,
      url: this.status_.url,
      restarts: this.restartTimes.length,
      logFile: this.options.logFile,
      lastExit: this.status_.lastExit,
      lastShutdown: this.status_.lastShutdown,
      warning: this.status_.warning,
    };
    this.status_ = { ...keep, ...patch, since: Date.now() };
    this.log(
      patch.state === 'failed' ? 'error' : 'info',
      `state ${patch.state}: ${patch.reason}${patch.fix ? ` (fix: ${patch.fix})` : ''}`,
    );
    this.emit('status', this.status());
  }

  private serial(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Resolves once the gateway is running or attached, or the supervisor has failed (see status()). */
  start(): Promise<void> {
    return this.serial(async () => {
      if (['running', 'attached', 'starting', 'checking', 'repairing', 'backoff'].includes(this.status_.state)) return;
      this.stopIntent = false;
      this.repairUsed = false;
      this.consecutiveCrashes = 0;
      this.restartTimes = [];
      this.status_.lastExit = undefined;
      this.status_.lastShutdown = undefined;
      this.target = await resolveOpenclawTarget(this.options.env ?? process.env, {
        port: this.options.port,
        profile: this.options.profile,
      });
      this.status_.port = this.target.port;
      this.tlsPin = undefined;
      this.status_.url = this.gatewayUrl(this.target.port);
      this.status_.warning = legacyExecApprovalsWarning(this.target.stateDir);
      if (this.status_.warning) this.log('warn', `${this.status_.warning.message}. Fix: ${this.status_.warning.fix}`);
      if (!this.target.configExists && !this.target.token && !this.target.password)
        this.generatedToken ??= randomBytes(24).toString('base64url');
      await this.spawnGeneration();
    }).then(() => this.settled());
  }

  /** Waits until the state is neither checking, starting, repairing nor backoff. */
  settled(): Promise<void> {
    const transient = (s: SupervisorStateName) =>
      s === 'checking' || s === 'starting' || s === 'repairing' || s === 'backoff' || s === 'stopping';
    if (!transient(this.status_.state)) return Promise.resolve();
    return new Promise((resolve) => {
      const onStatus = (status: SupervisorStatus) => {
        if (!transient(status.state)) {
          this.off('status', onStatus);
          resolve();
        }
      };
      this.on('status', onStatus);
    });
  }

  /** Resolves when the state becomes one of `states` (rejects after `timeoutMs`; `null` waits without a timer). */
  waitFor(states: SupervisorStateName[], timeoutMs: number | null = 180_000): Promise<SupervisorStatus> {
    if (states.includes(this.status_.state)) return Promise.resolve(this.status());
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === null
          ? undefined
          : setTimeout(() => {
              this.off('status', onStatus);
              reject(
                new Error(
                  `supervisor did not reach ${states.join('|')} within ${timeoutMs} ms (now ${this.status_.state}: ${this.status_.reason})`,
                ),
              );
            }, timeoutMs);
      const onStatus = (status: SupervisorStatus) => {
        if (states.includes(status.state)) {
          clearTimeout(timer);
          this.off('status', onStatus);
          resolve(status);
        }
      };
      this.on('status', onStatus);
    });
  }

  private childEnv(): NodeJS.ProcessEnv {
    return embeddingEnvironment(this.options.env ?? process.env, this.options.install, {
      controlPlaneOnly: this.options.controlPlaneOnly,
      token: this.generatedToken,
    });
  }

  /** Looks at the port, then attaches, fails, or spawns a child and waits for its hello-ok. */
  private async spawnGeneration(): Promise<void> {
    const target = this.target!;
    this.set({ state: 'checking', reason: `checking port ${target.port}` });
    // Under gateway.tls only a gateway serving the certificate in the state dir is OpenClaw's (none there: nothing is).
    const tlsProbe = target.tls
      ? {
          tlsFingerprint: (await localGatewayTlsFingerprint(target.stateDir, { enabled: true, ...target.tls })) ?? null,
        }
      : {};
    const probe = await (this.options.probe ?? ((port) => probeGatewayPort(port, tlsProbe)))(target.port);
    if (this.stopIntent) return this.set({ state: 'stopped', reason: 'stopped before start' });
    if (probe.kind === 'openclaw') return this.attach(probe.url);
    if (probe.kind === 'other') {
      const owner = await (this.options.findOwner ?? findPortOwner)(target.port);
      const who = owner
        ? `${owner.name ? `${owner.name} ` : ''}(PID ${owner.pid})`
        : 'another program (the OS does not say which)';
      return this.set({
        state: 'failed',
        code: 'port-busy',
        pid: owner?.pid,
        owner: who,
        reason: `port ${target.port} is held by ${who}: ${probe.detail}`,
        fix: `Stop that program or give OpenClaw another port (gateway.port in ${target.configPath}, or OPENCLAW_GATEWAY_PORT), then start again.`,
      });
    }
    const install = this.options.install;
    const args = [install.entry, 'gateway', '--port', String(target.port)];
    // Without a config OpenClaw refuses to start unless told it may; it then also needs a bind and a secret.
    if (!target.configExists) args.push('--allow-unconfigured', '--bind', 'loopback');
    const env = this.childEnv();
    let child: ChildProcess;
    try {
      child = spawn(install.nodeBin, args, {
        env,
        cwd: this.options.cwd ?? env.HOME ?? process.cwd(),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
    } catch (error) {
      return this.set({
        state: 'failed',
        code: 'spawn-failed',
        reason: `cannot start ${install.nodeBin}: ${(error as Error).message}`,
        fix: 'Check the OpenClaw install and its Node runtime.',
      });
    }
    this.counters.spawns++;
    // Consumed at once: a full pipe would block the gateway.
    child.stdout!.on('data', (d: Buffer) => this.appendOutput(d));
    child.stderr!.on('data', (d: Buffer) => this.appendOutput(d));
    const gen: Generation = {
      id: ++this.generationIds,
      child,
      pid: child.pid ?? -1,
      exitedPromise: undefined as unknown as Promise<ExitInfo>,
    };
    gen.exitedPromise = new Promise<ExitInfo>((resolve) => {
      let done = false;
      const finish = (exit: ExitInfo) => {
        if (done) return;
        done = true;
        gen.exited = exit;
        // Workers it left (spawn broker, SQLite reader) share its process group.
        killTree(child, 'SIGKILL');
        resolve(exit);
        void this.onExit(gen, exit);
      };
      child.once('exit', (code, signal) => finish({ code, signal, at: Date.now() }));
      child.once('error', (error) => {
        this.log('error', `spawn failed: ${error.message}`);
        finish({ code: null, signal: null, at: Date.now() });
      });
    });
    this.gen = gen;
    if (child.pid === undefined) return; // 'error' follows
    this.set({
      state: 'starting',
      mode: 'supervised',
      pid: gen.pid,
      reason: `OpenClaw ${install.openclawVersion} started (PID ${gen.pid}); waiting for hello-ok on port ${target.port}`,
    });
    await this.awaitReady(gen);
  }

  /** Connects until hello-ok, the child exits, or the ready timeout passes. */
  private async awaitReady(gen: Generation): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 120_000);
    const creds = this.credentials();
    while (!gen.exited && this.gen === gen && !this.stopIntent) {
      if (Date.now() > deadline) {
        this.set({
          state: 'failed',
          code: 'not-ready',
          mode: 'supervised',
          pid: gen.pid,
          reason: `OpenClaw's gateway (PID ${gen.pid}) did not answer hello-ok within ${Math.round((this.options.readyTimeoutMs ?? 120_000) / 1000)} s; Clawdesk stopped it`,
          fix: `See the log ${this.options.logFile}, run \`openclaw doctor\`, then start again.`,
        });
        await this.terminate(gen);
        return;
      }
      this.counters.readyConnects++;
      let session: GatewaySession;
      let connection: Pick<GatewayClientOptions, 'verifyServerCertificate'>;
      try {
        connection = await this.connection();
      } catch {
        await this.pause(250, gen);
        continue;
      }
      try {
        session = await connectGateway({
          ...connection,
          url: creds.url,
          token: creds.token,
          password: creds.password,
          clientId: 'gateway-client',
          clientMode: 'backend',
          displayName: 'Clawdesk supervisor',
          role: 'operator',
          scopes: [],
          connectTimeoutMs: 10_000,
        });
      } catch (error) {
        const e = error as GatewayClientError;
        const code = e instanceof GatewayClientError ? (e.detailCode ?? e.error?.code) : undefined;
        if (code && TERMINAL_CONNECT_CODES.has(code)) {
          this.set({
            state: 'failed',
            code: 'auth-failed',
            mode: 'supervised',
            pid: gen.pid,
            reason: `Clawdesk cannot connect to the gateway it started: ${e.message} (${code})`,
            fix: `Give Clawdesk the gateway's secret (gateway.auth.token in ${this.target!.configPath}, or OPENCLAW_GATEWAY_TOKEN), then start again.`,
          });
          await this.terminate(gen);
          return;
        }
        const retry = e instanceof GatewayClientError ? startupRetryDelay(e) : undefined;
        if (retry !== undefined) this.counters.startupRetries++;
        await this.pause(retry ?? 250, gen);
        continue;
      }
      if (gen.exited || this.gen !== gen || this.stopIntent) {
        await session.close().catch(() => undefined);
        return;
      }
      this.onReady(gen, session);
      return;
    }
  }

  /**
   * Readiness on demand (after the machine slept): a running child must answer hello-ok again within `timeoutMs`.
   * One that cannot be reached (stopped, hung) is killed, and the usual exit path restarts it with backoff. A gateway
   * that answers, even with an error frame, is alive. Resolves true when nothing had to be done.
   */
  async checkReady(timeoutMs = 15_000): Promise<boolean> {
    const gen = this.gen;
    if (this.status_.state !== 'running' || !gen || gen.exited) return true;
    const creds = this.credentials();
    try {
      const session = await connectGateway({
        ...(await this.connection()),
        url: creds.url,
        token: creds.token,
        password: creds.password,
        clientId: 'gateway-client',
        clientMode: 'backend',
        displayName: 'Clawdesk supervisor',
        role: 'operator',
        scopes: [],
        connectTimeoutMs: timeoutMs,
      });
      await session.close().catch(() => undefined);
      return true;
    } catch (error) {
      if (error instanceof GatewayClientError && error.error) return true;
      if (gen.exited || this.gen !== gen || this.stopIntent) return true;
      this.log(
        'warn',
        `OpenClaw's gateway (PID ${gen.pid}) did not answer hello-ok on a readiness check (${(error as Error).message}); restarting it`,
      );
      killTree(gen.child, 'SIGKILL');
      return false;
    }
  }

  /** Sleeps, but wakes when the child exits. */
  private pause(ms: number, gen: Generation): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void gen.exitedPromise.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private onReady(gen: Generation, session: GatewaySession): void {
    gen.session = session;
    gen.shutdown = undefined;
    gen.runningSince ??= Date.now();
    this.repairUsed = false;
    session.on('event', (name: string, payload: any) => {
      if (name !== 'shutdown') return;
      gen.shutdown = {
        reason: typeof payload?.reason === 'string' ? payload.reason : 'gateway stopping',
        ...(typeof payload?.restartExpectedMs === 'number' ? { restartExpectedMs: payload.restartExpectedMs } : {}),
        at: Date.now(),
      };
      this.status_.lastShutdown = gen.shutdown;
      this.log('info', `shutdown event: ${JSON.stringify(payload)}`);
      this.emit('shutdown', gen.shutdown);
    });
    session.on('close', (code: number) => void this.onSessionClose(gen, session, code));
    this.set({
      state: 'running',
      mode: 'supervised',
      pid: gen.pid,
      reason: `OpenClaw ${this.options.install.openclawVersion} is serving on port ${this.status_.port} (PID ${gen.pid})`,
    });
  }

  private async onSessionClose(gen: Generation, session: GatewaySession, code: number): Promise<void> {
    if (gen.session === session) gen.session = undefined;
    if (gen.exited || this.gen !== gen || this.stopIntent) return;
    const restartExpected = gen.shutdown?.restartExpectedMs !== undefined;
    if (restartExpected) {
      this.set({
        state: 'starting',
        mode: 'supervised',
        pid: gen.pid,
        reason: `OpenClaw is restarting in place (${gen.shutdown!.reason}); waiting for hello-ok`,
      });
    } else if (gen.shutdown) {
      // A terminal shutdown Clawdesk did not ask for: the exit follows; the exit decides what happens next.
      this.log(
        'warn',
        `the gateway announced a shutdown (${gen.shutdown.reason}) and closed ${code}; waiting for it to exit`,
      );
      return;
    } else {
      this.set({
        state: 'starting',
        mode: 'supervised',
        pid: gen.pid,
        reason: `the connection to OpenClaw closed (${code}) without a shutdown notice; reconnecting`,
      });
    }
    await this.awaitReady(gen);
  }

  /** SIGTERM, then SIGKILL to the tree after the grace period; resolves when the child exited. */
  private async terminate(gen: Generation): Promise<void> {
    if (gen.exited) return;
    await endChildTree(gen.child, gen.exitedPromise, this.options.stopGraceMs ?? 20_000);
  }

  private async onExit(gen: Generation, exit: ExitInfo): Promise<void> {
    this.status_.lastExit = exit;
    const session = gen.session;
    gen.session = undefined;
    await session?.close().catch(() => undefined);
    if (this.gen !== gen) return;
    this.log(exit.code === 0 ? 'info' : 'warn', `OpenClaw's gateway (PID ${gen.pid}) exited: ${describeExit(exit)}`);
    if (this.stopIntent) {
      this.set({
        state: 'stopped',
        reason: `stopped by Clawdesk (${describeExit(exit)}${gen.shutdown ? `; shutdown notice: ${gen.shutdown.reason}` : ''})`,
      });
      return;
    }
    // Already failed (not ready, auth): stay failed.
    if (this.status_.state === 'failed') return;
    if (exit.code === 78) return this.onConfigExit();
    const served = gen.runningSince !== undefined && exit.at - gen.runningSince >= this.policy.stableAfterMs;
    if (served) this.consecutiveCrashes = 0;
    const now = Date.now();
    this.restartTimes = this.restartTimes.filter((t) => now - t < this.policy.windowMs);
    if (this.restartTimes.length >= this.policy.maxRestarts) {
      return this.set({
        state: 'failed',
        code: 'crash-loop',
        reason: `OpenClaw's gateway stopped ${this.restartTimes.length + 1} times within ${Math.round(this.policy.windowMs / 60_000)} min (last: ${describeExit(exit)}); Clawdesk stopped restarting it`,
        fix: `See the log ${this.options.logFile} and run \`openclaw doctor\`, then start again.`,
      });
    }
    const delay = Math.min(this.policy.initialDelayMs * 2 ** this.consecutiveCrashes, this.policy.maxDelayMs);
    this.consecutiveCrashes++;
    this.restartTimes.push(now);
    this.set({
      state: 'backoff',
      mode: 'supervised',
      retryInMs: delay,
      reason: `OpenClaw's gateway ${gen.shutdown ? `shut down (${gen.shutdown.reason}) and ` : ''}exited (${describeExit(exit)}); restarting in ${delay} ms (restart ${this.restartTimes.length} of ${this.policy.maxRestarts})`,
    });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.serial(() => (this.stopIntent ? Promise.resolve() : this.spawnGeneration()));
    }, delay);
  }

  /** Exit 78: doctor once against the same environment, then one more start; a second 78 is shown, not retried. */
  private async onConfigExit(): Promise<void> {
    const configPath = this.target!.configPath;
    if (this.repairUsed) {
      if (this.legacyApprovalsBlock()) return;
      return this.set({
        state: 'failed',
        code: 'config-invalid',
        reason: `OpenClaw refused its configuration (exit 78) again after \`openclaw doctor --fix\`${this.target!.configProblem ? `: ${this.target!.configProblem}` : ''}`,
        fix: `Fix ${configPath} (run \`openclaw doctor\` to see what is wrong, or restore the .bak beside it), then start again. The log ${this.options.logFile} has OpenClaw's message.`,
      });
    }
    this.repairUsed = true;
    this.set({
      state: 'repairing',
      mode: 'supervised',
      reason: `OpenClaw refused its configuration (exit 78); running \`openclaw doctor --fix --yes --non-interactive\``,
    });
    const result = await this.runDoctor();
    if (this.stopIntent) return this.set({ state: 'stopped', reason: 'stopped during repair' });
    if (result.code !== 0) {
      if (this.legacyApprovalsBlock(result)) return;
      return this.set({
        state: 'failed',
        code: 'doctor-failed',
        reason: `OpenClaw refused its configuration (exit 78) and \`openclaw doctor --fix\` did not repair it (${result.timedOut ? 'timed out' : describeExit(result)})`,
        fix: `Run \`openclaw doctor\` yourself and fix ${configPath}, then start again.`,
      });
    }
    this.log('info', 'doctor finished; starting the gateway once more');
    await this.serial(() => (this.stopIntent ? Promise.resolve() : this.spawnGeneration()));
  }

  /**
   * OpenClaw 2026.9.6 will not start (exit 78, "maintenance required") while legacy exec approvals wait in its state
   * dir for its doctor, and the doctor can fail to import them. Then the cause is that file, not the config: said
   * with the way out. Decided from the file's presence (as OpenClaw's own gate decides), never from stderr.
   */
  private legacyApprovalsBlock(doctor?: {
    code: number | null;
    signal: NodeJS.Signals | null;
    timedOut: boolean;
  }): boolean {
    const stateDir = this.target!.stateDir;
    const warning = legacyExecApprovalsWarning(stateDir);
    if (!warning) return false;
    const file = path.join(stateDir, 'exec-approvals.json');
    this.set({
      state: 'failed',
      code: 'legacy-exec-approvals',
      warning,
      reason: `OpenClaw will not start while ${file} holds exec approvals it has not imported (exit 78)${doctor ? `, and \`openclaw doctor --fix\` did not import them (${doctor.timedOut ? 'timed out' : describeExit(doctor)})` : ''}`,
      fix: `Run \`openclaw doctor --fix\` with OPENCLAW_STATE_DIR set to ${stateDir} and read why it cannot import them; or move ${file} out of the state dir (OpenClaw then starts with no exec allowlist, and commands are asked again). Then start again. The log ${this.options.logFile} has OpenClaw's message.`,
    });
    return true;
  }

  private runDoctor(): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
    this.counters.doctorRuns++;
    const install = this.options.install;
    const env = this.childEnv();
    return new Promise((resolve) => {
      const child = spawn(install.nodeBin, [install.entry, 'doctor', '--fix', '--yes', '--non-interactive'], {
        env,
        cwd: this.options.cwd ?? env.HOME ?? process.cwd(),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: process.platform !== 'win32',
        windowsHide: true,
      });
      this.doctor = child;
      child.stdout.on('data', (d: Buffer) => this.appendOutput(d));
      child.stderr.on('data', (d: Buffer) => this.appendOutput(d));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killTree(child, 'SIGKILL');
      }, this.options.doctorTimeoutMs ?? 180_000);
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(timer);
        killTree(child, 'SIGKILL');
        this.doctor = undefined;
        resolve({ code, signal, timedOut });
      };
      child.once('exit', done);
      child.once('error', () => done(null, null));
    });
  }

  // --- A gateway Clawdesk did not start ------------------------------------------------------------------

  private async attach(url: string): Promise<void> {
    const port = this.status_.port;
    const owner = await (this.options.findOwner ?? findPortOwner)(port);
    const service = owner ? await findServiceOwner(owner.pid) : undefined;
    const who = service
      ? `${service.manager === 'systemd' ? 'the systemd unit' : 'the LaunchAgent'} ${service.name}${owner ? ` (PID ${owner.pid})` : ''}`
      : owner
        ? `${owner.name ? `${owner.name} ` : ''}(PID ${owner.pid}), not started by Clawdesk`
        : 'a process Clawdesk did not start (the OS does not say which)';
    this.external = {};
    this.set({
      state: 'attached',
      mode: 'external',
      pid: owner?.pid,
      owner: who,
      service,
      url,
      reason: `an OpenClaw gateway already runs on port ${port}, owned by ${who}; Clawdesk attaches to it and never stops it`,
    });
    await this.watchExternal(url);
  }

  /** Keeps a session to the external gateway, for its shutdown notice; reconnects every 2 s while it is away. */
  private async watchExternal(url: string): Promise<void> {
    const ext = this.external;
    if (!ext || this.stopIntent) return;
    const creds = this.credentials();
    try {
      const session = await connectGateway({
        ...(await this.connection()),
        url,
        token: creds.token,
        password: creds.password,
        clientId: 'gateway-client',
        clientMode: 'backend',
        displayName: 'Clawdesk supervisor',
        scopes: [],
        connectTimeoutMs: 10_000,
      });
      if (this.external !== ext) {
        await session.close().catch(() => undefined);
        return;
      }
      ext.session = session;
      session.on('event', (name: string, payload: any) => {
        if (name === 'shutdown')
          this.status_.lastShutdown = {
            reason: String(payload?.reason ?? 'gateway stopping'),
            ...(typeof payload?.restartExpectedMs === 'number' ? { restartExpectedMs: payload.restartExpectedMs } : {}),
            at: Date.now(),
          };
      });
      session.on('close', () => {
        if (this.external !== ext) return;
        ext.session = undefined;
        this.set({
          ...this.status_,
          state: 'attached',
          reason: `the gateway on port ${this.status_.port} (${this.status_.owner}) went away; Clawdesk waits for it and does not start another`,
        });
        ext.timer = setTimeout(() => void this.watchExternal(url), 2_000);
      });
    } catch (error) {
      if (this.external !== ext) return;
      const e = error as GatewayClientError;
      const code = e instanceof GatewayClientError ? e.detailCode : undefined;
      if (code && TERMINAL_CONNECT_CODES.has(code)) {
        this.set({
          ...this.status_,
          state: 'attached',
          reason: `attached to the gateway on port ${this.status_.port}, but it refuses Clawdesk's secret (${code})`,
          fix: 'Set gateway.auth.token in its config or OPENCLAW_GATEWAY_TOKEN for Clawdesk.',
        });
        return;
      }
      ext.timer = setTimeout(() => void this.watchExternal(url), 2_000);
    }
  }

  // --- Stop ------------------------------------------------------------------------------------------------

  /**
   * Stops what Clawdesk started (and waits for the child to exit); detaches from a gateway it did not start,
   * leaving it running. Cancels a pending restart or repair.
   */
  stop(): Promise<void> {
    this.stopIntent = true;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.doctor) killTree(this.doctor, 'SIGKILL');
    return this.serial(async () => {
      this.stopIntent = true;
      const ext = this.external;
      if (ext) {
        this.external = undefined;
        clearTimeout(ext.timer);
        await ext.session?.close().catch(() => undefined);
        this.set({
          state: 'stopped',
          reason: `detached from the gateway on port ${this.status_.port}; it keeps running (Clawdesk did not start it)`,
          owner: this.status_.owner,
        });
        return;
      }
      const gen = this.gen;
      if (gen && !gen.exited) {
        this.set({
          state: 'stopping',
          mode: 'supervised',
          pid: gen.pid,
          reason: `stopping OpenClaw's gateway (PID ${gen.pid})`,
        });
        await this.terminate(gen);
        // onExit set 'stopped'.
        return;
      }
      if (this.status_.state !== 'stopped' && this.status_.state !== 'failed')
        this.set({ state: 'stopped', reason: 'stopped' });
    });
  }

  /** Stops, and closes the log. */
  async dispose(): Promise<void> {
    await this.stop();
    await this.output.close();
  }
}

function pinnedTo(fingerprint: string): Pick<GatewayClientOptions, 'verifyServerCertificate'> {
  return { verifyServerCertificate: pinnedCertificateVerifier('127.0.0.1', fingerprint) };
}
