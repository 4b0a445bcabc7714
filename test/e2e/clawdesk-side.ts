import fs from 'node:fs';
import path from 'node:path';
import {
  startApprovalClient,
  type ApprovalClientHandle,
  type ApprovalClientOutcome,
} from '../../gateway/approvals/approval-client';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { ApprovalHistory } from '../../main/approval-history';
import { ApprovalQueue, type ApprovalOutcome } from '../../main/approval-queue';
import type { ApprovalPromptView, Decision } from '../../common/ipc-contract';
import { NativeApprover } from '../../main/native-approver';
import { OperatorEventRouter } from '../../main/operator-events';

/**
 * Clawdesk's side of an agent turn, wired as the desktop app wires it (main/index.ts, main/gateway-controller.ts):
 * `ApprovalQueue` + `NativeApprover` behind `startApprovalClient` (display name "Clawdesk"), with a scripted presenter
 * in place of the dialog; and an observer session that records the approval history the way the app does (from
 * `exec.approval.resolved`, "you" when Clawdesk's client decided) and collects the runner's `exec.*` node events.
 */

export type PresenterScript = Decision | 'never';

export interface GatewayAuth {
  url: string;
  token?: string;
  password?: string;
}

export interface ClawdeskApprover {
  /** What the person was shown, in order. */
  views: ApprovalPromptView[];
  outcomes: ApprovalOutcome[];
  clientOutcomes: ApprovalClientOutcome[];
  /** The answer for the next prompts. */
  answer(script: PresenterScript): void;
  history: ApprovalHistory;
  /** Node lifecycle events the observer saw (`exec.started`, `exec.finished`, `exec.denied`). */
  nodeEvents: Array<{ nodeId: string; event: string; payload: any }>;
  resolved: any[];
  observer: GatewaySession;
  client: ApprovalClientHandle;
  stop(): Promise<void>;
}

export async function startClawdeskApprover(
  gateway: GatewayAuth,
  options: { dir: string; stateDir?: string; promptTimeoutMs?: number; observeNodeEvents?: boolean },
): Promise<ClawdeskApprover> {
  let script: PresenterScript = 'never';
  const views: ApprovalPromptView[] = [];
  const outcomes: ApprovalOutcome[] = [];
  const clientOutcomes: ClawdeskApprover['clientOutcomes'] = [];
  const queue = new ApprovalQueue({
    presenter: {
      present: (view, signal) => {
        views.push(view);
        if (script === 'never')
          return new Promise<Decision>((resolve) => signal.addEventListener('abort', () => resolve('deny')));
        return Promise.resolve(script);
      },
    },
    blocker: () => undefined,
    // As the app: the approval client applies askFallback itself; the queue only reports "no answer".
    fallback: () => null,
    onOutcome: (_event, outcome) => outcomes.push(outcome),
  });
  fs.mkdirSync(options.dir, { recursive: true });
  const history = new ApprovalHistory(path.join(options.dir, 'approval-history.jsonl'));
  // The app's own router (main/operator-events.ts) turns the session's events into history entries.
  const router = new OperatorEventRouter({
    pairingRequested: () => undefined,
    pairingResolved: () => undefined,
    recordHistory: (entry) => void history.record(entry),
    changed: () => undefined,
  });
  const client = await startApprovalClient({
    url: gateway.url,
    token: gateway.token,
    password: gateway.password,
    identity: createEphemeralDeviceSigner(),
    approver: new NativeApprover(queue),
    stateDir: options.stateDir,
    promptTimeoutMs: options.promptTimeoutMs,
    // The app's approval client (gateway-controller.ts).
    clientId: 'cli',
    clientMode: 'cli',
    displayName: 'Clawdesk',
    reconnect: { initialBackoffMs: 100, maxBackoffMs: 500 },
    onOutcome: (outcome) => {
      clientOutcomes.push(outcome);
      // As main/gateway.ts does.
      if (outcome.source === 'fallback') router.noteFallback(outcome.id, outcome.fallback);
    },
  });
  const observer = await connectGateway({
    url: gateway.url,
    token: gateway.token,
    password: gateway.password,
    clientId: 'gateway-client',
    clientMode: 'backend',
    displayName: 'e2e observer',
    // Its own device: a device-less session holding the agent's shared token would be the agent's own identity,
    // and a requester is never sent the outcome broadcast meant for those who may decide.
    device: createEphemeralDeviceSigner(),
    role: 'operator',
    scopes: ['operator.admin'],
    caps: ['exec-approvals', 'node-events'],
    connectTimeoutMs: 10_000,
  });
  const nodeEvents: ClawdeskApprover['nodeEvents'] = [];
  const resolved: any[] = [];
  observer.on('event', (name: string, payload: any) => {
    router.handle(name, payload);
    if (name === 'exec.approval.resolved' && typeof payload?.id === 'string') {
      resolved.push(payload);
    } else if (name === 'node.event') {
      let body = payload?.payload;
      if (body === undefined && typeof payload?.payloadJSON === 'string') body = JSON.parse(payload.payloadJSON);
      nodeEvents.push({ nodeId: payload?.nodeId, event: payload?.event, payload: body });
    }
  });
  return {
    views,
    outcomes,
    clientOutcomes,
    answer: (next) => void (script = next),
    history,
    nodeEvents,
    resolved,
    observer,
    client,
    async stop() {
      await client.stop().catch(() => undefined);
      await observer.close().catch(() => undefined);
    },
  };
}

export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
