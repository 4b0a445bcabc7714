import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApprovalNotifier, MAX_APPROVAL_NOTIFICATIONS } from '../../main/approval-notifier';
import type { ExecApprovalRequested } from '../../main/approval-prompt-text';
import { buildApprovalPrompt } from '../../main/approval-prompt-text';
import { ApprovalQueue } from '../../main/approval-queue';
import type {
  NotificationFactory,
  NotificationLike,
  NotificationOptions,
  PowerMonitorLike,
} from '../../main/electron-facades';
import type { ApprovalPromptView, Decision } from '../../common/ipc-contract';
import { LoginItem } from '../../main/login-item';
import { PresenceMonitor } from '../../main/presence';
import { PromptWindowPresenter, type PromptWindowLike } from '../../main/prompt-window';

function view(command: string, decisions: Decision[] = ['allow-once', 'allow-always', 'deny']): ApprovalPromptView {
  const built = buildApprovalPrompt({
    id: `id-${command.length}`,
    request: { command, commandArgv: command.split(' '), allowedDecisions: decisions },
    createdAtMs: 0,
    expiresAtMs: Date.now() + 60_000,
  });
  if (built.kind !== 'prompt') throw new Error('expected prompt');
  return built.view;
}

class FakeNotifications {
  readonly created: Array<{
    options: NotificationOptions;
    handlers: Map<string, (...args: any[]) => void>;
    shown: boolean;
    closed: boolean;
  }> = [];
  readonly api: NotificationFactory = {
    isSupported: () => true,
    create: (options: NotificationOptions): NotificationLike => {
      const record = { options, handlers: new Map<string, (...args: any[]) => void>(), shown: false, closed: false };
      this.created.push(record);
      const n = {
        show: () => void (record.shown = true),
        close: () => void (record.closed = true),
        on: (event: string, handler: (...args: any[]) => void) => {
          record.handlers.set(event, handler);
          return n;
        },
      };
      return n as unknown as NotificationLike;
    },
  };
}

describe('ApprovalNotifier', () => {
  it('macOS/Windows: only a Deny action for a short command, never Allow (issue 9 finding 3: allowing skips the prompt); click opens the dialog', () => {
    const fake = new FakeNotifications();
    const calls: string[] = [];
    const notifier = new ApprovalNotifier({
      notifications: fake.api,
      platform: 'darwin',
      onOpen: (id) => calls.push(`open:${id}`),
      onDecide: (id, d) => calls.push(`${d}:${id}`),
    });
    const v = view('git status');
    notifier.notify(v);
    notifier.notify(v);
    expect(fake.created).toHaveLength(1);
    const n = fake.created[0];
    expect(n.shown).toBe(true);
    expect(n.options.title).toBe('Allow this command?');
    expect(n.options.body).toBe('git status');
    expect(n.options.actions?.map((a) => a.text)).toEqual(['Deny']);
    n.handlers.get('action')!({ actionIndex: 1 }, 1);
    expect(calls).toEqual([]);
    n.handlers.get('action')!({ actionIndex: 0 }, 0);
    n.handlers.get('click')!();
    expect(calls).toEqual([`deny:${v.promptId}`, `open:${v.promptId}`]);
    notifier.dismiss(v.promptId);
    expect(n.closed).toBe(true);
  });

  it('no actions for a command that does not fit whole, nor on Linux', () => {
    const fake = new FakeNotifications();
    const notifier = new ApprovalNotifier({
      notifications: fake.api,
      platform: 'win32',
      onOpen: () => undefined,
      onDecide: () => undefined,
    });
    notifier.notify(view(`echo ${'x'.repeat(300)}`));
    expect(fake.created[0].options.actions).toEqual([]);
    expect(fake.created[0].options.body).toBe('Open to review the full command.');
    const linux = new FakeNotifications();
    new ApprovalNotifier({
      notifications: linux.api,
      platform: 'linux',
      onOpen: () => undefined,
      onDecide: () => undefined,
    }).notify(view('ls'));
    expect(linux.created[0].options.actions).toEqual([]);
  });
});

