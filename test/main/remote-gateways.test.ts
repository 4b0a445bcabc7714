import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalHistoryEntry, ApprovalPromptView, Decision, InvokeApi } from '../../common/ipc-contract';
import { createExecModules, type ExecModules } from '../../gateway/approvals/exec-modules';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { loadClawdeskIdentity, type ClawdeskIdentity } from '../../gateway/identity/clawdesk-identity';
import type { RemoteGatewayStatus } from '../../gateway/remote/remote-gateway-service';
import { gatewaySecretName, SAVED_GATEWAYS_FILE } from '../../gateway/remote/saved-gateways';
import { formatTlsFingerprint } from '../../gateway/remote/transport-policy';
import { openSecretStore } from '../../gateway/secrets/secret-store';
import { ApprovalQueue } from '../../main/approval-queue';
import { toMessageBoxOptions } from '../../main/approval-prompt-text';
import { DONT_TRUST, TRUST_CERTIFICATE } from '../../main/certificate-trust-dialog';
import { DashboardService } from '../../main/dashboard-service';
import { registerIpcHandlers, type IpcRejectedError } from '../../main/ipc/ipc-router';
import { createMainTranslator } from '../../main/main-i18n';
import { NativeApprover } from '../../main/native-approver';
import { remoteGatewayView, setupRemoteGateways, type RemoteGateways } from '../../main/remote-gateways';
import { trayMenu, trayTooltip, type TrayActions, type TrayInputs } from '../../main/tray-model';
import { agentFlow } from '../approvals/exec-harness';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';
import {
  disposeCertificate,
  makeSelfSignedCertificate,
  startTlsFront,
  type TestCertificate,
  type TlsFront,
} from '../remote/helpers/tls';
import { FakeDialog, FakeIpcMain, senderEvent, waitFor } from './fakes';

/**
 * The app's side of gateways on other machines, against real gateways on loopback: a real Clawdesk gateway behind a
 * real TLS server (wss:// with a self-signed certificate made by openssl), the app's own approval queue and
 * NativeApprover, its real vault and device identity in a temp dir, and the trust dialog through a fake
 * dialog.showMessageBox typed against Electron's.
 */

const SECRET = 'test-token';

/** A presenter standing in for the prompt window: it records each view and answers when the test says. */
class TestPresenter {
  readonly shown: ApprovalPromptView[] = [];
  private answers: Array<(decision: Decision) => void> = [];
  present(view: ApprovalPromptView, signal: AbortSignal): Promise<Decision> {
    this.shown.push(view);
    return new Promise((resolve) => {
      this.answers.push(resolve);
      // Closed because the request ended elsewhere: the window goes away, as the real presenter's does.
      signal.addEventListener('abort', () => {
        this.answers = this.answers.filter((a) => a !== resolve);
        resolve('deny');
      });
    });
  }
  answer(decision: Decision): void {
    this.answers.shift()?.(decision);
  }
}

