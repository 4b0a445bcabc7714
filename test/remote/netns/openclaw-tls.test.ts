import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../gateway/cli/cli-io';
import { createGatewaysCommand } from '../../../gateway/cli/commands/gateways-command';
import { formatTlsFingerprint } from '../../../gateway/remote/transport-policy';
import { ensureOpenclawInstalled, openclawEnv, type OpenclawEnvironment } from '../../interop/openclaw-harness';
import { captureIo, waitFor } from '../../helpers/cli-io';
import { disposeCertificate, makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls';
import { createTwoMachines, NamespacedProcess, netnsUnavailableReason, runIn, type TwoMachines } from './netns';

/**
 * The real OpenClaw gateway (the pinned package, `gateway.tls` enabled with a certificate made here, bound to its
 * LAN address) on the "server", Clawdesk's approval client on the "laptop" reaching it by wss:// with a pin; the
 * laptop's device is paired with the real `openclaw devices approve` on the server.
 */

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`\n*** OpenClaw TLS cross-machine test NOT RUN: ${unavailable} ***\n`);

const repo = path.resolve(__dirname, '../../..');
const cli = path.join(repo, 'bin', 'clawdesk.js');
const TOKEN = 'openclaw-remote-token';
const PORT = 18790;

describe.skipIf(Boolean(unavailable))("OpenClaw's own gateway with gateway.tls, from another machine", () => {
  let m: TwoMachines;
  let root: string;
  let cert: TestCertificate;
  let other: TestCertificate;
  let environment: OpenclawEnvironment;
  let gateway: NamespacedProcess;
  let connect: NamespacedProcess;
  let laptop: string;
  const laptopEnv = () => ({
    PATH: process.env.PATH,
    HOME: path.join(root, 'laptop-home'),
    OPENCLAW_STATE_DIR: laptop,
  });
  const install = () => ensureOpenclawInstalled();
  const openclaw = (args: string[]) =>
    runIn(m.server, install().nodeBin, [install().openclawEntry, ...args], environment.env, 120_000);

  const latest = (name: string) => {
    let found: any;
    for (const line of connect.stdout.split('\n'))
      if (line.startsWith('{')) {
        const s = JSON.parse(line);
        if (s.name === name) found = s;
      }
    return found;
  };

  beforeAll(async () => {
    m = createTwoMachines();
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-netns-oc-'));
    laptop = path.join(root, 'laptop');
    mkdirSync(laptop, { recursive: true });
    mkdirSync(path.join(root, 'laptop-home'), { recursive: true });
    cert = makeSelfSignedCertificate([m.serverIp, '127.0.0.1']);
    other = makeSelfSignedCertificate([m.serverIp]);
    environment = openclawEnv({
      tmpDir: path.join(root, 'server'),
      port: PORT,
      authMode: 'token',
      token: TOKEN,
      extraConfig: {
        gateway: {
          mode: 'local',
          port: PORT,
          bind: 'lan',
          auth: { mode: 'token', token: TOKEN },
          tls: { enabled: true, autoGenerate: false, certPath: cert.certPath, keyPath: cert.keyPath },
        },
      },
    });
    // The loopback guard (scripts/loopback-guard.cjs) would refuse the LAN bind itself; the namespace, which has no
    // route anywhere but the laptop's veth, is the containment here instead.
    delete environment.env.NODE_OPTIONS;
    const oc = install();
    gateway = new NamespacedProcess(
      m.server,
      oc.nodeBin,
      [oc.openclawEntry, 'gateway', 'run', '--port', String(PORT), '--bind', 'lan', '--auth', 'token'],
      environment.env,
    );
  }, 600_000);

  afterAll(async () => {
    await connect?.stop();
    await gateway?.stop();
    m?.dispose();
    if (cert) disposeCertificate(cert);
    if (other) disposeCertificate(other);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it(
    'the right pin connects after the real openclaw CLI approves the pairing; the wrong pin is refused',
    { timeout: 480_000 },
    async () => {
      const add = async (args: string[]) => {
        const io = captureIo(laptopEnv());
        const code = await createGatewaysCommand()([...args, '--allow-plaintext-keys'], io).catch((e: unknown) => {
          if (e instanceof UsageError) return 2;
          throw e;
        });
        expect(code, io.err).toBe(0);
      };
      const url = `wss://${m.serverIp}:${PORT}`;
      await add(['add', 'openclaw', url, '--token', TOKEN, '--tls-fingerprint', cert.fingerprint]);
      await add(['add', 'openclaw-wrong-pin', url, '--token', TOKEN, '--tls-fingerprint', other.fingerprint]);
      connect = new NamespacedProcess(
        m.laptop,
        process.execPath,
        [cli, 'gateways', 'connect', '--json', '--allow-plaintext-keys'],
        laptopEnv(),
      );
      const describeState = () =>
        `${JSON.stringify(latest('openclaw'))}\nlaptop: ${connect.stderr.slice(-2000)}\ngateway: ${gateway.stdout.slice(-3000)}${gateway.stderr.slice(-2000)}`;

      await waitFor(
        () => {
          if (gateway.child.exitCode !== null) throw new Error(`openclaw gateway exited ${gateway.child.exitCode}`);
          return latest('openclaw-wrong-pin')?.state === 'pin-mismatch';
        },
        180_000,
        'wrong pin refused',
      ).catch((e) => {
        throw new Error(`${e.message}\n${JSON.stringify(latest('openclaw-wrong-pin'))}\n${describeState()}`);
      });
      expect(latest('openclaw-wrong-pin').approvals.detail).toContain(formatTlsFingerprint(cert.fingerprint));

      await waitFor(
        async () => {
          const s = latest('openclaw');
          if (s?.approvals.state === 'connected') return true;
          if (s?.approvals.pairingRequestId) {
            const approved = await openclaw(['devices', 'approve', s.approvals.pairingRequestId]);
            if (approved.code !== 0) console.warn(`openclaw devices approve: ${approved.stderr || approved.stdout}`);
          }
          return false;
        },
        180_000,
        'connected to OpenClaw after pairing',
      ).catch((e) => {
        throw new Error(`${e.message}\n${describeState()}`);
      });
    },
  );
});
