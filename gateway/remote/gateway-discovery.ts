import { EventEmitter } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import makeMdns from 'multicast-dns';
import { assertGatewayUrlAllowed, normalizeTlsFingerprint } from './transport-policy';

/**
 * Finding OpenClaw gateways on the local network: a DNS-SD browse of `_openclaw-gw._tcp.local` over multicast DNS
 * (docs/remote-gateways.md § Discovery). It only listens and asks; it never connects to what it finds — the person
 * chooses, and `clawdesk gateways add` then pins the certificate the gateway really presents.
 *
 * Everything here comes from anyone on the LAN, unauthenticated: counts and sizes are capped, names are cleaned
 * before a person sees them, malformed records are dropped, and no packet can make it throw.
 */

export const GATEWAY_SERVICE_TYPE = '_openclaw-gw._tcp.local';
const SERVICE_SUFFIX = `.${GATEWAY_SERVICE_TYPE}`;
const MDNS_PORT = 5353;

/** How many gateways are kept at once; more answers than that are counted in `dropped`, not stored. */
export const MAX_DISCOVERED_GATEWAYS = 64;
/** Records looked at per packet (answers + authorities + additionals); the rest of a packet is ignored. */
export const MAX_RECORDS_PER_PACKET = 256;
/** TXT: entries and bytes read per record (RFC 6763 §6.2 suggests under 1300 bytes); the rest is ignored. */
export const MAX_TXT_ENTRIES = 32;
export const MAX_TXT_BYTES = 2048;
/** Longest name shown to a person, after cleaning. */
export const MAX_SHOWN_NAME = 64;
const MAX_ADDRESSES_PER_HOST = 8;
const MAX_HOSTS = MAX_DISCOVERED_GATEWAYS * 2;
/** An instance whose SRV/TXT never arrive is forgotten after this. */
const INCOMPLETE_TTL_MS = 15_000;
const MAX_DROPPED_TRACKED = 4096;
/**
 * After a goodbye an instance stays gone this long whatever else arrives: an answer the advertiser delayed (RFC 6762
 * §6 lets it wait up to 120 ms for shared records) can land after its own goodbye and would otherwise bring a
 * withdrawn gateway back for a whole TTL. §10.1's one second, the other way round.
 */
const GOODBYE_HOLD_MS = 1_000;
const MAX_GOODBYES_TRACKED = 1024;
/** Questions per follow-up packet. */
const MAX_FOLLOW_UP_QUESTIONS = 32;
/** TTLs from the network are clamped to this range: a zero-ish TTL would flap, a huge one would never expire. */
const MIN_TTL_S = 1;
const MAX_TTL_S = 75 * 60;
/** Re-asks (RFC 6762 §5.2: at least 1 s apart, doubling), up to this interval for a long-running browse. */
const FIRST_QUERY_INTERVAL_MS = 1_000;
const MAX_QUERY_INTERVAL_MS = 15 * 60_000;

export interface PlaintextVerdict {
  /** Whether Clawdesk's plaintext rule (transport-policy.ts) lets it connect to `url` as things stand. */
  allowed: boolean;
  reason?: string;
}

export interface DiscoveredGateway {
  /** The lowercase service instance FQDN: the identity used to deduplicate. */
  id: string;
  /** The DNS-SD instance name, cleaned for display (e.g. `box (OpenClaw)`). */
  instanceName: string;
  /** The advertised `displayName`, cleaned; the instance name when it has none. */
  displayName: string;
  /** The SRV target host (e.g. `box.local`), when it is a valid host name. */
  host?: string;
  /** The advertised `lanHost` hint, when it is a valid host name. */
  lanHost?: string;
  /** A/AAAA addresses of the SRV target (at most 8). */
  addresses: string[];
  /** The SRV port: the one the URL uses. */
  port: number;
  /** `gatewayTls=1` was advertised: the URL is wss://. */
  tls: boolean;
  /**
   * The advertised `gatewayTlsSha256`, lowercase hex: a HINT. Anyone on the LAN can advertise anything; it is shown
   * beside the certificate the gateway really presents (`gateways add --advertised-fingerprint`), never pinned as is.
   */
  tlsFingerprintHint?: string;
  sshPort?: number;
  /** The advertised `tailnetDns` hint, when it is a valid host name. */
  tailnetDns?: string;
  /** The URL the advertisement suggests: wss:// when TLS is advertised, else ws://; an address when one resolved. */
  url: string;
  plaintext: PlaintextVerdict;
  /** The address the advertisement came from. */
  advertisedFrom: string;
  lastSeen: number;
}

