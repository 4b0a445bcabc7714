import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DiscoveredGateway } from '../../../gateway/remote/gateway-discovery';
import { formatTlsFingerprint } from '../../../gateway/remote/transport-policy';
import { waitFor } from '../../helpers/cli-io';
import { disposeCertificate, makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls';
import { createTwoMachines, NamespacedProcess, netnsUnavailableReason, runIn, type TwoMachines } from './netns';
import { laptopEnvironment, openclawTlsServer, type OpenclawTlsServer } from './openclaw-server';

/**
 * The real OpenClaw gateway (the pinned package) advertising itself with its bundled bonjour plugin (enabled with
 * `openclaw plugins enable bonjour`, discovery.mdns.mode "full", gateway.tls on) on the "server"; the built
 * `clawdesk gateways discover` on the "laptop" finds it over real multicast on the veth link between them — and
 * opens no connection to it: the laptop namespace's TCP counters (/proc/net/snmp, per namespace) say so.
 *
 * One shim, and only for the server: @homebridge/ciao 1.3.12 (OpenClaw's advertiser) finds Linux interfaces by
 * parsing `ip -o link show`, which names a veth whose peer is in another namespace `cds123@if45`; ciao keeps
 * `cds123@if45` as the name, matches no interface of os.networkInterfaces() and advertises on loopback only
 * ("Initial networks [lo] ignoring [cds123]" with DEBUG=ciao:NetworkManager). The same happens to a container's
 * `eth0@ifN`. So the server's PATH gets an `ip` that drops that `@…` suffix from exactly that listing and runs the
 * real `ip` for everything else; ciao, OpenClaw and the multicast are otherwise untouched.
 */

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`\n*** discovery cross-machine test NOT RUN: ${unavailable} ***\n`);

const repo = path.resolve(__dirname, '../../..');
const cli = path.join(repo, 'bin', 'clawdesk.js');
const TOKEN = 'openclaw-discovery-token';
const PORT = 18791;

/** TCP connections a namespace has opened (ActiveOpens) and accepted (PassiveOpens), from its own /proc/net/snmp. */
async function tcpOpens(ns: string): Promise<{ active: number; passive: number }> {
  const snmp = await runIn(ns, 'cat', ['/proc/net/snmp'], { PATH: process.env.PATH });
  const [header, values] = snmp.stdout.split('\n').filter((l) => l.startsWith('Tcp:'));
  const names = header.split(/\s+/);
  const numbers = values.split(/\s+/);
  return {
    active: Number(numbers[names.indexOf('ActiveOpens')]),
    passive: Number(numbers[names.indexOf('PassiveOpens')]),
  };
}

