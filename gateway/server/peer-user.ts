import { promises as fs } from 'node:fs';
import { isIP } from 'node:net';
import os from 'node:os';
import { isLoopbackAddress } from './locality';

/**
 * Same-user check for silent local pairing (issue 6, item 3).
 *
 * On a multi-user machine a loopback peer is not necessarily the owner: any local account can open a socket
 * to 127.0.0.1. On Linux the kernel says who owns each TCP socket (`/proc/net/tcp`, `/proc/net/tcp6`, the
 * `uid` column), so the gateway looks up the peer's end of the accepted connection and trusts it silently
 * only when that uid is the gateway's own. Anything else — another uid, no matching row, an unreadable
 * table — fails closed: the device gets an explicit pairing prompt.
 *
 * macOS and Windows: there is no cheap, dependency-free way to map a loopback peer to a user there
 * (`lsof`/`netstat -o` are slow subprocesses per connect). Those desktops are overwhelmingly single-user,
 * and prompting the owner for their own CLI is exactly the regression the gateway exists to avoid, so
 * silent local pairing stays on there. Shared machines should set "always prompt"
 * (`alwaysPromptPairing`, CLI `--always-prompt-pairing`).
 *
 * The same lookup keys the gateway's per-peer limits (issue 9, finding 14): failed-auth lockout and pre-auth
 * socket caps are kept per OS user where the OS tells, so another local user can never use up the owner's
 * budget; elsewhere (and when a lookup finds nothing) they fall back to the address (`PeerIdentity`).
 */

export interface PeerSocket {
  /** The peer's address as the accepted socket reports it (`::ffff:127.0.0.1`, `::1`, `127.0.0.1`). */
  remoteAddress: string;
  remotePort: number;
  /** The gateway's listening port (the accepted socket's local port). */
  localPort: number;
}

export interface ProcNetTcpEntry {
  /** 16 bytes: IPv4 addresses are stored IPv4-mapped so both tables compare alike. */
  localAddress: Buffer;
  localPort: number;
  remoteAddress: Buffer;
  remotePort: number;
  /** Kernel TCP state; 1 is ESTABLISHED. */
  state: number;
  uid: number;
}

const TCP_ESTABLISHED = 1;
const PROC_NET_TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];

function mapped(v4: Buffer): Buffer {
  return Buffer.concat([Buffer.alloc(10), Buffer.from([0xff, 0xff]), v4]);
}

/** An address string as 16 bytes (IPv4 → IPv4-mapped IPv6); null when it is not an IP literal. */
export function addressBytes(address: string): Buffer | null {
  const text = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const bare = text.split('%')[0];
  const family = isIP(bare);
  if (family === 4) return mapped(Buffer.from(bare.split('.').map(Number)));
  if (family !== 6) return null;
  let head = bare;
  let v4Tail: number[] = [];
  const lastColon = bare.lastIndexOf(':');
  if (bare.slice(lastColon + 1).includes('.')) {
    v4Tail = bare
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = bare.slice(0, lastColon + 1) + '0:0';
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const leftGroups = left ? left.split(':') : [];
  const rightGroups = right ? right.split(':') : [];
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...(right !== undefined ? Array(missing).fill('0') : []), ...rightGroups];
  if (groups.length !== 8) return null;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  if (v4Tail.length === 4) Buffer.from(v4Tail).copy(out, 12);
  return out;
}

/** The kernel prints each 32-bit word of the address in host byte order. */
function kernelHexAddress(hex: string, littleEndian: boolean): Buffer | null {
  if (!/^[0-9A-Fa-f]+$/.test(hex) || (hex.length !== 8 && hex.length !== 32)) return null;
  const raw = Buffer.from(hex, 'hex');
  if (littleEndian) for (let i = 0; i < raw.length; i += 4) raw.subarray(i, i + 4).reverse();
  return raw.length === 4 ? mapped(raw) : raw;
}

function endpoint(text: string | undefined, littleEndian: boolean): { address: Buffer; port: number } | null {
  if (!text) return null;
  const [hexAddress, hexPort] = text.split(':');
  const address = hexAddress ? kernelHexAddress(hexAddress, littleEndian) : null;
  const port = hexPort ? parseInt(hexPort, 16) : NaN;
  return address && Number.isInteger(port) ? { address, port } : null;
}

/** Parses the text of `/proc/net/tcp` or `/proc/net/tcp6`; malformed rows are skipped. */
export function parseProcNetTcp(text: string, littleEndian = os.endianness() === 'LE'): ProcNetTcpEntry[] {
  const entries: ProcNetTcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // sl local rem st tx:rx tr:when retrnsmt uid ...
    if (fields.length < 8) continue;
    const local = endpoint(fields[1], littleEndian);
    const remote = endpoint(fields[2], littleEndian);
    const state = parseInt(fields[3] ?? '', 16);
    const uid = Number(fields[7]);
    if (!local || !remote || !Number.isInteger(state) || !Number.isInteger(uid)) continue;
    entries.push({
      localAddress: local.address,
      localPort: local.port,
      remoteAddress: remote.address,
      remotePort: remote.port,
      state,
      uid,
    });
  }
  return entries;
}

async function readProcNetTables(): Promise<string[]> {
  const texts = await Promise.all(PROC_NET_TABLES.map((file) => fs.readFile(file, 'utf8').catch(() => '')));
  return texts.filter((t) => t.length > 0);
}

/**
 * The uid owning the peer's end of an accepted loopback connection, or undefined when it cannot be told
 * (no row, rows that disagree, or no table). Only ESTABLISHED rows count: a TIME_WAIT row shows uid 0.
 */