export interface GatewayBrowserOptions {
  /**
   * IPv4 addresses or interface names to browse on; default every IPv4 interface. mDNS is link-local: it only ever
   * reaches the links these interfaces are on.
   */
  interfaces?: string[];
  /** For the plaintext verdict (OPENCLAW_ALLOW_INSECURE_PRIVATE_WS). */
  env?: NodeJS.ProcessEnv;
  maxGateways?: number;
  /** Tests: the UDP port (mDNS is 5353). */
  port?: number;
}

export interface GatewayBrowserEvents {
  up: [gateway: DiscoveredGateway];
  update: [gateway: DiscoveredGateway];
  down: [gateway: DiscoveredGateway];
  /** Something went wrong below the packets (a socket); never for a bad packet. */
  warning: [message: string];
}

export class DiscoveryError extends Error {}

interface Instance {
  id: string;
  rawName: string;
  expiresAt: number;
  /** When the pointer's own TTL runs out: applies once the instance is complete. */
  pointerExpiresAt: number;
  pointerTtlMs: number;
  srv?: { host: string; port: number; expiresAt: number; ttlMs: number };
  txt?: Map<string, string>;
  from: string;
  announced?: DiscoveredGateway;
  /** When each kind of record was last asked about (PTR, SRV, TXT, A). */
  lastAsked: Map<Question['type'], number>;
}

interface HostAddresses {
  addresses: Map<string, number>;
}

type Record = { name?: unknown; type?: unknown; ttl?: unknown; data?: unknown };
type Mdns = ReturnType<typeof makeMdns>;
type Question = { name: string; type: 'PTR' | 'SRV' | 'TXT' | 'A' };

/**
 * A continuous browse: `up` when a gateway's SRV and TXT are known, `update` when what is shown of it changes,
 * `down` on a goodbye or when its TTL runs out. At most `maxGateways` are kept; `dropped` counts the rest.
 */
export class GatewayBrowser extends EventEmitter<GatewayBrowserEvents> {
  private readonly instances = new Map<string, Instance>();
  private readonly hosts = new Map<string, HostAddresses>();
  private readonly sockets: Mdns[] = [];
  private readonly maxGateways: number;
  private timer: NodeJS.Timeout | undefined;
  private queryInterval = FIRST_QUERY_INTERVAL_MS;
  private nextQueryAt = 0;
  private running = false;
  private readonly droppedIds = new Set<string>();
  /** Instance id → when its goodbye came (see GOODBYE_HOLD_MS). */
  private readonly goodbyes = new Map<string, number>();
  private droppedUntracked = 0;

  constructor(private readonly options: GatewayBrowserOptions = {}) {
    super();
    this.maxGateways = Math.max(1, Math.min(options.maxGateways ?? MAX_DISCOVERED_GATEWAYS, MAX_DISCOVERED_GATEWAYS));
  }

