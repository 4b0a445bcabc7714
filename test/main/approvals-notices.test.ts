import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppNotices } from '../../main/app-notices';
import { setupApprovals } from '../../main/approvals';
import type { NotificationFactory, NotificationLike } from '../../main/electron-facades';

/** Notifications the OS refuses until `allowed` is set, as Electron reports it (`failed` / `show`). */
function notifications() {
  const state = { allowed: false };
  const api: NotificationFactory = {
    isSupported: () => true,
    create: (): NotificationLike => {
      const handlers = new Map<string, (...args: unknown[]) => void>();
      const n = {
        on: (event: string, handler: (...args: unknown[]) => void) => (handlers.set(event, handler), n),
        show: () =>
          setImmediate(() =>
            state.allowed ? handlers.get('show')?.({}) : handlers.get('failed')?.({}, 'Notifications are disabled'),
          ),
        close: () => undefined,
      };
      return n as unknown as NotificationLike;
    },
  };
  return { api, state };
}

async function setup(platform: NodeJS.Platform, historyText?: string, supported = true) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-approvals-'));
  const historyFile = path.join(dir, 'approval-history.jsonl');
  if (historyText !== undefined) writeFileSync(historyFile, historyText);
  const notices = new AppNotices({ onChange: () => undefined });
  const fake = notifications();
  fake.api.isSupported = () => supported;
  const window = {
    loadURL: () => new Promise<void>(() => undefined),
    show: () => undefined,
    focus: () => undefined,
    moveTop: () => undefined,
    close: () => undefined,
    isDestroyed: () => false,
    once: () => window,
    flashFrame: () => undefined,
  };
  const { queue } = await setupApprovals({
    platform,
    historyFile,
    createWindow: () => window as never,
    dialog: { showMessageBox: async () => ({ response: 0, checkboxChecked: false }) },
    notifications: fake.api,
    presence: { blocker: () => undefined },
    stealFocus: () => undefined,
    broadcast: () => undefined,
    onChange: () => undefined,
    notices,
    log: () => undefined,
  });
  return { queue, notices, fake, historyFile };
}

const poll = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
};

describe('setupApprovals: what goes wrong is told to the person, and never decides', () => {
  it('Windows refuses the notification: a notice says approvals still open a window and where to turn them on; it clears once one shows', async () => {
    const { queue, notices, fake } = await setup('win32');
    const outcome = queue.request({ id: 'a1', request: { command: 'ls', commandArgv: ['ls'] } } as never);
    await poll(() => notices.list().length === 1);
    expect(notices.list()[0]).toMatchObject({
      id: 'notifications',
      message: "The system did not show Clawdesk's notification (Notifications are disabled).",
    });
    expect(notices.list()[0].fix).toMatch(
      /^Approvals still open their own window\. .*Settings › System › Notifications/,
    );
    // The request still waits for the person: nothing was decided by the failure.
    expect(queue.pending().map((p) => p.promptId)).toHaveLength(1);
    fake.state.allowed = true;
    void queue.request({ id: 'a2', request: { command: 'pwd', commandArgv: ['pwd'] } } as never);
    await poll(() => notices.list().length === 0);
    queue.decide(queue.pending()[0].promptId, 'deny');
    expect((await outcome).decision).toBe('deny');
    await queue.dispose();
  });

  it('damaged history lines: a notice counts them and says the rest and new decisions are kept', async () => {
    const { notices, historyFile, queue } = await setup('linux', '{"broken\nnot json either\n');
    expect(notices.list()).toEqual([
      expect.objectContaining({
        id: 'approval-history',
        message: '2 damaged entries in the approval history could not be read and are not listed.',
        fix: `The rest of the history and every new decision are kept. The file is ${historyFile}.`,
      }),
    ]);
    await queue.dispose();
  });

  it('no notifications at all on this system (isSupported false): said once at start, with what still works', async () => {
    const { notices, queue } = await setup('linux', undefined, false);
    expect(notices.list()).toEqual([
      expect.objectContaining({
        id: 'notifications',
        message: 'This system cannot show notifications, so a waiting command is not announced.',
      }),
    ]);
    expect(notices.list()[0].fix).toMatch(/^Approvals still open their own window\. Check that your desktop/);
    await queue.dispose();
  });
});
