import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTlsFingerprint } from '../../../gateway/remote/transport-policy';
import { waitFor } from '../../helpers/cli-io';
import { gatewaysCli } from '../helpers/gateways-cli';
import { disposeCertificate, makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls';
import { createTwoMachines, NamespacedProcess, netnsUnavailableReason, type TwoMachines } from './netns';
import { laptopEnvironment, openclawTlsServer, type OpenclawTlsServer } from './openclaw-server';

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
  let server: OpenclawTlsServer;
  let gateway: NamespacedProcess;
  let connect: NamespacedProcess;
  const laptopEnv = () => laptopEnvironment(root);
  const openclaw = (args: string[]) => server.openclaw(args);

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
    mkdirSync(laptopEnv().OPENCLAW_STATE_DIR!, { recursive: true });
    mkdirSync(laptopEnv().HOME!, { recursive: true });
    cert = makeSelfSignedCertificate([m.serverIp, '127.0.0.1']);
    other = makeSelfSignedCertificate([m.serverIp]);
    server = openclawTlsServer(m, { root, port: PORT, token: TOKEN, cert });
    gateway = server.start();
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
        const { code, err } = await gatewaysCli([...args, '--allow-plaintext-keys'], laptopEnv());
        expect(code, err).toBe(0);
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
