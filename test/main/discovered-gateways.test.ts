import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import makeMdns from 'multicast-dns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveredGatewaysView, Topic } from '../../common/ipc-contract';
import {
  GatewayBrowser,
  type DiscoveredGateway,
  type GatewayBrowserEvents,
} from '../../gateway/remote/gateway-discovery';
import { SAVED_GATEWAYS_FILE } from '../../gateway/remote/saved-gateways';
import { formatTlsFingerprint } from '../../gateway/remote/transport-policy';
import { openSecretStore } from '../../gateway/secrets/secret-store';
import { DONT_TRUST, TRUST_CERTIFICATE } from '../../main/certificate-trust-dialog';
import { DashboardService } from '../../main/dashboard-service';
import { setupDiscoveredGateways, type DiscoveredGateways } from '../../main/discovered-gateways';
import { registerIpcHandlers, type IpcRejectedError } from '../../main/ipc/ipc-router';
import { setupRemoteGateways } from '../../main/remote-gateways';
import { FakeDialog, FakeIpcMain, senderEvent, waitFor } from './fakes';

/**
 * The dashboard's "Found on this network" from main's side: a real GatewayBrowser on this machine's loopback only, a
 * real multicast-dns advertiser on a port of this suite's own (test/remote/gateway-discovery.test.ts has
 * @homebridge/ciao against the browser on 5353; sharing that port, the two suites would see each other's beacons),
 * and the list read through the real IPC router as the dashboard reads it. Then what main does with an advertised fingerprint when
 * the person adds a discovered gateway: it is compared with the presented certificate, never pinned as it is.
 */

const tag = `cdm${process.pid}`;
const FINGERPRINT = 'c3'.repeat(32);
const colons = (hex: string) => formatTlsFingerprint(hex);

/** A free UDP port: this suite's mDNS runs there, apart from every other suite's (and the machine's) port 5353. */
async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/**
 * A real multicast DNS advertiser on loopback: it answers questions for the service type with an OpenClaw-shaped
 * beacon (PTR, SRV, TXT, A), as OpenClaw's bonjour plugin does, and says goodbye (TTL 0, RFC 6762 §10.1).
 */
async function advertiser(port: number) {
  const mdns = makeMdns({ interface: '127.0.0.1', bind: '0.0.0.0', port, loopback: true, reuseAddr: true });
  await new Promise<void>((resolve) => mdns.once('ready', () => resolve()));
  const beacons = new Map<string, { fqdn: string; host: string; port: number; txt: string[] }>();
  const records = (b: { fqdn: string; host: string; port: number; txt: string[] }, ttl: number) => [
    { name: '_openclaw-gw._tcp.local', type: 'PTR' as const, ttl, data: b.fqdn },
    { name: b.fqdn, type: 'SRV' as const, ttl, data: { port: b.port, target: b.host, priority: 0, weight: 0 } },
    { name: b.fqdn, type: 'TXT' as const, ttl, data: b.txt },
    { name: b.host, type: 'A' as const, ttl, data: '127.0.0.1' },
  ];
  mdns.on('query', (query) => {
    if (!query.questions.some((q) => q.name.toLowerCase().endsWith('_openclaw-gw._tcp.local'))) return;
    for (const b of beacons.values()) mdns.respond({ answers: records(b, 120) });
  });
  return {
    publish(instance: string, host: string, srvPort: number, txt: Record<string, string>) {
      const beacon = {
        fqdn: `${instance}._openclaw-gw._tcp.local`,
        host,
        port: srvPort,
        txt: Object.entries(txt).map(([k, v]) => `${k}=${v}`),
      };
      beacons.set(instance, beacon);
      mdns.respond({ answers: records(beacon, 120) });
    },
    goodbye(instance: string) {
      const beacon = beacons.get(instance)!;
      beacons.delete(instance);
      mdns.respond({ answers: records(beacon, 0).slice(0, 1) });
    },
    close: () => new Promise<void>((resolve) => mdns.destroy(() => resolve())),
  };
}

