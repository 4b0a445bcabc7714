import { describe, expect, it } from 'vitest';
import {
  ApprovalQueue,
  type ApprovalOutcome,
  type ApprovalPresenter,
  type PresentBlocker,
} from '../../main/approval-queue';
import type { ExecApprovalRequested } from '../../main/approval-prompt-text';
import { MessageBoxPresenter } from '../../main/message-box-presenter';
import type { Decision } from '../../common/ipc-contract';
import { FakeDialog, tick } from './fakes';

function event(
  id: string,
  overrides: Partial<ExecApprovalRequested> & { command?: string; allowed?: Decision[] } = {},
): ExecApprovalRequested {
  return {
    id,
    request: {
      command: overrides.command ?? `echo ${id}`,
      cwd: '/tmp',
      agentId: 'main',
      host: 'gateway',
      security: 'allowlist',
      ask: 'on-miss',
      allowedDecisions: overrides.allowed ?? ['allow-once', 'allow-always', 'deny'],
    },
    createdAtMs: Date.now(),
    expiresAtMs: overrides.expiresAtMs ?? Date.now() + 60_000,
  };
}

function setup(
  options: {
    blocker?: () => PresentBlocker | undefined;
    promptTimeoutMs?: number;
    fallbackDecision?: Decision | null;
  } = {},
) {
  const dialog = new FakeDialog();
  const fallbacks: Array<{ id: string; reason: string }> = [];
  const outcomes: ApprovalOutcome[] = [];
  const queue = new ApprovalQueue({
    // The queue is under test here, not the box's too-fast check (test/main/message-box-presenter.test.ts): answers are instant.
    presenter: new MessageBoxPresenter(dialog.api, { minDecisionMs: 0 }),
    blocker: options.blocker ?? (() => undefined),
    fallback: (e, reason) => {
      fallbacks.push({ id: e.id, reason });
      return options.fallbackDecision === undefined ? 'deny' : options.fallbackDecision;
    },
    promptTimeoutMs: options.promptTimeoutMs,
    onOutcome: (_e, outcome) => outcomes.push(outcome),
  });
  return { dialog, queue, fallbacks, outcomes };
}

