import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { loadOrCreateFileIdentity } from '../../gateway/node-host/file-identity';
import type { OpenclawInstall } from '../../gateway/openclaw/install';
import { probeGatewayPort } from '../../gateway/openclaw/port-owner';
import { ApprovalQueue } from '../../main/approval-queue';
import { GatewayController } from '../../main/gateway-controller';
import { MessageBoxPresenter } from '../../main/message-box-presenter';
import { NativeApprover } from '../../main/native-approver';
import { FakeDialog } from '../main/fakes';
import { freePort } from '../helpers/free-port';
import type { OpenclawEnvironment } from '../interop/openclaw-harness';
import { alive, cachedInstall, cleanup, isolatedEnv, tempDir, until } from './openclaw-fixture';

/**
 * The app's GatewayController in mode "OpenClaw (supervised)" against the real openclaw@2026.9.6 on Node 26: it
 * starts OpenClaw's gateway, attaches Clawdesk's runner, approver (the native dialog, faked) and operator session,
 * follows a kill -9 through the restart, and stops only what it started. One child serves the tests in order.
 */

const TOKEN = 'controller-supervised-token-0123456789';
let install: OpenclawInstall;

beforeAll(() => {
  install = cachedInstall();
});
afterAll(async () => {
  await cleanup();
});

// OpenClaw's cold start takes 10-30 s here alone, minutes when the two cores are shared.
describe('GatewayController, OpenClaw (supervised), real package', { timeout: 400_000 }, () => {
  let environment: OpenclawEnvironment;
  let port: number;
  let controller: GatewayController;
  let dialog: FakeDialog;
  let logFile: string;
  const sessions: GatewaySession[] = [];

  beforeAll(async () => {
    port = await freePort();
    environment = isolatedEnv(port, TOKEN);
    dialog = new FakeDialog();
    const queue = new ApprovalQueue({
      presenter: new MessageBoxPresenter(dialog.api, { minDecisionMs: 0 }),
      blocker: () => undefined,
      fallback: () => null,
    });
    logFile = path.join(tempDir('ctl-log'), 'openclaw-gateway.log');
    const identityFile = path.join(tempDir('ctl-identity'), 'device.json');
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
        logFile,
        supervisor: { restart: { initialDelayMs: 500 }, readyTimeoutMs: 300_000 },
      },
      log: () => undefined,
    });
  });

  afterAll(async () => {
    for (const s of sessions) await s.close().catch(() => undefined);
    await controller?.stop();
  });

  const operator = async () => {
    const session = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: TOKEN,
      clientId: 'gateway-client',
      clientMode: 'backend',
      scopes: ['operator.admin', 'operator.approvals'],
      connectTimeoutMs: 10_000,
    });
    sessions.push(session);
    return session;
  };

  const requestApproval = (requester: GatewaySession, command: string) =>
    requester.request(
      'exec.approval.request',
      {
        command,
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

  it('starts OpenClaw as its child and attaches runner, approver and operator', async () => {
    await controller.start();
    const status = controller.status();
    expect(status).toMatchObject({
      state: 'running',
      mode: 'openclaw-supervised',
      modeLabel: 'OpenClaw (supervised)',
      startedByClawdesk: true,
      owner: { kind: 'clawdesk' },
      logFile,
    });
    expect(status.owner.pid).toBe(controller.supervisorStatus()?.pid);
    expect(alive(status.owner.pid)).toBe(true);
    expect(controller.session()).toBeDefined();
    expect(controller.logTail()).toContain('state running');
  });

  it('an approval asked through OpenClaw reaches the native dialog and its answer goes back', async () => {
    const requester = await operator();
    const pending = requestApproval(requester, 'uname -a');
    const box = await dialog.box(0);
    expect(box.options.detail).toContain('uname -a');
    box.answer(0);
    expect((await pending).decision).toBe('allow-once');
  });

  it('kill -9 with an approval pending: OpenClaw closes it (cancelled, gateway-restart), the prompt is withdrawn, and once Clawdesk is back a new request is prompted and answered', async () => {
    const requester = await operator();
    const shown = dialog.shown.length;
    void requestApproval(requester, 'make deploy').catch(() => undefined);
    const box = await dialog.box(shown);
    const pendingList = await requester.request('exec.approval.list', {});
    expect(pendingList).toHaveLength(1);
    const orphanId = pendingList[0].id;

    const oldPid = controller.supervisorStatus()!.pid!;
    process.kill(oldPid, 'SIGKILL');
    await until('the controller to see the restart', () => controller.status().state === 'starting', 30_000, 20);
    await until('a new child serving', () => controller.status().state === 'running', 180_000, 100);
    expect(controller.status().owner.pid).not.toBe(oldPid);
    expect(alive(oldPid)).toBe(false);

    // Fail closed and recorded: the orphan is no longer pending, and OpenClaw says why.
    const after = await operator();
    expect(await after.request('exec.approval.list', {})).toEqual([]);
    const orphan = await after.request('approval.get', { id: orphanId });
    expect(orphan.approval ?? orphan).toMatchObject({ id: orphanId, status: 'cancelled', reason: 'gateway-restart' });
    // The person is not left answering a request that no longer exists.
    await until('the orphan prompt to close', () => box.closedBySignal, 60_000, 50);

    // OpenClaw answers a request with no approval client connected at once (decision null): wait for Clawdesk.
    await until('the operator session back', () => controller.session(), 120_000, 100);
    await until('Clawdesk’s approver back', () => controller.clientStates().approver === 'connected', 120_000, 100);
    const next = requestApproval(after, 'git status');
    const nextBox = await dialog.box(shown + 1);
    expect(nextBox.options.detail).toContain('git status');
    nextBox.answer(0);
    expect((await next).decision).toBe('allow-once');
    await until('the operator session back', () => controller.session(), 60_000, 100);
  });

  it('stop (quit) stops the child it started and frees the port', async () => {
    const pid = controller.status().owner.pid;
    await controller.stop();
    expect(controller.status().state).toBe('stopped');
    expect(alive(pid)).toBe(false);
    expect(await probeGatewayPort(port)).toEqual({ kind: 'free' });
  });
});