/** The dashboard's IPC over the real router, with main's discovery behind it. */
function dashboardIpc(discovered: DiscoveredGateways) {
  const ipc = new FakeIpcMain();
  const rejected: IpcRejectedError[] = [];
  const service = new DashboardService({
    discoveredGateways: discovered,
  } as unknown as ConstructorParameters<typeof DashboardService>[0]);
  registerIpcHandlers({
    ipcMain: ipc.api,
    handlers: service,
    isOwnWebContents: (id) => id === 1,
    onRejected: (_m, e) => rejected.push(e),
  });
  const list = async () =>
    (await ipc.invoke('clawdesk:listDiscoveredGateways', senderEvent())) as DiscoveredGatewaysView;
  return { ipc, rejected, list };
}

describe('the discovered gateways, from a real advertiser to the IPC layer', () => {
  let discovered: DiscoveredGateways;
  let lan: Awaited<ReturnType<typeof advertiser>>;
  const broadcasts: Topic[][] = [];
  let browsersMade = 0;
  beforeAll(async () => {
    const port = await freeUdpPort();
    lan = await advertiser(port);
    discovered = setupDiscoveredGateways({
      env: {},
      createBrowser: () => (browsersMade++, new GatewayBrowser({ interfaces: ['127.0.0.1'], env: {}, port })),
      onChange: () => void broadcasts.push(['discovered-gateways']),
      notifyDelayMs: 10,
      log: () => undefined,
    });
  });
  afterAll(async () => {
    await discovered?.stop();
    await lan?.close();
  });

  it('listens only once asked; lists what announces itself, with TLS and the fingerprint; goes on its goodbye', async () => {
    const { ipc, rejected, list } = dashboardIpc(discovered);
    // Nothing listens before the dashboard asks.
    expect(discovered.browsing).toBe(false);
    expect(browsersMade).toBe(0);

    const name = `${tag}-tls (OpenClaw)`;
    lan.publish(name, `${tag}.local`, 18443, {
      role: 'gateway',
      gatewayPort: '18443',
      lanHost: `${tag}.local`,
      displayName: `${tag} box`,
      gatewayTls: '1',
      gatewayTlsSha256: colons(FINGERPRINT),
      transport: 'gateway',
      sshPort: '2222',
    });
    const first = await list();
    expect(first.browsing).toBe(true);
    expect(browsersMade).toBe(1);

    const found = () => list().then((v) => v.gateways.find((g) => g.instanceName === name));
    await waitFor(async () => (await found()) !== undefined, 'the announced gateway listed over IPC', 30_000);
    expect(await found()).toEqual({
      name: `${tag} box`,
      instanceName: name,
      host: '127.0.0.1',
      port: 18443,
      tls: true,
      url: 'wss://127.0.0.1:18443',
      fingerprintHint: FINGERPRINT,
      plaintextRefused: false,
      sshPort: 2222,
      suggestedName: tag,
    });
    // The dashboard was told (the `discovered-gateways` topic); asking again starts no second browse.
    await waitFor(() => broadcasts.length > 0, 'a broadcast');
    expect(browsersMade).toBe(1);

    // Withdrawn: its goodbye takes it off the list the dashboard reads.
    const before = broadcasts.length;
    lan.goodbye(name);
    await waitFor(async () => (await found()) === undefined, 'gone after its goodbye', 30_000);
    await waitFor(() => broadcasts.length > before, 'a broadcast for the goodbye');

    // Only Clawdesk's own windows may ask, with no arguments.
    for (const event of [senderEvent({ webContentsId: 7 }), senderEvent({ url: 'https://evil.example/' })])
      await expect(ipc.invoke('clawdesk:listDiscoveredGateways', event)).rejects.toThrow(
        /sender is not a Clawdesk window/,
      );
    await expect(ipc.invoke('clawdesk:listDiscoveredGateways', senderEvent(), 'lo')).rejects.toThrow(
      /invalid arguments/,
    );
    expect(rejected.map((e) => e.reason)).toEqual(['untrusted-sender', 'untrusted-sender', 'invalid-arguments']);
  }, 90_000);

  it('stops listening when the dashboard window closes, and starts again when it asks again', async () => {
    const { list } = dashboardIpc(discovered);
    await list();
    expect(discovered.browsing).toBe(true);
    const before = broadcasts.length;
    await discovered.stop();
    expect(discovered.browsing).toBe(false);
    expect(broadcasts.length).toBe(before + 1);
    const made = browsersMade;
    expect((await list()).browsing).toBe(true);
    expect(browsersMade).toBe(made + 1);
    await discovered.stop();
  });
});

