import { describe, expect, it } from 'vitest';
import { buildApprovalPrompt, DEFAULT_PROMPT_LIMITS } from '../../main/approval-prompt-text';
import { PROMPT_ALLOW_DELAY_MS, type ApprovalPromptView } from '../../common/ipc-contract';
import { MessageBoxPresenter, tooFastNote } from '../../main/message-box-presenter';
import { FakeDialog } from './fakes';

function view(): ApprovalPromptView {
  const built = buildApprovalPrompt(
    {
      id: 'mb-1',
      request: {
        commandArgv: ['/usr/bin/touch', 'X'],
        cwd: '/tmp',
        allowedDecisions: ['allow-once', 'allow-always', 'deny'],
      },
      createdAtMs: 0,
      expiresAtMs: Date.now() + 60_000,
    },
    DEFAULT_PROMPT_LIMITS,
    'linux',
  );
  if (built.kind !== 'prompt') throw new Error('expected a prompt');
  return built.view;
}

/** A clock the test moves: the box "stays up" for exactly as long as the test says before answering. */
function setup() {
  let now = 10_000;
  const dialog = new FakeDialog();
  const presenter = new MessageBoxPresenter(dialog.api, { now: () => now });
  const answerAfter = async (index: number, ms: number, response: number) => {
    const box = await dialog.box(index);
    now += ms;
    box.answer(response);
    return box;
  };
  return { dialog, presenter, answerAfter };
}

describe('issue 9 finding 3: the message box fallback cannot be allowed in a rush', () => {
  it('an Allow sooner than 1.5 s is not taken: the box is shown again with a note, and a considered Allow then counts', async () => {
    const { dialog, presenter, answerAfter } = setup();
    const decision = presenter.present(view(), new AbortController().signal);
    await answerAfter(0, 200, 1);
    const again = await dialog.box(1);
    expect(again.options.detail).toMatch(/^Your answer came less than 1\.5 seconds after this dialog appeared/);
    expect(again.options.detail).toContain(tooFastNote(PROMPT_ALLOW_DELAY_MS));
    expect(again.options.defaultId).toBe(2);
    await answerAfter(1, 2_000, 1);
    expect(await decision).toBe('allow-always');
  });

  it('two rushed Allows are a Deny', async () => {
    const { dialog, presenter, answerAfter } = setup();
    const decision = presenter.present(view(), new AbortController().signal);
    await answerAfter(0, 100, 0);
    await answerAfter(1, PROMPT_ALLOW_DELAY_MS - 1, 0);
    expect(await decision).toBe('deny');
    expect(dialog.shown).toHaveLength(2);
  });
});

describe('message box presenter: the answers it takes as given', () => {
  it('Deny is the default and the cancel action: Enter and Esc deny', async () => {
    const { dialog, presenter } = setup();
    const decision = presenter.present(view(), new AbortController().signal);
    const box = await dialog.box(0);
    expect(box.options.buttons).toEqual(['Allow once', 'Always allow', 'Deny']);
    expect(box.options.defaultId).toBe(2);
    expect(box.options.cancelId).toBe(2);
    box.cancel();
    expect(await decision).toBe('deny');
  });

  it('an Allow 1.5 s or more after the box appeared is taken', async () => {
    const { dialog, presenter, answerAfter } = setup();
    const decision = presenter.present(view(), new AbortController().signal);
    await answerAfter(0, PROMPT_ALLOW_DELAY_MS, 0);
    expect(await decision).toBe('allow-once');
    expect(dialog.shown).toHaveLength(1);
  });

  it('a quick Deny is a Deny at once', async () => {
    const { dialog, presenter, answerAfter } = setup();
    const decision = presenter.present(view(), new AbortController().signal);
    await answerAfter(0, 10, 2);
    expect(await decision).toBe('deny');
    expect(dialog.shown).toHaveLength(1);
  });

  it('aborted while showing: Deny, and no second box', async () => {
    const { dialog, presenter } = setup();
    const abort = new AbortController();
    const decision = presenter.present(view(), abort.signal);
    await dialog.box(0);
    abort.abort();
    expect(await decision).toBe('deny');
    expect(dialog.shown).toHaveLength(1);
  });
});
