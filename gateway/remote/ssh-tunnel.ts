import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { parseSshTarget, type SshTarget } from './ssh-target';
import type { SshHostKeyPolicy } from './saved-gateways';

/**
 * A supervised `ssh -N -L` to a gateway that listens on the remote machine's loopback
 * (docs/remote-gateways.md § SSH tunnels). The system's OpenSSH client does the work, with the options OpenClaw's own tunnel uses:
 * ExitOnForwardFailure, BatchMode (it never prompts, so an unknown host key or a passphrase fails instead of
 * hanging), keep-alives, and StrictHostKeyChecking=yes unless the person chose `openssh` (defer to their config).
 * An unknown or changed host key and a refused login are final; anything else restarts it with jittered backoff,
 * on the same local port so the clients above reconnect to the same URL.
 */

export type SshTunnelState = 'starting' | 'up' | 'restarting' | 'failed' | 'stopped';
export type SshTunnelFailure = 'host-key' | 'auth' | 'ssh-missing' | 'target';

export interface SshTunnelStatus {
  state: SshTunnelState;
  localPort?: number;
  /** The running ssh, while up. */
  pid?: number;
  /** Why the last ssh exited, in ssh's own words where it gave some. */
  error?: string;
  failure?: SshTunnelFailure;
  retryInMs?: number;
}