describe.skipIf(Boolean(unavailable))("discovery of OpenClaw's own gateway on another machine", () => {
  let m: TwoMachines;
  let root: string;
  let cert: TestCertificate;
  let server: OpenclawTlsServer;
  let gateway: NamespacedProcess;
  const hostname = `cdsrv${process.pid}`;
  const laptopEnv = () => laptopEnvironment(root);
  const clawdesk = (args: string[]) => runIn(m.laptop, process.execPath, [cli, ...args], laptopEnv(), 120_000);
  const gatewayOutput = () =>
    `${gateway.stdout}\n${gateway.stderr}\n${existsSync(server.environment.logFile) ? readFileSync(server.environment.logFile, 'utf8') : ''}`;

  beforeAll(async () => {
    m = createTwoMachines();
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-netns-disc-'));
    mkdirSync(laptopEnv().OPENCLAW_STATE_DIR!, { recursive: true });
    mkdirSync(laptopEnv().HOME!, { recursive: true });
    cert = makeSelfSignedCertificate([m.serverIp, '127.0.0.1']);
    // "full" adds sshPort (and cliPath, tailnetDns) to the beacon.
    server = openclawTlsServer(m, {
      root,
      port: PORT,
      token: TOKEN,
      cert,
      extraConfig: { discovery: { mdns: { mode: 'full' } } },
    });
    const { environment } = server;
    // The harness turns Bonjour off for every other test; "0" forces it on even where OpenClaw detects a container.
    environment.env.OPENCLAW_DISABLE_BONJOUR = '0';
    environment.env.OPENCLAW_MDNS_HOSTNAME = hostname;
    // Which interfaces ciao chose, in the gateway's output should this test fail.
    environment.env.DEBUG = 'ciao:NetworkManager';
    const shimDir = path.join(root, 'ip-shim');
    mkdirSync(shimDir);
    const realIp = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p)) ?? 'ip';
    writeFileSync(
      path.join(shimDir, 'ip'),
      `#!/bin/sh\nif [ "$*" = "-o link show" ]; then ${realIp} "$@" | sed -E 's/^([0-9]+: [^:@]+)@[^:]+:/\\1:/'; exit; fi\n` +
        `exec ${realIp} "$@"\n`,
    );
    chmodSync(path.join(shimDir, 'ip'), 0o755);
    environment.env.PATH = `${shimDir}${path.delimiter}${environment.env.PATH}`;
    // OpenClaw puts /usr/bin and /bin first on its PATH at start-up (path-env: so skills find its CLI) unless told it
    // already did; the shim has to stay first.
    environment.env.OPENCLAW_PATH_BOOTSTRAPPED = '1';
    const enable = await server.openclaw(['plugins', 'enable', 'bonjour']);
    if (enable.code !== 0)
      throw new Error(`openclaw plugins enable bonjour: exit ${enable.code}\n${enable.stdout}\n${enable.stderr}`);
    gateway = server.start();
  }, 600_000);

  afterAll(async () => {
    await gateway?.stop();
    m?.dispose();
    if (cert) disposeCertificate(cert);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it(
    'clawdesk gateways discover --json on the laptop finds it with wss://<server>:<port> and its fingerprint hint, connecting to nothing',
    { timeout: 480_000 },
    async () => {
      await waitFor(
        () => {
          if (gateway.child.exitCode !== null) throw new Error(`openclaw gateway exited ${gateway.child.exitCode}`);
          return /bonjour: advertised/.test(gatewayOutput());
        },
        240_000,
        "OpenClaw's bonjour advertisement",
      ).catch((e) => {
        throw new Error(`${(e as Error).message}\n${gatewayOutput().slice(-6000)}`);
      });

      const laptopBefore = await tcpOpens(m.laptop);
      const serverBefore = await tcpOpens(m.server);
      let found: DiscoveredGateway | undefined;
      let last = '';
      await waitFor(
        async () => {
          const run = await clawdesk(['gateways', 'discover', '--json', '--timeout', '4']);
          expect(run.code, run.stderr).toBe(0);
          last = run.stdout;
          const { gateways } = JSON.parse(run.stdout) as { gateways: DiscoveredGateway[] };
          found = gateways.find((g) => g.lanHost === `${hostname}.local`);
          return found !== undefined;
        },
        120_000,
        'the laptop discovering the server',
      ).catch((e) => {
        const bonjourLines = gatewayOutput()
          .split('\n')
          .filter((l) => /bonjour|ciao|mdns/i.test(l))
          .join('\n');
        throw new Error(
          `${(e as Error).message}\nlast: ${last}\ngateway's bonjour lines:\n${bonjourLines.slice(-6000)}`,
        );
      });

      expect(found).toMatchObject({
        host: `${hostname}.local`,
        port: PORT,
        tls: true,
        tlsFingerprintHint: cert.fingerprint,
        sshPort: 22,
        url: `wss://${m.serverIp}:${PORT}`,
        advertisedFrom: m.serverIp,
      });
      // The instance name is the system host name's ("<host> (OpenClaw)"); OPENCLAW_MDNS_HOSTNAME names the host.
      expect(found!.instanceName).toMatch(/^\S+ \(OpenClaw\)$/);
      expect(found!.addresses).toContain(m.serverIp);

      // Nothing was connected: no TCP connection left the laptop, none reached the server.
      expect(await tcpOpens(m.laptop)).toEqual(laptopBefore);
      expect((await tcpOpens(m.server)).passive).toBe(serverBefore.passive);

      // The command discover prints is what the person runs next: it reads the certificate (one TLS handshake, which
      // the counters see, so they can fail), finds it matches the hint, and with nobody to confirm pins nothing.
      const add = (found as DiscoveredGateway & { addCommand: string }).addCommand;
      expect(add).toBe(
        `clawdesk gateways add ${hostname} wss://${m.serverIp}:${PORT} --advertised-fingerprint ${cert.fingerprint} --token "$TOKEN"`,
      );
      const tryAdd = await clawdesk([
        'gateways',
        'add',
        hostname,
        found!.url,
        '--advertised-fingerprint',
        found!.tlsFingerprintHint!,
        '--token',
        TOKEN,
        '--allow-plaintext-keys',
      ]);
      expect(tryAdd.code).toBe(1);
      expect(tryAdd.stdout).toContain(formatTlsFingerprint(cert.fingerprint));
      expect(tryAdd.stdout).toContain('the same fingerprint its mDNS advertisement gave');
      expect(tryAdd.stderr).toContain(`--tls-fingerprint ${cert.fingerprint}`);
      expect((await tcpOpens(m.laptop)).active).toBeGreaterThan(laptopBefore.active);

      // A hint that is not the presented certificate is called out, and nothing is pinned.
      const mismatch = await clawdesk([
        'gateways',
        'add',
        hostname,
        found!.url,
        '--advertised-fingerprint',
        'ab'.repeat(32),
        '--token',
        TOKEN,
        '--allow-plaintext-keys',
      ]);
      expect(mismatch.code).toBe(1);
      expect(mismatch.stderr).toContain('DOES NOT MATCH THE ADVERTISED FINGERPRINT');
      const list = await clawdesk(['gateways', 'list', '--json', '--allow-plaintext-keys']);
      expect(JSON.parse(list.stdout).gateways).toEqual([]);

      // Bad flags are a usage error of the real CLI.
      expect((await clawdesk(['gateways', 'discover', '--timeout', '0'])).code).toBe(2);
    },
  );
});