/** A browser whose gateways the test chooses: what no well-behaved cleaner upstream would ever hand over. */
class ScriptedBrowser extends EventEmitter<GatewayBrowserEvents> {
  list: DiscoveredGateway[] = [];
  started = 0;
  stopped = 0;
  failWith?: string;
  dropped = 0;
  async start() {
    this.started++;
    if (this.failWith) throw new Error(this.failWith);
  }
  async stop() {
    this.stopped++;
  }
  gateways() {
    return this.list;
  }
}

function gateway(overrides: Partial<DiscoveredGateway>): DiscoveredGateway {
  return {
    id: 'x._openclaw-gw._tcp.local',
    instanceName: 'x',
    displayName: 'x',
    host: 'x.local',
    addresses: ['192.168.1.9'],
    port: 18789,
    tls: true,
    url: 'wss://192.168.1.9:18789',
    plaintext: { allowed: true },
    advertisedFrom: '192.168.1.9',
    lastSeen: Date.now(),
    ...overrides,
  };
}

describe('what main hands the dashboard of a discovered gateway', () => {
  it('names cleaned and cut, bad hosts dropped, a hint only with TLS, names the add form accepts', async () => {
    const browser = new ScriptedBrowser();
    const discovered = setupDiscoveredGateways({
      env: {},
      createBrowser: () => browser,
      onChange: () => undefined,
      log: () => undefined,
    });
    browser.list = [
      gateway({ displayName: `\u202eevil\u202c<script>alert(1)</script>${'A'.repeat(10_000)}`, lanHost: 'box.local' }),
      gateway({ displayName: 'plain', tls: false, url: 'ws://192.168.1.10:18789', tlsFingerprintHint: FINGERPRINT }),
      gateway({ displayName: 'shell', url: 'wss://$(reboot):18789' }),
      gateway({ displayName: 'box two', lanHost: 'box.local', tlsFingerprintHint: 'not hex' }),
    ];
    browser.dropped = 3;
    const { list } = dashboardIpc(discovered);
    const view = await list();
    expect(view.dropped).toBe(3);
    expect(view.gateways.map((g) => g.name.length <= 64)).toEqual([true, true, true]);
    const [hostile, plain, two] = view.gateways;
    expect(hostile.name).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(hostile.name.startsWith('evil<script>alert(1)</script>AAA')).toBe(true);
    expect(hostile.suggestedName).toBe('box');
    expect(two.suggestedName).toBe('box-2');
    expect(two.fingerprintHint).toBeUndefined();
    // No TLS: no hint kept, and the plaintext rule's verdict is passed on.
    expect(plain).toMatchObject({ tls: false, url: 'ws://192.168.1.10:18789', plaintextRefused: false });
    expect(plain.fingerprintHint).toBeUndefined();
    await discovered.stop();
    expect(browser.stopped).toBe(1);
  });

  it('no mDNS here: says so, and tries again on the next ask', async () => {
    const browser = new ScriptedBrowser();
    browser.failWith = 'cannot listen for mDNS: 127.0.0.1: EADDRINUSE';
    const logged: string[] = [];
    const discovered = setupDiscoveredGateways({
      env: {},
      createBrowser: () => browser,
      onChange: () => undefined,
      log: (_level, message) => void logged.push(message),
    });
    const { list } = dashboardIpc(discovered);
    expect(await list()).toEqual({ browsing: false, gateways: [], dropped: 0, problem: browser.failWith });
    expect(discovered.browsing).toBe(false);
    browser.failWith = undefined;
    expect((await list()).browsing).toBe(true);
    expect(browser.started).toBe(2);
    expect(logged.filter((m) => m.includes('EADDRINUSE'))).toHaveLength(1);
    await discovered.stop();
  });
});

