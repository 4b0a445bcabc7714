import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceIdentity } from './device-client';
import {
  askAlwaysPolicy,
  connectOperator,
  idempotencyKey,
  invokePayload,
  requestExecApproval,
  resolvedPath,
  runApproved,
  waitFor,
  type Operator,
} from './exec-flow';
import {
  cliUser,
  describeRun,
  interopTarget,
  makeTempDir,
  removeTempDirs,
  startTargetGateway,
  type CliUser,
  type TargetGateway,
} from './interop-target';
import {
  ensureOpenclawInstalled,
  openclawEnv,
  readEgressAttempts,
  repoRoot,
  spawnOpenclaw,
  startRealOpenclawGateway,
  type AuthMode,
  type OpenclawProcess,
  type RealGateway,
} from './openclaw-harness';

/**
 * The exec runner's interop list (issue 3 §6): the real openclaw CLI (and the real node host) against the
 * gateway with Clawdesk's exec runner attached — node pairing, describe, invoke, approvals files on the node,
 * and the exec approval flow resolved from the real CLI.
 */

const target = interopTarget();
const TOKEN = 'interop-exec-token-0123456789abcdef';
const UNAME = resolvedPath('uname');

function expectOk(result: { code: number | null }, full: string): void {
  if (result.code !== 0) throw new Error(`expected exit 0\n${full}`);
}

