import { afterEach, describe, expect, it } from 'vitest';
import { MAX_PENDING_APPROVALS_PER_REQUESTER } from '../../gateway/approvals/exec-approval-manager';
import type { Approver } from '../../gateway/approvals/approver';
import { startExecHarness, type ExecHarness } from './exec-harness';

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

/** An approver that never answers: requests stay pending. */
const silent: Approver = { canPresent: () => true, present: () => new Promise(() => undefined) };

describe('bounds on approval records (found by the fuzzer: a requester could grow the gateway without limit)', () => {
  it('caps pending approvals per requester with a clear, retryable error', async () => {
    h = await startExecHarness();
    const approver = await h.approvalClient(silent);
    const requester = await h.operator({ scopes: ['operator.approvals'] });
    const send = (i: number) =>
      requester.request(
        'exec.approval.request',
        { id: `limit-${i}`, command: 'true', host: 'gateway', twoPhase: true },
        { expectFinal: false },
      );
    for (let i = 0; i < MAX_PENDING_APPROVALS_PER_REQUESTER; i++) expect((await send(i)).status).toBe('accepted');
    await expect(send(MAX_PENDING_APPROVALS_PER_REQUESTER)).rejects.toMatchObject({
      error: { code: 'INVALID_REQUEST', retryable: true, details: { reason: 'APPROVAL_LIMIT' } },
    });
    // Another requester is not affected.
    const other = await h.operator({ scopes: ['operator.approvals'] });
    expect(
      (
        await other.request('exec.approval.request', {
          id: 'other-1',
          command: 'true',
          host: 'gateway',
          twoPhase: true,
        })
      ).status,
    ).toBe('accepted');
    await approver.stop();
  });

  it('a request no approver could see answers null at once and is dropped after the grace period, not at its expiry', async () => {
    h = await startExecHarness({ exec: { resolvedGraceMs: 100 } });
    const requester = await h.operator({ scopes: ['operator.approvals'] });
    const answer = await requester.request('exec.approval.request', {
      id: 'no-route',
      command: 'true',
      host: 'gateway',
      timeoutMs: 3_600_000,
    });
    expect(answer).toMatchObject({ id: 'no-route', decision: null });
    expect(h.exec.approvals.find('no-route')?.status).toBe('expired');
    await expect.poll(() => h!.exec.approvals.find('no-route'), { timeout: 2000 }).toBeUndefined();
  });
});
