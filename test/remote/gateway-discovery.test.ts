import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getResponder, type CiaoService, type Responder } from '@homebridge/ciao';
import makeMdns from 'multicast-dns';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanName,
  GatewayBrowser,
  MAX_DISCOVERED_GATEWAYS,
  MAX_SHOWN_NAME,
  type DiscoveredGateway,
} from '../../gateway/remote/gateway-discovery';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';
import { UsageError } from '../../gateway/cli/cli-io';
import { createGatewaysCommand } from '../../gateway/cli/commands/gateways-command';
import { captureIo, waitFor } from '../helpers/cli-io';
import { gatewaysCli } from './helpers/gateways-cli';
import {
  disposeCertificate,
  makeSelfSignedCertificate,
  startTlsFront,
  type TestCertificate,
  type TlsFront,
} from './helpers/tls';

/**
 * Discovery against real multicast DNS on this machine's loopback interface only (127.0.0.1: nothing leaves the
 * machine). The advertiser is @homebridge/ciao, the library OpenClaw's bonjour plugin advertises with, publishing an
 * OpenClaw-shaped beacon; the hostile records come from a raw multicast-dns responder.
 */

const LOOPBACK = ['127.0.0.1'];
const tag = `cdt${process.pid}`;
const colons = (hex: string) => (hex.toUpperCase().match(/../g) ?? []).join(':');

let responder: Responder | undefined;
const services: CiaoService[] = [];

async function advertise(name: string, port: number, txt: Record<string, string>): Promise<CiaoService> {
  responder ??= getResponder({ interface: 'lo', disableIpv6: true });
  const service = responder.createService({ name, type: 'openclaw-gw', port, domain: 'local', hostname: tag, txt });
  services.push(service);
  await service.advertise();
  return service;
}

async function withdrawAll(): Promise<void> {
  for (const s of services.splice(0)) await s.destroy();
}

afterAll(async () => {
  await withdrawAll();
  await responder?.shutdown();
});

function collect(browser: GatewayBrowser) {
  const events: { kind: 'up' | 'down' | 'update'; gateway: DiscoveredGateway }[] = [];
  for (const kind of ['up', 'down', 'update'] as const) browser.on(kind, (gateway) => events.push({ kind, gateway }));
  return events;
}

