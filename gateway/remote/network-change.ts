import os from 'node:os';

/**
 * Notices network interfaces and addresses coming and going, so the remote gateways' clients can reconnect at once
 * instead of sleeping out their backoff (docs/remote-gateways.md § Staying connected).
 *
 * Node has no event for this. The alternatives are per-OS native code (a netlink socket on Linux, SCDynamicStore on
 * macOS, NotifyAddrChange on Windows) or Electron's `net`, which gateway/ must not import and which reports only
 * online/offline. So this polls `os.networkInterfaces()` (one getifaddrs call, microseconds) every few seconds and
 * compares a normalized snapshot; the timer is unref'd and runs only while someone listens. A change is seen within
 * one interval, which is small next to the 30 s backoff it saves.
 */

export interface NetworkChange {
  /** `<interface> <address>/<prefix>` entries that appeared and that went away. */
  added: string[];
  removed: string[];
}

/** Anything that says when the network changed (the watcher below, or a test's own). */
export interface NetworkChangeSource {
  subscribe(listener: (change: NetworkChange) => void): () => void;
}

export const DEFAULT_NETWORK_POLL_MS = 3000;

/**
 * The addresses that matter for reaching another machine, sorted: loopback is left out (it never changes where a
 * gateway is reached), and so are MAC addresses and scope ids (they change nothing about routes). An interface that
 * goes down drops out of `os.networkInterfaces()` (libuv lists only interfaces that are up and running).
 */
export function networkSnapshot(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const entries = new Set<string>();
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (info.internal) continue;
      entries.add(`${name} ${info.cidr ?? `${info.address}/${info.netmask}`}`);
    }
  }
  return [...entries].sort();
}

export function diffSnapshots(before: readonly string[], after: readonly string[]): NetworkChange | undefined {
  const was = new Set(before);
  const now = new Set(after);
  const added = after.filter((e) => !was.has(e));
  const removed = before.filter((e) => !now.has(e));
  return added.length || removed.length ? { added, removed } : undefined;
}

export interface NetworkChangeWatcherOptions {
  intervalMs?: number;
  /** Tests: what `os.networkInterfaces()` would say. */
  readInterfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}

export class NetworkChangeWatcher implements NetworkChangeSource {
  private readonly listeners = new Set<(change: NetworkChange) => void>();
  private timer?: NodeJS.Timeout;
  private last: string[] = [];

  constructor(private readonly options: NetworkChangeWatcherOptions = {}) {}

  private read(): string[] {
    try {
      return networkSnapshot((this.options.readInterfaces ?? os.networkInterfaces)());
    } catch {
      // getifaddrs can fail transiently (EMFILE, ENOMEM); keep the last view rather than report a change.
      return this.last;
    }
  }

  /** Compares now (the timer does this every interval); exported for tests and for a caller that knows better. */
  check(): NetworkChange | undefined {
    const next = this.read();
    const change = diffSnapshots(this.last, next);
    this.last = next;
    if (!change) return undefined;
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // A listener's failure is its own; the others are still told.
      }
    }
    return change;
  }

  subscribe(listener: (change: NetworkChange) => void): () => void {
    if (this.listeners.size === 0) {
      this.last = this.read();
      this.timer = setInterval(() => this.check(), this.options.intervalMs ?? DEFAULT_NETWORK_POLL_MS);
      this.timer.unref();
    }
    this.listeners.add(listener);
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      clearInterval(this.timer);
      this.timer = undefined;
    };
  }
}

/** Says in a few words what changed, for the log line that explains a reconnect. */
export function describeNetworkChange(change: NetworkChange): string {
  const parts = [...change.added.slice(0, 3).map((e) => `+${e}`), ...change.removed.slice(0, 3).map((e) => `-${e}`)];
  const more = change.added.length + change.removed.length - parts.length;
  return `network changed (${parts.join(', ')}${more > 0 ? `, ${more} more` : ''})`;
}