export async function findPeerUid(
  peer: PeerSocket,
  readTables: () => Promise<string[]> = readProcNetTables,
): Promise<number | undefined> {
  const wanted = addressBytes(peer.remoteAddress);
  if (!wanted || !peer.remotePort || !peer.localPort) return undefined;
  const uids = new Set<number>();
  for (const text of await readTables()) {
    for (const row of parseProcNetTcp(text)) {
      if (
        row.state === TCP_ESTABLISHED &&
        row.localPort === peer.remotePort &&
        row.remotePort === peer.localPort &&
        row.localAddress.equals(wanted)
      ) {
        uids.add(row.uid);
      }
    }
  }
  return uids.size === 1 ? [...uids][0] : undefined;
}

const TCP_ROW_KEY = (address: Buffer, port: number, peerPort: number) =>
  `${address.toString('hex')}:${port}>${peerPort}`;

/**
 * Batches peer → uid lookups: every lookup waiting when a read of the tables starts is answered from that one read,
 * so a burst of N connections costs a few reads of `/proc/net/tcp*`, not N (each read is O(sockets on the machine)).
 * A lookup that arrives while a read is in flight waits for the next read: its socket may be newer than that
 * snapshot. Answers are the same as `findPeerUid`'s.
 */
export class PeerUidResolver {
  private queued: Array<{ peer: PeerSocket; resolve: (uid: number | undefined) => void }> = [];
  private reading = false;

  constructor(private readonly readTables: () => Promise<string[]> = readProcNetTables) {}

  lookup(peer: PeerSocket): Promise<number | undefined> {
    if (!addressBytes(peer.remoteAddress) || !peer.remotePort || !peer.localPort) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.queued.push({ peer, resolve });
      if (!this.reading) this.readSoon();
    });
  }

  private readSoon(): void {
    this.reading = true;
    // One turn of the event loop lets a burst of accepted sockets join the same read.
    setImmediate(() => void this.readBatch());
  }

  private async readBatch(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    let rows = new Map<string, number | null>();
    try {
      for (const text of await this.readTables()) {
        for (const row of parseProcNetTcp(text)) {
          if (row.state !== TCP_ESTABLISHED) continue;
          const key = TCP_ROW_KEY(row.localAddress, row.localPort, row.remotePort);
          const seen = rows.get(key);
          // Rows that disagree tell nothing (fail closed to "unknown").
          rows.set(key, seen === undefined || seen === row.uid ? row.uid : null);
        }
      }
    } catch {
      rows = new Map();
    }
    for (const { peer, resolve } of batch) {
      const uid = rows.get(TCP_ROW_KEY(addressBytes(peer.remoteAddress)!, peer.remotePort, peer.localPort));
      resolve(uid === null ? undefined : uid);
    }
    if (this.queued.length > 0) this.readSoon();
    else this.reading = false;
  }
}

export interface SameUserCheckOptions {
  /** Every local pairing prompts (shared machines); also withdraws device-less owner trust under auth "none". */
  alwaysPrompt?: boolean;
  platform?: NodeJS.Platform;
  /** The gateway's own uid (tests). */
  uid?: number;
  readTables?: () => Promise<string[]>;
  /** A shared batching resolver (the gateway's, which already looked every accepted socket up). */
  resolver?: PeerUidResolver;
}

/**
 * The gateway's default `allowSilentLocalPairing`: on Linux, true only when the peer socket belongs to the
 * gateway's own user; elsewhere true (see the module comment); false for everything under `alwaysPrompt`.
 */
export function createSameUserCheck(options: SameUserCheckOptions = {}): (peer: PeerSocket) => Promise<boolean> {
  const platform = options.platform ?? process.platform;
  if (options.alwaysPrompt) return async () => false;
  if (platform !== 'linux') return async () => true;
  const ownUid = options.uid ?? process.getuid?.();
  if (ownUid === undefined) return async () => false;
  const resolver = options.resolver;
  if (resolver) return async (peer) => (await resolver.lookup(peer)) === ownUid;
  return async (peer) => (await findPeerUid(peer, options.readTables)) === ownUid;
}

/**
 * Who a peer is, for per-peer limits (failed-auth lockout, pre-auth socket caps): the OS user owning the peer's
 * socket where the OS tells (Linux), else the address. Every loopback address is one machine, so on the fallback
 * path all of 127/8 and ::1 share one key (a client cannot multiply its budget by picking 127.0.0.2, 127.0.0.3…).
 */
export interface PeerIdentity {
  /** `uid:<n>`, `addr:loopback` or `addr:<ip>`. */
  key: string;
  uid?: number;
  /** The same OS user as the gateway: other users can never use up this peer's budget. */
  owner: boolean;
}

export interface PeerIdentifierOptions {
  platform?: NodeJS.Platform;
  /** The gateway's own uid (tests). */
  uid?: number;
  resolver?: PeerUidResolver;
}

/** Address-only key: IPv4-mapped IPv6 as IPv4, and every loopback address as one. */
export function addressPeerKey(address: string): string {
  const bare = (address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address).toLowerCase();
  if (isLoopbackAddress(bare)) return 'addr:loopback';
  return `addr:${bare.startsWith('::ffff:') && isIP(bare.slice(7)) === 4 ? bare.slice(7) : bare}`;
}

export function createPeerIdentifier(options: PeerIdentifierOptions = {}): (peer: PeerSocket) => Promise<PeerIdentity> {
  const platform = options.platform ?? process.platform;
  const ownUid = options.uid ?? process.getuid?.();
  const resolver = options.resolver ?? new PeerUidResolver();
  return async (peer) => {
    const uid = platform === 'linux' ? await resolver.lookup(peer) : undefined;
    if (uid === undefined) return { key: addressPeerKey(peer.remoteAddress), owner: false };
    return { key: `uid:${uid}`, uid, owner: ownUid !== undefined && uid === ownUid };
  };
}
