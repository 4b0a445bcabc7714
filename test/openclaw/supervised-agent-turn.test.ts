import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateFileIdentity } from '../../gateway/node-host/file-identity';
import { ApprovalQueue } from '../../main/approval-queue';
import { GatewayController } from '../../main/gateway-controller';
import { MessageBoxPresenter } from '../../main/message-box-presenter';
import { NativeApprover } from '../../main/native-approver';
import { agentConfig, createAgent, describeTurn } from '../e2e/agent-harness';
import { startModelServer, type ModelServer } from '../e2e/model-server';
import { FakeDialog } from '../main/fakes';
import { freePort } from '../helpers/free-port';
import { cliUser } from '../interop/interop-target';
import { cachedInstall, cleanup, isolatedEnv, tempDir, until } from './openclaw-fixture';

/**
 * A real agent turn under supervision: the app's GatewayController runs OpenClaw's gateway (openclaw@2026.9.6, its
 * config carrying the scripted loopback model and exec on a node), Clawdesk's runner is its node and Clawdesk's
 * approval client (the native dialog, faked) its approver. A gateway-backed `openclaw agent` turn asks exec to run a
 * command; the person allows it in Clawdesk's dialog; it runs on Clawdesk's runner and the agent quotes its output.
 */

const TOKEN = `supervised-agent-${process.pid}-0123456789`;
let model: ModelServer;
let controller: GatewayController | undefined;

beforeAll(async () => {
  model = await startModelServer();
});
afterAll(async () => {
  await controller?.stop();
  await model?.close();
  await cleanup();
});

describe('a real agent turn through the supervised OpenClaw gateway', { timeout: 600_000 }, () => {
  it('exec runs on Clawdesk’s runner after Clawdesk’s approval', async () => {
    const port = await freePort();
    const environment = isolatedEnv(port, TOKEN, (config) => Object.assign(config, agentConfig(model)));
    const dialog = new FakeDialog();
    const queue = new ApprovalQueue({
      presenter: new MessageBoxPresenter(dialog.api, { minDecisionMs: 0 }),
      blocker: () => undefined,
      fallback: () => null,
    });
    const identityFile = path.join(tempDir('agent-identity'), 'device.json');
    const identity = await loadOrCreateFileIdentity(identityFile);
    const outcomes: Array<{ id: string; decision: string | null; source: string }> = [];
    controller = new GatewayController({
      port,
      mode: 'openclaw-supervised',
      stateDir: environment.stateDir,
      token: TOKEN,
      approver: new NativeApprover(queue),
      loadIdentity: async () => ({ signer: identity, persistence: 'plaintext-file' }),
      onApprovalOutcome: (outcome) => outcomes.push(outcome),
      openclaw: {
        locate: () => ({ ok: true, install: cachedInstall() }),
        env: environment.env,
        logFile: path.join(tempDir('agent-log'), 'gw.log'),
        supervisor: { readyTimeoutMs: 300_000 },
      },
      log: () => undefined,
    });
    await controller.start();
    expect(controller.status()).toMatchObject({ state: 'running', mode: 'openclaw-supervised' });

    // OpenClaw asks its owner once to approve a node's command surface: `openclaw nodes approve`.
    const cli = cliUser({ port, authMode: 'token', token: TOKEN });
    const requestId = await until(
      'Clawdesk’s runner pending as a node on OpenClaw’s gateway',
      async () => {
        const listed = await cli.json<any>(['nodes', 'pending']);
        const pending: any[] = Array.isArray(listed) ? listed : (listed?.pending ?? listed?.requests ?? []);
        return pending.find((p) => !p.nodeId || p.nodeId === identity.deviceId)?.requestId as string | undefined;
      },
      120_000,
      1_000,
    );
    const approved = await cli.run(['nodes', 'approve', requestId]);
    expect(approved.code, approved.stderr).toBe(0);

    // The person allows whatever the agent asks in Clawdesk's dialog.
    let answered = 0;
    const answering = (async () => {
      for (;;) {
        const box = await dialog.box(answered);
        answered++;
        box.answer(0);
      }
    })();
    void answering;

    const agent = createAgent({ gatewayPort: port, authMode: 'token', token: TOKEN, model, gatewayBacked: true });
    const turn = await agent.turn({ command: (marker) => `basename ${marker}` }, { timeoutMs: 400_000 });
    expect(turn.result.code, describeTurn(turn)).toBe(0);
    // The exec tool's output is the command's: it ran.
    expect(model.toolOutputs(turn.trigger).join('\n'), describeTurn(turn)).toContain(turn.marker);
    expect(turn.finalText, describeTurn(turn)).toContain(turn.marker);

    // Clawdesk's dialog asked, the person's allow-once decided, and OpenClaw records it for Clawdesk's node.
    expect(dialog.shown.some((b) => String(b.options.detail).includes(turn.marker))).toBe(true);
    const outcome = outcomes.find((o) => o.source === 'approver' && o.decision === 'allow-once');
    expect(outcome).toBeDefined();
    const record = await until(
      'the approval record',
      async () => controller!.session()?.request<any>('approval.get', { id: outcome!.id }),
      30_000,
      500,
    );
    const approval = record.approval ?? record;
    expect(approval).toMatchObject({ status: 'allowed', presentation: { host: 'node', nodeId: identity.deviceId } });
  });
});
