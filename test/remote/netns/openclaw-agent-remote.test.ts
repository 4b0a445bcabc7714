import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentConfig, createAgent, describeTurn, type Agent } from '../../e2e/agent-harness';
import { startModelServer, type ModelServer } from '../../e2e/model-server';
import { waitFor } from '../../helpers/cli-io';
import { gatewaysCli } from '../helpers/gateways-cli';
import { ensureOpenclawInstalled } from '../../interop/openclaw-harness';
import { disposeCertificate, makeSelfSignedCertificate, type TestCertificate } from '../helpers/tls';
import {
  createTwoMachines,
  linkToHost,
  NamespacedProcess,
  netnsUnavailableReason,
  type HostLink,
  type TwoMachines,
} from './netns';
import { laptopEnvironment, openclawTlsServer, type OpenclawTlsServer } from './openclaw-server';

/**
 * Clawdesk's runner on OpenClaw's own gateway across machines, with a real agent turn (issue 15): the REAL OpenClaw
 * gateway (the pinned package, gateway.tls with a certificate made here, LAN bind) on the "server", whose config
 * carries the scripted model and `tools.exec: {host: node, ask: always}`; a gateway-backed `openclaw agent` turn on
 * the server. The "laptop" runs `clawdesk gateways connect` in a pseudo-terminal (the person at the terminal approver)
 * with the runner enabled; it is paired with the real `openclaw devices approve` and `openclaw nodes approve` on the
 * server. The exec the agent asks for runs on the laptop: its output names the laptop namespace's address.
 */

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`\n*** OpenClaw agent on a remote runner NOT RUN: ${unavailable} ***\n`);

const repo = path.resolve(__dirname, '../../..');
const cli = path.join(repo, 'bin', 'clawdesk.js');
const TOKEN = `openclaw-agent-remote-${process.pid}`;
const PORT = 18791;

