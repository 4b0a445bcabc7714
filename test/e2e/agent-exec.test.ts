import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway, createDeviceIdentity } from '../interop/device-client';
import {
  cliUser,
  makeTempDir,
  REMOTE_PEER_HEADERS,
  removeTempDirs,
  startClawdeskGateway,
  waitForPasswordHello,
  type TargetGateway,
} from '../interop/interop-target';
import {
  ensureOpenclawInstalled,
  repoRoot,
  runOpenclaw,
  spawnRealOpenclawGateway,
  startRealOpenclawGateway,
  type RealGateway,
} from '../interop/openclaw-harness';
import { spawn } from 'node:child_process';
import { agentConfig, createAgent, describeTurn, type Agent, type AgentTurn } from './agent-harness';
import { startClawdeskApprover, waitUntil, type ClawdeskApprover } from './clawdesk-side';
import { startModelServer, type ModelServer } from './model-server';

/**
 * Issue 10: a real `openclaw agent --local` turn (openclaw 2026.9.6 from the interop cache, its model a scripted
 * server on loopback) calls its exec tool; the request reaches the person through Clawdesk's approval client (as the
 * app wires it, with a scripted presenter) and runs on Clawdesk's runner.
 *
 * Every allowed turn asserts: the agent exits 0; its final text carries the command's real output (a marker unique to
 * the turn, printed by `basename`, which is not a shell builtin and so can be allowlisted); the run happened on
 * Clawdesk's runner (its `exec.finished` node event, and the "Node: <id>" line of the tool result naming Clawdesk's
 * node); and the approval history recorded the decision and who made it ("you": Clawdesk's client).
 */

const command = (marker: string) => `basename ${marker}`;
let model: ModelServer;

beforeAll(async () => {
  ensureOpenclawInstalled();
  model = await startModelServer();
});
afterAll(async () => {
  await model?.close();
  removeTempDirs();
});

