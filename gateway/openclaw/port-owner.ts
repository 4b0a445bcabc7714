import { execFile } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import net from 'node:net';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import { certificateCheckOptions } from '../client/gateway-client';
import { pinnedCertificateVerifier } from '../remote/tls-pin';

/**
 * Who holds a gateway port: a probe that tells an OpenClaw gateway (it sends `connect.challenge` first) from anything
 * else, and the listening process where the OS tells. Shared by the desktop app's ownership decision and the
 * OpenClaw supervisor (moved here from main/gateway-ownership.ts so gateway/ code can use it without Electron).
 */

export type PortProbe =
  | { kind: 'free' }
  /** Something answered the OpenClaw handshake (`connect.challenge` first: docs/protocol.md § Handshake). */
  | { kind: 'openclaw'; url: string }
  | { kind: 'other'; detail: string };

export interface ProbeOptions {
  host?: string;
  timeoutMs?: number;
  /**
   * The gateway serves wss:// (openclaw.json `gateway.tls.enabled`): the probe speaks TLS and accepts only this
   * certificate (SHA-256). `null` when there is no certificate to pin: then nothing on the port is taken for the
   * gateway, however it answers.
   */
  tlsFingerprint?: string | null;
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<'open' | 'refused' | 'timeout'> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: 'open' | 'refused' | 'timeout') => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => done('open'));
    socket.once('error', () => done('refused'));
  });
}

/** Connects and waits for the server's first frame; only a `connect.challenge` event counts as OpenClaw. */
export async function probeGatewayPort(port: number, options: ProbeOptions = {}): Promise<PortProbe> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.timeoutMs ?? 2000;
  const tcp = await tcpConnect(host, port, timeoutMs);
  if (tcp === 'refused') return { kind: 'free' };
  if (tcp === 'timeout') return { kind: 'other', detail: 'the port accepts no connection in time' };
  const tls = options.tlsFingerprint !== undefined;
  const url = `${tls ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const pin = options.tlsFingerprint;
  const verify = pin
    ? pinnedCertificateVerifier(host, pin)
    : () => new Error('gateway.tls is on, but there is no certificate in the state dir to pin the gateway to');
  return new Promise<PortProbe>((resolve) => {
    const ws = new WebSocket(url, {
      handshakeTimeout: timeoutMs,
      maxPayload: 64 * 1024,
      ...(tls ? certificateCheckOptions(verify) : {}),
    });
    let settled = false;
    const finish = (probe: PortProbe) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve(probe);
    };
    const timer = setTimeout(
      () => finish({ kind: 'other', detail: 'a WebSocket server that does not speak the OpenClaw protocol' }),
      timeoutMs,
    );
    ws.on('message', (data) => {
      try {
        const frame = JSON.parse(data.toString());
        if (
          frame?.type === 'event' &&
          frame.event === 'connect.challenge' &&
          typeof frame.payload?.nonce === 'string'
        ) {
          finish({ kind: 'openclaw', url });
          return;
        }
      } catch {
        // fall through
      }
      finish({ kind: 'other', detail: 'a WebSocket server that does not speak the OpenClaw protocol' });
    });
    ws.on('unexpected-response', (_req, res) =>
      finish({ kind: 'other', detail: `an HTTP server (status ${res.statusCode}), not a WebSocket gateway` }),
    );
    ws.on('error', (error) =>
      finish({
        kind: 'other',
        detail: tls
          ? `no gateway this app can trust over wss:// (${error.message})`
          : `not a WebSocket gateway (${error.message})`,
      }),
    );
    ws.on('close', () => finish({ kind: 'other', detail: 'the connection closed before any handshake' }));
  });
}

// --- Who listens on a port ----------------------------------------------------------------------------------

export interface PortOwner {
  pid: number;
  name?: string;
}

/** Parses /proc/net/tcp{,6}: the socket inodes LISTENing on `port`. */
export function listeningInodes(procNetTcp: string, port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes: string[] = [];
  for (const line of procNetTcp.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const local = fields[1];
    if (local.slice(local.lastIndexOf(':') + 1).toUpperCase() === hexPort && fields[3] === '0A') inodes.push(fields[9]);
  }
  return inodes;
}