describe('the app and gateways on other machines', () => {
  let root: string;
  let dataDir: string;
  let gateway: TestGateway;
  let exec: ExecModules;
  let cert: TestCertificate;
  let front: TlsFront;
  let url: string;
  let identity: ClawdeskIdentity;
  let agent: GatewaySession;
  let remote: RemoteGateways;
  let changes = 0;
  const dialog = new FakeDialog();
  /** Stands in for the dashboard window the gateway is added from. */
  const dashboardWindow = { id: 'dashboard' } as unknown as Electron.BaseWindow;
  const presenter = new TestPresenter();
  const history: ApprovalHistoryEntry[] = [];
  const queue = new ApprovalQueue({ presenter, blocker: () => undefined, fallback: () => null });
  const gatewaysFile = () => path.join(dataDir, SAVED_GATEWAYS_FILE);
  const status = (name: string) => remote.statuses().find((s) => s.name === name) as RemoteGatewayStatus;

  beforeAll(async () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-app-remote-'));
    dataDir = path.join(root, 'laptop', 'clawdesk');
    mkdirSync(dataDir, { recursive: true });
    // The app's real identity and vault (no keychain here: the person's accepted key file).
    identity = await loadClawdeskIdentity({
      dataDir,
      keytar: null,
      allowPlaintextFallback: true,
      whenUnavailable: 'fail',
    });
    exec = createExecModules({ home: path.join(root, 'home') });
    exec.approveNodeSilently(identity.signer.deviceId);
    gateway = await startTestGateway({ stateDir: path.join(root, 'server'), modules: exec.modules });
    cert = makeSelfSignedCertificate();
    front = await startTlsFront(cert, gateway.port);
    url = `wss://127.0.0.1:${front.port}`;
    remote = setupRemoteGateways({
      dataDir,
      stateDir: path.join(root, 'laptop'),
      configPath: path.join(root, 'laptop', 'openclaw.json'),
      env: {},
      openSecrets: () => openSecretStore({ dir: dataDir, keytar: null, allowPlaintextFallback: true }),
      identity: async () => identity,
      approver: new NativeApprover(queue),
      recordHistory: (entry) => void history.push(entry),
      dialog: dialog.api,
      parentWindow: () => dashboardWindow,
      onChange: () => void changes++,
      log: () => undefined,
      reconnect: { initialBackoffMs: 100, maxBackoffMs: 1000 },
      networkChanges: false,
    });
    await remote.start();
    agent = await connectGateway({
      url: gateway.url,
      token: SECRET,
      device: createEphemeralDeviceSigner(),
      scopes: ['operator.write', 'operator.approvals'],
    });
  });
  afterAll(async () => {
    await agent?.close();
    await remote?.stop();
    await front?.close();
    await gateway?.dispose();
    if (cert) disposeCertificate(cert);
    rmSync(root, { recursive: true, force: true });
  });

  const addHome = () => remote.add({ name: 'home', url, auth: 'token', secret: SECRET, runner: true });

  it('trust on first use: the native dialog shows the certificate; Don’t trust (the default) pins nothing', async () => {
    const adding = addHome();
    const box = await dialog.box(0);
    expect(box.options.buttons).toEqual([DONT_TRUST, TRUST_CERTIFICATE]);
    // Modal to the dashboard it was started from, never a free-floating box behind it.
    expect(box.parent).toBe(dashboardWindow);
    expect(box.options.defaultId).toBe(0);
    expect(box.options.cancelId).toBe(0);
    expect(box.options.detail).toContain(formatTlsFingerprint(cert.fingerprint));
    expect(box.options.detail).toContain('Subject: CN=127.0.0.1');
    expect(box.options.detail).toMatch(/Valid: .+ – .+/);
    expect(box.options.detail).toMatch(/Trusted by this system: no/);
    box.answer(box.options.defaultId!);
    const result = await adding;
    expect(result).toMatchObject({ saved: false, reason: 'not-trusted' });
    expect(existsSync(gatewaysFile())).toBe(false);
    expect(remote.statuses()).toEqual([]);
  });

  it('closing the dialog (Esc, the window’s close button) is the cancel action: nothing is pinned', async () => {
    const adding = addHome();
    const box = await dialog.box(1);
    box.cancel();
    expect(await adding).toMatchObject({ saved: false, reason: 'not-trusted' });
    expect(existsSync(gatewaysFile())).toBe(false);
  });

  it('“Trust this certificate” pins exactly the fingerprint shown; the secret goes to the vault only', async () => {
    const adding = addHome();
    const box = await dialog.box(2);
    box.answer(box.options.buttons!.indexOf(TRUST_CERTIFICATE));
    const result = await adding;
    expect(result.saved).toBe(true);
    const file = readFileSync(gatewaysFile(), 'utf8');
    expect(JSON.parse(file).gateways[0]).toMatchObject({
      name: 'home',
      tlsFingerprint: cert.fingerprint,
      runner: true,
    });
    expect(file).not.toContain(SECRET);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    const vault = await openSecretStore({ dir: dataDir, keytar: null, allowPlaintextFallback: true });
    expect(await vault.get(gatewaySecretName('home', 'token'))).toBe(SECRET);
    await waitFor(() => status('home')?.state === 'connected', 'home connected', 60_000);
    expect(changes).toBeGreaterThan(0);
  });

  it('a remote request reaches the app’s queue with its gateway; the person’s answer goes back to that gateway', async () => {
    await waitFor(() => status('home')?.state === 'connected', 'home connected', 60_000);
    const flowing = agentFlow(agent, identity.signer.deviceId, ['/bin/echo', 'from-the-laptop'], { ask: 'always' });
    await waitFor(() => presenter.shown.length === 1, 'the prompt', 30_000);
    const view = presenter.shown[0];
    expect(view.origin).toEqual({ gateway: 'home', address: url });
    expect(view.title).toBe('Allow this command from the gateway "home"?');
    expect(view.promptId).toMatch(/^gateway:home:/);
    // The gateway row stands apart from the request's own Host row, in the message box too.
    expect(view.context.find((l) => l.label === 'Host')?.text).toMatch(/^node /);
    expect(toMessageBoxOptions(view).detail!.split('\n')[0]).toBe(`From the gateway: home (${url})`);
    expect(queue.pending().map((v) => v.promptId)).toEqual([view.promptId]);
    presenter.answer('allow-once');
    const flow = await flowing;
    expect(flow.approval.decision).toBe('allow-once');
    const run = await flow.run();
    expect(run.payload.stdout).toContain('from-the-laptop');
    expect(history.at(-1)).toMatchObject({ decision: 'allow-once', decidedBy: 'you', gateway: `home (${url})` });
  });

  it('a denial goes back the same way', async () => {
    const flowing = agentFlow(agent, identity.signer.deviceId, ['/bin/echo', 'nope'], { ask: 'always' });
    await waitFor(() => presenter.shown.length === 2, 'the second prompt', 30_000);
    presenter.answer('deny');
    expect((await flowing).approval.decision).toBe('deny');
    expect(history.at(-1)).toMatchObject({ decision: 'deny', decidedBy: 'you' });
  });

  it('answered elsewhere (another approver on that gateway): the app’s prompt closes, nothing is decided here', async () => {
    const flowing = agentFlow(agent, identity.signer.deviceId, ['/bin/echo', 'elsewhere'], { ask: 'always' });
    await waitFor(() => presenter.shown.length === 3, 'the third prompt', 30_000);
    const id = presenter.shown[2].promptId.replace(/^gateway:home:/, '');
    const other = await connectGateway({
      url: gateway.url,
      token: SECRET,
      device: createEphemeralDeviceSigner(),
      // Agent approvals are shown to admins only (docs/protocol.md § Who sees an exec approval).
      scopes: ['operator.admin', 'operator.approvals'],
    });
    try {
      await other.request('exec.approval.resolve', { id, decision: 'deny' });
    } finally {
      await other.close();
    }
    await waitFor(() => queue.pending().length === 0, 'the prompt closed', 30_000);
    expect((await flowing).approval.decision).toBe('deny');
    await waitFor(() => history.at(-1)?.id === id, 'its history line', 30_000);
    expect(history.at(-1)).toMatchObject({ decision: 'no-decision', gateway: `home (${url})` });
  });

  it('a changed certificate is a hard stop the dashboard explains, and the pin stays as it was', async () => {
    const other = makeSelfSignedCertificate();
    try {
      // Saved with the fingerprint of a certificate this server does not present: as if it had been swapped.
      const result = await remote.add({
        name: 'office',
        url,
        tlsFingerprint: other.fingerprint,
        auth: 'token',
        secret: SECRET,
        runner: false,
      });
      expect(result.saved).toBe(true);
    } finally {
      disposeCertificate(other);
    }
    const saved = JSON.parse(readFileSync(gatewaysFile(), 'utf8')).gateways.find((g: any) => g.name === 'office');
    await waitFor(() => status('office')?.state === 'pin-mismatch', 'office refused', 60_000);
    const view = (await remote.view()).gateways.find((g) => g.name === 'office')!;
    expect(view.state).toBe('pin-mismatch');
    expect(view.problem?.message).toMatch(/has changed: it is not the one you trusted/);
    expect(view.problem?.fix).toMatch(/remove this gateway and add it again/);
    expect(JSON.parse(readFileSync(gatewaysFile(), 'utf8')).gateways.find((g: any) => g.name === 'office')).toEqual(
      saved,
    );
    // Reconnecting changes nothing about it.
    remote.reconnectNow('test');
    await waitFor(() => status('office')?.state === 'pin-mismatch', 'office still refused', 30_000);
    await waitFor(() => status('home')?.state === 'connected', 'home connected again', 60_000);
  });

  it('the tray has a line per gateway, in words, and each opens the dashboard', async () => {
    const opened: string[] = [];
    const actions = new Proxy({} as TrayActions, {
      get:
        (_t, name: string) =>
        (...args: unknown[]) =>
          opened.push([name, ...args].join(':')),
    });
    const inputs: TrayInputs = {
      gateway: 'running',
      port: 18789,
      owner: { kind: 'clawdesk', description: 'Clawdesk' },
      pendingApprovals: [],
      pendingPairings: [],
      startAtLogin: false,
      remoteGateways: remote.statuses().map((s) => ({ name: s.name, state: s.state })),
    };
    const labels = trayMenu(inputs, actions).map((i) => i.label);
    expect(labels).toContain('Gateways on other machines');
    expect(labels).toContain('home — connected');
    expect(labels).toContain('office — certificate changed!');
    const line = trayMenu(inputs, actions).find((i) => i.label === 'home — connected')!;
    (line.click as () => void)();
    // The line opens the dashboard at its Gateways view, where the gateway's state and what to do are shown.
    expect(opened).toEqual(['openDashboard:gateways']);
    expect(trayTooltip(inputs)).toContain('1 gateway needs attention');

    const pairing: TrayInputs = {
      ...inputs,
      remoteGateways: [{ name: 'vps', state: 'pairing-required', pairingRequestId: 'abc12345-6789-4def' }],
    };
    expect(trayMenu(pairing, actions).map((i) => i.label)).toContain(
      'vps — waiting for pairing approval (request abc12345…)',
    );
    expect(trayMenu(pairing, actions, createMainTranslator('de')).map((i) => i.label)).toContain(
      'vps — wartet auf Freigabe der Kopplung (Anfrage abc12345…)',
    );
  });

  it('the dashboard’s data for several states: address, primary, runner, pairing request with its command', async () => {
    const { gateways } = await remote.view();
    expect(gateways.map((g) => [g.name, g.primary, g.runner, g.state])).toEqual([
      ['home', true, true, 'connected'],
      ['office', false, false, 'pin-mismatch'],
    ]);
    expect(gateways[0]).toMatchObject({
      address: url,
      trust: { kind: 'pin', fingerprint: cert.fingerprint },
      runnerState: { state: 'connected' },
    });
    const file = JSON.parse(readFileSync(gatewaysFile(), 'utf8'));
    const waiting = remoteGatewayView(file.gateways[0], true, {
      name: 'home',
      primary: true,
      address: url,
      state: 'pairing-required',
      approvals: { state: 'pairing-required', pairingRequestId: 'req-42', detail: 'pairing required' },
      runner: { state: 'connected' },
    });
    expect(waiting.pairing).toEqual({ requestId: 'req-42', command: 'openclaw devices approve req-42' });
    expect(waiting.problem?.fix).toContain('openclaw devices approve req-42');
  });

  describe('over IPC', () => {
    const setup = () => {
      const ipc = new FakeIpcMain();
      const rejected: IpcRejectedError[] = [];
      const service = new DashboardService({
        remoteGateways: remote,
      } as unknown as ConstructorParameters<typeof DashboardService>[0]);
      registerIpcHandlers({
        ipcMain: ipc.api,
        handlers: service,
        isOwnWebContents: (id) => id === 1,
        onRejected: (_m, e) => rejected.push(e),
      });
      return { ipc, rejected };
    };

    it('refuses bad input before anything happens, and foreign senders outright', async () => {
      const { ipc, rejected } = setup();
      const before = readFileSync(gatewaysFile(), 'utf8');
      const bad: unknown[] = [
        { name: 'has space', url, auth: 'token', secret: 'x', runner: false },
        { name: 'web', url: 'https://example.com', auth: 'none', runner: false },
        { name: 'both', url, sshTarget: 'me@host', auth: 'none', runner: false },
        { name: 'neither', auth: 'none', runner: false },
        { name: 'extra', url, auth: 'none', runner: false, tlsPin: 'x' },
        { name: 'kind', url, auth: 'cookie', runner: false },
      ];
      for (const input of bad)
        await expect(ipc.invoke('clawdesk:addRemoteGateway', senderEvent(), input)).rejects.toThrow(
          /invalid arguments/,
        );
      await expect(ipc.invoke('clawdesk:setRemoteGatewayRunner', senderEvent(), 'home', 'yes')).rejects.toThrow(
        /invalid arguments/,
      );
      for (const event of [senderEvent({ webContentsId: 7 }), senderEvent({ url: 'https://evil.example/' })])
        await expect(
          ipc.invoke('clawdesk:addRemoteGateway', event, { name: 'x', url, auth: 'none', runner: false }),
        ).rejects.toThrow(/sender is not a Clawdesk window/);
      await expect(ipc.invoke('clawdesk:removeRemoteGateway', senderEvent({ subframe: true }), 'home')).rejects.toThrow(
        /sender is not a Clawdesk window/,
      );
      expect(rejected.map((e) => e.reason)).toEqual([
        ...bad.map(() => 'invalid-arguments'),
        'invalid-arguments',
        'untrusted-sender',
        'untrusted-sender',
        'untrusted-sender',
      ]);
      expect(readFileSync(gatewaysFile(), 'utf8')).toBe(before);
      expect(dialog.shown).toHaveLength(3);
    });

    it('a refused change says why and changes nothing: openclaw-config, unknown names, the primary with others', async () => {
      const { ipc } = setup();
      const before = readFileSync(gatewaysFile(), 'utf8');
      await expect(ipc.invoke('clawdesk:removeRemoteGateway', senderEvent(), 'openclaw-config')).rejects.toThrow(
        /openclaw.json/,
      );
      await expect(ipc.invoke('clawdesk:setPrimaryRemoteGateway', senderEvent(), 'nowhere')).rejects.toThrow(
        /no saved gateway named "nowhere"/,
      );
      await expect(ipc.invoke('clawdesk:removeRemoteGateway', senderEvent(), 'home')).rejects.toThrow(
        /make another one primary first/,
      );
      const duplicate = await ipc.invoke('clawdesk:addRemoteGateway', senderEvent(), {
        name: 'HOME',
        url,
        auth: 'none',
        runner: false,
      });
      expect(duplicate).toMatchObject({ saved: false, reason: 'invalid', message: /already exists/ });
      expect(readFileSync(gatewaysFile(), 'utf8')).toBe(before);
      expect(dialog.shown).toHaveLength(3);
    });

    it('make primary, runner off and remove work, and no reply ever carries a secret', async () => {
      const { ipc } = setup();
      const replies: unknown[] = [];
      replies.push(await ipc.invoke('clawdesk:listRemoteGateways', senderEvent()));
      replies.push(await ipc.invoke('clawdesk:setPrimaryRemoteGateway', senderEvent(), 'office'));
      replies.push(await ipc.invoke('clawdesk:setRemoteGatewayRunner', senderEvent(), 'home', false));
      const after = (await ipc.invoke('clawdesk:listRemoteGateways', senderEvent())) as Awaited<
        ReturnType<InvokeApi['listRemoteGateways']>
      >;
      replies.push(after);
      expect(after.gateways.map((g) => [g.name, g.primary, g.runner])).toEqual([
        ['home', false, false],
        ['office', true, false],
      ]);
      await waitFor(() => status('home')?.state === 'connected', 'home reconnected', 60_000);
      expect(status('home').runner).toEqual({ state: 'disabled' });
      replies.push(await ipc.invoke('clawdesk:removeRemoteGateway', senderEvent(), 'home'));
      for (const reply of replies) expect(JSON.stringify(reply)).not.toContain(SECRET);
      expect(remote.statuses().map((s) => s.name)).toEqual(['office']);
      const vault = await openSecretStore({ dir: dataDir, keytar: null, allowPlaintextFallback: true });
      expect(await vault.get(gatewaySecretName('home', 'token'))).toBeNull();
    });
  });
});

