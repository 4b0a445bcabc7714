import { afterEach, describe, expect, it } from 'vitest';
import type { Approver } from '../../gateway/approvals/approver';
import {
  MAX_APPROVAL_ARGV_BYTES,
  MAX_APPROVAL_ARGV_ENTRIES,
  MAX_APPROVAL_COMMAND_BYTES,
  MAX_APPROVAL_ENV_BYTES,
  MAX_APPROVAL_ENV_ENTRIES,
  MAX_APPROVAL_LIST_BYTES,
  MAX_APPROVAL_LIST_ENTRIES,
  MAX_APPROVAL_REQUEST_BYTES,
  MAX_APPROVAL_TIMEOUT_MS,
} from '../../gateway/approvals/exec-approval-manager';
import { rejection, startExecHarness, type ExecHarness } from '../approvals/exec-harness';

/**
 * Issue 9 finding 14: 120 approvals of 1 MB with a 24 h expiry took the gateway from 82 to 327 MB and made every
 * `exec.approval.list` caller a "slow consumer". On that code every oversized request below was accepted, a 24 h
 * expiry too, and the list answered every pending approval in one frame.
 */

let h: ExecHarness | undefined;
afterEach(async () => {
  await h?.dispose();
  h = undefined;
});

/** An approval client that never answers: requests stay pending. */
const silent: Approver = { canPresent: () => true, present: () => new Promise(() => undefined) };

const base = { host: 'gateway', twoPhase: true };

describe('caps on approval request size and expiry', () => {
  it('refuses each oversized part with INVALID_REQUEST naming the limit; requests at the limits are accepted', async () => {
    h = await startExecHarness();
    await h.approvalClient(silent);
    const agent = await h.operator({ scopes: ['operator.approvals'] });
    const send = (params: Record<string, unknown>) =>
      agent.request('exec.approval.request', { ...base, ...params }, { expectFinal: false });

    const env = (n: number, valueBytes = 1) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, 'x'.repeat(valueBytes)]));
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      [
        'expiry',
        { command: 'true', timeoutMs: 24 * 3600_000 },
        /at \/timeoutMs: timeoutMs above the maximum of 3600000 ms/,
      ],
      [
        'command text',
        { command: 'x'.repeat(MAX_APPROVAL_COMMAND_BYTES + 1) },
        new RegExp(`at /command: command text longer than ${MAX_APPROVAL_COMMAND_BYTES} bytes`),
      ],
      [
        'multi-byte command text',
        { command: 'é'.repeat(MAX_APPROVAL_COMMAND_BYTES / 2 + 1) },
        /command text longer than/,
      ],
      [
        'argv entries',
        { commandArgv: Array.from({ length: MAX_APPROVAL_ARGV_ENTRIES + 1 }, () => 'a') },
        new RegExp(`more than ${MAX_APPROVAL_ARGV_ENTRIES} argv entries`),
      ],
      [
        'argv bytes',
        { commandArgv: ['echo', 'x'.repeat(MAX_APPROVAL_ARGV_BYTES)] },
        new RegExp(`argv longer than ${MAX_APPROVAL_ARGV_BYTES} bytes in total`),
      ],
      [
        'plan argv bytes',
        { systemRunPlan: { argv: ['echo', 'x'.repeat(MAX_APPROVAL_ARGV_BYTES)] } },
        /at \/systemRunPlan\/argv: argv longer than/,
      ],
      [
        'env entries',
        { command: 'true', env: env(MAX_APPROVAL_ENV_ENTRIES + 1) },
        new RegExp(`more than ${MAX_APPROVAL_ENV_ENTRIES} environment overrides`),
      ],
      [
        'env bytes',
        { command: 'true', env: env(2, MAX_APPROVAL_ENV_BYTES / 2) },
        new RegExp(`environment overrides longer than ${MAX_APPROVAL_ENV_BYTES} bytes`),
      ],
      [
        'env key',
        { command: 'true', env: { 'A=B': '1' } },
        /at \/env\/A=B: an environment variable name must be 1-256 characters without "=" or NUL/,
      ],
      ['cwd', { command: 'true', cwd: `/${'d'.repeat(5000)}` }, /at \/cwd: longer than 4096 characters/],
      // Extra plan keys pass schema validation but count against the stored size.
      [
        'whole request',
        { command: 'true', systemRunPlan: { argv: ['true'], blob: 'x'.repeat(MAX_APPROVAL_REQUEST_BYTES) } },
        new RegExp(`above the limit of ${MAX_APPROVAL_REQUEST_BYTES}; refused`),
      ],
    ];
    for (const [what, params, message] of cases) {
      const err = await rejection(send(params));
      expect(err.error?.code, what).toBe('INVALID_REQUEST');
      expect(err.message, what).toMatch(message);
    }
    expect(h.exec.approvals.pendingRecords()).toHaveLength(0);

    const atLimits = await send({
      commandArgv: Array.from({ length: MAX_APPROVAL_ARGV_ENTRIES }, () => 'a'),
      env: env(MAX_APPROVAL_ENV_ENTRIES),
      timeoutMs: MAX_APPROVAL_TIMEOUT_MS,
    });
    expect(atLimits.status).toBe('accepted');
    expect(atLimits.expiresAtMs - atLimits.createdAtMs).toBe(MAX_APPROVAL_TIMEOUT_MS);
  });
});

describe('exec.approval.list is bounded', () => {
  it('answers at most the most recent entries, within the byte budget, as a bare array', async () => {
    h = await startExecHarness();
    await h.approvalClient(silent);
    const agent = await h.operator({ scopes: ['operator.approvals'] });
    // An admin sees every request (as on OpenClaw's gateway); the bound applies to it all the same.
    const lister = await h.operator({ scopes: ['operator.admin', 'operator.approvals'] });
    const total = MAX_APPROVAL_LIST_ENTRIES + 20;
    for (let i = 0; i < total; i++) {
      await agent.request(
        'exec.approval.request',
        { ...base, id: `small-${String(i).padStart(3, '0')}`, command: `echo ${i}` },
        { expectFinal: false },
      );
    }
    const listed: any[] = await lister.request('exec.approval.list', {});
    expect(Array.isArray(listed)).toBe(true);
    expect(listed).toHaveLength(MAX_APPROVAL_LIST_ENTRIES);
    // The most recent ones, oldest first among them.
    expect(listed[0].id).toBe('small-020');
    expect(listed.at(-1).id).toBe(`small-${total - 1}`);
    expect(await lister.request('exec.approval.list', { limit: 5 })).toHaveLength(5);
    expect(
      (await rejection(lister.request('exec.approval.list', { limit: MAX_APPROVAL_LIST_ENTRIES + 1 }))).error.code,
    ).toBe('INVALID_REQUEST');

    // Large requests: the byte budget bounds the answer long before the entry count does.
    const big = 'x'.repeat(MAX_APPROVAL_COMMAND_BYTES - 16);
    const other = await h.operator({ scopes: ['operator.approvals'] });
    for (let i = 0; i < 40; i++)
      await other.request(
        'exec.approval.request',
        { ...base, id: `big-${i}`, command: `${big}${i}` },
        { expectFinal: false },
      );
    const frame = await lister.request('exec.approval.list', {});
    expect(Buffer.byteLength(JSON.stringify(frame))).toBeLessThanOrEqual(MAX_APPROVAL_LIST_BYTES);
    expect(frame.length).toBeLessThan(40);
    expect(frame.at(-1)?.id).toBe('big-39');
  });
});
