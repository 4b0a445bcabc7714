import net from 'node:net';
import type os from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import {
  describeNetworkChange,
  diffSnapshots,
  NetworkChangeWatcher,
  networkSnapshot,
  type NetworkChange,
  type NetworkChangeSource,
} from '../../gateway/remote/network-change';
import { RemoteGatewayService } from '../../gateway/remote/remote-gateway-service';
import { validateNewGateway } from '../../gateway/remote/saved-gateways';
import { waitFor } from '../helpers/cli-io';
import { startTestGateway } from '../helpers/gateway-fixture';

type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

const v4 = (address: string, extra: Partial<os.NetworkInterfaceInfo> = {}): os.NetworkInterfaceInfo =>
  ({
    address,
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '02:00:00:00:00:01',
    internal: false,
    cidr: `${address}/24`,
    ...extra,
  }) as os.NetworkInterfaceInfo;

const loopback = { lo: [v4('127.0.0.1', { internal: true, cidr: '127.0.0.1/8', netmask: '255.0.0.0' })] };

describe('networkSnapshot and diffSnapshots', () => {
  it('lists each non-loopback address once, sorted, without MACs', () => {
    const snapshot = networkSnapshot({
      ...loopback,
      wlan0: [v4('192.168.1.20'), v4('192.168.1.20', { mac: '02:00:00:00:00:02' })],
      eth0: [v4('10.0.0.5', { cidr: null })],
    });
    expect(snapshot).toEqual(['eth0 10.0.0.5/255.255.255.0', 'wlan0 192.168.1.20/24']);
  });

  it('says what came and went, and nothing when only the order or a MAC differs', () => {
    expect(diffSnapshots(['a 1/24', 'b 2/24'], ['b 2/24', 'c 3/24'])).toEqual({
      added: ['c 3/24'],
      removed: ['a 1/24'],
    });
    expect(
      diffSnapshots(
        networkSnapshot({ eth0: [v4('10.0.0.5')], wlan0: [v4('10.0.1.5')] }),
        networkSnapshot({ wlan0: [v4('10.0.1.5', { mac: '02:aa:00:00:00:01' })], eth0: [v4('10.0.0.5')] }),
      ),
    ).toBeUndefined();
  });

  it('describes a change in a few words, however many addresses changed', () => {
    const added = Array.from({ length: 10 }, (_, i) => `eth${i} 10.0.${i}.1/24`);
    const text = describeNetworkChange({ added, removed: ['wlan0 192.168.1.20/24'] });
    expect(text).toBe(
      'network changed (+eth0 10.0.0.1/24, +eth1 10.0.1.1/24, +eth2 10.0.2.1/24, -wlan0 192.168.1.20/24, 7 more)',
    );
  });
});

describe('NetworkChangeWatcher', () => {
  it('polls only while someone listens and reports an address coming and going', async () => {
    let current: Interfaces = { ...loopback, eth0: [v4('10.0.0.5')] };
    let reads = 0;
    const watcher = new NetworkChangeWatcher({
      intervalMs: 20,
      readInterfaces: () => {
        reads++;
        return current;
      },
    });
    await new Promise((r) => setTimeout(r, 60));
    expect(reads).toBe(0);
    const changes: NetworkChange[] = [];
    const unsubscribe = watcher.subscribe((change) => changes.push(change));
    // Unchanged interfaces are no change.
    await waitFor(() => reads >= 4, 5000, 'a few polls');
    expect(changes).toEqual([]);
    current = { ...loopback };
    await waitFor(() => changes.length === 1, 5000, 'the address going away');
    expect(changes[0]).toEqual({ added: [], removed: ['eth0 10.0.0.5/24'] });
    current = { ...loopback, eth0: [v4('10.0.0.5')], wlan0: [v4('192.168.1.20')] };
    await waitFor(() => changes.length === 2, 5000, 'addresses coming back');
    expect(changes[1]).toEqual({ added: ['eth0 10.0.0.5/24', 'wlan0 192.168.1.20/24'], removed: [] });
    unsubscribe();
    const after = reads;
    await new Promise((r) => setTimeout(r, 100));
    expect(reads).toBe(after);
  });

  it('a failing read is no change, and one listener throwing does not keep the others from hearing', () => {
    let fail = false;
    let current: Interfaces = { eth0: [v4('10.0.0.5')] };
    const watcher = new NetworkChangeWatcher({
      intervalMs: 60_000,
      readInterfaces: () => {
        if (fail) throw new Error('EMFILE');
        return current;
      },
    });
    const heard: NetworkChange[] = [];
    const off1 = watcher.subscribe(() => {
      throw new Error('listener trouble');
    });
    const off2 = watcher.subscribe((change) => heard.push(change));
    fail = true;
    expect(watcher.check()).toBeUndefined();
    fail = false;
    current = { eth0: [v4('10.0.0.6')] };
    expect(watcher.check()).toEqual({ added: ['eth0 10.0.0.6/24'], removed: ['eth0 10.0.0.5/24'] });
    expect(heard).toHaveLength(1);
    off1();
    off2();
  });
});

