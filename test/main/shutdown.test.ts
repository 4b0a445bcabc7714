// main/shutdown.ts with an app that emits before-quit as Electron does: the plain quit, and the update's
// drain-then-install (Shutdown.drainThen), whose own quit must pass untouched.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { setupShutdown } from '../../main/shutdown';
import { waitFor } from './fakes';

function harness() {
  const order: string[] = [];
  const logs: string[] = [];
  const emitter = new EventEmitter();
  const app = {
    on: (event: string, listener: (...args: any[]) => void) => emitter.on(event, listener),
    exit: (code?: number) => void order.push(`exit(${code})`),
    /** Electron's app.quit(): before-quit with a preventable event. */
    quit() {
      const event = { defaultPrevented: false, preventDefault: () => (event.defaultPrevented = true) };
      emitter.emit('before-quit', event);
      order.push(event.defaultPrevented ? 'before-quit prevented' : 'before-quit passed');
    },
  };
  const slow = (what: string) => async () => {
    order.push(what);
    await new Promise((resolve) => setTimeout(resolve, 30));
  };
  const shutdown = setupShutdown({
    app: app as unknown as Electron.App,
    platform: 'linux',
    BrowserWindow: class {} as unknown as new () => Electron.BrowserWindow,
    preloadPath: '/nonexistent',
    drainPrompts: slow('drain prompts'),
    stopGateway: slow('stop gateway'),
    onQuitting: () => order.push('quitting'),
    log: (level, message) => logs.push(`${level} ${message}`),
  });
  return { app, order, logs, shutdown };
}

describe('shutdown', () => {
  it('Quit: before-quit is held, prompts then gateway drain, then the app exits', async () => {
    const { app, order } = harness();
    app.quit();
    await waitFor(() => order.includes('exit(0)'), 'exit');
    expect(order).toEqual(['quitting', 'drain prompts', 'before-quit prevented', 'stop gateway', 'exit(0)']);
  });

  it('drainThen: prompts then gateway drain, then the action; the quit it causes passes (no preventDefault, no exit)', async () => {
    const { app, order, shutdown } = harness();
    await shutdown.drainThen(() => {
      order.push('quitAndInstall');
      app.quit();
    });
    expect(order).toEqual(['quitting', 'drain prompts', 'stop gateway', 'quitAndInstall', 'before-quit passed']);
  });

  it('a Quit during the update drain is held and ends the app plainly; the action does not run', async () => {
    const { app, order, shutdown } = harness();
    const done = shutdown.drainThen(() => order.push('quitAndInstall'));
    app.quit();
    await done;
    expect(order).toEqual(['quitting', 'drain prompts', 'before-quit prevented', 'stop gateway', 'exit(0)']);
  });

  it('drainThen while a Quit already drains: the action never runs', async () => {
    const { app, order, shutdown } = harness();
    app.quit();
    await shutdown.drainThen(() => order.push('quitAndInstall'));
    await waitFor(() => order.includes('exit(0)'), 'exit');
    expect(order).not.toContain('quitAndInstall');
  });

  it('an action that throws after the drain is logged and the app exits (nothing is left half-stopped)', async () => {
    const { order, logs, shutdown } = harness();
    await shutdown.drainThen(() => {
      throw new Error('no installer');
    });
    expect(order.at(-1)).toBe('exit(0)');
    expect(logs).toContain('error after the drain: no installer');
  });
});
