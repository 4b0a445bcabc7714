import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { endChildTree, stopCommand } from '../../../gateway/openclaw/supervisor';
import { isAlive, cleanEnv } from './tier';

/**
 * Stopping OpenClaw's gateway child under Windows Node: there is no SIGTERM, so the supervisor uses System32
 * taskkill (/T first, /F /T after the grace period), as OpenClaw's own service code does. Wine 8's taskkill refuses
 * /T, as a stripped-down Windows image without taskkill would fail it: the forced stop must still end the child, or
 * `clawdesk openclaw stop` and quitting the app would wait for ever.
 */

void describe('the supervisor stops its child under Windows Node', { timeout: 120_000 }, () => {
  void it('the stop commands are System32 taskkill with /T, and /F when forced', () => {
    const graceful = stopCommand(4242, false);
    const forced = stopCommand(4242, true);
    assert.equal(graceful.kind, 'spawn');
    assert.equal(forced.kind, 'spawn');
    if (graceful.kind !== 'spawn' || forced.kind !== 'spawn') return;
    assert.match(graceful.command, /\\System32\\taskkill\.exe$/i);
    assert.deepEqual(graceful.args, ['/T', '/PID', '4242']);
    assert.deepEqual(forced.args, ['/F', '/T', '/PID', '4242']);
  });

  void it('a child that ignores the graceful stop is ended by the forced one, even where taskkill refuses', async () => {
    // A console Node process, like OpenClaw's gateway: taskkill without /F cannot close it.
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      env: cleanEnv(),
      stdio: 'ignore',
      windowsHide: true,
    });
    await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    const pid = child.pid!;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), 45_000)));
    try {
      const outcome = await Promise.race([endChildTree(child, exited, 1_000).then(() => 'ended' as const), gaveUp]);
      assert.equal(outcome, 'ended', 'the forced stop never ended the child');
    } finally {
      clearTimeout(timer);
      if (isAlive(pid)) child.kill('SIGKILL');
    }
    assert.equal(isAlive(pid), false);
    // Not before the grace period: the graceful stop was given its chance first.
    assert.ok(Date.now() - started >= 900, `ended after ${Date.now() - started} ms`);
  });
});