/** The connected node that offers system.run (the gateway answers hello-ok before its runner has connected). */
async function clawdeskNodeId(approver: ClawdeskApprover, timeoutMs = 30_000): Promise<string> {
  let last: unknown;
  try {
    return await waitUntil(
      'a connected node offering system.run',
      async () => {
        const list = await approver.observer.request('node.list', {});
        last = list;
        return list.nodes.find((n) => n.connected && (n.commands ?? []).includes('system.run'))?.nodeId;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last node.list: ${JSON.stringify(last)}`);
  }
}

async function expectRanOnClawdesk(
  turn: AgentTurn,
  approver: ClawdeskApprover,
  nodeId: string,
  decision: 'allow-once' | 'allow-always',
  observeNodeEvents = true,
) {
  expect(turn.result.code, describeTurn(turn)).toBe(0);
  expect(turn.finalText, describeTurn(turn)).toContain(turn.marker);
  // The tool result the model was shown: the runner's node, then the command's output.
  const [toolOutput] = model.toolOutputs(turn.trigger);
  expect(toolOutput, describeTurn(turn)).toContain(`Node: ${nodeId}`);
  expect(toolOutput).toContain(`${turn.marker}\n`);
  if (observeNodeEvents) {
    const finished = await waitUntil('exec.finished from Clawdesk’s runner', () =>
      approver.nodeEvents.find(
        (e) => e.event === 'exec.finished' && e.nodeId === nodeId && JSON.stringify(e.payload).includes(turn.marker),
      ),
    );
    expect(finished.payload).toMatchObject({ exitCode: 0 });
  }
  const entry = await waitUntil('the approval history entry', () =>
    approver.history.query().find((e) => e.command.includes(turn.marker)),
  );
  expect(entry).toMatchObject({ decision, decidedBy: 'you' });
  expect(approver.outcomes.find((o) => o.id === entry.id)).toMatchObject({ decision, source: 'user' });
}

describe('embedded: Clawdesk’s gateway (token), openclaw agent --local', () => {
  const TOKEN = `e2e-token-${process.pid}-${Date.now()}`;
  let gateway: TargetGateway;
  let approver: ClawdeskApprover;
  let agent: Agent;
  let nodeId: string;

  beforeAll(async () => {
    gateway = await startClawdeskGateway({ authMode: 'token', token: TOKEN });
    approver = await startClawdeskApprover(
      { url: `ws://127.0.0.1:${gateway.port}`, token: TOKEN },
      { dir: makeTempDir('approver') },
    );
    nodeId = await clawdeskNodeId(approver);
    agent = createAgent({ gatewayPort: gateway.port, authMode: 'token', token: TOKEN, model });
    await agent.ensureDeviceIdentity();
  });
  afterAll(async () => {
    await approver?.stop();
    await gateway?.stop();
  });

  it('allow-once: the person allows, the command runs on Clawdesk’s runner, the agent quotes its output', async () => {
    approver.answer('allow-once');
    const turn = await agent.turn({ command });
    await expectRanOnClawdesk(turn, approver, nodeId, 'allow-once');
    const view = approver.views.find((v) => v.command.text.includes(turn.marker));
    expect(view?.command.text).toContain(`basename ${turn.marker}`);
  });

  it('deny: nothing runs and the agent’s final text reports the denial', async () => {
    approver.answer('deny');
    const turn = await agent.turn({ command });
    expect(turn.result.code, describeTurn(turn)).toBe(0);
    expect(turn.finalText, describeTurn(turn)).toMatch(/denied/i);
    expect(model.toolOutputs(turn.trigger)[0] ?? '').not.toContain(`${turn.marker}\n`);
    const entry = await waitUntil('the history entry', () =>
      approver.history.query().find((e) => e.command.includes(turn.marker)),
    );
    expect(entry).toMatchObject({ decision: 'deny', decidedBy: 'you' });
    expect(
      approver.nodeEvents.some((e) => e.event === 'exec.finished' && JSON.stringify(e.payload).includes(turn.marker)),
    ).toBe(false);
  });

  it('bad input: malformed exec calls get a clear error in the tool result, and leave no approval or process', async () => {
    // One turn, five malformed calls in a row (one agent process instead of five). A prompt would be a finding: the
    // person must never be asked about input that cannot run; the scripted answer is deny, so nothing could run.
    approver.answer('deny');
    const shown = approver.views.length;
    const childrenBefore = childrenOf(gateway.pid!);
    // 200 KiB: OpenClaw's own model stream refuses a tool call's arguments above 256,000 bytes ("Exceeded
    // tool-call argument buffer limit", the whole run fails), so a 1 MB command never reaches a real agent's exec tool.
    const huge = `basename ${'A'.repeat(200 * 1024)}`;
    const calls = [
      { workdir: '/tmp' },
      { command: huge },
      { command: 'basename CLAWDESK-NUL-\u0000-BYTE' },
      { command: 'basename CLAWDESK-HOST', host: 'mars' },
      { command: 'basename CLAWDESK-NODE', node: 'no-such-node' },
    ];
    const turn = await agent.turn({ command, calls });
    expect(turn.result.code, describeTurn(turn)).toBe(0);
    const outputs = model.toolOutputs(turn.trigger);
    expect(outputs, describeTurn(turn)).toHaveLength(calls.length);
    const [noCommand, tooLong, nul, unknownHost, unknownNode] = outputs;
    expect(noCommand).toMatch(/command/i);
    expect(tooLong).toMatch(/longer than 65536 bytes/);
    expect(nul).toMatch(/NUL bytes/);
    expect(unknownHost).toMatch(/host/i);
    expect(unknownNode).toMatch(/no-such-node|node not found|requested node/i);
    for (const output of outputs) expect(output).not.toMatch(/^Node: /);
    expect(approver.views.length, `prompted for malformed input: ${JSON.stringify(approver.views.slice(shown))}`).toBe(
      shown,
    );
    const pending = await approver.observer.request('exec.approval.list', {});
    expect(pending).toEqual([]);
    expect(
      approver.nodeEvents.some(
        (e) => e.event === 'exec.started' && /CLAWDESK-(NUL|HOST|NODE)|AAAA/.test(JSON.stringify(e.payload)),
      ),
    ).toBe(false);
    expect(childrenOf(gateway.pid!).filter((pid) => !childrenBefore.includes(pid))).toEqual([]);
  });

  it(
    'allow-always: the command runs, the decision is recorded, and the next turn runs with no prompt',
    { timeout: 720_000 },
    async () => {
      // ask on-miss: "Always allow" is offered (ask always offers allow-once only).
      const onMiss = createAgent({ gatewayPort: gateway.port, authMode: 'token', token: TOKEN, model, ask: 'on-miss' });
      await onMiss.ensureDeviceIdentity();
      approver.answer('allow-always');
      const first = await onMiss.turn({ command });
      await expectRanOnClawdesk(first, approver, nodeId, 'allow-always');
      // The next turn (same program, other arguments) runs with no prompt. OpenClaw's agent re-judges the node's
      // allowlist itself with PATH emptied, so `basename` in its `sh -lc` payload never matches the node's path entry;
      // it skips the prompt only because the node's prepare reports the plan as `full` (docs/protocol.md
      // § What prepare's `execPolicy` says). The node still decides: the run is unapproved and passes on its own allowlist.
      approver.answer('never');
      const shown = approver.views.length;
      const second = await onMiss.turn({ command });
      expect(approver.views.length, 'the second turn was prompted').toBe(shown);
      expect(second.result.code, describeTurn(second)).toBe(0);
      expect(second.finalText, describeTurn(second)).toContain(second.marker);
      expect(model.toolOutputs(second.trigger)[0], describeTurn(second)).toContain(`Node: ${nodeId}`);
      await waitUntil('exec.finished of the second turn', () =>
        approver.nodeEvents.find(
          (e) =>
            e.event === 'exec.finished' && e.nodeId === nodeId && JSON.stringify(e.payload).includes(second.marker),
        ),
      );
      // No approval was filed for it at all, not merely none shown.
      const pending = await approver.observer.request('exec.approval.list', {});
      expect(JSON.stringify(pending)).not.toContain(second.marker);
      expect(approver.resolved.some((r) => JSON.stringify(r).includes(second.marker))).toBe(false);
    },
  );
});

/** Processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe('embedded: askFallback on expiry', () => {
  const TOKEN = `e2e-fallback-${process.pid}-${Date.now()}`;
  it('nobody answers: askFallback (deny, the default) decides, nothing runs, the agent reports the denial', async () => {
    const gateway = await startClawdeskGateway({ authMode: 'token', token: TOKEN });
    const approver = await startClawdeskApprover(
      { url: `ws://127.0.0.1:${gateway.port}`, token: TOKEN },
      { dir: makeTempDir('approver-fb'), promptTimeoutMs: 3_000 },
    );
    try {
      approver.answer('never');
      const agent = createAgent({ gatewayPort: gateway.port, authMode: 'token', token: TOKEN, model });
      await agent.ensureDeviceIdentity();
      const turn = await agent.turn({ command });
      expect(turn.result.code, describeTurn(turn)).toBe(0);
      expect(turn.finalText, describeTurn(turn)).toMatch(/denied/i);
      const entry = await waitUntil('the history entry', () =>
        approver.history.query().find((e) => e.command.includes(turn.marker)),
      );
      expect(entry).toMatchObject({ decision: 'deny', decidedBy: 'fallback (askFallback=deny)' });
      expect(approver.clientOutcomes.find((o) => o.id === entry.id)).toMatchObject({
        decision: 'deny',
        source: 'fallback',
      });
      expect(
        approver.nodeEvents.some((e) => e.event === 'exec.finished' && JSON.stringify(e.payload).includes(turn.marker)),
      ).toBe(false);
    } finally {
      await approver.stop();
      await gateway.stop();
    }
  });
});

describe('embedded: askFallback=allowlist when nobody answers (ask=always)', () => {
  const TOKEN = `e2e-fallback-allowlist-${process.pid}-${Date.now()}`;
  it(
    'an allowlisted command runs on Clawdesk’s runner once the request expires; one the allowlist misses does not run',
    { timeout: 720_000 },
    async () => {
      const basename = fs.realpathSync('/usr/bin/basename');
      // The node asks for every run, and falls back to its allowlist, which holds basename only.
      const nodePolicy = {
        version: 1,
        defaults: { security: 'allowlist', ask: 'always', askFallback: 'allowlist' },
        agents: { '*': { allowlist: [{ pattern: basename }] } },
      };
      // Unanswered requests end after 8 s (OpenClaw's agent asks for 30 min), then askFallback decides.
      const gateway = await startClawdeskGateway({
        authMode: 'token',
        token: TOKEN,
        extraArgs: ['--approval-timeout', '8'],
        stateFiles: { 'exec-approvals.json': nodePolicy },
      });
      const approver = await startClawdeskApprover(
        { url: `ws://127.0.0.1:${gateway.port}`, token: TOKEN },
        { dir: makeTempDir('approver-fb-allowlist'), stateDir: gateway.stateDir, promptTimeoutMs: 2_000 },
      );
      try {
        const nodeId = await clawdeskNodeId(approver);
        approver.answer('never');
        const agent = createAgent({ gatewayPort: gateway.port, authMode: 'token', token: TOKEN, model });
        await agent.ensureDeviceIdentity();
        // The agent's own host policy falls back to the allowlist too (the stricter of the two wins). OpenClaw keeps
        // it in its SQLite state (a JSON file there is refused as legacy), so its own CLI writes it.
        const hostPolicy = await runOpenclaw(['approvals', 'set', '--stdin'], agent.environment.env, {
          input: JSON.stringify({
            version: 1,
            defaults: { security: 'full', ask: 'always', askFallback: 'allowlist' },
          }),
          timeoutMs: 180_000,
        });
        expect(hostPolicy.code, `${hostPolicy.stdout}\n${hostPolicy.stderr}`).toBe(0);

        const hit = await agent.turn({ command: (marker) => `${basename} ${marker}` });
        expect(hit.result.code, describeTurn(hit)).toBe(0);
        expect(hit.finalText, describeTurn(hit)).toContain(hit.marker);
        expect(model.toolOutputs(hit.trigger)[0], describeTurn(hit)).toContain(`Node: ${nodeId}`);
        const ran = await waitUntil('exec.finished of the allowlisted command', () =>
          approver.nodeEvents.find(
            (e) => e.event === 'exec.finished' && e.nodeId === nodeId && JSON.stringify(e.payload).includes(hit.marker),
          ),
        );
        expect(ran.payload).toMatchObject({ exitCode: 0 });
        // The person was asked, nobody answered, and Clawdesk's client resolved nothing: the node's allowlist decided.
        const hitView = approver.views.find((v) => v.command.text.includes(hit.marker));
        expect(hitView, 'the person was asked first').toBeDefined();
        const hitOutcome = approver.clientOutcomes.find((o) => o.decision === null && o.source === 'fallback');
        expect(hitOutcome, JSON.stringify(approver.clientOutcomes)).toBeDefined();
        // The app's history names the allowlist as what decided, not an unexplained expiry.
        const hitEntry = await waitUntil(
          'the history entry of the allowlisted request',
          () => approver.history.query({ text: hit.marker })[0],
        );
        expect(hitEntry.decidedBy).toBe("fallback (askFallback=allowlist: the node's allowlist decided)");

        const missed = await agent.turn({ command: (marker) => `/usr/bin/printf ${marker}` });
        expect(missed.result.code, describeTurn(missed)).toBe(0);
        expect(missed.finalText, describeTurn(missed)).toMatch(/denied|allowlist/i);
        expect(model.toolOutputs(missed.trigger)[0] ?? '').not.toContain(`Node: ${nodeId}`);
        expect(
          approver.nodeEvents.some(
            (e) => e.event === 'exec.started' && JSON.stringify(e.payload).includes(missed.marker),
          ),
        ).toBe(false);
      } finally {
        await approver.stop();
        await gateway.stop();
      }
    },
  );
});

/** `clawdesk approvals <args>` as a person runs it: the built CLI, no keychain, under the loopback guard. */
function clawdeskCli(args: string[], stateDir: string, options: { pty?: boolean } = {}) {
  const install = ensureOpenclawInstalled();
  const argv = [path.join(repoRoot, 'bin', 'clawdesk.js'), ...args];
  // `script` gives the CLI a real pseudo-terminal, as `approvals watch` has in a person's shell.
  const quoted = [process.execPath, ...argv].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = options.pty
    ? spawn('script', ['-qfec', quoted, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] as const, env: cliEnv() })
    : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] as const, env: cliEnv() });
  function cliEnv(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: stateDir,
      OPENCLAW_STATE_DIR: stateDir,
      NODE_OPTIONS: `--require ${install.loopbackGuard}`,
      // No keychain here: the CLI keeps its key in a 0600 file only because it is told to.
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/clawdesk-e2e-bus',
    };
  }
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('embedded: the approver is `clawdesk approvals watch` in a terminal, and `clawdesk approvals resolve`', () => {
  const TOKEN = `e2e-cli-approver-${process.pid}-${Date.now()}`;
  it(
    'a person answers in the terminal, then from another shell; the commands run on Clawdesk’s runner',
    { timeout: 720_000 },
    async () => {
      const gateway = await startClawdeskGateway({ authMode: 'token', token: TOKEN });
      const cliState = makeTempDir('cli-approver');
      const target = ['--url', `ws://127.0.0.1:${gateway.port}`, '--token', TOKEN, '--allow-plaintext-keys'];
      const watch = clawdeskCli(['approvals', 'watch', ...target], cliState, { pty: true });
      try {
        await waitUntil(
          'the watcher connected',
          () => (watch.output().includes('Watching ws://') ? true : undefined),
          60_000,
        );
        const agent = createAgent({ gatewayPort: gateway.port, authMode: 'token', token: TOKEN, model });
        await agent.ensureDeviceIdentity();

        // 1. In the terminal: the prompt shows the command, the person types "o".
        const seen = watch.output().length;
        const first = agent.turn({ command });
        await waitUntil(
          'the terminal prompt',
          () => (watch.output().slice(seen).includes('Allow? ') ? true : undefined),
          300_000,
        );
        expect(watch.output().slice(seen)).toMatch(/Command: +.*basename CLAWDESK-E2E-/);
        watch.child.stdin.write('o\n');
        const turn = await first;
        expect(turn.result.code, describeTurn(turn)).toBe(0);
        expect(turn.finalText, describeTurn(turn)).toContain(turn.marker);
        const [toolOutput] = model.toolOutputs(turn.trigger);
        expect(toolOutput, describeTurn(turn)).toMatch(/^Node: /m);
        expect(toolOutput).toContain(`${turn.marker}\n`);
        await waitUntil('the watcher reporting the decision', () =>
          /: allow-once\r?\n/.test(watch.output()) ? true : undefined,
        );

        // 2. From another shell: `approvals pending` lists it, `approvals resolve <id> allow-once` decides it.
        const before = watch.output().length;
        const second = agent.turn({ command });
        await waitUntil(
          'the second prompt',
          () => (watch.output().slice(before).includes('Allow? ') ? true : undefined),
          300_000,
        );
        const id = /Approval: +(\S+)/.exec(watch.output().slice(before))?.[1];
        expect(id).toBeDefined();
        const pending = clawdeskCli(['approvals', 'pending', '--json', ...target], cliState);
        expect(await pending.exited, pending.output()).toBe(0);
        expect(pending.output()).toContain(id!);
        const resolve = clawdeskCli(['approvals', 'resolve', id!, 'allow-once', ...target], cliState);
        expect(await resolve.exited, resolve.output()).toBe(0);
        const turn2 = await second;
        expect(turn2.result.code, describeTurn(turn2)).toBe(0);
        expect(turn2.finalText, describeTurn(turn2)).toContain(turn2.marker);
        await waitUntil('the watcher closing its prompt', () =>
          watch.output().slice(before).includes('answered elsewhere') ? true : undefined,
        );
      } finally {
        watch.child.kill('SIGTERM');
        await watch.exited;
        await gateway.stop();
      }
    },
  );
});