describe('ApprovalNotifier under a burst', () => {
  function burst(count: number): ApprovalPromptView[] {
    return Array.from({ length: count }, (_, i) => {
      const built = buildApprovalPrompt({
        id: `burst-${i}`,
        request: { command: `echo ${i}`, commandArgv: ['echo', String(i)] },
        createdAtMs: 0,
        expiresAtMs: Date.now() + 60_000,
      });
      if (built.kind !== 'prompt') throw new Error('expected prompt');
      return built.view;
    });
  }

  it(`fifty requests: ${MAX_APPROVAL_NOTIFICATIONS} notifications of their own, then one silent summary drawn once for the whole burst`, () => {
    const fake = new FakeNotifications();
    const redraws: Array<() => void> = [];
    const opened: string[] = [];
    const notifier = new ApprovalNotifier({
      notifications: fake.api,
      platform: 'linux',
      onOpen: (id) => opened.push(id),
      onDecide: () => undefined,
      schedule: (redraw) => redraws.push(redraw),
    });
    const views = burst(50);
    // The queue re-announces every pending view on each change: nothing may be shown twice.
    for (let i = 0; i < views.length; i++) for (const v of views.slice(0, i + 1)) notifier.notify(v);
    expect(fake.created).toHaveLength(MAX_APPROVAL_NOTIFICATIONS);
    expect(redraws).toHaveLength(1);
    redraws.shift()!();
    expect(fake.created).toHaveLength(MAX_APPROVAL_NOTIFICATIONS + 1);
    const summary = fake.created.at(-1)!;
    expect(summary.shown).toBe(true);
    expect(summary.options).toMatchObject({
      title: `${50 - MAX_APPROVAL_NOTIFICATIONS} more commands waiting for approval`,
      silent: true,
      actions: [],
    });
    summary.handlers.get('click')!();
    expect(opened).toEqual([views[MAX_APPROVAL_NOTIFICATIONS].promptId]);

    // Decided elsewhere: the summary's count follows, redrawn once per batch; the last one takes it away.
    for (const v of views.slice(MAX_APPROVAL_NOTIFICATIONS, -1)) notifier.dismiss(v.promptId);
    expect(redraws).toHaveLength(1);
    redraws.shift()!();
    expect(summary.closed).toBe(true);
    expect(fake.created.at(-1)!.options.title).toBe('1 more command waiting for approval');
    notifier.dismiss(views.at(-1)!.promptId);
    redraws.shift()!();
    expect(fake.created.at(-1)!.closed).toBe(true);
    expect(fake.created).toHaveLength(MAX_APPROVAL_NOTIFICATIONS + 2);
    // The first three keep their own notifications until their requests end.
    expect(fake.created.slice(0, MAX_APPROVAL_NOTIFICATIONS).every((n) => n.shown && !n.closed)).toBe(true);
  });

  it('notifications the OS refuses (failed): reported with the reason, and they do not hold the places of their own', () => {
    const fake = new FakeNotifications();
    const failures: string[] = [];
    let shown = 0;
    const notifier = new ApprovalNotifier({
      notifications: fake.api,
      platform: 'win32',
      onOpen: () => undefined,
      onDecide: () => undefined,
      schedule: () => undefined,
      onFailed: (error) => failures.push(error),
      onShown: () => shown++,
    });
    const views = burst(MAX_APPROVAL_NOTIFICATIONS + 1);
    for (const v of views.slice(0, MAX_APPROVAL_NOTIFICATIONS)) {
      notifier.notify(v);
      fake.created.at(-1)!.handlers.get('failed')!({}, 'Notifications are disabled for this app');
    }
    expect(failures).toEqual(Array(MAX_APPROVAL_NOTIFICATIONS).fill('Notifications are disabled for this app'));
    // The person turned them on again: the next request still gets a notification of its own, not the summary.
    notifier.notify(views[MAX_APPROVAL_NOTIFICATIONS]);
    expect(fake.created).toHaveLength(MAX_APPROVAL_NOTIFICATIONS + 1);
    expect(fake.created.at(-1)!.options.body).toBe(`echo ${MAX_APPROVAL_NOTIFICATIONS}`);
    fake.created.at(-1)!.handlers.get('show')!();
    expect(shown).toBe(1);
  });

  it('once an own notification goes away, the next request gets its own again', () => {
    const fake = new FakeNotifications();
    const notifier = new ApprovalNotifier({
      notifications: fake.api,
      platform: 'linux',
      onOpen: () => undefined,
      onDecide: () => undefined,
      schedule: () => undefined,
    });
    const views = burst(MAX_APPROVAL_NOTIFICATIONS + 2);
    for (const v of views.slice(0, MAX_APPROVAL_NOTIFICATIONS)) notifier.notify(v);
    notifier.dismiss(views[0].promptId);
    notifier.notify(views[MAX_APPROVAL_NOTIFICATIONS]);
    expect(fake.created).toHaveLength(MAX_APPROVAL_NOTIFICATIONS + 1);
    expect(fake.created.at(-1)!.options.body).toBe(`echo ${MAX_APPROVAL_NOTIFICATIONS}`);
  });
});

class FakeWindow {
  handlers = new Map<string, () => void>();
  destroyed = false;
  loaded?: string;
  constructor(private readonly loadResult: Promise<void>) {}
  readonly api: PromptWindowLike = {
    loadURL: (url: string) => {
      this.loaded = url;
      return this.loadResult;
    },
    show: () => undefined,
    focus: () => undefined,
    moveTop: () => undefined,
    isDestroyed: () => this.destroyed,
    close: () => {
      this.destroyed = true;
      this.handlers.get('closed')?.();
    },
    once: ((event: string, handler: () => void) => {
      this.handlers.set(event, handler);
      return this.api;
    }) as unknown as PromptWindowLike['once'],
  };
}