  /** Opens one mDNS socket per interface and asks; rejects only when no interface can listen at all. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const addresses = resolveInterfaces(this.options.interfaces);
    if (!addresses.length)
      throw new DiscoveryError(
        this.options.interfaces?.length
          ? `no IPv4 interface matches ${this.options.interfaces.join(', ')}`
          : 'this machine has no IPv4 network interface to browse on',
      );
    const failures: string[] = [];
    await Promise.all(
      addresses.map(
        (address) =>
          new Promise<void>((resolve) => {
            let settled = false;
            const socket = makeMdns({
              interface: address,
              // 0.0.0.0: multicast is not delivered to a socket bound to a unicast address (Linux, macOS).
              bind: '0.0.0.0',
              port: this.options.port ?? MDNS_PORT,
              reuseAddr: true,
              loopback: true,
            });
            socket.on('response', (packet, rinfo) => this.onResponse(packet, rinfo));
            socket.on('warning', () => undefined); // bad packets and transient interface errors: ignored by design
            socket.on('error', (error: Error) => {
              if (!settled) {
                settled = true;
                failures.push(`${address}: ${error.message}`);
                socket.destroy();
                resolve();
              } else this.emit('warning', `mDNS on ${address}: ${error.message}`);
            });
            socket.on('ready', () => {
              if (settled) return;
              settled = true;
              this.sockets.push(socket);
              resolve();
            });
          }),
      ),
    );
    if (!this.sockets.length) {
      this.running = false;
      throw new DiscoveryError(`cannot listen for mDNS: ${failures.join('; ')}`);
    }
    for (const failure of failures) this.emit('warning', `mDNS not available on ${failure}`);
    this.query();
    this.timer = setInterval(() => this.tick(), 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.sockets.splice(0).map((s) => new Promise<void>((resolve) => s.destroy(() => resolve()))));
  }

  /** How many distinct instances were ignored because the table was full. */
  get dropped(): number {
    return this.droppedIds.size + this.droppedUntracked;
  }