function defineSuite(authMode: AuthMode) {
  describe(`openclaw CLI → ${target} gateway with an exec runner, auth ${authMode}`, () => {
    let gateway: TargetGateway;
    let cli: CliUser;
    let admin: Operator;
    /** The runner `gateway run` attached (Clawdesk), or a real `openclaw node run` (real target). */
    let runnerNodeId: string;
    let realNode: OpenclawProcess | undefined;
    let realNodeId: string;
    let realNodeEgressLog: string | undefined;
    const token = authMode === 'token' ? TOKEN : undefined;

    beforeAll(async () => {
      ensureOpenclawInstalled();
      gateway = await startTargetGateway(target, { authMode, token, withNode: true });
      cli = cliUser(gateway);
      admin = await connectOperator(gateway.port, token, ['operator.admin']);
      if (authMode === 'none' && target === 'real') {
        // openclaw's gateway refuses a device-less CLI under auth none (see openclaw-cli-gateway.test.ts);
        // `approvals get --gateway` makes the CLI create a device identity, which it then uses everywhere.
        const result = await cli.run(['approvals', 'get', '--gateway']);
        expectOk(result, describeRun(result));
      }
    });

    afterAll(async () => {
      await realNode?.stop();
      await admin?.close();
      await gateway?.stop();
      removeTempDirs();
    });

    const listNodes = async () => (await admin.client.request('node.list', {})).payload?.nodes ?? [];

    it('the real `openclaw node run` connects, and its command surface waits for `openclaw nodes approve`', async () => {
      const nodeEnv = openclawEnv({ tmpDir: makeTempDir('real-node'), port: gateway.port, authMode, token });
      realNodeEgressLog = nodeEnv.egressLog;
      realNode = spawnOpenclaw(
        ['node', 'run', '--host', '127.0.0.1', '--port', String(gateway.port), '--display-name', 'interop-real-node'],
        nodeEnv.env,
      );
      const pending = await waitFor('a pending node pairing request from the real node host', async () => {
        const list = (await admin.client.request('node.pair.list', {})).payload;
        return list?.pending?.find((p: any) => p.displayName === 'interop-real-node');
      });
      realNodeId = pending.nodeId;

      const text = await cli.run(['nodes', 'pending']);
      expectOk(text, describeRun(text));
      expect(text.stdout).toContain(pending.requestId);
      expect(text.stdout).toContain('interop-real-node');

      const approve = await cli.run(['nodes', 'approve', pending.requestId]);
      expectOk(approve, describeRun(approve));
      const approved = JSON.parse(approve.stdout);
      expect(approved.requestId).toBe(pending.requestId);
      expect(approved.node.nodeId).toBe(realNodeId);
      expect(approved.node.commands).toContain('system.which');

      const after = await cli.run(['nodes', 'pending']);
      expectOk(after, describeRun(after));
      expect(after.stdout).not.toContain(pending.requestId);
      expect(realNode.exited()).toBeUndefined();
    });

    it('nodes status lists the exec runner and the approved real node as connected', async () => {
      if (target === 'clawdesk') {
        const runner = await waitFor('Clawdesk exec runner in node.list', async () =>
          (await listNodes()).find(
            (n: any) => n.connected && n.nodeId !== realNodeId && n.commands?.includes('system.run'),
          ),
        );
        runnerNodeId = runner.nodeId;
      } else {
        runnerNodeId = realNodeId; // openclaw has no embedded runner; its own node host plays the part.
      }
      const status = await cli.json(['nodes', 'status']);
      const runner = status.nodes.find((n: any) => n.nodeId === runnerNodeId);
      expect(runner).toMatchObject({ connected: true, paired: true });
      expect(runner.commands).toEqual(
        expect.arrayContaining([
          'system.run',
          'system.run.prepare',
          'system.which',
          'system.execApprovals.get',
          'system.execApprovals.set',
        ]),
      );
      const real = status.nodes.find((n: any) => n.nodeId === realNodeId);
      expect(real).toMatchObject({ connected: true, displayName: 'interop-real-node' });
      expect(real.commands).toContain('system.which');

      const text = await cli.run(['nodes', 'status']);
      expectOk(text, describeRun(text));
      expect(text.stdout).toMatch(/Known: \d+ · Paired: \d+ · Connected: \d+/);
    });

    it('nodes describe shows the node and its commands', async () => {
      const result = await cli.run(['nodes', 'describe', '--node', realNodeId]);
      expectOk(result, describeRun(result));
      expect(result.stdout).toContain(realNodeId);
      expect(result.stdout).toContain('interop-real-node');
      expect(result.stdout).toContain('Commands');
      expect(result.stdout).toContain('- system.which');
    });

    it('nodes invoke --command system.which runs on the exec runner', async () => {
      const result = await cli.run([
        'nodes',
        'invoke',
        '--node',
        runnerNodeId,
        '--command',
        'system.which',
        '--params',
        JSON.stringify({ bins: ['sh', 'no-such-binary-interop'] }),
      ]);
      expectOk(result, describeRun(result));
      const out = JSON.parse(result.stdout);
      expect(out.ok).toBe(true);
      expect(out.nodeId).toBe(runnerNodeId);
      expect(out.payload.bins.sh).toBe(resolvedPath('sh'));
      expect(out.payload.bins['no-such-binary-interop']).toBeUndefined();
    });

    it('approvals get --gateway shows the gateway approvals snapshot', async () => {
      const result = await cli.run(['approvals', 'get', '--gateway']);
      expectOk(result, describeRun(result));
      expect(result.stdout).toMatch(/Target\s+│\s+gateway\s/);
      expect(result.stdout).toMatch(/Version\s+│\s+1\s/);
      expect(result.stdout).toMatch(/Hash\s+│\s+[0-9a-f]{64}\s|Hash\s+│\s+\S+/);
    });

    it('approvals set --node --stdin writes the runner policy, and approvals get --node reads it back', async () => {
      const policy = askAlwaysPolicy(UNAME);
      const set = await cli.run(['approvals', 'set', '--node', runnerNodeId, '--stdin'], {
        input: JSON.stringify(policy),
      });
      expectOk(set, describeRun(set));
      expect(set.stdout).toContain(`Target: node:${runnerNodeId}`);
      expect(set.stdout).toContain('security=allowlist, ask=always, askFallback=deny');

      const get = await cli.run(['approvals', 'get', '--node', runnerNodeId]);
      expectOk(get, describeRun(get));
      expect(get.stdout).toContain(`node:${runnerNodeId}`);
      expect(get.stdout).toContain('security=allowlist, ask=always, askFallback=deny');
      expect(get.stdout).toMatch(/Allowlist\s+│\s+1\s/);

      if (target === 'clawdesk') {
        // The runner really wrote its own policy file (in the gateway's state dir: `gateway run` shares it).
        const file = JSON.parse(fs.readFileSync(path.join(gateway.stateDir, 'exec-approvals.json'), 'utf8'));
        expect(file.defaults).toMatchObject({ security: 'allowlist', ask: 'always', askFallback: 'deny' });
        expect(file.agents['*'].allowlist.map((e: any) => e.pattern)).toContain(UNAME);
      }
    });

    it('an agent exec approval is listed by `approvals pending` and released by `approvals resolve <id> allow-once`', async () => {
      // Both are devices (paired silently: loopback, same user). Clawdesk's gateway never lets a device-less
      // connection decide a request made with its own credential, and under auth "none" every device-less local
      // connection has the same one (issue 9 finding 4); the CLI made itself a device in the tests above.
      const approver = await connectOperator(
        gateway.port,
        token,
        ['operator.admin'],
        ['exec-approvals'],
        createDeviceIdentity(),
      );
      const requester = await connectOperator(gateway.port, token, ['operator.admin'], [], createDeviceIdentity());
      try {
        const approval = await requestExecApproval(requester.client, approver.client, runnerNodeId, ['uname', '-s']);
        expect(approval.plan.argv[0]).toBe(UNAME);

        const pending = await cli.run(['approvals', 'pending']);
        expectOk(pending, describeRun(pending));
        expect(pending.stdout).toContain(approval.id);
        expect(pending.stdout).toContain(`${approval.id}: ${approval.plan.commandText}`);

        const resolve = await cli.run(['approvals', 'resolve', approval.id, 'allow-once']);
        expectOk(resolve, describeRun(resolve));
        expect(resolve.stdout).toMatch(new RegExp(`Approval ${approval.id} resolved allow-once`));

        const decided = await approval.decision;
        expect(decided.ok).toBe(true);
        expect(decided.payload).toMatchObject({ id: approval.id, decision: 'allow-once' });

        const run = await runApproved(requester.client, runnerNodeId, approval);
        expect(run.error).toBeUndefined();
        const payload = run.payload?.payload ?? JSON.parse(run.payload?.payloadJSON ?? 'null');
        expect(payload).toMatchObject({ exitCode: 0, success: true, stdout: 'Linux\n' });

        // allow-once is spent.
        const again = await runApproved(requester.client, runnerNodeId, approval);
        expect(again.ok).toBe(false);

        const empty = await cli.run(['approvals', 'pending']);
        expectOk(empty, describeRun(empty));
        expect(empty.stdout).not.toContain(approval.id);
      } finally {
        await approver.close();
        await requester.close();
      }
    });

    it('a forged approvalSource never gets the real node host to run a command nobody approved', async () => {
      // OpenClaw's node host runs `approvalSource: "auto-review"` as allowed once and `"ask-fallback"` under its
      // askFallback with ask off; the gateway must let neither through unchecked. The node asks for every run and
      // would run anything once approved, so only the gateway stands between the forged field and the command.
      const policy = { version: 1, defaults: { security: 'full', ask: 'always', askFallback: 'full' } };
      const set = await cli.run(['approvals', 'set', '--node', realNodeId, '--stdin'], {
        input: JSON.stringify(policy),
      });
      expectOk(set, describeRun(set));
      const dir = makeTempDir('forged-source');
      const marker = path.join(dir, 'ran');
      const binding = { agentId: 'main', sessionKey: 'agent:main:forged' };
      const prepared = await admin.client.request('node.invoke', {
        nodeId: realNodeId,
        command: 'system.run.prepare',
        params: { command: [resolvedPath('touch'), marker], cwd: dir, ...binding },
        idempotencyKey: idempotencyKey('forged-prepare'),
      });
      const plan = invokePayload(prepared).plan;
      expect(plan.argv).toEqual([resolvedPath('touch'), marker]);
      const run = (extra: Record<string, unknown>) =>
        admin.client.request('node.invoke', {
          nodeId: realNodeId,
          command: 'system.run',
          params: {
            command: plan.argv,
            rawCommand: plan.commandText,
            systemRunPlan: plan,
            cwd: plan.cwd,
            ...binding,
            ...extra,
          },
          idempotencyKey: idempotencyKey('forged-run'),
        });
      // Without any approval the node itself refuses (ask=always): the policy is in force.
      const plain = await run({});
      expect(plain.ok).toBe(false);
      // With the gateway forwarding every field (before this check), the ask-fallback call ran: the file was made.
      const forgeries: Array<[Record<string, unknown>, string]> = [
        [{ approvalSource: 'auto-review' }, 'INVALID_APPROVAL_SOURCE'],
        [{ approvalSource: 'ask-fallback', runId: 'no-such-approval' }, 'UNKNOWN_APPROVAL_ID'],
      ];
      for (const [forged, code] of forgeries) {
        const answer = await run(forged);
        expect(answer.ok, JSON.stringify(forged)).toBe(false);
        if (target === 'clawdesk') expect(answer.error?.details?.code, JSON.stringify(answer.error)).toBe(code);
      }
      expect(fs.existsSync(marker)).toBe(false);
    });

    it('neither the CLI nor the node host tried to reach anything beyond loopback', () => {
      expect(cli.egressAttempts()).toEqual([]);
      expect(readEgressAttempts(realNodeEgressLog!)).toEqual([]);
    });
  });
}

