import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTlsFingerprint } from '../../../gateway/remote/transport-policy';
import { waitFor } from '../../helpers/cli-io';
import { gatewaysCli } from '../helpers/gateways-cli';
import { disposeCertificate, makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls';
import { createTwoMachines, NamespacedProcess, netnsUnavailableReason, runIn, type TwoMachines } from './netns';

/**
 * Gateways on another machine (issue 15), across network namespaces joined by a veth pair: the "server" runs
 * Clawdesk's gateway bound to all its addresses and serving wss:// itself (gateway.tls in its openclaw.json: first a
 * certificate it generates and keeps, later a swapped one), a second one on loopback only for the SSH tunnel, and a
 * real OpenSSH sshd; the "laptop" runs `clawdesk gateways connect` (the approval client on each saved gateway, the
 * runner on the enabled ones). Everything the laptop does goes through the real CLI in its namespace.
 */

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`\n*** cross-machine tests NOT RUN: ${unavailable} ***\n`);

const repo = path.resolve(__dirname, '../../..');
const cli = path.join(repo, 'bin', 'clawdesk.js');
const node = process.execPath;
const TOKEN = 'remote-test-token';
const GATEWAY_PORT = 18789;
/** The loopback-only gateway the SSH tunnel reaches (a tunnel carries ws://, so its end on the server is plaintext). */
const TUNNEL_GATEWAY_PORT = 18790;

type Status = { name: string; state: string; approvals: any; runner: any; tunnel?: any };

