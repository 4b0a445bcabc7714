import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExitZero } from '../../helpers/cli-io';
import { createAgent, describeTurn, ensureOpenclawDeviceIdentity, type Agent } from '../../e2e/agent-harness';
import { waitUntil } from '../../e2e/clawdesk-side';
import { startModelServer, type ModelServer } from '../../e2e/model-server';
import {
  ensureOpenclawInstalled,
  openclawEnv,
  readEgressAttempts,
  runOpenclaw,
  spawnOpenclaw,
  type OpenclawProcess,
  type RunResult,
} from '../../interop/openclaw-harness';
import {
  createTwoMachines,
  linkToHost,
  NamespacedProcess,
  netnsUnavailableReason,
  runIn,
  type HostLink,
  type TwoMachines,
} from './netns';

/**
 * Issue 10, "the failures users reported", with a real agent: a device already paired as an operator (the person's
 * openclaw CLI) starts `openclaw node run` with the same state dir. On the gateway's own machine the role upgrade is
 * silent; from another machine it is a pairing prompt the person answers (`clawdesk devices approve`). Either way the
 * node's command surface then waits for its own approval (as OpenClaw's gateway does), and an agent turn's exec runs
 * on that node.
 *
 * The "server" namespace runs Clawdesk's gateway (`--bind lan --tls`, token: every client, OpenClaw's included,
 * pins the certificate it generated) and the agent; the "laptop" namespace, joined by a veth pair, the second CLI and
 * node. The scripted model listens on the host's end of a veth link to the server,
 * the one address beyond loopback the agent's loopback guard lets it reach. The agent asks nothing (`ask: off`, and
 * the nodes' own policy is full/off): the approval path has its own suites; this one is about pairing.
 */

/** Rewrites the `gateway` section of an openclaw.json the harness wrote (plain JSON). */
function patchConfig(configPath: string, change: (gateway: Record<string, unknown>) => Record<string, unknown>): void {
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.gateway = change(config.gateway ?? {});
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`\n*** agent node pairing across namespaces NOT RUN: ${unavailable} ***\n`);

const repo = path.resolve(__dirname, '../../..');
const cli = path.join(repo, 'bin', 'clawdesk.js');
const TOKEN = `replay-node-pairing-${process.pid}`;
const PORT = 18789;
const NODE_POLICY = JSON.stringify({ version: 1, defaults: { security: 'full', ask: 'off', askFallback: 'deny' } });