/** Linux: /proc/net/tcp gives the socket inode, /proc/<pid>/fd links name it. Other users' processes stay hidden. */
export async function findPortOwnerLinux(port: number, procRoot = '/proc'): Promise<PortOwner | undefined> {
  const inodes = new Set<string>();
  for (const file of ['net/tcp', 'net/tcp6']) {
    try {
      for (const inode of listeningInodes(await readFile(`${procRoot}/${file}`, 'utf8'), port)) inodes.add(inode);
    } catch {
      // IPv6 may be disabled.
    }
  }
  if (inodes.size === 0) return undefined;
  const targets = new Set([...inodes].map((inode) => `socket:[${inode}]`));
  for (const entry of await readdir(procRoot)) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = await readdir(`${procRoot}/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = await readlink(`${procRoot}/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      if (targets.has(link)) {
        const name = await readFile(`${procRoot}/${entry}/comm`, 'utf8').then(
          (s) => s.trim(),
          () => undefined,
        );
        return { pid: Number(entry), name };
      }
    }
  }
  return undefined;
}

/** Windows: `netstat -ano -p TCP` rows "TCP  127.0.0.1:18789  0.0.0.0:0  LISTENING  4242". */
export function parseNetstatListeners(output: string, port: number): number | undefined {
  for (const line of output.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length >= 5 && fields[0] === 'TCP' && fields[3] === 'LISTENING' && fields[1].endsWith(`:${port}`))
      return Number(fields[4]);
  }
  return undefined;
}

const execFileAsync = promisify(execFile);

export async function findPortOwner(
  port: number,
  platform: NodeJS.Platform = process.platform,
): Promise<PortOwner | undefined> {
  try {
    if (platform === 'linux') return await findPortOwnerLinux(port);
    if (platform === 'darwin') {
      const { stdout } = await execFileAsync('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN', '-Fpc'], {
        timeout: 3000,
      });
      const pid = /^p(\d+)/m.exec(stdout)?.[1];
      const name = /^c(.+)$/m.exec(stdout)?.[1];
      return pid ? { pid: Number(pid), name } : undefined;
    }
    if (platform === 'win32') {
      const { stdout } = await execFileAsync('netstat', ['-ano', '-p', 'TCP'], { timeout: 5000, windowsHide: true });
      const pid = parseNetstatListeners(stdout, port);
      return pid ? { pid } : undefined;
    }
  } catch {
    // The OS would not tell; the owner stays unknown.
  }
  return undefined;
}

// --- Which service manager runs a process -------------------------------------------------------------------

/** A service manager that owns a running gateway (OpenClaw's own service: systemd user unit, LaunchAgent). */
export interface ServiceOwner {
  manager: 'systemd' | 'launchd';
  /** The unit or label, e.g. `openclaw-gateway.service`, `ai.openclaw.gateway`. */
  name: string;
}

/** The systemd unit in a /proc/<pid>/cgroup text (`0::/user.slice/.../app.slice/openclaw-gateway.service`). */
export function systemdUnitFromCgroup(cgroup: string): string | undefined {
  for (const line of cgroup.split('\n')) {
    const pathPart = line.slice(line.lastIndexOf(':') + 1);
    const unit = pathPart
      .split('/')
      .reverse()
      .find((segment) => segment.endsWith('.service'));
    // A login session's scope or the user manager itself is not a service that owns the gateway.
    if (unit && unit !== 'user@' && !/^user@\d+\.service$/.test(unit) && !/^session-\d+\.scope$/.test(unit))
      return unit;
  }
  return undefined;
}

/**
 * Best effort: the service manager that runs `pid`, when the OS tells. Linux reads /proc (the process's cgroup
 * names its systemd unit); macOS asks launchctl whether OpenClaw's LaunchAgent runs that PID. Undefined means
 * "not a service we can name" (a terminal, another app, or an OS that does not say).
 */
export async function findServiceOwner(
  pid: number,
  platform: NodeJS.Platform = process.platform,
  procRoot = '/proc',
): Promise<ServiceOwner | undefined> {
  try {
    if (platform === 'linux') {
      const unit = systemdUnitFromCgroup(await readFile(`${procRoot}/${pid}/cgroup`, 'utf8'));
      return unit ? { manager: 'systemd', name: unit } : undefined;
    }
    if (platform === 'darwin') {
      const label = 'ai.openclaw.gateway';
      const { stdout } = await execFileAsync('launchctl', ['list', label], { timeout: 3000 });
      const match = /"PID"\s*=\s*(\d+)/.exec(stdout);
      return match && Number(match[1]) === pid ? { manager: 'launchd', name: label } : undefined;
    }
  } catch {
    // Unknown.
  }
  return undefined;
}