  /** What is known now: complete gateways only, sorted by display name. */
  gateways(): DiscoveredGateway[] {
    return [...this.instances.values()]
      .flatMap((i) => (i.announced ? [i.announced] : []))
      .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.id.localeCompare(b.id));
  }

  private query(): void {
    for (const socket of this.sockets) socket.query([{ name: GATEWAY_SERVICE_TYPE, type: 'PTR' }]);
    this.nextQueryAt = Date.now() + this.queryInterval;
    this.queryInterval = Math.min(this.queryInterval * 2, MAX_QUERY_INTERVAL_MS);
  }

  private tick(): void {
    try {
      const now = Date.now();
      if (now >= this.nextQueryAt) this.query();
      const questions: Question[] = [];
      for (const instance of [...this.instances.values()]) {
        if (instance.srv && instance.srv.expiresAt <= now) instance.srv = undefined;
        if (instance.expiresAt <= now || (instance.announced && !instance.srv)) this.forget(instance);
        else if (questions.length < MAX_FOLLOW_UP_QUESTIONS) questions.push(...this.followUp(instance, now));
      }
      const unique = [...new Map(questions.map((q) => [`${q.type} ${q.name.toLowerCase()}`, q])).values()];
      if (unique.length) for (const socket of this.sockets) socket.query(unique.slice(0, MAX_FOLLOW_UP_QUESTIONS));
    } catch {
      // a timer must never take the process down
    }
  }

  /**
   * What to ask about an instance: what it still lacks (SRV, TXT, the target's address), and, once a record has
   * lived 80 % of its TTL, that record again (RFC 6762 §5.2), so a gateway that is still there does not expire just
   * because responders do not repeat themselves. Each kind at most once a second per instance.
   */
  private followUp(instance: Instance, now: number): Question[] {
    const questions: Question[] = [];
    const nearExpiry = (expiresAt: number, ttlMs: number) => expiresAt - now < ttlMs * 0.2;
    if (instance.announced && nearExpiry(instance.pointerExpiresAt, instance.pointerTtlMs))
      questions.push({ name: GATEWAY_SERVICE_TYPE, type: 'PTR' });
    if (!instance.srv || nearExpiry(instance.srv.expiresAt, instance.srv.ttlMs))
      questions.push({ name: instance.rawName, type: 'SRV' });
    if (!instance.txt) questions.push({ name: instance.rawName, type: 'TXT' });
    if (instance.srv && !this.hosts.get(instance.srv.host.toLowerCase())?.addresses.size)
      questions.push({ name: instance.srv.host, type: 'A' });
    return questions.filter((q) => {
      if ((instance.lastAsked.get(q.type) ?? 0) > now - 1_000) return false;
      instance.lastAsked.set(q.type, now);
      return true;
    });
  }

  private forget(instance: Instance): void {
    this.instances.delete(instance.id);
    if (instance.announced) this.emit('down', instance.announced);
  }

  private onResponse(packet: unknown, rinfo: { address: string; port: number }): void {
    try {
      // RFC 6762 §6: a multicast DNS response not from port 5353 is not one.
      if (rinfo.port !== (this.options.port ?? MDNS_PORT)) return;
      const p = packet as { answers?: unknown; authorities?: unknown; additionals?: unknown };
      const records = [p.answers, p.authorities, p.additionals]
        .flatMap((list) => (Array.isArray(list) ? (list as Record[]) : []))
        .slice(0, MAX_RECORDS_PER_PACKET);
      const now = Date.now();
      const touched = new Set<Instance>();
      // Addresses first, so an SRV in the same packet resolves at once.
      for (const r of records) if (r.type === 'A' || r.type === 'AAAA') this.onAddress(r, now);
      for (const r of records) if (r.type === 'PTR') this.onPointer(r, rinfo.address, now, touched);
      for (const r of records)
        if (r.type === 'SRV' || r.type === 'TXT') {
          const instance = this.instanceFor(r.name);
          if (!instance) continue;
          if (r.type === 'SRV') this.onService(instance, r, now);
          else this.onText(instance, r);
          instance.from = rinfo.address;
          touched.add(instance);
        }
      for (const r of records)
        if ((r.type === 'A' || r.type === 'AAAA') && typeof r.name === 'string')
          for (const instance of this.instances.values())
            if (instance.srv?.host.toLowerCase() === r.name.toLowerCase()) touched.add(instance);
      for (const instance of touched) this.refresh(instance);
    } catch {
      // hostile or broken input never escapes: the packet is ignored
    }
  }

  private onPointer(r: Record, from: string, now: number, touched: Set<Instance>): void {
    if (typeof r.name !== 'string' || r.name.toLowerCase() !== GATEWAY_SERVICE_TYPE) return;
    if (typeof r.data !== 'string' || !isInstanceName(r.data)) return;
    const id = r.data.toLowerCase();
    const existing = this.instances.get(id);
    if (ttlOf(r) === 0) {
      // A goodbye (RFC 6762 §10.1).
      if (existing) this.forget(existing);
      if (this.goodbyes.size >= MAX_GOODBYES_TRACKED) this.goodbyes.delete(this.goodbyes.keys().next().value!);
      this.goodbyes.set(id, now);
      return;
    }
    const goodbyeAt = this.goodbyes.get(id);
    if (goodbyeAt !== undefined) {
      if (now - goodbyeAt < GOODBYE_HOLD_MS) return;
      this.goodbyes.delete(id);
    }
    const pointerTtlMs = clampTtl(ttlOf(r)) * 1000;
    const pointerExpiresAt = now + pointerTtlMs;
    if (existing) {
      existing.pointerTtlMs = pointerTtlMs;
      existing.pointerExpiresAt = Math.max(existing.pointerExpiresAt, pointerExpiresAt);
      if (existing.announced) existing.expiresAt = existing.pointerExpiresAt;
      existing.from = from;
      touched.add(existing);
      return;
    }
    if (this.instances.size >= this.maxGateways) {
      if (this.droppedIds.size < MAX_DROPPED_TRACKED) this.droppedIds.add(id);
      else if (!this.droppedIds.has(id)) this.droppedUntracked++;
      return;
    }
    // Until SRV and TXT arrive an instance is kept only briefly, however often its pointer is repeated, so bare
    // pointers cannot hold the table.
    this.instances.set(id, {
      id,
      rawName: r.data,
      expiresAt: Math.min(pointerExpiresAt, now + INCOMPLETE_TTL_MS),
      pointerExpiresAt,
      pointerTtlMs,
      from,
      lastAsked: new Map(),
    });
    const instance = this.instances.get(id)!;
    touched.add(instance);
  }

  private instanceFor(name: unknown): Instance | undefined {
    return typeof name === 'string' ? this.instances.get(name.toLowerCase()) : undefined;
  }

  private onService(instance: Instance, r: Record, now: number): void {
    const data = r.data as { port?: unknown; target?: unknown } | undefined;
    const port = data?.port;
    const host = typeof data?.target === 'string' ? data.target.replace(/\.$/, '') : '';
    if (ttlOf(r) === 0) {
      instance.srv = undefined;
      return;
    }
    if (!isPort(port) || !isHostName(host)) return; // malformed: as if it never came
    const ttlMs = clampTtl(ttlOf(r)) * 1000;
    instance.srv = { host, port, expiresAt: now + ttlMs, ttlMs };
  }

  private onText(instance: Instance, r: Record): void {
    if (ttlOf(r) === 0) return;
    instance.txt = parseTxt(r.data);
  }

  private onAddress(r: Record, now: number): void {
    if (typeof r.name !== 'string' || typeof r.data !== 'string') return;
    const family = r.type === 'A' ? 4 : 6;
    if (net.isIP(r.data) !== family) return;
    const key = r.name.replace(/\.$/, '').toLowerCase();
    let entry = this.hosts.get(key);
    if (!entry) {
      // Only hosts some kept instance points at are worth memory; others are remembered briefly and bounded.
      if (this.hosts.size >= MAX_HOSTS) this.pruneHosts(now);
      if (this.hosts.size >= MAX_HOSTS) return;
      entry = { addresses: new Map() };
      this.hosts.set(key, entry);
    }
    if (ttlOf(r) === 0) {
      entry.addresses.delete(r.data);
      return;
    }
    if (!entry.addresses.has(r.data) && entry.addresses.size >= MAX_ADDRESSES_PER_HOST) return;
    entry.addresses.set(r.data, now + clampTtl(ttlOf(r)) * 1000);
  }

  private pruneHosts(now: number): void {
    const wanted = new Set([...this.instances.values()].flatMap((i) => (i.srv ? [i.srv.host.toLowerCase()] : [])));
    for (const [key, entry] of this.hosts) {
      for (const [address, expiresAt] of entry.addresses) if (expiresAt <= now) entry.addresses.delete(address);
      if (!wanted.has(key) || !entry.addresses.size) this.hosts.delete(key);
    }
  }

  /** Announces, updates or withdraws what people see of an instance. */
  private refresh(instance: Instance): void {
    if (!instance.srv || !instance.txt) return;
    const txt = instance.txt;
    // OpenClaw's beacon always says role=gateway; another role is not a gateway to connect to.
    if (txt.has('role') && txt.get('role') !== 'gateway') {
      if (instance.announced) this.forget(instance);
      return;
    }
    // Complete: it lives as long as its pointer said.
    instance.expiresAt = instance.pointerExpiresAt;
    const now = Date.now();
    const addresses = [...(this.hosts.get(instance.srv.host.toLowerCase())?.addresses ?? new Map<string, number>())]
      .filter(([, expiresAt]) => expiresAt > now)
      .map(([address]) => address);
    const tls = ['1', 'true', 'yes'].includes((txt.get('gatewayTls') ?? '').toLowerCase());
    const urlHost = preferredHost(addresses, instance.from, instance.srv.host);
    const url = `${tls ? 'wss' : 'ws'}://${urlHost.includes(':') ? `[${urlHost}]` : urlHost}:${instance.srv.port}`;
    const instanceName = cleanName(instance.rawName.slice(0, -SERVICE_SUFFIX.length)) || 'unnamed gateway';
    const lanHost = txt.get('lanHost')?.replace(/\.$/, '');
    const tailnetDns = txt.get('tailnetDns')?.replace(/\.$/, '');
    const sshPort = Number(txt.get('sshPort'));
    const fingerprint = tls ? normalizeTlsFingerprint(txt.get('gatewayTlsSha256')) : undefined;
    const gateway: DiscoveredGateway = {
      id: instance.id,
      instanceName,
      displayName: cleanName(txt.get('displayName') ?? '') || instanceName,
      host: instance.srv.host,
      ...(lanHost && isHostName(lanHost) ? { lanHost } : {}),
      addresses,
      port: instance.srv.port,
      tls,
      ...(fingerprint ? { tlsFingerprintHint: fingerprint } : {}),
      ...(/^\d{1,5}$/.test(txt.get('sshPort') ?? '') && isPort(sshPort) ? { sshPort } : {}),
      ...(tailnetDns && isHostName(tailnetDns) ? { tailnetDns } : {}),
      url,
      plaintext: plaintextVerdict(url, this.options.env),
      advertisedFrom: instance.from,
      lastSeen: now,
    };
    const before = instance.announced;
    instance.announced = gateway;
    if (!before) this.emit('up', gateway);
    else if (shownChanged(before, gateway)) this.emit('update', gateway);
  }
}