/** Rewrites the `gateway` section of an openclaw.json the harness wrote (plain JSON). */
function patchGatewayConfig(configPath: string, change: (gateway: Record<string, unknown>) => Record<string, unknown>) {
  const config = JSON.parse(readFileSync(configPath, 'utf8'));
  config.gateway = change(config.gateway ?? {});
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

describe.skipIf(Boolean(unavailable))('the runner on OpenClaw’s own gateway across machines (real agent)', () => {
  let m: TwoMachines;
  let modelLink: HostLink;
  let model: ModelServer;
  let root: string;
  let cert: TestCertificate;
  let server: OpenclawTlsServer;
  let gateway: NamespacedProcess;
  let agent: Agent;
  /** `clawdesk gateways connect` on the laptop, in a pseudo-terminal (`script`), so its terminal approver asks. */
  let connect: ChildProcess;
  let terminal = '';
  let nodeId: string;
  const laptopEnv = () => laptopEnvironment(root);
  const openclaw = (args: string[]) => server.openclaw(args);
  /** An `openclaw … --json` answer (it may print a notice line before the JSON); undefined when it failed. */
  const openclawJson = async (args: string[]): Promise<any> => {
    const r = await openclaw([...args, '--json']);
    const start = r.stdout.search(/[[{]/);
    return r.code === 0 && start >= 0 ? JSON.parse(r.stdout.slice(start)) : undefined;
  };
  const describeState = () =>
    `--- laptop terminal ---\n${terminal.slice(-4000)}\n--- gateway ---\n${gateway.stdout.slice(-3000)}${gateway.stderr.slice(-2000)}`;
  /** The latest one-line status the terminal printed for the gateway, e.g. `openclaw: connected`. */
  const latestState = () => {
    const lines = terminal.split(/\r?\n/).filter((l) => l.startsWith('openclaw: '));
    return lines.at(-1)?.slice('openclaw: '.length).split(' ')[0];
  };

  beforeAll(async () => {
    ensureOpenclawInstalled();
    m = createTwoMachines();
    modelLink = linkToHost(m.server, 2);
    model = await startModelServer(modelLink.hostIp);
    root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-netns-oc-agent-'));
    mkdirSync(laptopEnv().OPENCLAW_STATE_DIR!, { recursive: true, mode: 0o700 });
    mkdirSync(laptopEnv().HOME!, { recursive: true, mode: 0o700 });
    cert = makeSelfSignedCertificate([m.serverIp, '127.0.0.1']);
    // Gateway-backed turns run inside OpenClaw's gateway: its config carries the model and the exec policy.
    server = openclawTlsServer(m, { root, port: PORT, token: TOKEN, cert, extraConfig: agentConfig(model, 'always') });
    gateway = server.start();
    agent = createAgent({
      gatewayPort: PORT,
      authMode: 'token',
      token: TOKEN,
      model,
      gatewayBacked: true,
      netns: m.server,
    });
    // The agent's CLI dials the gateway on the server's loopback: wss://, pinned to the certificate it serves.
    patchGatewayConfig(agent.environment.configPath, (gw) => ({
      ...gw,
      tls: { enabled: true, certPath: cert.certPath },
    }));

    const add = await gatewaysCli(
      // prettier-ignore
      ['add', 'openclaw', `wss://${m.serverIp}:${PORT}`, '--token', TOKEN, '--tls-fingerprint', cert.fingerprint,
        '--runner', '--allow-plaintext-keys'],
      laptopEnv(),
    );
    expect(add.code, add.err).toBe(0);

    const argv = [process.execPath, cli, 'gateways', 'connect', '--allow-plaintext-keys'];
    const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    connect = spawn('ip', ['netns', 'exec', m.laptop, 'script', '-qfec', quoted, '/dev/null'], {
      env: laptopEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    connect.stdout!.setEncoding('utf8').on('data', (t: string) => (terminal = (terminal + t).slice(-500_000)));
    connect.stderr!.setEncoding('utf8').on('data', (t: string) => (terminal = (terminal + t).slice(-500_000)));

    // Pairing, as the person does it on the server: the laptop's device (operator and node roles) with
    // `openclaw devices approve`, then the node's command surface with `openclaw nodes approve`.
    await waitFor(
      async () => {
        if (gateway.child.exitCode !== null) throw new Error(`openclaw gateway exited ${gateway.child.exitCode}`);
        if (latestState() === 'connected') return true;
        const devices = await openclawJson(['devices', 'list']);
        for (const p of devices?.pending ?? []) await openclaw(['devices', 'approve', p.requestId]);
        const nodes = await openclawJson(['nodes', 'pending']);
        const pending: any[] = Array.isArray(nodes) ? nodes : (nodes?.pending ?? nodes?.requests ?? []);
        for (const p of pending) await openclaw(['nodes', 'approve', p.requestId]);
        return false;
      },
      300_000,
      'the laptop connected to OpenClaw’s gateway, both roles paired',
    ).catch((e) => {
      throw new Error(`${e.message}\n${describeState()}`);
    });
    await agent.ensureDeviceIdentity();
    let listed: unknown;
    await waitFor(
      async () => {
        // The command surface request can come after the state reads `connected` (the runner reconnects): approve
        // it here too.
        listed = await openclawJson(['nodes', 'list']);
        for (const p of (listed as any)?.pending ?? []) await openclaw(['nodes', 'approve', p.requestId]);
        const all: any[] = Array.isArray(listed) ? listed : ((listed as any)?.paired ?? (listed as any)?.nodes ?? []);
        nodeId = all.find((n) => n.connected !== false && (n.commands ?? []).includes('system.run'))?.nodeId;
        return Boolean(nodeId);
      },
      120_000,
      'the laptop’s runner in `openclaw nodes list`',
    ).catch((e) => {
      throw new Error(`${e.message}: ${JSON.stringify(listed)}\n${describeState()}`);
    });
  }, 600_000);

  afterAll(async () => {
    if (connect && connect.exitCode === null) {
      const exited = new Promise((r) => connect.once('close', r));
      connect.kill('SIGTERM');
      const force = setTimeout(() => connect.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(force);
    }
    await gateway?.stop();
    await model?.close();
    modelLink?.dispose();
    m?.dispose();
    if (cert) disposeCertificate(cert);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Runs a turn and answers the laptop's terminal prompt with `key` once it shows the turn's command. */
  const turnAnswered = async (command: (marker: string) => string, key: 'o' | 'd') => {
    const seen = terminal.length;
    const turn = agent.turn({ command, toolArgs: { host: 'node', node: nodeId } });
    await waitFor(() => terminal.slice(seen).includes('Allow? '), 300_000, 'the laptop’s prompt').catch((e) => {
      throw new Error(`${e.message}\n${describeState()}`);
    });
    const prompt = terminal.slice(seen);
    expect(prompt).toContain(`Exec request from gateway "openclaw" (wss://${m.serverIp}:${PORT})`);
    connect.stdin!.write(`${key}\n`);
    return { turn: await turn, prompt };
  };

  it(
    'allow-once on the laptop: the command runs on the laptop and the agent quotes its output',
    { timeout: 600_000 },
    async () => {
      const { turn, prompt } = await turnAnswered((marker) => `echo ${marker} $(hostname -I)`, 'o');
      expect(prompt).toMatch(/Command: +.*echo CLAWDESK-E2E-/);
      expect(turn.result.code, describeTurn(turn)).toBe(0);
      const [toolOutput] = model.toolOutputs(turn.trigger);
      // `hostname -I` answers for the namespace it runs in: the laptop's address, never the server's.
      expect(toolOutput, describeTurn(turn)).toContain(`${turn.marker} ${m.laptopIp}`);
      expect(toolOutput).not.toContain(m.serverIp);
      expect(turn.finalText, describeTurn(turn)).toContain(`${turn.marker} ${m.laptopIp}`);
    },
  );

  it('deny on the laptop: nothing starts, and the agent says it was denied', { timeout: 600_000 }, async () => {
    // The namespaces share one filesystem: a run anywhere would leave this file.
    const proof = path.join(root, 'ran-despite-deny');
    const { turn } = await turnAnswered((marker) => `touch ${proof} && echo ${marker}`, 'd');
    expect(existsSync(proof), describeTurn(turn)).toBe(false);
    const [toolOutput] = model.toolOutputs(turn.trigger);
    expect(toolOutput ?? turn.finalText, describeTurn(turn)).toMatch(/denied|deny/i);
    expect(toolOutput ?? '', describeTurn(turn)).not.toContain(turn.marker + '\n');
  });
});