describe('ApprovalQueue with the native message box', () => {
  it('Deny is the default button and Esc/close (cancel) denies', async () => {
    const { dialog, queue } = setup();
    const result = queue.request(event('a'));
    const box = await dialog.box(0);
    expect(box.options.buttons![box.options.defaultId!]).toBe('Deny');
    expect(box.options.buttons![box.options.cancelId!]).toBe('Deny');
    box.cancel();
    expect(await result).toEqual({ id: 'a', decision: 'deny', source: 'user' });
  });

  it('maps the buttons to decisions', async () => {
    const { dialog, queue } = setup();
    const once = queue.request(event('a'));
    (await dialog.box(0)).answer(0);
    expect((await once).decision).toBe('allow-once');
    const always = queue.request(event('b'));
    (await dialog.box(1)).answer(1);
    expect((await always).decision).toBe('allow-always');
  });

  it('offers Always allow only when the request allows it', async () => {
    const { dialog, queue } = setup();
    void queue.request(event('a', { allowed: ['allow-once', 'deny'] }));
    const box = await dialog.box(0);
    expect(box.options.buttons).toEqual(['Allow once', 'Deny']);
    box.answer(1);
  });

  it('a presenter answering a decision the request does not allow is treated as deny', async () => {
    const presenter: ApprovalPresenter = { present: async () => 'allow-always' };
    const queue = new ApprovalQueue({ presenter, blocker: () => undefined, fallback: () => 'deny' });
    expect((await queue.request(event('a', { allowed: ['allow-once', 'deny'] }))).decision).toBe('deny');
  });

  it('a presenter that fails denies', async () => {
    const presenter: ApprovalPresenter = { present: async () => Promise.reject(new Error('no window')) };
    const queue = new ApprovalQueue({ presenter, blocker: () => undefined, fallback: () => 'allow-once' });
    expect(await queue.request(event('a'))).toMatchObject({ decision: 'deny', source: 'user' });
  });

  it('shows one request at a time, in arrival order', async () => {
    const { dialog, queue } = setup();
    const a = queue.request(event('a'));
    const b = queue.request(event('b'));
    const c = queue.request(event('c'));
    await dialog.box(0);
    await tick();
    expect(dialog.shown).toHaveLength(1);
    expect(queue.pending().map((v) => v.promptId)).toEqual(['a', 'b', 'c']);
    expect(queue.current()?.promptId).toBe('a');
    dialog.shown[0].answer(0);
    expect((await a).decision).toBe('allow-once');
    const second = await dialog.box(1);
    expect(second.options.detail).toContain('echo b');
    second.answer(2);
    expect((await b).decision).toBe('deny');
    (await dialog.box(2)).answer(0);
    expect((await c).id).toBe('c');
    expect(queue.pending()).toEqual([]);
  });

  it('the same id twice shares one dialog and one outcome', async () => {
    const { dialog, queue } = setup();
    const first = queue.request(event('a'));
    const again = queue.request(event('a'));
    (await dialog.box(0)).answer(0);
    expect(await again).toBe(await first);
    await tick();
    expect(dialog.shown).toHaveLength(1);
  });

  it('resolved elsewhere while showing: the dialog closes and its answer is void', async () => {
    const { dialog, queue } = setup();
    const a = queue.request(event('a'));
    const b = queue.request(event('b'));
    const box = await dialog.box(0);
    queue.resolvedElsewhere('a', 'resolved by openclaw-cli');
    expect(await a).toEqual({ id: 'a', decision: null, source: 'elsewhere', detail: 'resolved by openclaw-cli' });
    expect(box.closedBySignal).toBe(true);
    const next = await dialog.box(1);
    expect(next.options.detail).toContain('echo b');
    next.answer(0);
    expect((await b).decision).toBe('allow-once');
  });

  it('resolved elsewhere while queued: never shown', async () => {
    const { dialog, queue } = setup();
    void queue.request(event('a'));
    const b = queue.request(event('b'));
    await dialog.box(0);
    queue.resolvedElsewhere('b');
    expect((await b).source).toBe('elsewhere');
    dialog.shown[0].answer(2);
    await tick();
    await tick();
    expect(dialog.shown).toHaveLength(1);
  });

  it('an expired request closes its dialog without deciding', async () => {
    const { dialog, queue, fallbacks } = setup();
    const a = queue.request(event('a', { expiresAtMs: Date.now() + 40 }));
    const box = await dialog.box(0);
    expect(await a).toMatchObject({ decision: null, source: 'elsewhere', detail: 'expired' });
    expect(box.closedBySignal).toBe(true);
    expect(fallbacks).toEqual([]);
  });

  it('a request already expired when it arrives ends as expired, never through askFallback', async () => {
    const { queue, fallbacks } = setup({ promptTimeoutMs: 60_000, fallbackDecision: 'allow-once' });
    expect(await queue.request(event('late', { expiresAtMs: Date.now() - 1 }))).toMatchObject({
      decision: null,
      source: 'elsewhere',
      detail: 'expired',
    });
    expect(fallbacks).toEqual([]);
  });

  it('no answer before the prompt timeout: the dialog closes and askFallback decides', async () => {
    const { dialog, queue, fallbacks } = setup({ promptTimeoutMs: 40, fallbackDecision: 'allow-once' });
    const a = queue.request(event('a'));
    const box = await dialog.box(0);
    expect(await a).toEqual({ id: 'a', decision: 'allow-once', source: 'fallback', detail: 'timeout' });
    expect(box.closedBySignal).toBe(true);
    expect(fallbacks).toEqual([{ id: 'a', reason: 'timeout' }]);
  });

  it('cannot present (locked session): askFallback decides and no dialog appears', async () => {
    const { dialog, queue, fallbacks } = setup({ blocker: () => 'locked', fallbackDecision: 'deny' });
    expect(queue.canPresent()).toBe(false);
    expect(await queue.request(event('a'))).toEqual({
      id: 'a',
      decision: 'deny',
      source: 'fallback',
      detail: 'locked',
    });
    expect(fallbacks).toEqual([{ id: 'a', reason: 'locked' }]);
    expect(dialog.shown).toHaveLength(0);
  });

  it('queued requests fall back when the session locks before their turn', async () => {
    let blocker: PresentBlocker | undefined;
    const { dialog, queue, fallbacks } = setup({ blocker: () => blocker });
    void queue.request(event('a'));
    const b = queue.request(event('b'));
    const box = await dialog.box(0);
    blocker = 'locked';
    box.answer(0);
    expect(await b).toMatchObject({ source: 'fallback', detail: 'locked' });
    expect(fallbacks.map((f) => f.id)).toEqual(['b']);
  });

  it('a command too long to show whole is denied without a dialog', async () => {
    const { dialog, queue, outcomes } = setup();
    const result = await queue.request(event('big', { command: `echo ${'x'.repeat(1024 * 1024)}` }));
    expect(result).toMatchObject({ decision: 'deny', source: 'unreviewable' });
    expect(result.detail).toMatch(/too long to review/);
    expect(dialog.shown).toHaveLength(0);
    expect(outcomes).toHaveLength(1);
  });

  it('a decision from a notification or the dashboard closes the dialog', async () => {
    const { dialog, queue } = setup();
    const a = queue.request(event('a', { allowed: ['allow-once', 'deny'] }));
    const box = await dialog.box(0);
    expect(queue.decide('a', 'allow-always')).toBe(true);
    // Not allowed for this request → denied, never upgraded.
    expect(await a).toMatchObject({ decision: 'deny', source: 'user' });
    expect(box.closedBySignal).toBe(true);
    expect(queue.decide('unknown', 'deny')).toBe(false);
  });
});