describe(
  'GatewayController, OpenClaw (supervised), with an OpenClaw gateway already running',
  { timeout: 400_000 },
  () => {
    it('attaches instead of starting a second child, names the owner, and quit leaves it running', async () => {
      const port = await freePort();
      const environment = isolatedEnv(port, TOKEN);
      const owner = new GatewayController({
        port,
        mode: 'openclaw-supervised',
        stateDir: environment.stateDir,
        token: TOKEN,
        approver: { canPresent: () => false, present: async () => null },
        openclaw: {
          locate: () => ({ ok: true, install }),
          env: environment.env,
          logFile: path.join(tempDir('owner-log'), 'gw.log'),
          supervisor: { readyTimeoutMs: 300_000 },
        },
        log: () => undefined,
      });
      try {
        await owner.start();
        expect(owner.status().state).toBe('running');
        const ownerPid = owner.status().owner.pid;
        const second = new GatewayController({
          port,
          mode: 'openclaw-supervised',
          stateDir: environment.stateDir,
          token: TOKEN,
          approver: { canPresent: () => false, present: async () => null },
          openclaw: {
            locate: () => ({ ok: true, install }),
            env: environment.env,
            logFile: path.join(tempDir('second-log'), 'gw.log'),
            supervisor: { readyTimeoutMs: 300_000 },
          },
          log: () => undefined,
        });
        await second.start();
        expect(second.status()).toMatchObject({
          state: 'attached',
          mode: 'openclaw-supervised',
          startedByClawdesk: false,
          owner: { kind: 'other-process', pid: ownerPid },
        });
        expect(second.supervisorStatus()?.pid).toBe(ownerPid);
        await second.stop();
        expect(alive(ownerPid)).toBe(true);
        expect((await probeGatewayPort(port)).kind).toBe('openclaw');
      } finally {
        await owner.stop();
      }
    });
  },
);
