import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectWithRetry, createDeviceIdentity } from '../../interop/device-client';
import {
  AGENT,
  connectOperator,
  idempotencyKey,
  invokePayload,
  runApproved,
  waitFor,
  type Operator,
  type PendingExecApproval,
} from '../../interop/exec-flow';
import type { OpenClient } from '../../interop/device-client';
import { cliUser, createPendingDevice, removeTempDirs } from '../../interop/interop-target';
import { freePort } from '../../helpers/free-port';

/**
 * `clawdesk gateway run` under Windows Node (node.exe under Wine), its embedded runner reporting platform windows,
 * served to clients on the Linux side: the project's device client, and the real openclaw CLI (the interop cache).
 * Commands go through the approval flow: system.run.prepare -> exec.approval.request -> resolve -> system.run.
 */

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suites through npm run test:windows`);
  return value;
};
const WINE = need('CLAWDESK_TIER_WINE');
const NODE_EXE = need('CLAWDESK_TIER_NODE_EXE');
const LOGS = need('CLAWDESK_TIER_LOGS');
const CLI = need('CLAWDESK_TIER_CLI');
const USER = need('CLAWDESK_TIER_WIN_USER');
const TOKEN = 'windows-tier-token';
const STATE_DIR = `C:\\users\\${USER}\\clawdesk-tier-gw`;

/**
 * Prepare + two-phase approval request, as OpenClaw's agent does it on Windows: rawCommand is the cmd.exe payload
 * (what follows /c), the form the node accepts besides the canonical argv rendering.
 */
async function requestExecApproval(
  requester: OpenClient,
  approver: OpenClient,
  node: string,
  argv: string[],
): Promise<PendingExecApproval> {
  const c = argv.findIndex((a) => /^\/c$/i.test(a));
  const rawCommand = argv.slice(c + 1).join(' ');
  const prepared = invokePayload(
    await requester.request(
      'node.invoke',
      {
        nodeId: node,
        command: 'system.run.prepare',
        params: { command: argv, rawCommand, ...AGENT },
        idempotencyKey: idempotencyKey('prepare'),
        timeoutMs: 20_000,
      },
      30_000,
    ),
  );
  const plan = prepared.plan;
  if (!plan?.argv) throw new Error(`system.run.prepare returned no plan: ${JSON.stringify(prepared)}`);
  const requestedEvent = approver.waitForEvent('exec.approval.requested', 20_000);
  const decision = requester.request(
    'exec.approval.request',
    {
      command: plan.commandText,
      commandArgv: plan.argv,
      systemRunPlan: plan,
      cwd: plan.cwd,
      nodeId: node,
      host: 'node',
      security: 'allowlist',
      ask: 'always',
      ...AGENT,
      timeoutMs: 120_000,
      twoPhase: true,
    },
    130_000,
  );
  const requested = await Promise.race([
    requestedEvent,
    decision.then((d) => {
      throw new Error(`exec.approval.request was answered before any approval client saw it: ${JSON.stringify(d)}`);
    }),
  ]);
  return { id: requested.id, plan, decision, requested };
}

let gateway: ChildProcess | undefined;
let port = 0;
let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
const outFile = path.join(LOGS, 'gateway.out');
const errFile = path.join(LOGS, 'gateway.err');
const gatewayOutput = () =>
  `--- gateway stdout ---\n${fs.readFileSync(outFile, 'utf8')}\n--- gateway stderr ---\n${fs.readFileSync(errFile, 'utf8')}`;

let admin: Operator;
let nodeId: string;

before(async () => {
  port = await freePort();
  fs.mkdirSync(LOGS, { recursive: true });
  // node.exe's stdout must be a file under Wine (a pipe gives EBADF).
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'WINEPREFIX', 'WINEDEBUG', 'WINEDLLOVERRIDES', 'LANG'])
    if (process.env[key]) env[key] = process.env[key]!;
  env.OPENCLAW_STATE_DIR = STATE_DIR;
  gateway = spawn(
    WINE,
    [NODE_EXE, CLI, 'gateway', 'run', '--port', String(port), '--auth', 'token', '--token', TOKEN],
    { env, stdio: ['ignore', out, err] },
  );
  fs.closeSync(out);
  fs.closeSync(err);
  gateway.on('exit', (code, signal) => (exited = { code, signal }));
  const hello = await connectWithRetry(
    { port, token: TOKEN, clientId: 'gateway-client', clientMode: 'backend', scopes: [], timeoutMs: 5_000 },
    60_000,
  );
  if (!hello.ok)
    throw new Error(
      `the Windows-hosted gateway did not answer hello-ok on ${port}: ${JSON.stringify(hello.error ?? hello.closeCode)}\n${gatewayOutput()}`,
    );
  await hello.client?.close();
  admin = await connectOperator(port, TOKEN, ['operator.admin']);
});

after(async () => {
  await admin?.close().catch(() => undefined);
  if (gateway && !exited) {
    gateway.kill('SIGTERM');
    const forced = setTimeout(() => gateway?.kill('SIGKILL'), 5_000);
    await new Promise<void>((resolve) => (exited ? resolve() : gateway!.once('exit', () => resolve())));
    clearTimeout(forced);
  }
  removeTempDirs();
});

void describe('the gateway under Windows Node, served to Linux clients', { timeout: 240_000 }, () => {
  void it('prints its URL and a Windows state dir', async () => {
    const out = await waitFor(
      'the gateway banner',
      async () =>
        fs.readFileSync(outFile, 'utf8').includes(String(port)) ? fs.readFileSync(outFile, 'utf8') : undefined,
      20_000,
    );
    assert.ok(out.includes(`127.0.0.1:${port}`), gatewayOutput());
    assert.ok(out.toLowerCase().includes(STATE_DIR.toLowerCase()), gatewayOutput());
  });

  void it('its embedded runner is a node with platform "windows" and the system.run commands', async () => {
    const node = await waitFor(
      'the embedded runner in node.list',
      async () => {
        const nodes = (await admin.client.request('node.list', {})).payload?.nodes ?? [];
        return nodes.find((n: any) => n.connected && (n.commands ?? []).includes('system.run'));
      },
      60_000,
    );
    assert.equal(node.platform, 'windows', JSON.stringify(node));
    assert.deepEqual(
      ['system.run', 'system.run.prepare', 'system.which'].filter((c) => node.commands.includes(c)),
      ['system.run', 'system.run.prepare', 'system.which'],
    );
    nodeId = node.nodeId;
  });

  void it('system.which finds cmd.exe in System32', async () => {
    const which = invokePayload(
      await admin.client.request(
        'node.invoke',
        {
          nodeId,
          command: 'system.which',
          params: { bins: ['cmd'] },
          idempotencyKey: idempotencyKey('which'),
          timeoutMs: 20_000,
        },
        30_000,
      ),
    );
    const found = JSON.stringify(which).toLowerCase();
    assert.ok(found.includes('c:\\\\windows\\\\system32\\\\cmd.exe'), JSON.stringify(which));
  });

  /** Prepare -> approval (resolved allow-once by the approver device) -> run; returns system.run's payload. */
  async function approvedRun(argv: string[]) {
    const approver = await connectOperator(
      port,
      TOKEN,
      ['operator.admin', 'operator.approvals'],
      ['exec-approvals'],
      createDeviceIdentity(),
    );
    const requester = await connectOperator(port, TOKEN, ['operator.admin'], [], createDeviceIdentity());
    try {
      const approval = await requestExecApproval(requester.client, approver.client, nodeId, argv);
      assert.match(approval.plan.argv[0], /^C:\\windows\\system32\\cmd\.exe$/i, JSON.stringify(approval.plan));
      const resolved = await approver.client.request('exec.approval.resolve', {
        id: approval.id,
        decision: 'allow-once',
      });
      assert.equal(resolved.ok, true, JSON.stringify(resolved));
      const decided = await approval.decision;
      assert.equal(decided.payload?.decision, 'allow-once', JSON.stringify(decided));
      const run = await runApproved(requester.client, nodeId, approval);
      assert.equal(run.error, undefined, JSON.stringify(run));
      const again = await runApproved(requester.client, nodeId, approval);
      assert.equal(again.ok, false, 'allow-once must be spent after one run');
      return { plan: approval.plan, payload: invokePayload(run) };
    } finally {
      await approver.close();
      await requester.close();
    }
  }

  void it('runs cmd.exe /c echo through prepare -> approval -> run, with ^ escapes kept literal', async () => {
    const { payload } = await approvedRun(['cmd.exe', '/d', '/c', 'echo hello ^& goodbye']);
    assert.equal(payload.exitCode, 0, JSON.stringify(payload));
    assert.equal(payload.success, true);
    assert.equal(payload.stdout, 'hello & goodbye\r\n');
  });

  void it('reports a cmd.exe exit code', async () => {
    const { payload } = await approvedRun(['cmd.exe', '/d', '/c', 'exit 7']);
    assert.equal(payload.exitCode, 7, JSON.stringify(payload));
    assert.equal(payload.success, false);
  });

  void it('a command nobody approved does not run (deny)', async () => {
    const approver = await connectOperator(
      port,
      TOKEN,
      ['operator.admin', 'operator.approvals'],
      ['exec-approvals'],
      createDeviceIdentity(),
    );
    const requester = await connectOperator(port, TOKEN, ['operator.admin'], [], createDeviceIdentity());
    try {
      const approval = await requestExecApproval(requester.client, approver.client, nodeId, [
        'cmd.exe',
        '/d',
        '/c',
        'echo must-not-run',
      ]);
      await approver.client.request('exec.approval.resolve', { id: approval.id, decision: 'deny' });
      assert.equal((await approval.decision).payload?.decision, 'deny');
      const run = await runApproved(requester.client, nodeId, approval);
      assert.equal(run.ok, false, JSON.stringify(run));
      assert.ok(!JSON.stringify(run).includes('must-not-run\\r\\n'), JSON.stringify(run));
    } finally {
      await approver.close();
      await requester.close();
    }
  });

  void it('the exec approvals file is in the Windows state dir (exec.approvals.get)', async () => {
    const res = await admin.client.request('exec.approvals.get', {});
    assert.equal(res.ok, true, JSON.stringify(res));
    assert.equal(
      String(res.payload.path).toLowerCase(),
      `${STATE_DIR}\\exec-approvals.json`.toLowerCase(),
      JSON.stringify(res.payload),
    );
  });

  void it('the real openclaw CLI on Linux talks to it: health and devices list', async () => {
    const cli = cliUser({ port, authMode: 'token', token: TOKEN });
    const health = await cli.json(['health']);
    assert.equal(health.ok, true, JSON.stringify(health));
    // A device pairing from a non-local peer (x-forwarded-for) waits for approval; the CLI lists it.
    const pending = await createPendingDevice({ port, token: TOKEN });
    const list = await cli.json(['devices', 'list']);
    const item = (list.pending ?? []).find((p: any) => p.requestId === pending.requestId);
    assert.equal(item?.deviceId, pending.device.deviceId, JSON.stringify(list));
    // The approver and requester devices of the runs above were paired silently (loopback).
    assert.ok((list.paired ?? []).length >= 2, JSON.stringify(list));
  });

  void it('the gateway is still running after all of it', () => {
    assert.equal(exited, undefined, gatewayOutput());
  });
});