describe.skipIf(Boolean(unavailable))('a device paired as operator runs `openclaw node run` (real agent)', () => {
  let m: TwoMachines;
  let modelLink: HostLink;
  let model: ModelServer;
  let root: string;
  let gateway: NamespacedProcess;
  /** The SHA-256 the gateway printed for its certificate, which every client here pins. */
  let fingerprint: string;
  let agent: Agent;
  const nodes: OpenclawProcess[] = [];
  const serverState = () => path.join(root, 'server-state');
  const serverEnv = () => ({ PATH: process.env.PATH, HOME: root, OPENCLAW_STATE_DIR: serverState() });

  /** Admin calls from the server's own machine with Clawdesk's built client (fixtures/server-call.cjs). */
  const serverCall = async (method: string, params: unknown = {}) => {
    const r = await runIn(
      m.server,
      process.execPath,
      [
        path.join(__dirname, 'fixtures', 'server-call.cjs'),
        `wss://127.0.0.1:${PORT}`,
        TOKEN,
        JSON.stringify([{ method, params }]),
        fingerprint,
      ],
      serverEnv(),
    );
    if (r.code !== 0) throw new Error(`server call ${method} failed: ${r.stderr}`);
    const [step] = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    if (!step.ok) throw new Error(`${method}: ${JSON.stringify(step)}`);
    return step.payload;
  };
  /** `clawdesk devices …` as the person runs it on the server. */
  const clawdeskDevices = (args: string[]) =>
    runIn(
      m.server,
      process.execPath,
      [cli, 'devices', ...args, '--url', `wss://127.0.0.1:${PORT}`, '--tls-fingerprint', fingerprint, '--token', TOKEN],
      serverEnv(),
    );

  /**
   * A person's openclaw state dir (CLI and node host share it) on `ns`. Its CLI reaches the gateway at `cliHost`:
   * given as a URL, as a person's remote config does (a local CLI holding the token is served device-less and pairs
   * nothing, so the device's operator pairing always comes from an address). Its node host dials `nodeHost`.
   */
  const person = async (name: string, ns: string, cliHost: string, nodeHost: string) => {
    const environment = openclawEnv({ tmpDir: path.join(root, name), port: PORT, authMode: 'token', token: TOKEN });
    Object.assign(environment.env, { OPENCLAW_GATEWAY_TOKEN: TOKEN, PEER_GUARD_ALLOW_HOSTS: m.serverIp });
    // OpenClaw's CLI pins a wss:// OPENCLAW_GATEWAY_URL with gateway.remote.tlsFingerprint (in remote mode).
    const cliUrl = `wss://${cliHost}:${PORT}`;
    patchConfig(environment.configPath, (gw) => ({
      ...gw,
      mode: 'remote',
      remote: { url: cliUrl, token: TOKEN, tlsFingerprint: fingerprint },
    }));
    const cliEnv = { ...environment.env, OPENCLAW_GATEWAY_URL: cliUrl };
    const deviceId = await ensureOpenclawDeviceIdentity(environment.env);
    const policy = await runOpenclaw(['approvals', 'set', '--stdin'], environment.env, {
      input: NODE_POLICY,
      timeoutMs: 180_000,
    });
    expectExitZero(policy, `openclaw approvals set (${name})`);
    const run = (args: string[]): Promise<RunResult> => runOpenclaw(args, cliEnv, { netns: ns, timeoutMs: 180_000 });
    const startNode = (displayName: string) => {
      const node = spawnOpenclaw(
        // prettier-ignore
        ['node', 'run', '--host', nodeHost, '--port', String(PORT), '--tls', '--tls-fingerprint', fingerprint,
          '--display-name', displayName],
        environment.env,
        { netns: ns },
      );
      nodes.push(node);
      return node;
    };
    /** Its CLI's first gateway call: a pairing prompt for the operator role, which the person approves. */
    const pairAsOperator = async () => {
      const first = await run(['approvals', 'get', '--gateway']);
      expect(first.code, `${first.stdout}\n${first.stderr}`).not.toBe(0);
      expect(`${first.stdout}\n${first.stderr}`).toMatch(/pairing required/i);
      const request = await waitUntil('the CLI’s pairing request', () => pendingDevice(deviceId));
      expectExitZero(await clawdeskDevices(['approve', request.requestId]), 'clawdesk devices approve (operator)');
      expectExitZero(await run(['approvals', 'get', '--gateway']), 'the CLI once approved');
      expect((await pairedDevice(deviceId))?.roles).toEqual(['operator']);
      return request.requestId;
    };
    return { environment, deviceId, startNode, pairAsOperator };
  };

  const pairedDevice = async (deviceId: string) =>
    ((await serverCall('device.pair.list')).paired as Array<{ deviceId: string; roles?: string[] }>).find(
      (d) => d.deviceId === deviceId,
    );
  const pendingDevice = async (deviceId: string) =>
    (
      (await serverCall('device.pair.list')).pending as Array<{ deviceId: string; requestId: string; role?: string }>
    ).find((p) => p.deviceId === deviceId);
  /** Approves the node's command surface (its own request, separate from device pairing). */
  const approveCommandSurface = async (displayName: string, node: OpenclawProcess) => {
    const request = await waitUntil(
      `${displayName}'s command surface awaiting approval`,
      async () =>
        ((await serverCall('node.pair.list')).pending as Array<{ displayName?: string; requestId: string }>).find(
          (p) => p.displayName === displayName,
        ),
      120_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n--- ${displayName} ---\n${node.output().slice(-4000)}`);
    });
    await serverCall('node.pair.approve', { requestId: request.requestId });
  };
  const connectedNode = (nodeId: string) =>
    waitUntil(
      `node ${nodeId} connected with system.run`,
      async () =>
        (
          (await serverCall('node.list')).nodes as Array<{ nodeId: string; connected?: boolean; commands?: string[] }>
        ).find((n) => n.nodeId === nodeId && n.connected && (n.commands ?? []).includes('system.run')),
      120_000,
    );
  const execOn = async (nodeId: string) => {
    const turn = await agent.turn({
      command: (marker) => `basename ${marker}`,
      toolArgs: { host: 'node', node: nodeId },
    });
    expect(turn.result.code, describeTurn(turn)).toBe(0);
    expect(turn.finalText, describeTurn(turn)).toContain(turn.marker);
    expect(model.toolOutputs(turn.trigger)[0], describeTurn(turn)).toContain(`Node: ${nodeId}`);
  };

  beforeAll(async () => {
    ensureOpenclawInstalled();
    m = createTwoMachines();
    modelLink = linkToHost(m.server, 2);
    model = await startModelServer(modelLink.hostIp);
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-node-pairing-'));
    mkdirSync(serverState(), { recursive: true, mode: 0o700 });
    gateway = new NamespacedProcess(
      m.server,
      process.execPath,
      [
        cli,
        'gateway',
        'run',
        '--bind',
        'lan',
        '--tls',
        '--port',
        String(PORT),
        '--token',
        TOKEN,
        '--no-node',
        '--allow-plaintext-keys',
      ],
      serverEnv(),
    );
    await gateway.waitForOutput(/Clawdesk gateway listening on wss:/, 120_000);
    const printed = /--tls-fingerprint ([0-9a-f]{64})\n/;
    await gateway.waitForOutput(printed);
    fingerprint = printed.exec(gateway.stdout)![1];
    agent = createAgent({
      gatewayPort: PORT,
      authMode: 'token',
      token: TOKEN,
      model,
      ask: 'off',
      netns: m.server,
      env: { PEER_GUARD_ALLOW_HOSTS: modelLink.hostIp },
    });
    // The agent reaches the gateway on loopback; with gateway.tls enabled OpenClaw's client dials wss:// and pins
    // the certificate at certPath, the one the gateway serves.
    patchConfig(agent.environment.configPath, (gw) => ({
      ...gw,
      tls: { enabled: true, certPath: path.join(serverState(), 'gateway', 'tls', 'gateway-cert.pem') },
    }));
    await agent.ensureDeviceIdentity();
  }, 300_000);

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await gateway?.stop();
    await model?.close();
    modelLink?.dispose();
    m?.dispose();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it(
    'on the gateway’s machine: the role upgrade is silent, and the agent’s exec runs on the node',
    { timeout: 600_000 },
    async () => {
      // The person's CLI points at the machine's LAN address (so its operator pairing was a prompt); the node host
      // dials loopback.
      const local = await person('local-user', m.server, m.serverIp, '127.0.0.1');
      await local.pairAsOperator();

      const node = local.startNode('loopback-node');
      await approveCommandSurface('loopback-node', node);
      expect(await pendingDevice(local.deviceId), 'no device pairing prompt on loopback').toBeUndefined();
      expect((await pairedDevice(local.deviceId))?.roles).toEqual(expect.arrayContaining(['operator', 'node']));
      await connectedNode(local.deviceId);
      await execOn(local.deviceId);
      expect(readEgressAttempts(local.environment.egressLog)).toEqual([]);
    },
  );

  it(
    'from another machine: the role upgrade is a prompt; once the person approves it, the agent’s exec runs there',
    { timeout: 600_000 },
    async () => {
      const remote = await person('laptop-user', m.laptop, m.serverIp, m.serverIp);
      const operatorRequest = await remote.pairAsOperator();

      const node = remote.startNode('remote-node');
      const upgrade = await waitUntil(
        'the remote node’s role upgrade awaiting the person',
        async () => {
          const pending = await pendingDevice(remote.deviceId);
          return pending && pending.requestId !== operatorRequest ? pending : undefined;
        },
        120_000,
      );
      expect(upgrade.role).toBe('node');
      expect((await pairedDevice(remote.deviceId))?.roles, 'nothing granted before the person answers').toEqual([
        'operator',
      ]);
      expectExitZero(await clawdeskDevices(['approve', upgrade.requestId]), 'clawdesk devices approve (node role)');
      await approveCommandSurface('remote-node', node);
      await connectedNode(remote.deviceId);
      await execOn(remote.deviceId);
      expect(node.exited()).toBeUndefined();
      expect(readEgressAttempts(remote.environment.egressLog)).toEqual([]);
    },
  );
});
