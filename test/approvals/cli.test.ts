import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { approvalsCommand } from '../../gateway/cli/commands/approvals-command';
import { nodeCommand } from '../../gateway/cli/commands/node-command';
import { UsageError } from '../../gateway/cli/cli-io';
import type { CliIo } from '../../gateway/cli/cli-io';
import { captureIo } from '../helpers/cli-io';

/** Same dispatch as gateway/cli/main.ts (which loads commands from dist at run time). */
async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === 'node' ? nodeCommand : approvalsCommand;
  try {
    return await command(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`clawdesk ${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { agentFlow, rejection, startExecHarness, TOKEN, waitFor, type ExecHarness } from './exec-harness';
import { commandPayload } from '../helpers/node-payload';

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

describe('clawdesk approvals pending / resolve', () => {
  it('lists a pending approval and resolves it by id prefix; the agent gets the decision', async () => {
    h = await startExecHarness();
    // An approval client must be connected for the request to be delivered at all (docs/protocol.md § Approvals).
    const ui = await h.operator({ scopes: ['operator.admin', 'operator.approvals'], caps: ['exec-approvals'] });
    // The agent signs in with its own device token, so the CLI (with or without a device, depending on the keychain)
    // holds another credential and may decide for it (issue 9 finding 4).
    const device = createEphemeralDeviceSigner();
    const first = await h.operator({ device });
    const deviceToken = (first as any).hello.auth.deviceToken as string;
    await first.close();
    const agent = await h.operator({ device, token: undefined, deviceToken });
    const flowP = agentFlow(agent, h.nodeId, ['/bin/sh', '-lc', 'touch cli1'], { cwd: h.work });
    const common = ['--url', h.gateway.url, '--token', TOKEN, '--state-dir', path.join(h.root, 'cli-state')];

    let listed: any[] = [];
    await waitFor(async () => {
      const io = captureIo();
      expect(await runCli(['approvals', 'pending', '--json', ...common], io)).toBe(0);
      listed = JSON.parse(io.out);
      return listed.length === 1;
    });
    // The text computed from the argv that runs; the agent's own text is kept apart (issue 9 finding 3).
    expect(listed[0].request.command).toMatch(/ -lc 'touch cli1'$/);
    expect(listed[0].request.agentCommandText).toBe('touch cli1');
    const human = captureIo();
    await runCli(['approvals', 'pending', ...common], human);
    expect(human.out).toContain(listed[0].id);
    expect(human.out).toContain('touch cli1');

    const io = captureIo();
    expect(await runCli(['approvals', 'resolve', listed[0].id.slice(0, 8), 'allow-once', ...common], io)).toBe(0);
    expect(io.out).toContain('allow-once');
    const flow = await flowP;
    expect(flow.approval.decision).toBe('allow-once');
    expect((await flow.run()).payload.success).toBe(true);
    expect(existsSync(path.join(h.work, 'cli1'))).toBe(true);
    await ui.close();
  });

  it('lists without a device identity in auth none mode (the loopback seed report), but cannot resolve for a requester it cannot be told apart from (issue 9 finding 4)', async () => {
    h = await startExecHarness({ auth: 'none' });
    // The approval client has its own device: a device-less one would share the agent's credential and never be asked.
    const ui = await h.operator({
      scopes: ['operator.admin', 'operator.approvals'],
      caps: ['exec-approvals'],
      clientId: 'cli',
      clientMode: 'cli',
    });
    const agent = await h.operator({ device: null, clientId: 'cli', clientMode: 'cli' });
    const flowP = agentFlow(agent, h.nodeId, ['/bin/sh', '-lc', 'touch cli2'], { cwd: h.work });
    const common = ['--url', h.gateway.url, '--no-device', '--state-dir', path.join(h.root, 'cli-state')];
    let id = '';
    await waitFor(async () => {
      const io = captureIo();
      await runCli(['approvals', 'pending', '--json', ...common], io);
      id = JSON.parse(io.out || '[]')[0]?.id ?? '';
      return Boolean(id);
    });
    const refused = captureIo();
    expect(await runCli(['approvals', 'resolve', id, 'allow-once', ...common], refused)).toBe(1);
    expect(refused.err).toContain('cannot be resolved by its requester');
    expect(refused.err).toContain('auth "none" local session');
    expect(h.exec.approvals.find(id)?.status).toBe('pending');
    await ui.request('exec.approval.resolve', { id, decision: 'deny' });
    expect((await flowP).approval.decision).toBe('deny');
    await ui.close();
  });

  it("without a keychain it says it goes device-less (and so cannot decide a --local agent's request); --allow-plaintext-keys can", async () => {
    h = await startExecHarness();
    const saved = process.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/clawdesk-test-bus';
    try {
      // As `openclaw agent --local` files it: device-less, shared token, gateway-client/backend.
      const ui = await h.operator({ scopes: ['operator.admin', 'operator.approvals'], caps: ['exec-approvals'] });
      const agent = await h.operator({
        device: null,
        clientId: 'gateway-client',
        clientMode: 'backend',
        scopes: ['operator.write', 'operator.approvals'],
      });
      const flowP = agentFlow(agent, h.nodeId, ['/bin/sh', '-lc', 'touch cli-pk'], { cwd: h.work, ask: 'always' });
      const common = ['--url', h.gateway.url, '--token', TOKEN, '--state-dir', path.join(h.root, 'cli-pk-state')];
      let id = '';
      await waitFor(() => {
        id = h!.exec.approvals.pendingRecords()[0]?.id ?? '';
        return Boolean(id);
      });
      const deviceless = captureIo();
      expect(await runCli(['approvals', 'resolve', id, 'allow-once', ...common], deviceless)).toBe(1);
      expect(deviceless.err).toContain('connecting without a device identity');
      expect(deviceless.err).toContain('--allow-plaintext-keys');
      expect(h.exec.approvals.find(id)?.status).toBe('pending');

      const withKey = captureIo();
      expect(
        await runCli(['approvals', 'resolve', id, 'allow-once', '--allow-plaintext-keys', ...common], withKey),
      ).toBe(0);
      expect(withKey.err).not.toContain('without a device identity');
      expect((await flowP).approval.decision).toBe('allow-once');
      await ui.close();
    } finally {
      if (saved === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
      else process.env.DBUS_SESSION_BUS_ADDRESS = saved;
    }
  });

  it('reports bad usage and unknown ids clearly', async () => {
    h = await startExecHarness();
    const common = ['--url', h.gateway.url, '--token', TOKEN, '--state-dir', path.join(h.root, 'cli-state')];
    const bad = captureIo();
    expect(await runCli(['approvals', 'resolve', 'abc', 'maybe', ...common], bad)).toBe(2);
    expect(bad.err).toMatch(/allow-once, allow-always or deny/);
    const unknown = captureIo();
    expect(await runCli(['approvals', 'resolve', 'abc', 'deny', ...common], unknown)).toBe(1);
    expect(unknown.err).toMatch(/unknown or expired approval id/);
    const wrongToken = captureIo();
    expect(
      await runCli(
        [
          'approvals',
          'pending',
          '--url',
          h.gateway.url,
          '--token',
          'nope',
          '--state-dir',
          path.join(h.root, 'cli-state'),
        ],
        wrongToken,
      ),
    ).toBe(1);
    expect(wrongToken.err).toMatch(/AUTH_TOKEN_MISMATCH/);
  });
});

describe('clawdesk node run', () => {
  it('runs the runner alone against a gateway until stopped', async () => {
    h = await startExecHarness();
    const stateDir = path.join(h.root, 'node2-state');
    const io = captureIo();
    // No keychain in the test process: the user's explicit consent to a 0600 key file is needed.
    const done = runCli(
      [
        'node',
        'run',
        '--url',
        h.gateway.url,
        '--token',
        TOKEN,
        '--state-dir',
        stateDir,
        '--display-name',
        'second',
        '--allow-plaintext-keys',
      ],
      io,
    );
    const admin = await h.operator({ scopes: ['operator.admin'] });
    let pending: any;
    await waitFor(async () => {
      const list = await admin.request('node.pair.list', {});
      pending = list.pending.find((p: any) => p.displayName === 'second');
      return Boolean(pending);
    });
    expect(pending.commands).toContain('system.run');
    await admin.request('node.pair.approve', { requestId: pending.requestId });
    const which = await admin.request('node.invoke', {
      nodeId: pending.nodeId,
      command: 'system.which',
      params: { bins: ['sh'] },
      idempotencyKey: 'w1',
    });
    expect(commandPayload(which).bins.sh).toBeTruthy();
    io.stop();
    expect(await done).toBe(0);
    expect(io.out).toContain('Connected.');
    expect(existsSync(path.join(stateDir, 'clawdesk', 'secrets.vault.json'))).toBe(true);
  });

  it('refuses to run with an identity it cannot keep, rather than pairing a new device on every start', async () => {
    h = await startExecHarness();
    const saved = process.env.DBUS_SESSION_BUS_ADDRESS;
    process.env.DBUS_SESSION_BUS_ADDRESS = 'unix:path=/nonexistent/clawdesk-test-bus';
    const pairedBefore = h.gateway.pairing.listPaired().length;
    try {
      const io = captureIo();
      expect(
        await runCli(
          ['node', 'run', '--url', h.gateway.url, '--token', TOKEN, '--state-dir', path.join(h.root, 'n4')],
          io,
        ),
      ).toBe(1);
      expect(io.err).toMatch(/device identity cannot be kept/);
      expect(io.err).toContain('--allow-plaintext-keys');
      expect(h.gateway.pairing.listPaired()).toHaveLength(pairedBefore);
    } finally {
      if (saved === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
      else process.env.DBUS_SESSION_BUS_ADDRESS = saved;
    }
  });

  it('exits non-zero with the reason on a wrong token', async () => {
    h = await startExecHarness();
    const io = captureIo();
    expect(
      await runCli(
        [
          'node',
          'run',
          '--url',
          h.gateway.url,
          '--token',
          'nope',
          '--state-dir',
          path.join(h.root, 'n3'),
          '--allow-plaintext-keys',
        ],
        io,
      ),
    ).toBe(1);
    expect(io.err).toMatch(/token/);
    expect(await runCli(['node', 'run', '--url', 'http://x'], captureIo())).toBe(2);
    void rejection;
  });
});