/** One browse for `timeoutMs` (or until `signal` aborts): the gateways that answered, and how many were ignored. */
export async function discoverGateways(options: {
  timeoutMs: number;
  signal?: AbortSignal;
  interfaces?: string[];
  env?: NodeJS.ProcessEnv;
  port?: number;
}): Promise<{ gateways: DiscoveredGateway[]; dropped: number }> {
  const browser = new GatewayBrowser(options);
  if (options.signal?.aborted) return { gateways: [], dropped: 0 };
  await browser.start();
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, options.timeoutMs));
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
    return { gateways: browser.gateways(), dropped: browser.dropped };
  } finally {
    await browser.stop();
  }
}

function resolveInterfaces(requested: string[] | undefined): string[] {
  const all = os.networkInterfaces();
  const v4 = (name: string) =>
    (all[name] ?? []).filter((i) => i.family === 'IPv4' || (i.family as unknown) === 4).map((i) => i.address);
  if (!requested?.length) {
    // One address per interface: a second membership on the same interface fails.
    return Object.keys(all).flatMap((name) => v4(name).slice(0, 1));
  }
  const out = new Set<string>();
  for (const item of requested) {
    if (net.isIPv4(item)) out.add(item);
    else for (const address of v4(item).slice(0, 1)) out.add(address);
  }
  return [...out];
}

