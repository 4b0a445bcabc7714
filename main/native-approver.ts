import type { Approver, ExecApprovalRequestedEvent } from '../gateway/approvals/approver';
import type { ApprovalDecision } from '../gateway/exec/policy';
import type { ApprovalQueue } from './approval-queue';

/**
 * The desktop dialog as the exec approval client's Approver. The approval client owns the timeout and
 * askFallback (it aborts `signal` when time is up or the request was resolved elsewhere); this closes the
 * dialog then and answers null, so a missing answer is never an allow.
 */
export class NativeApprover implements Approver {
  constructor(private readonly queue: ApprovalQueue) {}

  canPresent(): boolean {
    return this.queue.canPresent();
  }

  async present(event: ExecApprovalRequestedEvent, signal: AbortSignal): Promise<ApprovalDecision | null> {
    if (signal.aborted) return null;
    const onAbort = () => this.queue.resolvedElsewhere(event.id, 'closed: answered elsewhere, expired or timed out');
    signal.addEventListener('abort', onAbort);
    try {
      const outcome = await this.queue.request(event);
      return outcome.source === 'user' || outcome.source === 'unreviewable' ? outcome.decision : null;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}