async function cli(args: string[]) {
  const root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-discover-'));
  try {
    return await gatewaysCli(args, { OPENCLAW_STATE_DIR: path.join(root, 'state'), HOME: root });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('discovery of an OpenClaw-shaped beacon from a real advertiser', () => {
  let cert: TestCertificate;
  let gateway: TestGateway;
  let front: TlsFront;
  beforeAll(async () => {
    gateway = await startTestGateway();
    cert = makeSelfSignedCertificate();
    front = await startTlsFront(cert, gateway.port);
  });
  afterAll(async () => {
    await front?.close();
    await gateway?.dispose();
    if (cert) disposeCertificate(cert);
  });
  afterEach(withdrawAll);

  it('finds it with the wss:// URL, the TLS flag, the fingerprint hint and the SSH port, and connects to nothing', async () => {
    const name = `${tag}-tls (OpenClaw)`;
    await advertise(name, front.port, {
      role: 'gateway',
      gatewayPort: String(front.port),
      lanHost: `${tag}.local`,
      displayName: `${tag} tls`,
      gatewayTls: '1',
      // Colons and capitals, as Node prints a fingerprint: normalized to Clawdesk's lowercase hex.
      gatewayTlsSha256: colons(cert.fingerprint),
      transport: 'gateway',
      sshPort: '2222',
    });
    const browser = new GatewayBrowser({ interfaces: LOOPBACK });
    const events = collect(browser);
    await browser.start();
    try {
      await waitFor(() => events.some((e) => e.kind === 'up' && e.gateway.instanceName === name), 30_000, 'up');
      const found = browser.gateways().find((g) => g.instanceName === name)!;
      expect(found).toMatchObject({
        displayName: `${tag} tls`,
        host: `${tag}.local`,
        lanHost: `${tag}.local`,
        port: front.port,
        tls: true,
        tlsFingerprintHint: cert.fingerprint,
        sshPort: 2222,
        url: `wss://127.0.0.1:${front.port}`,
        plaintext: { allowed: true },
      });
      expect(found.addresses).toContain('127.0.0.1');

      // The goodbye ciao sends when the service is withdrawn takes it down.
      const before = events.length;
      await withdrawAll();
      await waitFor(
        () => events.slice(before).some((e) => e.kind === 'down' && e.gateway.instanceName === name),
        30_000,
        'down',
      );
      expect(browser.gateways().find((g) => g.instanceName === name)).toBeUndefined();
    } finally {
      await browser.stop();
    }
    expect(front.connections()).toBe(0);
  });

  it('a beacon without TLS suggests ws:// with the plaintext verdict beside it', async () => {
    const name = `${tag}-plain (OpenClaw)`;
    await advertise(name, 18789, { role: 'gateway', gatewayPort: '18789', displayName: 'plain', transport: 'gateway' });
    const browser = new GatewayBrowser({ interfaces: LOOPBACK, env: {} });
    await browser.start();
    try {
      await waitFor(() => browser.gateways().some((g) => g.instanceName === name), 30_000, 'plain gateway');
      const found = browser.gateways().find((g) => g.instanceName === name)!;
      // Loopback plaintext is what Clawdesk's rule allows; the verdict is the same function `add` applies.
      expect(found).toMatchObject({ tls: false, url: 'ws://127.0.0.1:18789', plaintext: { allowed: true } });
      expect(found.tlsFingerprintHint).toBeUndefined();
    } finally {
      await browser.stop();
    }
  });

  it('clawdesk gateways discover prints it with the command to save it, or JSON; never connects', async () => {
    const name = `${tag}-cli (OpenClaw)`;
    await advertise(name, front.port, {
      role: 'gateway',
      gatewayPort: String(front.port),
      lanHost: `${tag}cli.local`,
      displayName: `${tag} cli`,
      gatewayTls: '1',
      gatewayTlsSha256: cert.fingerprint,
      transport: 'gateway',
    });
    const json = await cli(['discover', '--interface', '127.0.0.1', '--timeout', '4', '--json']);
    expect(json.code, json.err).toBe(0);
    const parsed = JSON.parse(json.out) as { gateways: (DiscoveredGateway & { addCommand: string })[] };
    const found = parsed.gateways.find((g) => g.instanceName === name)!;
    expect(found, json.out).toBeDefined();
    expect(found.url).toBe(`wss://127.0.0.1:${front.port}`);
    expect(found.tlsFingerprintHint).toBe(cert.fingerprint);
    expect(found.addCommand).toBe(
      `clawdesk gateways add ${tag}cli wss://127.0.0.1:${front.port} --advertised-fingerprint ${cert.fingerprint} --token "$TOKEN"`,
    );

    const text = await cli(['discover', '--interface', 'lo', '--timeout', '4']);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/^Found \d+ OpenClaw gateways? on the local network\. Nothing was connected/);
    expect(text.out).toContain(`${tag} cli  (instance "${name}")`);
    expect(text.out).toContain(`URL:       wss://127.0.0.1:${front.port}`);
    expect(text.out).toContain(`(a hint, not verified): ${colons(cert.fingerprint)}`);
    expect(text.out).toContain(`Save it:   ${found.addCommand}`);
    expect(front.connections()).toBe(0);
  });

  it('the advertised fingerprint is compared with the presented certificate: a mismatch pins nothing, loudly', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-discover-add-'));
    const env = { OPENCLAW_STATE_DIR: path.join(root, 'state'), HOME: root };
    try {
      const url = `wss://127.0.0.1:${front.port}`;
      const run = async (args: string[], answer: boolean | undefined) => {
        const questions: string[] = [];
        const io = captureIo(env);
        const command = createGatewaysCommand({ confirm: async (q) => (questions.push(q), answer) });
        const code = await command(args, io).catch((error: unknown) => {
          if (error instanceof UsageError) return 2;
          throw error;
        });
        return { code, out: io.out, err: io.err, questions };
      };
      const keys = ['--auth', 'none', '--allow-plaintext-keys'];
      const lying = await run(['add', 'gw', url, '--advertised-fingerprint', 'ab'.repeat(32), ...keys], true);
      expect(lying.code).toBe(1);
      expect(lying.questions).toEqual([]);
      expect(lying.err).toContain('DOES NOT MATCH THE ADVERTISED FINGERPRINT');
      expect(lying.err).toContain(colons(cert.fingerprint));
      expect(lying.err).toContain(colons('ab'.repeat(32)));
      expect((await run(['list', '--json'], undefined)).out).toContain('"gateways":[]');

      const honest = await run(['add', 'gw', url, '--advertised-fingerprint', colons(cert.fingerprint), ...keys], true);
      expect(honest.code, honest.err).toBe(0);
      expect(honest.questions).toEqual(['Pin it for "gw"?']);
      expect(honest.out).toContain('the same fingerprint its mDNS advertisement gave');
      expect((await run(['list', '--json'], undefined)).out).toContain(`"tlsFingerprint":"${cert.fingerprint}"`);

      for (const bad of [
        ['add', 'x', url, '--advertised-fingerprint', 'nope', ...keys],
        ['add', 'x', url, '--advertised-fingerprint', cert.fingerprint, '--tls-fingerprint', cert.fingerprint, ...keys],
        ['add', 'x', 'ws://127.0.0.1:1', '--advertised-fingerprint', cert.fingerprint, ...keys],
      ])
        expect((await run(bad, true)).code).toBe(2);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('clawdesk gateways discover with nothing there and with bad flags', () => {
  it('exits 0 with an empty list and says so', async () => {
    // The advertisers above have all sent their goodbyes; the hostile responder below has not started yet.
    const json = await cli(['discover', '--interface', '127.0.0.1', '--timeout', '1.5', '--json']);
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ gateways: [], dropped: 0 });
    const text = await cli(['discover', '--interface', '127.0.0.1', '--timeout', '1.5']);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^No OpenClaw gateway answered on the local network within 1\.5 s/);
  });

  it('exits 2 on bad flags', async () => {
    for (const args of [
      ['discover', '--timeout', '0'],
      ['discover', '--timeout', 'abc'],
      ['discover', '--timeout', '61'],
      ['discover', '--timeout'],
      ['discover', 'extra'],
      ['discover', '--interface', ','],
      ['discover', '--bogus'],
    ])
      expect((await cli(args)).code, args.join(' ')).toBe(2);
  });
});

describe('hostile advertisements are bounded, cleaned or ignored', () => {
  type Packet = Parameters<ReturnType<typeof makeMdns>['respond']>[0];
  let liar: ReturnType<typeof makeMdns>;
  let answers: Packet[] = [];
  beforeAll(async () => {
    liar = makeMdns({ interface: '127.0.0.1', bind: '0.0.0.0', loopback: true, reuseAddr: true });
    await new Promise<void>((resolve) => liar.once('ready', () => resolve()));
    // Answers every question for the service type with everything it has, as a flood would.
    liar.on('query', (query) => {
      if (query.questions.some((q) => q.name.toLowerCase() === '_openclaw-gw._tcp.local'))
        // Paced: a burst of large datagrams overruns the receive buffer and the kernel drops some, which is fine
        // on a network but would make the count below vary.
        answers.forEach((packet, i) => setTimeout(() => liar.respond(packet), i * 15));
    });
  });
  afterAll(() => new Promise<void>((resolve) => liar.destroy(() => resolve())));
  afterEach(() => {
    answers = [];
  });

  const beacon = (instance: string, host: string, port: number, txt: (string | Buffer)[], address = '127.0.0.1') => {
    const fqdn = `${instance}._openclaw-gw._tcp.local`;
    return [
      { name: '_openclaw-gw._tcp.local', type: 'PTR' as const, ttl: 120, data: fqdn },
      { name: fqdn, type: 'SRV' as const, ttl: 120, data: { port, target: host, priority: 0, weight: 0 } },
      { name: fqdn, type: 'TXT' as const, ttl: 120, data: txt },
      { name: host, type: 'A' as const, ttl: 120, data: address },
    ];
  };

  async function browseUntil(check: (b: GatewayBrowser) => boolean, what: string) {
    const browser = new GatewayBrowser({ interfaces: LOOPBACK });
    await browser.start();
    try {
      await waitFor(() => check(browser), 30_000, what);
      return { gateways: browser.gateways(), dropped: browser.dropped };
    } finally {
      await browser.stop();
    }
  }

  it('keeps at most 64 of 1,000 instances and counts the rest', async () => {
    const records = Array.from({ length: 1000 }, (_, i) =>
      beacon(`${tag}flood${i}`, `${tag}flood${i}.local`, 20000 + i, ['role=gateway', 'gatewayTls=1']),
    );
    for (let i = 0; i < records.length; i += 25) answers.push({ answers: records.slice(i, i + 25).flat() });
    const result = await browseUntil((b) => b.dropped >= 1000 - MAX_DISCOVERED_GATEWAYS, 'the flood counted');
    expect(result.gateways.length).toBeLessThanOrEqual(MAX_DISCOVERED_GATEWAYS);
    expect(result.gateways.filter((g) => g.instanceName.startsWith(`${tag}flood`)).length).toBeGreaterThan(0);
    expect(result.dropped).toBe(1000 - MAX_DISCOVERED_GATEWAYS);
  });

  it('cleans control and BiDi characters from names, caps their length, ignores an oversized TXT tail', async () => {
    const evilName = `${tag}evil\u202e\u0007\u001b[31m\u200bx`;
    const hugeDisplay = `displayName=${'A'.repeat(200)}\u2066`;
    const padding = Array.from({ length: 40 }, (_, i) => Buffer.from(`pad${i}=${'p'.repeat(200)}`));
    answers.push({
      answers: [
        ...beacon(evilName, `${tag}evil.local`, 18789, ['role=gateway', 'gatewayTls=1', hugeDisplay, 'sshPort=99999']),
        // A TXT of 8 KiB: what lies past the budget (here the fingerprint and the ssh port) is never read.
        ...beacon(`${tag}fat`, `${tag}fat.local`, 18790, [
          'role=gateway',
          'gatewayTls=1',
          ...padding,
          `gatewayTlsSha256=${'cd'.repeat(32)}`,
          'sshPort=22',
        ]),
      ],
    });
    const result = await browseUntil(
      (b) => b.gateways().filter((g) => g.id.startsWith(tag)).length === 2,
      'the two odd beacons',
    );
    const evil = result.gateways.find((g) => g.id.startsWith(`${tag}evil`))!;
    expect(evil.instanceName).toBe(`${tag}evil[31mx`);
    expect([...evil.displayName].length).toBe(MAX_SHOWN_NAME);
    expect(evil.displayName).toMatch(/^A+…$/);
    expect(evil.sshPort).toBeUndefined();
    const fat = result.gateways.find((g) => g.id.startsWith(`${tag}fat`))!;
    expect(fat.tls).toBe(true);
    expect(fat.tlsFingerprintHint).toBeUndefined();
    expect(fat.sshPort).toBeUndefined();
  });

  it('ignores bad ports, bad host names and garbage packets, and still finds the good beacon after them', async () => {
    answers.push({
      answers: [
        ...beacon(`${tag}port0`, `${tag}port0.local`, 0, ['role=gateway']),
        ...beacon(`${tag}shell`, 'x;rm -rf ~.local', 18789, ['role=gateway']),
        ...beacon(`${tag}notgw`, `${tag}notgw.local`, 18789, ['role=printer']),
      ],
    });
    // Garbage that is no DNS message at all, and a truncated one, straight at the group.
    const raw = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((resolve) => raw.bind(0, '0.0.0.0', () => resolve()));
    raw.setMulticastInterface('127.0.0.1');
    const spray = setInterval(() => {
      for (const junk of [Buffer.from('not dns at all'), Buffer.from([0, 0, 0x84, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0xc0])])
        raw.send(junk, 5353, '224.0.0.251');
    }, 100);
    try {
      answers.push({ answers: beacon(`${tag}good`, `${tag}good.local`, 18791, ['role=gateway', 'gatewayTls=1']) });
      const result = await browseUntil((b) => b.gateways().some((g) => g.id.startsWith(`${tag}good`)), 'the good one');
      const ours = result.gateways.filter((g) => g.id.startsWith(tag)).map((g) => g.instanceName);
      expect(ours).toEqual([`${tag}good`]);
    } finally {
      clearInterval(spray);
      raw.close();
    }
  });

  it('an answer landing right behind its goodbye does not bring the gateway back; one a second later does', async () => {
    // Seen with ciao: an answer it had delayed (RFC 6762 lets shared records wait up to 120 ms) arrived 74 ms after
    // the service's goodbye, and the withdrawn gateway was listed again for its whole TTL.
    const records = beacon(`${tag}late`, `${tag}late.local`, 18793, ['role=gateway']);
    const sentinel = beacon(`${tag}sentinel`, `${tag}sentinel.local`, 18794, ['role=gateway']);
    const listed = (b: GatewayBrowser, id: string) => b.gateways().some((g) => g.id.startsWith(id));
    const browser = new GatewayBrowser({ interfaces: LOOPBACK });
    const events = collect(browser);
    await browser.start();
    try {
      liar.respond({ answers: records });
      await waitFor(() => listed(browser, `${tag}late`), 30_000, 'up');
      const goodbyeAt = Date.now();
      liar.respond({ answers: [{ ...records[0], ttl: 0 }] });
      liar.respond({ answers: records });
      // Datagrams on loopback arrive in order: once the sentinel is listed, the late answer has been read.
      liar.respond({ answers: sentinel });
      await waitFor(() => listed(browser, `${tag}sentinel`), 30_000, 'the sentinel');
      expect(events.filter((e) => e.gateway.id.startsWith(`${tag}late`)).map((e) => e.kind)).toEqual(['up', 'down']);
      expect(listed(browser, `${tag}late`)).toBe(false);

      await waitFor(
        () => {
          liar.respond({ answers: records });
          return listed(browser, `${tag}late`);
        },
        30_000,
        'announced again',
      );
      expect(Date.now() - goodbyeAt).toBeGreaterThanOrEqual(1_000);
    } finally {
      await browser.stop();
    }
  });

  it('cleanName removes what could disguise a name', () => {
    expect(cleanName('box\\032(OpenClaw)')).toBe('box (OpenClaw)');
    expect(cleanName('a\u202eb\u2067c\u200fd\ufeffe\u0000f\u0085g\u2028h\u{F0000}i')).toBe('abcdefghi');
    expect(cleanName('  many   \n spaces ')).toBe('many spaces');
    expect(cleanName('j\ufe0fk')).toBe('jk');
  });
});

describe('a gateway with short TTLs', () => {
  it('stays while it answers the re-asked records, and goes down once it stops answering', async () => {
    const fqdn = `${tag}ttl._openclaw-gw._tcp.local`;
    const host = `${tag}ttl.local`;
    // TTLs of 3 s, and each answer carries only the record asked for: only asking again keeps it alive.
    const records = [
      { name: '_openclaw-gw._tcp.local', type: 'PTR' as const, ttl: 3, data: fqdn },
      { name: fqdn, type: 'SRV' as const, ttl: 3, data: { port: 18792, target: host, priority: 0, weight: 0 } },
      { name: fqdn, type: 'TXT' as const, ttl: 3, data: ['role=gateway', 'gatewayTls=1'] },
      { name: host, type: 'A' as const, ttl: 3, data: '127.0.0.1' },
    ];
    let answering = true;
    const responder = makeMdns({ interface: '127.0.0.1', bind: '0.0.0.0', loopback: true, reuseAddr: true });
    await new Promise<void>((resolve) => responder.once('ready', () => resolve()));
    responder.on('query', (query) => {
      if (!answering) return;
      const answers = records.filter((r) =>
        query.questions.some((q) => q.type === r.type && q.name.toLowerCase() === r.name.toLowerCase()),
      );
      if (answers.length) responder.respond({ answers });
    });
    const browser = new GatewayBrowser({ interfaces: LOOPBACK });
    const events = collect(browser);
    await browser.start();
    try {
      await waitFor(() => events.some((e) => e.kind === 'up' && e.gateway.id === fqdn.toLowerCase()), 30_000, 'up');
      const upAt = Date.now();
      await waitFor(() => Date.now() - upAt > 9_000 || events.some((e) => e.kind === 'down'), 30_000, '9 s');
      expect(events.filter((e) => e.kind === 'down')).toEqual([]);
      answering = false;
      await waitFor(() => events.some((e) => e.kind === 'down' && e.gateway.id === fqdn.toLowerCase()), 30_000, 'down');
      expect(browser.gateways().some((g) => g.id === fqdn.toLowerCase())).toBe(false);
    } finally {
      await browser.stop();
      await new Promise<void>((resolve) => responder.destroy(() => resolve()));
    }
  });
});