function ttlOf(r: Record): number {
  return typeof r.ttl === 'number' && Number.isFinite(r.ttl) ? r.ttl : 0;
}

function clampTtl(ttl: number): number {
  return Math.min(Math.max(ttl, MIN_TTL_S), MAX_TTL_S);
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** An RFC 1123 host name (or an IP literal): what a URL and a shell command can carry as they are. */
export function isHostName(value: string): boolean {
  if (net.isIP(value)) return true;
  if (value.length > 253) return false;
  const labels = value.split('.');
  return (
    labels.every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)) &&
    !/^\d+$/.test(labels.at(-1)!) // all digits at the end reads as a (malformed) IP address
  );
}

function isInstanceName(fqdn: string): boolean {
  return (
    fqdn.length <= 255 &&
    fqdn.toLowerCase().endsWith(SERVICE_SUFFIX) &&
    fqdn.length > SERVICE_SUFFIX.length &&
    Buffer.byteLength(fqdn.slice(0, -SERVICE_SUFFIX.length)) <= 63
  );
}

/**
 * Controls (C0, C1), format characters (BiDi overrides and isolates, zero-width, the BOM, soft hyphen), private-use,
 * unassigned and lone surrogates, line/paragraph separators, and the invisible fillers and variation selectors that
 * could make one name look like another.
 */