describe('embedded: Clawdesk’s gateway with auth none', () => {
  it('allow-once', async () => {
    const gateway = await startClawdeskGateway({ authMode: 'none' });
    const approver = await startClawdeskApprover(
      { url: `ws://127.0.0.1:${gateway.port}` },
      { dir: makeTempDir('approver-none') },
    );
    try {
      const nodeId = await clawdeskNodeId(approver);
      const agent = createAgent({ gatewayPort: gateway.port, authMode: 'none', model });
      await agent.ensureDeviceIdentity();
      approver.answer('allow-once');
      const turn = await agent.turn({ command });
      await expectRanOnClawdesk(turn, approver, nodeId, 'allow-once');
    } finally {
      await approver.stop();
      await gateway.stop();
    }
  });
});

/** OpenClaw's own gateway for attach cells: token or password, its config carrying the agent's model and exec policy. */
async function startOpenclawGatewayFor(auth: { mode: 'token' | 'password'; secret: string }): Promise<RealGateway> {
  const options = {
    authMode: auth.mode,
    ...(auth.mode === 'token' ? { token: auth.secret } : { password: auth.secret }),
    tmpDir: makeTempDir(`attach-gw-${auth.mode}`),
    // Gateway-backed turns run inside OpenClaw's gateway: its config carries the scripted model and the exec policy.
    extraConfig: agentConfig(model),
    startTimeoutMs: 240_000,
  };
  if (auth.mode === 'token') return startRealOpenclawGateway(options);
  // The interop harness's hello probe speaks no password: Clawdesk's client checks the password is served.
  const gw = await spawnRealOpenclawGateway(options);
  await waitForPasswordHello(gw.port, auth.secret, () => gw.exitInfo() !== undefined, 240_000).catch(async (error) => {
    await gw.stop(1_000);
    throw new Error(`${(error as Error).message}\n${gw.output().slice(-3000)}`);
  });
  return {
    port: gw.port,
    pid: gw.pid,
    environment: gw.environment,
    firstHelloMs: 0,
    output: gw.output,
    stop: () => gw.stop(),
  };
}