describe('PromptWindowPresenter', () => {
  const event = (id: string): ExecApprovalRequested => ({
    id,
    request: { command: 'ls', allowedDecisions: ['allow-once', 'deny'] },
    createdAtMs: 0,
    expiresAtMs: Date.now() + 60_000,
  });

  it('loads the prompt page; a decision over IPC closes the window; closing the window denies', async () => {
    const windows: FakeWindow[] = [];
    let clock = Date.now();
    const queue: ApprovalQueue = new ApprovalQueue({
      now: () => clock,
      presenter: new PromptWindowPresenter({
        createWindow: () => {
          const w = new FakeWindow(Promise.resolve());
          windows.push(w);
          return w.api;
        },
        fallback: { present: async () => 'deny' },
        notifyPrompt: () => undefined,
      }),
      blocker: () => undefined,
      fallback: () => null,
    });
    const first = queue.request(event('a'));
    await new Promise((r) => setTimeout(r, 0));
    expect(windows[0].loaded).toBe('clawdesk://app/index.html#prompt');
    expect(queue.current()?.promptId).toBe('a');
    // Issue 9 finding 3: an Allow over IPC before the prompt was on screen for 1.5 s does not count.
    expect(queue.decide('a', 'allow-once')).toBe(true);
    clock += 1_499;
    queue.decide('a', 'allow-once');
    expect(queue.current()?.promptId).toBe('a');
    expect(windows[0].destroyed).toBe(false);
    clock += 1;
    queue.decide('a', 'allow-once');
    expect(await first).toMatchObject({ decision: 'allow-once', source: 'user' });
    expect(windows[0].destroyed).toBe(true);

    const second = queue.request(event('b'));
    await new Promise((r) => setTimeout(r, 0));
    windows[1].api.close();
    expect(await second).toMatchObject({ decision: 'deny', source: 'user' });
  });

  it('falls back to the message box when the page cannot load', async () => {
    const used: string[] = [];
    const presenter = new PromptWindowPresenter({
      createWindow: () => new FakeWindow(Promise.reject(new Error('ERR_FAILED'))).api,
      fallback: { present: async (v) => (used.push(v.promptId), 'allow-once') },
      notifyPrompt: () => undefined,
    });
    expect(await presenter.present(view('ls', ['allow-once', 'deny']), new AbortController().signal)).toBe(
      'allow-once',
    );
    expect(used).toHaveLength(1);
  });
});

describe('PresenceMonitor', () => {
  it('locked screen, suspend and no display block prompts', () => {
    const handlers = new Map<string, () => void>();
    let idle: ReturnType<PowerMonitorLike['getSystemIdleState']> = 'active';
    const power = {
      on: (e: string, h: () => void) => (handlers.set(e, h), power),
      getSystemIdleState: () => idle,
    } as unknown as PowerMonitorLike;
    let displays = 1;
    const screen = { getAllDisplays: () => Array.from({ length: displays }, () => ({}) as Electron.Display) };
    const presence = new PresenceMonitor(power, screen);
    expect(presence.blocker()).toBeUndefined();
    handlers.get('lock-screen')!();
    expect(presence.blocker()).toBe('locked');
    handlers.get('unlock-screen')!();
    idle = 'locked';
    expect(presence.blocker()).toBe('locked');
    idle = 'idle';
    displays = 0;
    expect(presence.blocker()).toBe('no-display');
    displays = 1;
    handlers.get('suspend')!();
    expect(presence.blocker()).toBe('suspended');
  });
});

describe('LoginItem', () => {
  it('Linux: an XDG autostart entry is written and removed', async () => {
    const configHome = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-xdg-'));
    const app = {
      getLoginItemSettings: () => ({ openAtLogin: false }) as Electron.LoginItemSettings,
      setLoginItemSettings: () => undefined,
    };
    const item = new LoginItem(app, 'linux', { configHome, execPath: '/opt/Clawdesk/clawdesk desktop' });
    expect(item.get()).toBe(false);
    await item.set(true);
    const file = path.join(configHome, 'autostart', 'clawdesk.desktop');
    expect(readFileSync(file, 'utf8')).toContain('Exec="/opt/Clawdesk/clawdesk desktop"');
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(item.get()).toBe(true);
    await item.set(false);
    expect(existsSync(file)).toBe(false);
  });

  it('macOS/Windows: the OS login item', async () => {
    let openAtLogin = false;
    const app = {
      getLoginItemSettings: () => ({ openAtLogin }) as Electron.LoginItemSettings,
      setLoginItemSettings: (s: Electron.Settings) => void (openAtLogin = Boolean(s.openAtLogin)),
    };
    const item = new LoginItem(app, 'darwin', { configHome: '/nonexistent', execPath: '/x' });
    await item.set(true);
    expect(item.get()).toBe(true);
  });
});
