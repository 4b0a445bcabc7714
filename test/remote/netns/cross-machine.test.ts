import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../gateway/cli/cli-io';
import { createGatewaysCommand } from '../../../gateway/cli/commands/gateways-command';
import { formatTlsFingerprint } from '../../../gateway/remote/transport-policy';
import { captureIo, waitFor } from '../../helpers/cli-io';
import { disposeCertificate, makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls';
import { createTwoMachines, NamespacedProcess, netnsUnavailableReason, runIn, type TwoMachines } from './netns';

/**
 * Gateways on another machine (issue 15), across network namespaces joined by a veth pair: the "server" runs
 * Clawdesk's gateway (bound to its LAN address, behind a real TLS server for wss://) and a real OpenSSH sshd; the
 * "laptop" runs `clawdesk gateways connect` (the approval client on each saved gateway, the runner on the enabled
 * ones). Everything the laptop does goes through the real CLI in its namespace.
 */

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`\n*** cross-machine tests NOT RUN: ${unavailable} ***\n`);

const repo = path.resolve(__dirname, '../../..');
const cli = path.join(repo, 'bin', 'clawdesk.js');
const node = process.execPath;
const TOKEN = 'remote-test-token';
const GATEWAY_PORT = 18789;
const WSS_PORT = 18443;

type Status = { name: string; state: string; approvals: any; runner: any; tunnel?: any };

describe.skipIf(Boolean(unavailable))('gateways on another machine (network namespaces)', () => {
  let m: TwoMachines;
  let root: string;
  let cert: TestCertificate;
  let swapped: TestCertificate;
  let serverGateway: NamespacedProcess;
  let tlsFront: NamespacedProcess;
  let sshd: NamespacedProcess;
  let connect: NamespacedProcess | undefined;
  const dirs = { server: '', serverHome: '', laptop: '', laptopHome: '', ssh: '' };
  const serverEnv = () => ({ PATH: process.env.PATH, HOME: dirs.serverHome, OPENCLAW_STATE_DIR: dirs.server });
  const laptopEnv = () => ({ PATH: process.env.PATH, HOME: dirs.laptopHome, OPENCLAW_STATE_DIR: dirs.laptop });

  const startServerGateway = async () => {
    serverGateway = new NamespacedProcess(
      m.server,
      node,
      [
        cli,
        'gateway',
        'run',
        '--bind',
        'lan',
        '--port',
        String(GATEWAY_PORT),
        '--token',
        TOKEN,
        '--no-node',
        '--allow-plaintext-keys',
      ],
      serverEnv(),
    );
    await serverGateway.waitForOutput(/Clawdesk gateway listening/, 120_000);
  };
  const startTlsFront = async (certificate: TestCertificate) => {
    tlsFront = new NamespacedProcess(
      m.server,
      node,
      [
        path.join(__dirname, 'fixtures', 'tls-front.mjs'),
        certificate.certPath,
        certificate.keyPath,
        m.serverIp,
        String(WSS_PORT),
        String(GATEWAY_PORT),
      ],
      {},
    );
    await tlsFront.waitForOutput(/listening/);
  };

  /** `clawdesk gateways …` on the laptop, in-process: it only writes the laptop's files. */
  const laptopGateways = async (args: string[]) => {
    const io = captureIo(laptopEnv());
    const code = await createGatewaysCommand()([...args, '--allow-plaintext-keys'], io).catch((e: unknown) => {
      if (e instanceof UsageError) return 2;
      throw e;
    });
    return { code, out: io.out, err: io.err };
  };

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
        `ws://127.0.0.1:${GATEWAY_PORT}`,
        TOKEN,
        JSON.stringify(steps),
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
    cert = makeSelfSignedCertificate([m.serverIp]);
    swapped = makeSelfSignedCertificate([m.serverIp]);
    await startServerGateway();
    await startTlsFront(cert);

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
    await Promise.allSettled([sshd?.stop(), tlsFront?.stop(), serverGateway?.stop()]);
    m?.dispose();
    if (cert) disposeCertificate(cert);
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
      [cli, 'gateways', 'add', 'tofu', `wss://${m.serverIp}:${WSS_PORT}`, '--auth', 'none', '--allow-plaintext-keys'],
      laptopEnv(),
    );
    expect(tofu.code).toBe(1);
    expect(tofu.stdout).toContain(formatTlsFingerprint(cert.fingerprint));
    expect(tofu.stderr).toContain(`--tls-fingerprint ${cert.fingerprint}`);
    expect(JSON.parse((await laptopGateways(['list', '--json'])).out).gateways).toEqual([]);
  });

  it('a pinned wss:// gateway from another machine: pairing approved with the real CLI on the server, then the runner serves it', async () => {
    expect(
      (
        await laptopGateways([
          'add',
          'home',
          `wss://${m.serverIp}:${WSS_PORT}`,
          '--token',
          TOKEN,
          '--tls-fingerprint',
          cert.fingerprint,
          '--runner',
        ])
      ).code,
    ).toBe(0);
    expect(
      (
        await laptopGateways([
          'add',
          'impostor',
          `wss://${m.serverIp}:${WSS_PORT}`,
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
    expect(impostor.approvals.detail).toContain(formatTlsFingerprint(cert.fingerprint));

    // The TLS front on the server hands the gateway a loopback peer whose Host is the server's private address, which
    // looks like a container's forwarder: the laptop's operator device may be paired silently there (its shared token
    // already grants an operator as much), but its runner, a node, waits for the person's explicit approval.
    await waitState('home', (s) => s.runner.state === 'pairing-required', 'the runner: pairing required');
    await waitFor(
      async () => {
        const list = await runIn(
          m.server,
          node,
          [cli, 'devices', 'list', '--json', '--url', `ws://127.0.0.1:${GATEWAY_PORT}`, '--token', TOKEN],
          serverEnv(),
        );
        for (const p of JSON.parse(list.stdout || '{"pending":[]}').pending ?? []) {
          const approved = await runIn(
            m.server,
            node,
            [cli, 'devices', 'approve', p.requestId, '--url', `ws://127.0.0.1:${GATEWAY_PORT}`, '--token', TOKEN],
            serverEnv(),
          );
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
    await startServerGateway();
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
    await tlsFront.stop();
    await startTlsFront(swapped);
    // The old connections went with the old front; each role (approval client, runner) meets the new certificate
    // on its own reconnect, so wait until both have been refused, not just the first.
    const home = await waitState(
      'home',
      (s) => s.approvals.state === 'pin-mismatch' && s.runner.state === 'pin-mismatch',
      'pin mismatch after the swap, for the approval client and the runner',
      120_000,
    );
    expect(home.state).toBe('pin-mismatch');
    for (const role of [home.approvals, home.runner]) {
      expect(role.detail).toContain(formatTlsFingerprint(cert.fingerprint));
      expect(role.detail).toContain(formatTlsFingerprint(swapped.fingerprint));
    }
    await connect?.stop();
    connect = undefined;
  });

  it('SSH: the tunnel comes up with the pinned host key, is refused with an unknown one, and comes back when killed', async () => {
    const key = path.join(dirs.ssh, 'client_key');
    const base = ['--token', TOKEN, '--ssh-identity', key, '--remote-port', String(GATEWAY_PORT)];
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