for (const mode of ['token', 'password'] as const) {
  describe(`attach: OpenClaw’s gateway (${mode}), \`clawdesk node run\` as its node, Clawdesk’s approval client as approver`, () => {
    const secret = `e2e-attach-${mode}-${process.pid}-${Date.now()}`;
    const credential = mode === 'token' ? { token: secret } : { password: secret };
    let real: RealGateway | undefined;
    let node: { output(): string; stop(): Promise<void> } | undefined;
    let approver: ClawdeskApprover | undefined;
    afterAll(async () => {
      await approver?.stop();
      await node?.stop();
      await real?.stop();
    });

    it('allow-once', { timeout: 720_000 }, async () => {
      real = await startOpenclawGatewayFor({ mode, secret });
      const url = `ws://127.0.0.1:${real.port}`;
      node = startClawdeskNode(url, credential);
      const cli = cliUser({ port: real.port, authMode: mode, ...credential });
      let lastPending: unknown;
      // OpenClaw asks the owner to approve a node's command surface once: `openclaw nodes approve`.
      const requestId = await waitUntil(
        'the node’s pending request on OpenClaw’s gateway',
        async () => {
          const listed = await cli.json<any>(['nodes', 'pending']);
          const pending: any[] = Array.isArray(listed) ? listed : (listed?.pending ?? listed?.requests ?? []);
          if (!pending.length) lastPending = listed;
          return pending[0]?.requestId as string | undefined;
        },
        120_000,
      ).catch((error) => {
        throw new Error(
          `${error.message}; last \`nodes pending --json\`: ${JSON.stringify(lastPending)}\n--- Clawdesk node ---\n${node!.output().slice(-2000)}`,
        );
      });
      const approved = await cli.run(['nodes', 'approve', requestId]);
      expect(approved.code, approved.stderr).toBe(0);
      approver = await startClawdeskApprover({ url, ...credential }, { dir: makeTempDir(`approver-attach-${mode}`) });
      const nodeId = await clawdeskNodeId(approver, 60_000);
      // `openclaw agent` (gateway-backed, the common attach setup): the turn runs inside OpenClaw's gateway. (`--local`
      // with its own state dir is refused there: its runtime identity token is not signed with the gateway's secret.)
      const agent = createAgent({
        gatewayPort: real.port,
        authMode: mode,
        ...credential,
        model,
        gatewayBacked: true,
      });
      approver.answer('allow-once');
      const turn = await agent.turn({ command });
      // OpenClaw's gateway does not forward node events to operators the way Clawdesk's does: the runner's own log.
      await expectRanOnClawdesk(turn, approver, nodeId, 'allow-once', false);
      await waitUntil('the run in Clawdesk’s runner log', () => node!.output().includes(turn.marker));
    });
  });
}