const UNSAFE_CHARACTERS =
  /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0]|\p{Variation_Selector}/gu;

/**
 * A name from the network as a person may see it: DNS-SD's `\DDD` escapes decoded, every control, BiDi and
 * invisible character removed, whitespace collapsed, at most MAX_SHOWN_NAME characters.
 */
export function cleanName(raw: string): string {
  let text = decodeDnsSdEscapes(raw.slice(0, 1024));
  text = text.replace(UNSAFE_CHARACTERS, '').replace(/\s+/g, ' ').trim();
  const chars = [...text];
  return chars.length > MAX_SHOWN_NAME ? `${chars.slice(0, MAX_SHOWN_NAME - 1).join('')}…` : text;
}

function decodeDnsSdEscapes(value: string): string {
  if (!/\\\d{3}/.test(value)) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const escaped = value[i] === '\\' ? /^\d{3}/.exec(value.slice(i + 1, i + 4)) : null;
    if (escaped && Number(escaped[0]) <= 255) {
      bytes.push(Number(escaped[0]));
      i += 3;
    } else bytes.push(...Buffer.from(value[i]));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** TXT strings as `key=value` (RFC 6763 §6.3-6.4): keys case-insensitive, first one wins, bounded in count and size. */
function parseTxt(data: unknown): Map<string, string> {
  const txt = new Map<string, string>();
  const entries = Array.isArray(data) ? data : [data];
  let budget = MAX_TXT_BYTES;
  for (const entry of entries.slice(0, MAX_TXT_ENTRIES)) {
    const bytes = Buffer.isBuffer(entry)
      ? entry
      : typeof entry === 'string'
        ? Buffer.from(entry)
        : entry instanceof Uint8Array
          ? Buffer.from(entry)
          : undefined;
    if (!bytes) continue;
    budget -= bytes.length;
    if (budget < 0) break;
    const text = bytes.toString('utf8');
    const eq = text.indexOf('=');
    const key = KNOWN_KEYS.get(text.slice(0, Math.max(eq, 0)).toLowerCase());
    if (!key || txt.has(key)) continue; // unknown keys mean nothing here
    txt.set(key, text.slice(eq + 1));
  }
  return txt;
}

/** The keys OpenClaw's beacon carries that are read here, by their lowercase form. */
const KNOWN_KEYS = new Map(
  ['role', 'displayName', 'lanHost', 'gatewayTls', 'gatewayTlsSha256', 'sshPort', 'tailnetDns'].map((k) => [
    k.toLowerCase(),
    k,
  ]),
);

/**
 * The advertised address the packet came from, else the first IPv4, else a routable IPv6 (a link-local one needs a
 * zone a URL cannot carry portably), else the SRV host name.
 */
function preferredHost(addresses: string[], from: string, srvHost: string): string {
  if (addresses.includes(from)) return from;
  return addresses.find((a) => net.isIPv4(a)) ?? addresses.find((a) => !a.toLowerCase().startsWith('fe80:')) ?? srvHost;
}

function plaintextVerdict(url: string, env: NodeJS.ProcessEnv | undefined): PlaintextVerdict {
  try {
    assertGatewayUrlAllowed(url, { env: env ?? process.env });
    return { allowed: true };
  } catch (error) {
    return { allowed: false, reason: (error as Error).message };
  }
}

function shownChanged(a: DiscoveredGateway, b: DiscoveredGateway): boolean {
  const { lastSeen: _a, ...left } = a;
  const { lastSeen: _b, ...right } = b;
  return JSON.stringify(left) !== JSON.stringify(right);
}
