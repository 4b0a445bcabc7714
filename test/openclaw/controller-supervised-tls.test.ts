import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { loadOrCreateFileIdentity } from '../../gateway/node-host/file-identity';
import type { OpenclawInstall } from '../../gateway/openclaw/install';
import { pinnedCertificateVerifier } from '../../gateway/remote/tls-pin';
import { localGatewayTlsFingerprint } from '../../gateway/server/gateway-tls';
import { ApprovalQueue } from '../../main/approval-queue';
import { GatewayController } from '../../main/gateway-controller';
import { MessageBoxPresenter } from '../../main/message-box-presenter';
import { NativeApprover } from '../../main/native-approver';
import { FakeDialog } from '../main/fakes';
import { freePort } from '../helpers/free-port';
import type { OpenclawEnvironment } from '../interop/openclaw-harness';
import { cachedInstall, cleanup, isolatedEnv, tempDir, until } from './openclaw-fixture';

/**
 * The app supervising the real openclaw@2026.9.6 with `gateway.tls.enabled`: OpenClaw generates its certificate in
 * its state dir and serves only wss://. Clawdesk's supervisor, runner, approver and operator must all reach it over
 * wss:// pinned to that certificate (before this, they dialled ws:// and never came up).
 */

const TOKEN = 'controller-supervised-tls-token-0123456789';
let install: OpenclawInstall;

beforeAll(() => {
  install = cachedInstall();
});
afterAll(async () => {
  await cleanup();
});

describe('GatewayController, OpenClaw (supervised) with gateway.tls, real package', { timeout: 400_000 }, () => {
  let environment: OpenclawEnvironment;
  let port: number;
  let controller: GatewayController;
  let dialog: FakeDialog;
  const sessions: GatewaySession[] = [];

  beforeAll(async () => {
    port = await freePort();
    environment = isolatedEnv(port, TOKEN, (config) => {
      config.gateway.tls = { enabled: true };
    });
    dialog = new FakeDialog();
    const queue = new ApprovalQueue({
      presenter: new MessageBoxPresenter(dialog.api, { minDecisionMs: 0 }),
      blocker: () => undefined,
      fallback: () => null,
    });
    const identityFile = path.join(tempDir('ctl-tls-identity'), 'device.json');
    controller = new GatewayController({
      port,
      mode: 'openclaw-supervised',
      stateDir: environment.stateDir,
      token: TOKEN,
      approver: new NativeApprover(queue),
      loadIdentity: async () => ({
        signer: await loadOrCreateFileIdentity(identityFile),
        persistence: 'plaintext-file',
      }),
      openclaw: {
        locate: () => ({ ok: true, install }),
        env: environment.env,
        logFile: path.join(tempDir('ctl-tls-log'), 'openclaw-gateway.log'),
        supervisor: { readyTimeoutMs: 300_000 },
      },
      log: () => undefined,
    });
  });

  afterAll(async () => {
    for (const s of sessions) await s.close().catch(() => undefined);
    await controller?.stop();
  });

  const operator = async (url: string, verify?: ReturnType<typeof pinnedCertificateVerifier>) => {
    const session = await connectGateway({
      url,
      token: TOKEN,
      clientId: 'gateway-client',
      clientMode: 'backend',
      scopes: ['operator.admin', 'operator.approvals'],
      connectTimeoutMs: 10_000,
      ...(verify ? { verifyServerCertificate: verify } : {}),
    });
    sessions.push(session);
    return session;
  };

  it('starts OpenClaw serving wss:// and attaches runner, approver and operator pinned to its own certificate', async () => {
    await controller.start();
    expect(controller.status(), controller.logTail()).toMatchObject({
      state: 'running',
      mode: 'openclaw-supervised',
      url: `wss://127.0.0.1:${port}`,
    });
    // OpenClaw wrote the certificate on its first start; nothing of Clawdesk's generated it.
    const pin = await localGatewayTlsFingerprint(environment.stateDir, { enabled: true });
    expect(pin).toMatch(/^[0-9a-f]{64}$/);
    await until('runner and approver connected over wss://', () => {
      const states = controller.clientStates();
      return states.node === 'connected' && states.approver === 'connected';
    });
    expect(controller.session()).toBeDefined();
  });

  it('plaintext ws:// to the port gets nowhere, and a wss:// client pinned to another certificate is refused', async () => {
    await expect(operator(`ws://127.0.0.1:${port}`)).rejects.toThrow();
    const wrong = pinnedCertificateVerifier('127.0.0.1', 'ab'.repeat(32));
    await expect(operator(`wss://127.0.0.1:${port}`, wrong)).rejects.toThrow(/certificate/i);
  });

  it('an approval asked through OpenClaw over wss:// reaches the native dialog and its answer goes back', async () => {
    const pin = (await localGatewayTlsFingerprint(environment.stateDir, { enabled: true }))!;
    const requester = await operator(`wss://127.0.0.1:${port}`, pinnedCertificateVerifier('127.0.0.1', pin));
    const pending = requester.request(
      'exec.approval.request',
      {
        command: 'uname -a',
        cwd: '/tmp',
        host: 'gateway',
        security: 'allowlist',
        ask: 'always',
        agentId: 'main',
        sessionKey: 'agent:main:main',
        timeoutMs: 120_000,
        twoPhase: true,
      },
      { expectFinal: true, timeoutMs: 130_000 },
    );
    const box = await dialog.box(0);
    expect(box.options.detail).toContain('uname -a');
    box.answer(0);
    expect((await pending).decision).toBe('allow-once');
  });
});