export interface SshTunnelOptions {
  target: string;
  /** The gateway's port on the remote machine (its loopback). */
  remotePort: number;
  /** A fixed local port; default: a free one chosen at the first start and kept. */
  localPort?: number;
  hostKeyPolicy?: SshHostKeyPolicy;
  identityFile?: string;
  /** Pins the host key to this known_hosts file alone (the system-wide ones are not consulted). */
  knownHostsFile?: string;
  sshPath?: string;
  /** How long one ssh gets to bring its listener up. */
  readyTimeoutMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

const SSH_CANDIDATES = ['/usr/bin/ssh', '/bin/ssh', '/usr/local/bin/ssh', '/opt/homebrew/bin/ssh'];
const WINDOWS_SSH = 'C:\\Windows\\System32\\OpenSSH\\ssh.exe';

/** The system's OpenSSH client, from fixed system locations only (never a PATH entry someone could plant). */
export function findSystemSsh(platform: NodeJS.Platform = process.platform): string | undefined {
  const candidates = platform === 'win32' ? [WINDOWS_SSH] : SSH_CANDIDATES;
  return candidates.find((p) => existsSync(p));
}

export class SshTunnelError extends Error {
  constructor(
    message: string,
    readonly failure?: SshTunnelFailure,
  ) {
    super(message);
  }
}

/** The ssh argument list (exported so the tests and docs show exactly what runs). */
export function sshTunnelArgs(target: SshTarget, localPort: number, options: SshTunnelOptions): string[] {
  const args = [
    '-N',
    '-L',
    `127.0.0.1:${localPort}:127.0.0.1:${options.remotePort}`,
    '-p',
    String(target.port),
    '-o',
    'ExitOnForwardFailure=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=3',
  ];
  if ((options.hostKeyPolicy ?? 'strict') === 'strict') args.push('-o', 'StrictHostKeyChecking=yes');
  if (options.knownHostsFile)
    args.push('-o', `UserKnownHostsFile=${options.knownHostsFile}`, '-o', 'GlobalKnownHostsFile=none');
  if (options.identityFile) args.push('-i', options.identityFile, '-o', 'IdentitiesOnly=yes');
  args.push('--', target.user ? `${target.user}@${target.host}` : target.host);
  return args;
}

function classify(stderr: string): SshTunnelFailure | undefined {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr))
    return 'host-key';
  if (/Permission denied|Too many authentication failures/i.test(stderr)) return 'auth';
  if (/Could not resolve hostname|Bad port|illegal option/i.test(stderr)) return 'target';
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class SshTunnel extends EventEmitter {
  status: SshTunnelStatus = { state: 'starting' };
  private child?: ChildProcess;
  private stopped = false;
  private timer?: NodeJS.Timeout;
  private backoffMs: number;
  private localPort?: number;
  private readonly target: SshTarget;

  constructor(private readonly options: SshTunnelOptions) {
    super();
    const target = parseSshTarget(options.target);
    if (!target) throw new SshTunnelError(`invalid SSH target "${options.target}"`, 'target');
    this.target = target;
    this.backoffMs = options.initialBackoffMs ?? 1000;
    this.localPort = options.localPort;
  }

  get port(): number | undefined {
    return this.localPort;
  }

  /** Resolves with the local port once the tunnel is first up; rejects on a final failure (or stop) before that. */
  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onStatus = (status: SshTunnelStatus) => {
        if (status.state === 'up') {
          this.off('status', onStatus);
          resolve(status.localPort!);
        } else if (status.state === 'failed' || status.state === 'stopped') {
          this.off('status', onStatus);
          reject(new SshTunnelError(status.error ?? 'the tunnel was stopped', status.failure));
        }
      };
      this.on('status', onStatus);
      void this.launch();
    });
  }

  private setStatus(status: SshTunnelStatus): void {
    this.status = status;
    this.emit('status', status);
  }

  private async launch(): Promise<void> {
    if (this.stopped) return;
    const sshPath = this.options.sshPath ?? findSystemSsh();
    if (!sshPath) {
      this.setStatus({ state: 'failed', failure: 'ssh-missing', error: 'no OpenSSH client (ssh) in the system paths' });
      return;
    }
    this.localPort ??= await freePort();
    const localPort = this.localPort;
    this.setStatus({ state: 'starting', localPort });
    const args = sshTunnelArgs(this.target, localPort, this.options);
    this.options.log?.('debug', `ssh ${args.join(' ')}`);
    const child = spawn(sshPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      // Bounded: a chatty or hostile server banner cannot grow this without limit.
      stderr = (stderr + chunk).slice(-8192);
    });
    let up = false;
    let exited = false;
    child.once('error', (error) => {
      stderr += `\n${error.message}`;
    });
    child.once('close', (code, signal) => {
      exited = true;
      if (this.child === child) this.child = undefined;
      if (this.stopped) return;
      const text = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' / ');
      const error = `ssh exited (${signal ?? code})${text ? `: ${text}` : ''}`;
      const failure = classify(stderr);
      if (failure === 'host-key' || failure === 'auth' || failure === 'target') {
        this.setStatus({ state: 'failed', localPort, failure, error });
        return;
      }
      if (up) this.backoffMs = this.options.initialBackoffMs ?? 1000;
      this.scheduleRestart(error);
    });
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 20_000);
    while (!exited && !this.stopped && Date.now() < deadline) {
      if (await canConnect(localPort)) {
        if (exited || this.stopped) return;
        up = true;
        this.setStatus({ state: 'up', localPort, ...(child.pid ? { pid: child.pid } : {}) });
        this.options.log?.('info', `ssh tunnel to ${this.options.target} up on 127.0.0.1:${localPort}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    if (!exited && !this.stopped) {
      stderr += '\nthe tunnel did not come up in time';
      child.kill('SIGTERM');
    }
  }

  private scheduleRestart(error: string): void {
    const base = this.backoffMs;
    this.backoffMs = Math.min(base * 2, this.options.maxBackoffMs ?? 30_000);
    // ±20 % jitter, so many clients of one server do not come back in lockstep.
    const wait = Math.round(base * (0.8 + Math.random() * 0.4));
    this.setStatus({ state: 'restarting', localPort: this.localPort, error, retryInMs: wait });
    this.options.log?.('warn', `ssh tunnel to ${this.options.target}: ${error}; restarting in ${wait} ms`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.launch();
    }, wait);
  }

  /**
   * Ends a pending restart wait now, with the backoff back at its start (the network came back: the last failure
   * says nothing about this try). A running ssh is left alone; false when no restart was pending.
   */
  restartNow(): boolean {
    if (this.stopped || this.status.state !== 'restarting' || !this.timer) return false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.backoffMs = this.options.initialBackoffMs ?? 1000;
    void this.launch();
    return true;
  }

  /** The pid of the running ssh (tests kill it to see the tunnel come back). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 2000);
      await closed;
      clearTimeout(force);
    }
    this.setStatus({ state: 'stopped', localPort: this.localPort });
  }
}
