import type { Approver, ExecApprovalRequestedEvent } from '../gateway/approvals/approver';
import type { ApprovalDecision } from '../gateway/exec/policy';
import { promptKey, type PromptOrigin } from './approval-prompt-text';
import type { ApprovalOutcome, ApprovalQueue } from './approval-queue';

/** What the approval client is told: only the person's answer (or an unreviewable deny); anything else is no answer. */
export function approverDecision(outcome: ApprovalOutcome | null): ApprovalDecision | null {
  return outcome && (outcome.source === 'user' || outcome.source === 'unreviewable') ? outcome.decision : null;
}

/**
 * The desktop dialog as the exec approval client's Approver. The approval client owns the timeout and
 * askFallback (it aborts `signal` when time is up or the request was resolved elsewhere); this closes the
 * dialog then and answers null, so a missing answer is never an allow. `origin` names a gateway on another machine
 * (gateway/remote/remote-gateway-service.ts RemoteApprover): its prompt says so and is kept apart from local ones.
 */
export class NativeApprover implements Approver {
  constructor(private readonly queue: ApprovalQueue) {}

  canPresent(): boolean {
    return this.queue.canPresent();
  }

  async present(
    event: ExecApprovalRequestedEvent,
    signal: AbortSignal,
    origin?: PromptOrigin,
  ): Promise<ApprovalDecision | null> {
    return approverDecision(await this.ask(event, signal, origin));
  }

  /** The queue's whole outcome (who decided, and how), or null when the request had already ended. */
  async ask(
    event: ExecApprovalRequestedEvent,
    signal: AbortSignal,
    origin?: PromptOrigin,
  ): Promise<ApprovalOutcome | null> {
    if (signal.aborted) return null;
    const key = promptKey(event.id, origin);
    const onAbort = () => this.queue.resolvedElsewhere(key, 'closed: answered elsewhere, expired or timed out');
    signal.addEventListener('abort', onAbort);
    try {
      return await this.queue.request(event, origin);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
