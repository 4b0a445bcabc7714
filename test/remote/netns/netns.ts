import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * Two "machines" that are real to the kernel: network namespaces joined by a veth pair, with addresses only inside
 * them (10.231.<n>.1 the server, .2 the laptop). Nothing outside the namespaces this creates is ever a target.
 */

function ip(args: string[], allowFailure = false): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0 && !allowFailure) throw new Error(`ip ${args.join(' ')}: ${result.stderr || result.error}`);
}

/** Whether this machine lets us create namespaces (root, iproute2); the reason when it does not. */
export function netnsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = `cdprobe${process.pid}`;
  const result = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (result.status !== 0) return `ip netns add failed: ${(result.stderr || String(result.error)).trim()}`;
  ip(['netns', 'del', probe], true);
  return undefined;
}

export interface TwoMachines {
  server: string;
  laptop: string;
  serverIp: string;
  laptopIp: string;
  /** The laptop's end of the link (for link down/up). */
  laptopLink: string;
  setLaptopLink(up: boolean): void;
  dispose(): void;
}

export function createTwoMachines(): TwoMachines {
  const id = `${process.pid % 100000}`;
  const server = `cd-srv-${id}`;
  const laptop = `cd-lap-${id}`;
  const serverLink = `cds${id}`;
  const laptopLink = `cdl${id}`;
  const subnet = `10.231.${process.pid % 250}`;
  const serverIp = `${subnet}.1`;
  const laptopIp = `${subnet}.2`;
  const dispose = () => {
    ip(['netns', 'del', server], true);
    ip(['netns', 'del', laptop], true);
    ip(['link', 'del', serverLink], true);
  };
  dispose();
  try {
    ip(['netns', 'add', server]);
    ip(['netns', 'add', laptop]);
    ip(['link', 'add', serverLink, 'type', 'veth', 'peer', 'name', laptopLink]);
    ip(['link', 'set', serverLink, 'netns', server]);
    ip(['link', 'set', laptopLink, 'netns', laptop]);
    ip(['-n', server, 'addr', 'add', `${serverIp}/24`, 'dev', serverLink]);
    ip(['-n', laptop, 'addr', 'add', `${laptopIp}/24`, 'dev', laptopLink]);
    for (const [ns, link] of [
      [server, serverLink],
      [laptop, laptopLink],
    ]) {
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'link', 'set', link, 'up']);
    }
  } catch (error) {
    dispose();
    throw error;
  }
  return {
    server,
    laptop,
    serverIp,
    laptopIp,
    laptopLink,
    setLaptopLink: (up) => ip(['-n', laptop, 'link', 'set', laptopLink, up ? 'up' : 'down']),
    dispose,
  };
}

/** A process started in a namespace (null: this machine's own), its output kept for assertions and diagnostics. */
export class NamespacedProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(ns: string | null, command: string, args: string[], env: NodeJS.ProcessEnv) {
    // `ip netns exec` setns()es and execs: the pid is the command's own.
    const [file, argv] = ns === null ? [command, args] : ['ip', ['netns', 'exec', ns, command, ...args]];
    this.child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child
      .stdout!.setEncoding('utf8')
      .on('data', (t: string) => (this.stdout = (this.stdout + t).slice(-2_000_000)));
    this.child.stderr!.setEncoding('utf8').on('data', (t: string) => (this.stderr = (this.stderr + t).slice(-200_000)));
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout + this.stderr)) {
      if (this.child.exitCode !== null)
        throw new Error(`exited (${this.child.exitCode}) before ${pattern}:\n${this.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    const force = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(force);
  }
}

/** Runs a command in a namespace to completion. */
export function runIn(ns: string, command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = new NamespacedProcess(ns, command, args, env);
    const timer = setTimeout(() => void p.stop('SIGKILL'), timeoutMs);
    void p.exited.then((code) => {
      clearTimeout(timer);
      resolve({ code, stdout: p.stdout, stderr: p.stderr });
    });
  });
}

/** A namespace's veth link to this machine's own (root) namespace: `hostIp` is the root side, `nsIp` the other. */
export interface HostLink {
  ns: string;
  hostIp: string;
  nsIp: string;
  dispose(): void;
}

/**
 * Links `ns` to the root namespace by a veth pair on a /30 of 10.232.<n>.<4k>: the root side answers at `hostIp`,
 * as a Docker bridge's gateway address (host.docker.internal) does. The namespace gets no default route, so it
 * reaches this machine and nothing beyond it.
 */
export function linkToHost(ns: string, index = 0): HostLink {
  const id = `${process.pid % 100000}${index}`;
  const hostLink = `cdh${id}`;
  const nsLink = `cdn${id}`;
  const base = `10.232.${process.pid % 250}`;
  const hostIp = `${base}.${4 * index + 1}`;
  const nsIp = `${base}.${4 * index + 2}`;
  const dispose = () => ip(['link', 'del', hostLink], true);
  dispose();
  try {
    ip(['link', 'add', hostLink, 'type', 'veth', 'peer', 'name', nsLink]);
    ip(['link', 'set', nsLink, 'netns', ns]);
    ip(['addr', 'add', `${hostIp}/30`, 'dev', hostLink]);
    ip(['-n', ns, 'addr', 'add', `${nsIp}/30`, 'dev', nsLink]);
    ip(['link', 'set', hostLink, 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', ns, 'link', 'set', nsLink, 'up']);
  } catch (error) {
    dispose();
    throw error;
  }
  return { ns, hostIp, nsIp, dispose };
}

/** A "container": a namespace of its own, linked to this machine. */
export function createContainer(): HostLink {
  const ns = `cd-ctr-${process.pid % 100000}`;
  ip(['netns', 'del', ns], true);
  ip(['netns', 'add', ns]);
  let link: HostLink;
  try {
    link = linkToHost(ns, 1);
  } catch (error) {
    ip(['netns', 'del', ns], true);
    throw error;
  }
  return {
    ...link,
    dispose: () => {
      link.dispose();
      ip(['netns', 'del', ns], true);
    },
  };
}

/** Starts fixtures/tcp-forward.mjs (a docker-proxy-like TCP forwarder) in `ns` (null: on this machine). */
export async function startForwarder(
  ns: string | null,
  listen: { host: string; port: number },
  target: { host: string; port: number },
): Promise<NamespacedProcess & { connections(): number }> {
  const forwarder = new NamespacedProcess(
    ns,
    process.execPath,
    [
      path.join(__dirname, 'fixtures', 'tcp-forward.mjs'),
      listen.host,
      String(listen.port),
      target.host,
      String(target.port),
    ],
    { PATH: process.env.PATH },
  );
  await forwarder.waitForOutput(/listening/);
  return Object.assign(forwarder, { connections: () => forwarder.stdout.split('\nconnection').length - 1 });
}