describe('the approval queue keeps each gateway’s requests apart', () => {
  it('a remote gateway reusing a local request’s id gets its own prompt, never the answer to the local one', async () => {
    const presenter = new TestPresenter();
    const queue = new ApprovalQueue({ presenter, blocker: () => undefined, fallback: () => null });
    const event = (command: string) => ({
      id: 'same-id',
      request: { commandArgv: ['/bin/echo', command], allowedDecisions: ['allow-once', 'deny'] },
      createdAtMs: Date.now(),
      expiresAtMs: Date.now() + 60_000,
    });
    const local = queue.request(event('local'));
    const remote = queue.request(event('remote'), { gateway: 'vps', address: 'wss://vps.example:18789' });
    expect(queue.pending().map((v) => [v.promptId, v.command.text])).toEqual([
      ['same-id', '/bin/echo local'],
      ['gateway:vps:same-id', '/bin/echo remote'],
    ]);
    await waitFor(() => presenter.shown.length === 1, 'the local prompt');
    presenter.answer('allow-once');
    expect(await local).toMatchObject({ id: 'same-id', decision: 'allow-once', source: 'user' });
    // The remote request is still waiting for its own answer, on its own prompt.
    await waitFor(() => presenter.shown.length === 2, 'the remote prompt');
    expect(presenter.shown[1].origin).toEqual({ gateway: 'vps', address: 'wss://vps.example:18789' });
    presenter.answer('deny');
    expect(await remote).toMatchObject({ id: 'gateway:vps:same-id', decision: 'deny', source: 'user' });
  });
});
