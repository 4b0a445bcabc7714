import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { loadClawdeskIdentity } from '../../gateway/identity/clawdesk-identity';
import { pinnedCertificateVerifier } from '../../gateway/remote/tls-pin';
import { localGatewayTlsFingerprint } from '../../gateway/server/gateway-tls';
import { ApprovalQueue } from '../../main/approval-queue';
import { GatewayController, type GatewayControllerOptions } from '../../main/gateway-controller';
import { MessageBoxPresenter } from '../../main/message-box-presenter';
import { NativeApprover } from '../../main/native-approver';
import { FakeDialog, waitFor } from './fakes';
import { freePort } from '../helpers/free-port';

const TOKEN = 'controller-test-token-0123456789';
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

function controller(
  port: number,
  dialog: FakeDialog,
  extra: {
    stateDir?: string;
    loadIdentity?: ConstructorParameters<typeof GatewayController>[0]['loadIdentity'];
    promptTimeoutMs?: number;
    tls?: GatewayControllerOptions['tls'];
    tlsProblem?: string;
  } = {},
) {
  // Instant answers: the box's too-fast check is tested in test/main/message-box-presenter.test.ts.
  const queue = new ApprovalQueue({
    presenter: new MessageBoxPresenter(dialog.api, { minDecisionMs: 0 }),
    blocker: () => undefined,
    fallback: () => null,
  });
  const logs: string[] = [];
  const c = new GatewayController({
    port,
    stateDir: extra.stateDir ?? mkdtempSync(path.join(os.tmpdir(), 'clawdesk-ctl-')),
    loadIdentity: extra.loadIdentity,
    token: TOKEN,
    approver: new NativeApprover(queue),
    probeTimeoutMs: 1000,
    promptTimeoutMs: extra.promptTimeoutMs,
    ...(extra.tls ? { tls: extra.tls } : {}),
    ...(extra.tlsProblem ? { tlsProblem: extra.tlsProblem } : {}),
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  cleanups.push(() => c.stop());
  return { c, queue, logs };
}

function askApproval(requester: GatewaySession, command: string) {
  return requester.request(
    'exec.approval.request',
    {
      command,
      cwd: '/tmp',
      host: 'gateway',
      security: 'allowlist',
      ask: 'on-miss',
      agentId: 'main',
      timeoutMs: 60_000,
      twoPhase: true,
    },
    { expectFinal: true, timeoutMs: 30_000 },
  );
}

describe('GatewayController against real gateways', () => {
  it('embeds on a free port, runs the node and asks through the native dialog', async () => {
    const port = await freePort();
    const dialog = new FakeDialog();
    const { c } = controller(port, dialog);
    await c.start();
    expect(c.status()).toMatchObject({ state: 'running', port, owner: { kind: 'clawdesk' } });
    expect(c.session()).toBeDefined();

    const requester = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: TOKEN,
      scopes: ['operator.admin'],
      displayName: 'agent',
    });
    cleanups.push(() => requester.close());
    const nodes = await requester.request('node.list', {});
    expect(nodes.nodes.some((n) => n.displayName === 'Clawdesk' && n.connected)).toBe(true);

    const first = askApproval(requester, 'git push origin main');
    const box = await dialog.box(0);
    expect(box.options.detail).toContain('git push origin main');
    box.answer(0);
    expect((await first).decision).toBe('allow-once');

    // Resolved elsewhere: the dialog closes on its own.
    const second = askApproval(requester, 'make deploy');
    const secondBox = await dialog.box(1);
    // Another client answers first: a paired device (a device-less one holding the agent's own token may not decide
    // the agent's request, issue 9 finding 4).
    const other = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: TOKEN,
      device: createEphemeralDeviceSigner(),
      scopes: ['operator.admin', 'operator.approvals'],
      displayName: 'other approver',
    });
    cleanups.push(() => other.close());
    const list = await other.request('exec.approval.list', {});
    await other.request('exec.approval.resolve', { id: list[0].id, decision: 'deny' });
    expect((await second).decision).toBe('deny');
    await waitFor(() => secondBox.closedBySignal);
  });

  it('the embedded gateway ends an unanswered request just after the prompt window, whatever the requester asks', async () => {
    const port = await freePort();
    const { c } = controller(port, new FakeDialog(), { promptTimeoutMs: 1_000 });
    await c.start();
    const requester = await connectGateway({ url: `ws://127.0.0.1:${port}`, token: TOKEN, scopes: ['operator.admin'] });
    cleanups.push(() => requester.close());
    let interim: { createdAtMs: number; expiresAtMs: number } | undefined;
    // OpenClaw's agent asks for 30 min; nobody answers the dialog here.
    void requester
      .request(
        'exec.approval.request',
        { command: 'sleep 1', cwd: '/tmp', host: 'gateway', ask: 'always', timeoutMs: 30 * 60_000, twoPhase: true },
        { expectFinal: true, onInterim: (p: any) => (interim = p), timeoutMs: 30_000 },
      )
      .catch(() => undefined);
    await waitFor(() => interim !== undefined);
    expect(interim!.expiresAtMs - interim!.createdAtMs).toBe(6_000);
  });

  it('attaches to a gateway that already owns the port, never fights for it, and names the owner', async () => {
    const port = await freePort();
    const owner = controller(port, new FakeDialog());
    await owner.c.start();
    const dialog = new FakeDialog();
    const second = controller(port, dialog);
    await second.c.start();
    const status = second.c.status();
    expect(status.state).toBe('attached');
    expect(status.handOver).toMatch(/never stops it/);
    if (process.platform === 'linux') expect(status.owner).toMatchObject({ kind: 'other-process', pid: process.pid });
    // The attached app is an approval client: it gets the prompt too.
    const requester = await connectGateway({ url: `ws://127.0.0.1:${port}`, token: TOKEN, scopes: ['operator.admin'] });
    cleanups.push(() => requester.close());
    const pending = askApproval(requester, 'ls -la');
    const box = await dialog.box(0);
    box.answer(box.options.cancelId!);
    expect((await pending).decision).toBe('deny');
    // Stopping the attached app leaves the owner's gateway running.
    await second.c.stop();
    expect(owner.c.status().state).toBe('running');
  });

  it('gateway.tls: serves wss:// and every client pins it; a second app attaches over wss://; no pin, no trust', async () => {
    const port = await freePort();
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-ctl-tls-'));
    const tls = { autoGenerate: true, source: 'config gateway.tls' };
    const dialog = new FakeDialog();
    const { c, logs } = controller(port, dialog, { stateDir, tls });
    await c.start();
    expect(c.status(), logs.join('\n')).toMatchObject({ state: 'running', url: `wss://127.0.0.1:${port}` });
    expect(c.session()).toBeDefined();

    // What the local CLI pins (gateway/node-host/gateway-target.ts): the certificate generated in the state dir.
    const pin = await localGatewayTlsFingerprint(stateDir, { enabled: true });
    expect(pin).toMatch(/^[0-9a-f]{64}$/);
    const requester = await connectGateway({
      url: `wss://127.0.0.1:${port}`,
      token: TOKEN,
      scopes: ['operator.admin'],
      verifyServerCertificate: pinnedCertificateVerifier('127.0.0.1', pin!),
    });
    cleanups.push(() => requester.close());
    const nodes = await requester.request('node.list', {});
    expect(nodes.nodes.some((n) => n.displayName === 'Clawdesk' && n.connected)).toBe(true);
    const pending = askApproval(requester, 'uname -a');
    const box = await dialog.box(0);
    box.answer(0);
    expect((await pending).decision).toBe('allow-once');
    await expect(
      connectGateway({ url: `ws://127.0.0.1:${port}`, token: TOKEN, connectTimeoutMs: 3_000 }),
    ).rejects.toThrow();

    // The same state dir: the gateway on the port is recognised by its certificate and attached to over wss://.
    const second = controller(port, new FakeDialog(), { stateDir, tls });
    await second.c.start();
    expect(second.c.status()).toMatchObject({ state: 'attached', url: `wss://127.0.0.1:${port}` });
    expect(second.c.session()).toBeDefined();

    // Another state dir has no certificate to pin: whatever answers on the port is not trusted.
    const stranger = controller(port, new FakeDialog(), { tls });
    await stranger.c.start();
    expect(stranger.c.status().state).toBe('error');
    expect(stranger.c.status().error).toMatch(/no certificate in the state dir to pin/);
    expect(stranger.c.session()).toBeUndefined();
  });

  it('a malformed gateway.tls: error state with the reason and the fix, nothing listening', async () => {
    const port = await freePort();
    const { c } = controller(port, new FakeDialog(), {
      tlsProblem: 'gateway.tls.enabled must be true or false, got "yes"',
    });
    await c.start();
    expect(c.status()).toMatchObject({ state: 'error', error: expect.stringContaining('gateway.tls.enabled') });
    expect(c.status().fix).toMatch(/Correct gateway.tls in openclaw.json/);
    await expect(
      connectGateway({ url: `ws://127.0.0.1:${port}`, token: TOKEN, connectTimeoutMs: 2_000 }),
    ).rejects.toThrow();
  });

  it('an unknown service on the port: error state with the reason, nothing started', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.write('SSH-2.0-OpenSSH_9.6\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const { c } = controller((server.address() as net.AddressInfo).port, new FakeDialog());
    await c.start();
    expect(c.status().state).toBe('error');
    expect(c.status().error).toMatch(/in use by/);
    expect(c.session()).toBeUndefined();
  });

  it('reloadIdentity picks up a changed storage decision; plain restarts keep the deviceId', async () => {
    const port = await freePort();
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-ctl-'));
    const dataDir = path.join(stateDir, 'clawdesk');
    // No keychain and no safeStorage (a Linux desktop without a keyring); the user's decision is this flag.
    let acceptedKeyFile = false;
    const loadIdentity = () =>
      loadClawdeskIdentity({
        dataDir,
        keytar: null,
        whenUnavailable: 'ephemeral',
        allowPlaintextFallback: acceptedKeyFile,
      });
    const { c } = controller(port, new FakeDialog(), { stateDir, loadIdentity });
    await c.start();
    const ephemeral = c.identityStatus()!;
    expect(ephemeral.persistence).toBe('ephemeral');
    await c.restart();
    expect(c.identityStatus()!.deviceId).toBe(ephemeral.deviceId);

    acceptedKeyFile = true;
    await c.restart();
    // A plain restart does not re-decide: the identity (and its deviceId) stays until reloadIdentity.
    expect(c.identityStatus()).toEqual(ephemeral);
    await c.reloadIdentity();
    const persisted = c.identityStatus()!;
    expect(persisted.persistence).toBe('plaintext-file');
    expect(persisted.deviceId).not.toBe(ephemeral.deviceId);
    expect(c.status().state).toBe('running');

    // The node is back, presenting the reloaded identity.
    const requester = await connectGateway({ url: `ws://127.0.0.1:${port}`, token: TOKEN, scopes: ['operator.admin'] });
    cleanups.push(() => requester.close());
    const nodes = await requester.request('node.list', {});
    expect(nodes.nodes.filter((n) => n.connected).map((n) => n.nodeId)).toEqual([persisted.deviceId]);

    await c.restart();
    expect(c.identityStatus()!.deviceId).toBe(persisted.deviceId);

    // Reloading while stopped stays stopped; the same key file gives the same device.
    await c.stop();
    await c.reloadIdentity();
    expect(c.status().state).toBe('stopped');
    expect(c.identityStatus()).toEqual(persisted);
  });
});