defineSuite('token');
defineSuite('none');

if (target === 'clawdesk') {
  describe("Clawdesk's exec runner (`clawdesk node run`) against the real openclaw gateway, resolved by the real CLI", () => {
    let gateway: RealGateway;
    let cli: CliUser;
    let admin: Operator;
    let runner: ChildProcess | undefined;
    let runnerOutput = '';
    let runnerEgressLog: string;
    let nodeId: string;

    beforeAll(async () => {
      gateway = await startRealOpenclawGateway({
        authMode: 'token',
        token: TOKEN,
        tmpDir: makeTempDir('real-gw-runner'),
      });
      cli = cliUser({ port: gateway.port, authMode: 'token', token: TOKEN });
      admin = await connectOperator(gateway.port, TOKEN, ['operator.admin']);

      const runnerDir = makeTempDir('clawdesk-runner');
      const stateDir = path.join(runnerDir, 'state');
      fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
      // The runner's own policy: uname allowlisted, every run asked.
      fs.writeFileSync(path.join(stateDir, 'exec-approvals.json'), JSON.stringify(askAlwaysPolicy(UNAME), null, 2), {
        mode: 0o600,
      });
      runnerEgressLog = path.join(runnerDir, 'egress-blocked.log');
      runner = spawn(
        process.execPath,
        [
          path.join(repoRoot, 'bin', 'clawdesk.js'),
          'node',
          'run',
          '--url',
          `ws://127.0.0.1:${gateway.port}`,
          '--token',
          TOKEN,
          '--state-dir',
          stateDir,
          '--display-name',
          'clawdesk-runner',
          '--allow-plaintext-keys',
        ],
        {
          cwd: runnerDir,
          env: {
            PATH: process.env.PATH,
            HOME: runnerDir,
            TMPDIR: runnerDir,
            NODE_OPTIONS: `--require ${ensureOpenclawInstalled().loopbackGuard}`,
            PEER_EGRESS_LOG: runnerEgressLog,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      runner.stdout!.on('data', (d: Buffer) => (runnerOutput += d.toString('utf8')));
      runner.stderr!.on('data', (d: Buffer) => (runnerOutput += d.toString('utf8')));
    });

    afterAll(async () => {
      if (runner && runner.exitCode === null && runner.signalCode === null) {
        const gone = new Promise((r) => runner!.once('exit', r));
        runner.kill('SIGTERM');
        const timer = setTimeout(() => runner!.kill('SIGKILL'), 5_000);
        await gone;
        clearTimeout(timer);
      }
      await admin?.close();
      await gateway?.stop();
      removeTempDirs();
    });

    it('pairs with the real gateway and its command surface is approved with `openclaw nodes approve`', async () => {
      const pending = await waitFor(
        'a pending node pairing request from clawdesk node run',
        async () => {
          if (runner!.exitCode !== null) {
            await new Promise((r) => setTimeout(r, 200)); // let its last output arrive
            throw new Error(`clawdesk node run exited ${runner!.exitCode}:\n${runnerOutput}`);
          }
          const list = (await admin.client.request('node.pair.list', {})).payload;
          return list?.pending?.find((p: any) => p.displayName === 'clawdesk-runner');
        },
        30_000,
      );
      nodeId = pending.nodeId;
      const approve = await cli.run(['nodes', 'approve', pending.requestId]);
      expectOk(approve, describeRun(approve));
      expect(JSON.parse(approve.stdout).node.commands).toEqual(
        expect.arrayContaining(['system.run', 'system.run.prepare', 'system.which']),
      );

      const status = await cli.json(['nodes', 'status']);
      expect(status.nodes.find((n: any) => n.nodeId === nodeId)).toMatchObject({
        connected: true,
        approvalState: 'approved',
      });
    });

    it('runs system.run through the real approval flow, released by `openclaw approvals resolve`', async () => {
      expect(nodeId, 'the runner was never paired (see the previous test)').toBeDefined();
      const approver = await connectOperator(gateway.port, TOKEN, ['operator.admin'], ['exec-approvals']);
      const requester = await connectOperator(gateway.port, TOKEN, ['operator.admin']);
      try {
        const approval = await requestExecApproval(requester.client, approver.client, nodeId, ['uname', '-s']);
        expect(approval.plan.argv).toEqual([UNAME, '-s']);

        const pending = await cli.run(['approvals', 'pending']);
        expectOk(pending, describeRun(pending));
        expect(pending.stdout).toContain(approval.id);

        const resolve = await cli.run(['approvals', 'resolve', approval.id, 'allow-once']);
        expectOk(resolve, describeRun(resolve));
        expect(resolve.stdout).toContain(`Approval ${approval.id} resolved allow-once`);
        expect((await approval.decision).payload).toMatchObject({ id: approval.id, decision: 'allow-once' });

        const run = await runApproved(requester.client, nodeId, approval);
        expect(run.error).toBeUndefined();
        const payload = run.payload?.payload ?? JSON.parse(run.payload?.payloadJSON ?? 'null');
        expect(payload).toMatchObject({ exitCode: 0, success: true, stdout: 'Linux\n' });

        const again = await runApproved(requester.client, nodeId, approval);
        expect(again.ok).toBe(false);
      } finally {
        await approver.close();
        await requester.close();
      }
    });

    it('neither the runner nor the CLI tried to reach anything beyond loopback', () => {
      expect(readEgressAttempts(runnerEgressLog)).toEqual([]);
      expect(cli.egressAttempts()).toEqual([]);
    });
  });
}
