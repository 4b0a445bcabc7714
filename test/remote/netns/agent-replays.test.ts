import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExitZero } from '../../helpers/cli-io';
import { createAgent, describeTurn, ensureOpenclawDeviceIdentity } from '../../e2e/agent-harness';
import { startClawdeskApprover, waitUntil, type ClawdeskApprover } from '../../e2e/clawdesk-side';
import { startModelServer, type ModelServer } from '../../e2e/model-server';
import { makeTempDir, removeTempDirs, startClawdeskGateway, type TargetGateway } from '../../interop/interop-target';
import {
  ensureOpenclawInstalled,
  openclawEnv,
  readEgressAttempts,
  runOpenclaw,
  spawnOpenclaw,
} from '../../interop/openclaw-harness';
import { createContainer, netnsUnavailableReason, startForwarder, type HostLink } from './netns';

/**
 * Issue 10, "the failures users reported": public OpenClaw reports whose symptom was "gateway closed (1008): pairing
 * required", replayed with a real `openclaw agent --local` (the pinned openclaw, its model the scripted server).
 *
 * Here: a CLI and an agent in a container on the same host. The container is a network namespace linked to this
 * machine by a veth pair; its traffic reaches Clawdesk's loopback-bound gateway through a userland forwarding proxy
 * on the host's end of the link, as Docker's proxy carries it, so the gateway sees a loopback peer. The CLI is
 * pointed at the host's address (OPENCLAW_GATEWAY_URL), so its Host header names a private address. OpenClaw's agent
 * does exec approvals only through a gateway it reaches on its own loopback (with a URL override it refuses: "agent
 * gateway calls require the trusted local gateway context"), so the container forwards its 127.0.0.1 port to the host
 * too, as a sidecar does. Served with the shared token, both must work without any pairing prompt.
 */

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`\n*** agent replays across namespaces NOT RUN: ${unavailable} ***\n`);

const TOKEN = `replay-container-${process.pid}`;
const command = (marker: string) => `basename ${marker}`;