/** A port that takes TCP connections and drops them at once: every connect attempt fails fast and is counted. */
async function startDroppingServer() {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

class FakeNetwork implements NetworkChangeSource {
  readonly listeners = new Set<(change: NetworkChange) => void>();
  subscribe(listener: (change: NetworkChange) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  change(change: NetworkChange) {
    for (const l of this.listeners) l(change);
  }
}

describe('RemoteGatewayService reconnects at once on a network change', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setUp(networkChanges?: NetworkChangeSource | false) {
    const root = mkdtempSync(path.join(tmpdir(), 'clawdesk-netchange-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const server = await startDroppingServer();
    cleanups.push(server.close);
    const logs: string[] = [];
    const service = new RemoteGatewayService({
      identity: createEphemeralDeviceSigner(),
      stateDir: root,
      env: {},
      approver: { canPresent: () => false, present: async () => null },
      // A wait far longer than the test: only reconnectNow() can bring the next attempt.
      reconnect: { initialBackoffMs: 600_000, maxBackoffMs: 600_000 },
      networkChanges,
      log: (_level, message) => logs.push(message),
    });
    cleanups.push(() => service.stop());
    const gateway = validateNewGateway(
      { name: 'home', url: `ws://127.0.0.1:${server.port}`, auth: 'none', runner: true },
      {},
    );
    service.start([{ gateway, primary: true }]);
    const both = () =>
      service.status('home')?.approvals.state === 'retrying' && service.status('home')?.runner.state === 'retrying';
    await waitFor(both, 30_000, 'both roles waiting out their backoff');
    return { service, server, logs, both };
  }

  it('a change from the source ends both roles’ waits, and the log says why', async () => {
    const network = new FakeNetwork();
    const { server, logs, both } = await setUp(network);
    expect(network.listeners.size).toBe(1);
    const before = server.connections();
    expect(before).toBe(2);
    network.change({ added: ['eth0 10.0.0.5/24'], removed: [] });
    await waitFor(() => server.connections() === before + 2, 10_000, 'the approval client and the runner again');
    await waitFor(both, 10_000, 'both waiting again');
    expect(logs).toContain('home: network changed (+eth0 10.0.0.5/24): reconnecting now');
  });

  it('reconnectNow() does the same for a caller (resume from sleep), and nothing once stopped', async () => {
    const { service, server, logs } = await setUp(false);
    service.reconnectNow('resumed from sleep');
    await waitFor(() => server.connections() === 4, 10_000, 'both roles again');
    expect(logs).toContain('home: resumed from sleep: reconnecting now');
    await service.stop();
    service.reconnectNow('after stop');
    await new Promise((r) => setTimeout(r, 300));
    expect(server.connections()).toBe(4);
    expect(logs.some((l) => l.includes('after stop'))).toBe(false);
  });

  it('stopping the service unsubscribes from the network source', async () => {
    const network = new FakeNetwork();
    const { service } = await setUp(network);
    await service.stop();
    expect(network.listeners.size).toBe(0);
  });
});

/** A TCP forwarder whose carried connections can be frozen: bytes stop, nothing closes (a network gone quiet). */
async function startFreezableProxy(targetPort: number) {
  const carried: Array<{ inbound: net.Socket; outbound: net.Socket }> = [];
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port: targetPort });
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
    carried.push({ inbound, outbound });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => carried.length,
    freeze: () => {
      for (const { inbound, outbound } of carried) {
        inbound.unpipe(outbound);
        outbound.unpipe(inbound);
        inbound.pause();
        outbound.pause();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { inbound, outbound } of carried) {
          inbound.destroy();
          outbound.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

describe('on a network change a live connection is pinged, and replaced at once when it does not answer', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setUp() {
    const root = mkdtempSync(path.join(tmpdir(), 'clawdesk-netprobe-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const gateway = await startTestGateway({ stateDir: path.join(root, 'server') });
    cleanups.push(() => gateway.dispose());
    const proxy = await startFreezableProxy(gateway.port);
    cleanups.push(proxy.close);
    const network = new FakeNetwork();
    const logs: string[] = [];
    const service = new RemoteGatewayService({
      identity: createEphemeralDeviceSigner(),
      stateDir: path.join(root, 'laptop'),
      env: {},
      approver: { canPresent: () => false, present: async () => null },
      // Backoff far longer than the test: a replacement that comes quickly comes from the failed ping.
      reconnect: { initialBackoffMs: 600_000, maxBackoffMs: 600_000, probeTimeoutMs: 500 },
      networkChanges: network,
      log: (_level, message) => logs.push(message),
    });
    cleanups.push(() => service.stop());
    const gatewayEntry = validateNewGateway(
      { name: 'home', url: `ws://127.0.0.1:${proxy.port}`, auth: 'token', secret: 'test-token' },
      {},
    );
    service.start([{ gateway: gatewayEntry, primary: true, secret: 'test-token' }]);
    await waitFor(() => service.status('home')?.approvals.state === 'connected', 30_000, 'connected');
    return { service, proxy, network, logs };
  }

  it('a connection that still answers is kept', async () => {
    const { service, proxy, network, logs } = await setUp();
    expect(proxy.connections()).toBe(1);
    network.change({ added: ['wlan0 192.168.1.20/24'], removed: [] });
    expect(logs).toContain('home: network changed (+wlan0 192.168.1.20/24): checking the live connections');
    // Well past the probe's 500 ms: still the one connection.
    await new Promise((r) => setTimeout(r, 1500));
    expect(proxy.connections()).toBe(1);
    expect(service.status('home')?.approvals.state).toBe('connected');
  });

  it('a connection gone quiet is dropped after the ping and a new one is made without waiting out the backoff', async () => {
    const { service, proxy, network, logs } = await setUp();
    proxy.freeze();
    const changedAt = Date.now();
    network.change({ added: [], removed: ['eth0 10.0.0.5/24'] });
    await waitFor(() => proxy.connections() === 2, 20_000, 'a second connection');
    await waitFor(() => service.status('home')?.approvals.state === 'connected', 20_000, 'connected again');
    expect(Date.now() - changedAt).toBeLessThan(20_000);
    expect(logs).toContain('home: approval client: no answer to a ping after the network changed');
  });
});