/**
 * What OpenClaw's gateway in `auth: none` allows and refuses, verified against the real gateway (loopback bind, the
 * test client's X-Forwarded-For trusted so it can stand for a remote peer). Allowed on loopback with no credential at
 * all: a device-less `gateway-client`/`backend` operator, with every scope it asks for (`operator.admin` included:
 * it lists approvals); any client with a device, paired silently (a `cli` operator and a `node` get device tokens).
 * Refused: a device-less `cli` operator or `node` ("device identity required"), a device-less client from a remote
 * peer (the same), and a remote device until someone approves its pairing request (PAIRING_REQUIRED). So in `none`
 * every local process is an administrator; Clawdesk's gateway in `none` is narrower (docs/protocol.md § Auth modes).
 */
describe('attach: OpenClaw’s gateway in auth none', () => {
  let real: RealGateway | undefined;
  afterAll(async () => {
    await real?.stop();
  });
  it('allows every local client and refuses device-less cli/node clients and unpaired remote devices', async () => {
    real = await startRealOpenclawGateway({
      authMode: 'none',
      tmpDir: makeTempDir('attach-none'),
      trustedProxies: ['127.0.0.1'],
      startTimeoutMs: 240_000,
    });
    const port = real.port;
    const probe = async (options: Omit<Parameters<typeof connectGateway>[0], 'port'>) => {
      const result = await connectGateway({ port, timeoutMs: 20_000, ...options });
      const list = result.ok ? await result.client!.request('exec.approval.list', {}).catch((e) => e) : undefined;
      await result.client?.close();
      return { ...result, list };
    };
    const node = {
      clientId: 'node-host',
      clientMode: 'node',
      role: 'node' as const,
      scopes: [],
      commands: ['system.run'],
    };
    const backend = await probe({ clientId: 'gateway-client', clientMode: 'backend', scopes: ['operator.admin'] });
    expect(backend.ok, JSON.stringify(backend.error)).toBe(true);
    expect(backend.hello?.auth?.scopes).toContain('operator.admin');
    expect(backend.list?.ok).toBe(true);
    const cliWithDevice = await probe({
      clientId: 'cli',
      clientMode: 'cli',
      scopes: ['operator.admin', 'operator.approvals'],
      device: createDeviceIdentity(),
    });
    expect(cliWithDevice.ok, JSON.stringify(cliWithDevice.error)).toBe(true);
    expect(cliWithDevice.hello?.auth?.deviceToken).toBeTruthy();
    const nodeWithDevice = await probe({ ...node, device: createDeviceIdentity() });
    expect(nodeWithDevice.ok, JSON.stringify(nodeWithDevice.error)).toBe(true);
    for (const refused of [
      await probe({ clientId: 'cli', clientMode: 'cli', scopes: ['operator.admin'] }),
      await probe(node),
      await probe({
        clientId: 'gateway-client',
        clientMode: 'backend',
        scopes: ['operator.admin'],
        headers: REMOTE_PEER_HEADERS,
      }),
    ]) {
      expect(refused.ok).toBe(false);
      expect(refused.error?.details?.code).toBe('DEVICE_IDENTITY_REQUIRED');
    }
    const remoteDevice = await probe({ ...node, device: createDeviceIdentity(), headers: REMOTE_PEER_HEADERS });
    expect(remoteDevice.ok).toBe(false);
    expect(remoteDevice.error?.details?.code).toBe('PAIRING_REQUIRED');
  });
});