describe.skipIf(Boolean(unavailable))('gateways on another machine (network namespaces)', () => {
  let m: TwoMachines;
  let root: string;
  /** The fingerprint the server's gateway printed for the certificate it generated (what a person pins). */
  let serverFingerprint: string;
  let swapped: TestCertificate;
  let serverGateway: NamespacedProcess;
  let tunnelGateway: NamespacedProcess;
  let sshd: NamespacedProcess;
  let connect: NamespacedProcess | undefined;
  const dirs = { server: '', serverHome: '', tunnelServer: '', laptop: '', laptopHome: '', ssh: '' };
  const serverEnv = () => ({ PATH: process.env.PATH, HOME: dirs.serverHome, OPENCLAW_STATE_DIR: dirs.server });
  const laptopEnv = () => ({ PATH: process.env.PATH, HOME: dirs.laptopHome, OPENCLAW_STATE_DIR: dirs.laptop });

  /** The server's openclaw.json: LAN bind, token, and gateway.tls (the state dir's own pair unless `certificate`). */
  const writeServerConfig = (certificate?: TestCertificate) =>
    writeFileSync(
      path.join(dirs.server, 'openclaw.json'),
      JSON.stringify({
        gateway: {
          port: GATEWAY_PORT,
          bind: 'lan',
          auth: { mode: 'token', token: TOKEN },
          tls: certificate
            ? { enabled: true, autoGenerate: false, certPath: certificate.certPath, keyPath: certificate.keyPath }
            : { enabled: true },
        },
      }),
      { mode: 0o600 },
    );
  /** Starts the server's gateway; returns the fingerprint it printed. */
  const startServerGateway = async (): Promise<string> => {
    serverGateway = new NamespacedProcess(
      m.server,
      node,
      [cli, 'gateway', 'run', '--no-node', '--allow-plaintext-keys'],
      serverEnv(),
    );
    const printed = /--tls-fingerprint ([0-9a-f]{64})\n/;
    await serverGateway.waitForOutput(/Clawdesk gateway listening on wss:/, 120_000);
    await serverGateway.waitForOutput(printed);
    return printed.exec(serverGateway.stdout)![1];
  };

  /** `clawdesk gateways …` on the laptop, in-process: it only writes the laptop's files. */
  const laptopGateways = (args: string[]) => gatewaysCli([...args, '--allow-plaintext-keys'], laptopEnv());

  const statuses = (): Map<string, Status> => {
    const map = new Map<string, Status>();
    for (const line of (connect?.stdout ?? '').split('\n')) {
      if (!line.startsWith('{')) continue;
      const s = JSON.parse(line);
      if (s.event === 'status') map.set(s.name, s);
    }
    return map;
  };
  const waitState = async (name: string, check: (s: Status) => boolean, what: string, timeoutMs = 90_000) => {
    try {
      await waitFor(() => Boolean(statuses().get(name) && check(statuses().get(name)!)), timeoutMs, `${name}: ${what}`);
    } catch (error) {
      throw new Error(`${(error as Error).message}; last: ${JSON.stringify(statuses().get(name))}\n${connect?.stderr}`);
    }
    return statuses().get(name)!;
  };
  const startConnect = () => {
    connect = new NamespacedProcess(
      m.laptop,
      node,
      [cli, 'gateways', 'connect', '--json', '--allow-plaintext-keys'],
      laptopEnv(),
    );
  };
  const serverCall = async (steps: unknown[]) => {
    const r = await runIn(
      m.server,
      node,
      [
        path.join(__dirname, 'fixtures', 'server-call.cjs'),
        `wss://127.0.0.1:${GATEWAY_PORT}`,
        TOKEN,
        JSON.stringify(steps),
        serverFingerprint,
      ],
      serverEnv(),
    );
    if (r.code !== 0) throw new Error(`server call failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  };

  beforeAll(async () => {
    m = createTwoMachines();
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-netns-'));
    for (const key of Object.keys(dirs) as Array<keyof typeof dirs>) {
      dirs[key] = path.join(root, key);
      mkdirSync(dirs[key], { recursive: true, mode: 0o700 });
    }
    swapped = makeSelfSignedCertificate([m.serverIp]);
    writeServerConfig();
    serverFingerprint = await startServerGateway();
    // It is the certificate the gateway generated and keeps in its state dir.
    expect(serverFingerprint).toBe(
      new X509Certificate(readFileSync(path.join(dirs.server, 'gateway', 'tls', 'gateway-cert.pem'))).fingerprint256
        .replaceAll(':', '')
        .toLowerCase(),
    );
    tunnelGateway = new NamespacedProcess(
      m.server,
      node,
      [cli, 'gateway', 'run', '--port', String(TUNNEL_GATEWAY_PORT), '--token', TOKEN, '--no-node'],
      { PATH: process.env.PATH, HOME: dirs.serverHome, OPENCLAW_STATE_DIR: dirs.tunnelServer },
    );
    await tunnelGateway.waitForOutput(/Clawdesk gateway listening on ws:\/\/127\.0\.0\.1/, 120_000);

    // A real sshd on the server's LAN address, with its own host key and the laptop's client key authorized.
    const ssh = dirs.ssh;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(ssh, 'host_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(ssh, 'client_key')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(ssh, 'other_host_key')]);
    writeFileSync(path.join(ssh, 'authorized_keys'), readFileSync(path.join(ssh, 'client_key.pub')));
    chmodSync(path.join(ssh, 'client_key'), 0o600);
    writeFileSync(
      path.join(ssh, 'known_hosts'),
      `${m.serverIp} ${readFileSync(path.join(ssh, 'host_key.pub'), 'utf8')}`,
    );
    writeFileSync(
      path.join(ssh, 'unknown_hosts'),
      `${m.serverIp} ${readFileSync(path.join(ssh, 'other_host_key.pub'), 'utf8')}`,
    );
    writeFileSync(
      path.join(ssh, 'sshd_config'),
      [
        `ListenAddress ${m.serverIp}`,
        'Port 22',
        `HostKey ${path.join(ssh, 'host_key')}`,
        `AuthorizedKeysFile ${path.join(ssh, 'authorized_keys')}`,
        'PidFile none',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'AllowTcpForwarding local',
        'UsePAM no',
        'StrictModes no',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    sshd = new NamespacedProcess(m.server, '/usr/sbin/sshd', ['-D', '-e', '-f', path.join(ssh, 'sshd_config')], {});
    await sshd.waitForOutput(/Server listening/);
  }, 300_000);

  afterAll(async () => {
    await connect?.stop();
    await Promise.allSettled([sshd?.stop(), tunnelGateway?.stop(), serverGateway?.stop()]);
    m?.dispose();
    if (swapped) disposeCertificate(swapped);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('plaintext ws:// to the server is refused without the opt-in; trust on first use pins nothing unasked', async () => {
    const plain = await laptopGateways(['add', 'plain', `ws://${m.serverIp}:${GATEWAY_PORT}`, '--token', TOKEN]);
    expect(plain.code).toBe(1);
    expect(plain.err).toContain(`refusing plaintext ws:// to ${m.serverIp}:${GATEWAY_PORT}`);
    // From the laptop's namespace, with nobody at a terminal: the certificate is read, shown, and not pinned.
    const tofu = await runIn(
      m.laptop,
      node,
      [
        cli,
        'gateways',
        'add',
        'tofu',
        `wss://${m.serverIp}:${GATEWAY_PORT}`,
        '--auth',
        'none',
        '--allow-plaintext-keys',
      ],
      laptopEnv(),
    );
    expect(tofu.code).toBe(1);
    expect(tofu.stdout).toContain(formatTlsFingerprint(serverFingerprint));
    expect(tofu.stderr).toContain(`--tls-fingerprint ${serverFingerprint}`);
    expect(JSON.parse((await laptopGateways(['list', '--json'])).out).gateways).toEqual([]);
  });

  it('a pinned wss:// gateway from another machine: pairing approved with the real CLI on the server, then the runner serves it', async () => {
    expect(
      (
        await laptopGateways([
          'add',
          'home',
          `wss://${m.serverIp}:${GATEWAY_PORT}`,
          '--token',
          TOKEN,
          '--tls-fingerprint',
          serverFingerprint,
          '--runner',
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await laptopGateways([
          'add',
          'impostor',
          `wss://${m.serverIp}:${GATEWAY_PORT}`,
          '--token',
          TOKEN,
          '--tls-fingerprint',
          swapped.fingerprint,
        ])
      ).code,
    ).toBe(0);
    startConnect();

    const impostor = await waitState('impostor', (s) => s.state === 'pin-mismatch', 'pin mismatch');
    expect(impostor.approvals.detail).toContain(formatTlsFingerprint(swapped.fingerprint));
    expect(impostor.approvals.detail).toContain(formatTlsFingerprint(serverFingerprint));

    // The laptop reaches the gateway directly over wss://, from its own address: a truly remote peer. Neither its
    // operator device (the approval client) nor its node (the runner) is paired silently; both wait for the person,
    // who approves them with the real `clawdesk devices approve` on the server. That CLI finds the local gateway's
    // wss:// URL and its certificate pin in the server's openclaw.json and state dir by itself (no --url).
    await waitState(
      'home',
      (s) => s.approvals.state === 'pairing-required' && s.runner.state === 'pairing-required',
      'the approval client and the runner: pairing required',
    );
    const devices = (args: string[]) => runIn(m.server, node, [cli, 'devices', ...args], serverEnv());
    const waiting = await devices(['list', '--json']);
    expect(waiting.code, waiting.stderr).toBe(0);
    // One request for the laptop's one device identity, holding both roles (as OpenClaw's gateway files it).
    const fromLaptop = JSON.parse(waiting.stdout).pending.filter((p: any) => p.remoteIp === m.laptopIp);
    expect(new Set(fromLaptop.flatMap((p: any) => p.roles ?? [p.role])), waiting.stdout).toEqual(
      new Set(['operator', 'node']),
    );
    await waitFor(
      async () => {
        const list = await devices(['list', '--json']);
        expect(list.code, list.stderr).toBe(0);
        for (const p of JSON.parse(list.stdout).pending ?? []) {
          const approved = await devices(['approve', p.requestId]);
          expect(approved.code, approved.stderr).toBe(0);
        }
        const s = statuses().get('home');
        return s?.approvals.state === 'connected' && s?.runner.state === 'connected';
      },
      180_000,
      'home connected after pairing',
    );

    // The runner's command surface is approved on the server side too, then the server's agent side reaches it.
    const [nodes, pairs] = await serverCall([
      { method: 'node.list', params: {} },
      { method: 'node.pair.list', params: {} },
    ]);
    expect(nodes.ok).toBe(true);
    for (const p of pairs.payload?.pending ?? [])
      await serverCall([{ method: 'node.pair.approve', params: { requestId: p.requestId } }]);
    const laptopNode = (await serverCall([{ method: 'node.list', params: {} }]))[0].payload.nodes.find(
      (n: any) => n.connected !== false && /Clawdesk/.test(n.displayName ?? ''),
    );
    expect(laptopNode).toBeDefined();
    const [which] = await serverCall([
      {
        method: 'node.invoke',
        params: {
          nodeId: laptopNode.nodeId,
          command: 'system.which',
          params: { bins: ['sh'] },
          idempotencyKey: `w-${Date.now()}`,
        },
      },
    ]);
    expect(which.ok, JSON.stringify(which)).toBe(true);
  });

  it('link down, a server restart, link up: the laptop reconnects within the backoff bound', async () => {
    m.setLaptopLink(false);
    await serverGateway.stop();
    // The same certificate after the restart: the pin still holds.
    expect(await startServerGateway()).toBe(serverFingerprint);
    m.setLaptopLink(true);
    await waitState('home', (s) => s.approvals.state !== 'connected', 'the drop noticed', 60_000);
    await waitState(
      'home',
      (s) => s.approvals.state === 'connected' && s.runner.state === 'connected',
      'reconnected',
      90_000,
    );
  });

  it('a certificate swapped after pinning is refused with both fingerprints named', async () => {
    await serverGateway.stop();
    writeServerConfig(swapped);
    expect(await startServerGateway()).toBe(swapped.fingerprint);
    // The old connections went with the old gateway; each role (approval client, runner) meets the new certificate
    // on its own reconnect, so wait until both have been refused, not just the first.
    const home = await waitState(
      'home',
      (s) => s.approvals.state === 'pin-mismatch' && s.runner.state === 'pin-mismatch',
      'pin mismatch after the swap, for the approval client and the runner',
      120_000,
    );
    expect(home.state).toBe('pin-mismatch');
    for (const role of [home.approvals, home.runner]) {
      expect(role.detail).toContain(formatTlsFingerprint(serverFingerprint));
      expect(role.detail).toContain(formatTlsFingerprint(swapped.fingerprint));
    }
    await connect?.stop();
    connect = undefined;
  });

  it('SSH: the tunnel comes up with the pinned host key, is refused with an unknown one, and comes back when killed', async () => {
    const key = path.join(dirs.ssh, 'client_key');
    const base = ['--token', TOKEN, '--ssh-identity', key, '--remote-port', String(TUNNEL_GATEWAY_PORT)];
    expect(
      (
        await laptopGateways([
          'add',
          'tunnel',
          '--ssh',
          `root@${m.serverIp}`,
          '--ssh-known-hosts',
          path.join(dirs.ssh, 'known_hosts'),
          '--runner',
          ...base,
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await laptopGateways([
          'add',
          'tunnel-unknown',
          '--ssh',
          `root@${m.serverIp}`,
          '--ssh-known-hosts',
          path.join(dirs.ssh, 'unknown_hosts'),
          ...base,
        ])
      ).code,
    ).toBe(0);
    startConnect();
    const refused = await waitState('tunnel-unknown', (s) => s.state === 'tunnel-failed', 'host key refused');
    expect(refused.approvals.detail).toMatch(/Host key verification failed|host key/i);
    const up = await waitState(
      'tunnel',
      (s) => s.approvals.state === 'connected' && s.runner.state === 'connected',
      'tunnel connected',
    );
    expect(up.tunnel.state).toBe('up');
    const sshPid = up.tunnel.pid as number;
    process.kill(sshPid, 'SIGKILL');
    await waitState('tunnel', (s) => s.tunnel?.state === 'restarting', 'tunnel restarting');
    const back = await waitState(
      'tunnel',
      (s) => s.tunnel?.state === 'up' && s.tunnel.pid !== sshPid && s.approvals.state === 'connected',
      'tunnel back',
      120_000,
    );
    expect(back.tunnel.localPort).toBe(up.tunnel.localPort);
  });
});