describe.skipIf(Boolean(unavailable))('a CLI and an agent in a container, through a forwarding proxy', () => {
  let container: HostLink;
  let gateway: TargetGateway;
  let proxy: Awaited<ReturnType<typeof startForwarder>>;
  let sidecar: Awaited<ReturnType<typeof startForwarder>>;
  let model: ModelServer;
  let approver: ClawdeskApprover;
  let nodeId: string;
  /** The loopback guard still confines the container's openclaw to this machine: the host's end of the link is all it may add. */
  let agentEnv: NodeJS.ProcessEnv;
  /** The container's CLI is also given the host's address, the shared token, and leave to use plain ws:// there. */
  let cliEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    ensureOpenclawInstalled();
    container = createContainer();
    gateway = await startClawdeskGateway({ authMode: 'token', token: TOKEN });
    proxy = await startForwarder(
      null,
      { host: container.hostIp, port: gateway.port },
      { host: '127.0.0.1', port: gateway.port },
    );
    sidecar = await startForwarder(
      container.ns,
      { host: '127.0.0.1', port: gateway.port },
      { host: container.hostIp, port: gateway.port },
    );
    model = await startModelServer(container.hostIp);
    approver = await startClawdeskApprover(
      { url: `ws://127.0.0.1:${gateway.port}`, token: TOKEN },
      { dir: makeTempDir('replay-approver'), stateDir: gateway.stateDir },
    );
    nodeId = await waitUntil(
      'Clawdesk’s runner in node.list',
      async () =>
        (await approver.observer.request('node.list', {})).nodes.find(
          (n) => n.connected && (n.commands ?? []).includes('system.run'),
        )?.nodeId,
      30_000,
    );
    agentEnv = { PEER_GUARD_ALLOW_HOSTS: container.hostIp };
    cliEnv = {
      ...agentEnv,
      OPENCLAW_GATEWAY_URL: `ws://${container.hostIp}:${gateway.port}`,
      OPENCLAW_GATEWAY_TOKEN: TOKEN,
      // OpenClaw refuses plaintext ws:// beyond loopback unless told the private network is trusted.
      OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: '1',
    };
  }, 300_000);

  afterAll(async () => {
    await approver?.stop();
    await sidecar?.stop();
    await proxy?.stop();
    await gateway?.stop();
    await model?.close();
    container?.dispose();
    removeTempDirs();
  });

  it('the CLI in the container lists the nodes with the shared token', { timeout: 240_000 }, async () => {
    const cli = openclawEnv({
      tmpDir: makeTempDir('container-cli'),
      port: gateway.port,
      authMode: 'token',
      token: TOKEN,
    });
    Object.assign(cli.env, cliEnv);
    const before = proxy.connections();
    const status = await runOpenclaw(['nodes', 'status', '--json'], cli.env, {
      netns: container.ns,
      timeoutMs: 180_000,
    });
    expectExitZero(status, 'openclaw nodes status in the container');
    expect(status.stdout).toContain(nodeId);
    expect(proxy.connections(), 'it went through the proxy').toBeGreaterThan(before);
    const pending = await approver.observer.request('device.pair.list', {});
    expect(pending.pending, 'no pairing prompt for a shared-token client').toEqual([]);
    expect(readEgressAttempts(cli.egressLog)).toEqual([]);
  });

  it(
    'an agent turn in the container: the person allows, the command runs on Clawdesk’s runner, the agent quotes it',
    { timeout: 480_000 },
    async () => {
      const agent = createAgent({
        gatewayPort: gateway.port,
        authMode: 'token',
        token: TOKEN,
        model,
        netns: container.ns,
        env: agentEnv,
      });
      // In token mode a `--local` agent replays an approved run with its saved device identity.
      await agent.ensureDeviceIdentity();
      approver.answer('allow-once');
      const before = sidecar.connections();
      const turn = await agent.turn({ command });
      expect(turn.result.code, describeTurn(turn)).toBe(0);
      expect(turn.finalText, describeTurn(turn)).toContain(turn.marker);
      expect(model.toolOutputs(turn.trigger)[0], describeTurn(turn)).toContain(`Node: ${nodeId}`);
      const finished = await waitUntil('exec.finished from Clawdesk’s runner', () =>
        approver.nodeEvents.find(
          (e) => e.event === 'exec.finished' && e.nodeId === nodeId && JSON.stringify(e.payload).includes(turn.marker),
        ),
      );
      expect(finished.payload).toMatchObject({ exitCode: 0 });
      const entry = await waitUntil(
        'the approval history entry',
        () => approver.history.query({ text: turn.marker })[0],
      );
      expect(entry).toMatchObject({ decision: 'allow-once', decidedBy: 'you' });
      const pending = await approver.observer.request('device.pair.list', {});
      expect(pending.pending, 'no pairing prompt for the agent either').toEqual([]);
      // Every call of the turn (node.list, prepare, the two-phase request, the wait, the run) crossed both proxies.
      expect(sidecar.connections() - before).toBeGreaterThanOrEqual(4);
      expect(readEgressAttempts(agent.environment.egressLog)).toEqual([]);
    },
  );

  it(
    'a node host in the container is a pairing prompt (a proxy on this machine cannot be told from a container’s); once approved it connects by itself',
    { timeout: 240_000 },
    async () => {
      const nodeEnv = openclawEnv({
        tmpDir: makeTempDir('container-node'),
        port: gateway.port,
        authMode: 'token',
        token: TOKEN,
      });
      Object.assign(nodeEnv.env, cliEnv);
      const deviceId = await ensureOpenclawDeviceIdentity(nodeEnv.env);
      const node = spawnOpenclaw(
        ['node', 'run', '--host', container.hostIp, '--port', String(gateway.port), '--display-name', 'container-node'],
        nodeEnv.env,
        { netns: container.ns },
      );
      try {
        const prompt = await waitUntil(
          'the container node’s device pairing request',
          async () =>
            (await approver.observer.request('device.pair.list', {})).pending.find((p) => p.deviceId === deviceId),
          120_000,
        );
        expect(prompt.role).toBe('node');
        await approver.observer.request('device.pair.approve', { requestId: prompt.requestId });
        // Told it may wait (not paused for good), the node reconnects; its command surface then awaits approval too.
        await waitUntil(
          'the container node’s command surface awaiting approval',
          async () =>
            (await approver.observer.request('node.pair.list', {})).pending.find(
              (p) => p.displayName === 'container-node' && p.nodeId === deviceId,
            ),
          120_000,
        );
        expect(readEgressAttempts(nodeEnv.egressLog)).toEqual([]);
      } finally {
        await node.stop();
      }
    },
  );
});