describe('embedded: Clawdesk’s gateway (password), openclaw agent --local', () => {
  it('allow-once', async () => {
    const PASSWORD = `e2e-password-${process.pid}-${Date.now()}`;
    const gateway = await startClawdeskGateway({ authMode: 'password', password: PASSWORD });
    const approver = await startClawdeskApprover(
      { url: `ws://127.0.0.1:${gateway.port}`, password: PASSWORD },
      { dir: makeTempDir('approver-password') },
    );
    try {
      const nodeId = await clawdeskNodeId(approver);
      const agent = createAgent({ gatewayPort: gateway.port, authMode: 'password', password: PASSWORD, model });
      await agent.ensureDeviceIdentity();
      approver.answer('allow-once');
      const turn = await agent.turn({ command });
      await expectRanOnClawdesk(turn, approver, nodeId, 'allow-once');
    } finally {
      await approver.stop();
      await gateway.stop();
    }
  });
});

/** `clawdesk node run` (the built CLI) as a child process under the loopback guard, with its own state dir. */
function startClawdeskNode(
  url: string,
  credential: { token?: string; password?: string },
): { output(): string; stop(): Promise<void> } {
  const install = ensureOpenclawInstalled();
  const dir = makeTempDir('clawdesk-node');
  const stateDir = path.join(dir, 'state');
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const child = spawn(
    process.execPath,
    [
      path.join(repoRoot, 'bin', 'clawdesk.js'),
      'node',
      'run',
      '--url',
      url,
      ...(credential.token ? ['--token', credential.token] : ['--password', credential.password!]),
      '--state-dir',
      stateDir,
      '--identity',
      path.join(dir, 'node-key.json'),
      '--display-name',
      'Clawdesk',
      '--verbose',
    ],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        TMPDIR: os.tmpdir(),
        NODE_OPTIONS: `--require ${install.loopbackGuard}`,
        PEER_EGRESS_LOG: path.join(dir, 'egress.log'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const forced = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(forced);
    },
  };
}