describe('adding a discovered gateway: the advertised fingerprint is a hint, never a pin', () => {
  let root: string;
  let dataDir: string;
  const dialog = new FakeDialog();
  const presented = {
    fingerprint: FINGERPRINT,
    subject: 'CN=box',
    issuer: 'CN=box',
    validFrom: 'Jan  1 00:00:00 2026 GMT',
    validTo: 'Jan  1 00:00:00 2036 GMT',
    caTrusted: false,
  };
  let remote: ReturnType<typeof setupRemoteGateways>;
  const certificatesRead: string[] = [];
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-app-discovered-'));
    dataDir = path.join(root, 'clawdesk');
    mkdirSync(dataDir, { recursive: true });
    remote = setupRemoteGateways({
      dataDir,
      stateDir: root,
      configPath: path.join(root, 'openclaw.json'),
      env: {},
      openSecrets: () => openSecretStore({ dir: dataDir, keytar: null, allowPlaintextFallback: true }),
      identity: () => Promise.reject(new Error('not needed: nothing gets saved here')),
      approver: { canPresent: () => false, ask: async () => null },
      recordHistory: () => undefined,
      dialog: dialog.api,
      onChange: () => undefined,
      log: () => undefined,
      readCertificate: async (url) => (certificatesRead.push(url), presented),
      networkChanges: false,
    });
  });
  afterAll(async () => {
    await remote?.stop();
    rmSync(root, { recursive: true, force: true });
  });
  afterEach(() => {
    expect(existsSync(path.join(dataDir, SAVED_GATEWAYS_FILE))).toBe(false);
  });
  const url = 'wss://192.168.1.9:18789';

  it('a presented certificate that is not the advertised one is refused before anyone is asked', async () => {
    const lying = 'ab'.repeat(32);
    const result = await remote.add({ name: 'box', url, auth: 'none', runner: false, advertisedFingerprint: lying });
    expect(result).toMatchObject({ saved: false, reason: 'not-trusted' });
    expect(result.saved === false && result.message).toContain('does not match the advertised fingerprint');
    expect(result.saved === false && result.message).toContain(colons(FINGERPRINT));
    expect(result.saved === false && result.message).toContain(colons(lying));
    expect(certificatesRead).toEqual([url]);
    expect(dialog.shown).toHaveLength(0);
  });

  it('one that matches is still only trusted in the native dialog, which says where the hint came from', async () => {
    const adding = remote.add({
      name: 'box',
      url,
      auth: 'none',
      runner: false,
      advertisedFingerprint: colons(FINGERPRINT),
    });
    const box = await dialog.box(0);
    expect(box.options.buttons).toEqual([DONT_TRUST, TRUST_CERTIFICATE]);
    expect(box.options.detail).toContain(colons(FINGERPRINT));
    expect(box.options.detail).toContain('The same fingerprint the gateway announced on this network');
    box.answer(box.options.defaultId!);
    expect(await adding).toMatchObject({ saved: false, reason: 'not-trusted' });
  });

  it('a hint goes only with a wss:// address to be read; never beside a pin or the system’s trust', async () => {
    const ipc = new FakeIpcMain();
    registerIpcHandlers({
      ipcMain: ipc.api,
      handlers: new DashboardService({ remoteGateways: remote } as unknown as ConstructorParameters<
        typeof DashboardService
      >[0]),
      isOwnWebContents: (id) => id === 1,
    });
    const add = (input: object) => ipc.invoke('clawdesk:addRemoteGateway', senderEvent(), input);
    const shownBefore = dialog.shown.length;
    for (const input of [
      { name: 'b1', url, auth: 'none', runner: false, advertisedFingerprint: 'zz', tlsFingerprint: FINGERPRINT },
      { name: 'b2', url, auth: 'none', runner: false, advertisedFingerprint: FINGERPRINT, tlsFingerprint: FINGERPRINT },
      { name: 'b3', url, auth: 'none', runner: false, advertisedFingerprint: FINGERPRINT, systemTrust: true },
      { name: 'b4', sshTarget: 'me@box', auth: 'none', runner: false, advertisedFingerprint: FINGERPRINT },
      { name: 'b5', url, auth: 'none', runner: false, advertisedFingerprint: 'not a fingerprint' },
    ])
      expect(await add(input), input.name).toMatchObject({ saved: false, reason: 'invalid' });
    await expect(
      add({ name: 'b6', url, auth: 'none', runner: false, advertisedFingerprint: 'x'.repeat(201) }),
    ).rejects.toThrow(/invalid arguments/);
    expect(dialog.shown.length).toBe(shownBefore);
  });
});
