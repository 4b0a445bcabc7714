import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecModules, type ExecModules } from '../../gateway/approvals/exec-modules';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import {
  RemoteGatewayService,
  type ApprovalOrigin,
  type RemoteGatewayStatus,
} from '../../gateway/remote/remote-gateway-service';
import { validateNewGateway } from '../../gateway/remote/saved-gateways';
import { agentFlow } from '../approvals/exec-harness';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';
import { waitFor } from '../helpers/cli-io';
import {
  disposeCertificate,
  makeSelfSignedCertificate,
  startTlsFront,
  type TestCertificate,
  type TlsFront,
} from './helpers/tls';

/**
 * The service on one machine: a real Clawdesk gateway (with the exec modules) behind a real TLS server, and the
 * approval client and the runner connecting to it by wss:// with a pin. The cross-machine cases are in
 * test/remote/netns/.
 */
describe('RemoteGatewayService', () => {
  let root: string;
  let gateway: TestGateway;
  let exec: ExecModules;
  let cert: TestCertificate;
  let front: TlsFront;
  let service: RemoteGatewayService;
  let agent: GatewaySession;
  const identity = createEphemeralDeviceSigner();
  const origins: ApprovalOrigin[] = [];
  const storedTokens: Array<{ key: string; role: string }> = [];

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-remote-svc-'));
    mkdirSync(path.join(root, 'laptop'), { recursive: true });
    exec = createExecModules({ home: path.join(root, 'home') });
    exec.approveNodeSilently(identity.deviceId);
    gateway = await startTestGateway({ stateDir: path.join(root, 'server'), modules: exec.modules });
    cert = makeSelfSignedCertificate();
    front = await startTlsFront(cert, gateway.port);
    const url = `wss://127.0.0.1:${front.port}`;
    const wrong = makeSelfSignedCertificate();
    const entries = [
      validateNewGateway(
        { name: 'home', url, tlsFingerprint: cert.fingerprint, auth: 'token', secret: 'test-token', runner: true },
        {},
      ),
      validateNewGateway({ name: 'impostor', url, tlsFingerprint: wrong.fingerprint, auth: 'token', secret: 'x' }, {}),
      // Saved while the opt-in was set, connected without it: refused at connect too.
      validateNewGateway(
        { name: 'lan', url: 'ws://10.0.0.9:18789', auth: 'none' },
        { OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: '1' },
      ),
    ];
    disposeCertificate(wrong);
    service = new RemoteGatewayService({
      identity,
      stateDir: path.join(root, 'laptop'),
      env: {},
      approver: {
        canPresent: () => true,
        present: async (_event, _signal, origin) => {
          origins.push(origin);
          return 'allow-once';
        },
      },
      deviceTokens: {
        getDeviceToken: async () => null,
        setDeviceToken: async (key, role) => void storedTokens.push({ key, role }),
      },
      reconnect: { initialBackoffMs: 100, maxBackoffMs: 1000 },
    });
    service.start([
      { gateway: entries[0], primary: true, secret: 'test-token' },
      { gateway: entries[1], primary: false, secret: 'x' },
      { gateway: entries[2], primary: false },
    ]);
    agent = await connectGateway({
      url: gateway.url,
      token: 'test-token',
      device: createEphemeralDeviceSigner(),
      scopes: ['operator.write', 'operator.approvals'],
    });
  });
  afterAll(async () => {
    await agent?.close();
    await service?.stop();
    await front?.close();
    await gateway?.dispose();
    if (cert) disposeCertificate(cert);
    rmSync(root, { recursive: true, force: true });
  });

  const state = (name: string) => service.status(name) as RemoteGatewayStatus;

  it('connects the approval client and the enabled runner through the pinned wss:// gateway', async () => {
    await waitFor(() => state('home').state === 'connected', 60_000, 'home connected');
    expect(state('home')).toMatchObject({
      primary: true,
      approvals: { state: 'connected' },
      runner: { state: 'connected' },
    });
    expect(state('home').address).toBe(`wss://127.0.0.1:${front.port}`);
  });

  it('a wrong pin is a hard stop (pin-mismatch), never retried into a connection', async () => {
    await waitFor(() => state('impostor').state === 'pin-mismatch', 60_000, 'impostor refused');
    expect(state('impostor').approvals.detail).toMatch(/does not match the pinned one/);
    expect(state('impostor').runner).toEqual({ state: 'disabled' });
  });

  it('plaintext ws:// to another host is refused without the opt-in', async () => {
    await waitFor(() => state('lan').state === 'refused', 30_000, 'lan refused');
    expect(state('lan').approvals.detail).toMatch(/refusing plaintext ws:\/\/ to 10\.0\.0\.9:18789/);
  });

  it('an exec on the runner is approved through the prompt, which names the gateway it came from', async () => {
    await waitFor(() => state('home').state === 'connected', 60_000, 'home connected');
    const flow = await agentFlow(agent, identity.deviceId, ['/bin/echo', 'from-remote'], { ask: 'always' });
    expect(flow.approval.decision).toBe('allow-once');
    expect(origins.at(-1)).toEqual({ gateway: 'home', address: `wss://127.0.0.1:${front.port}` });
    const result = await flow.run();
    expect(result.payload).toMatchObject({ exitCode: 0, success: true });
    expect(result.payload.stdout).toContain('from-remote');
  });

  it('device tokens are filed under the gateway that issued them only', () => {
    expect(storedTokens.length).toBeGreaterThan(0);
    expect(storedTokens.every((t) => t.key === `wss://127.0.0.1:${front.port}`)).toBe(true);
  });
});
