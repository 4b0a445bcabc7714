import fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { stopCommand, windowsTaskkillPath } from '../../gateway/openclaw/supervisor';
import { requestSupervisorStop, stopRequestPath, watchStopRequest } from '../../gateway/openclaw/supervisor-record';
import { cleanup, tempDir, until } from './openclaw-fixture';

/**
 * Stopping on Windows, where there is no SIGTERM: the child is stopped the way OpenClaw's own service code stops its
 * gateway (taskkill /T, then /F /T), and `clawdesk openclaw stop` asks the running `start` through a request file.
 */

afterAll(async () => {
  await cleanup();
});

describe('how a stop reaches the child', () => {
  it('Windows: System32 taskkill for the tree, graceful first, /F when forced', () => {
    const env = { SystemRoot: 'D:\\Win' };
    expect(windowsTaskkillPath(env)).toBe('D:\\Win\\System32\\taskkill.exe');
    expect(windowsTaskkillPath({})).toBe('C:\\Windows\\System32\\taskkill.exe');
    expect(stopCommand(4242, false, 'win32', env)).toEqual({
      kind: 'spawn',
      command: 'D:\\Win\\System32\\taskkill.exe',
      args: ['/T', '/PID', '4242'],
    });
    expect(stopCommand(4242, true, 'win32', env)).toEqual({
      kind: 'spawn',
      command: 'D:\\Win\\System32\\taskkill.exe',
      args: ['/F', '/T', '/PID', '4242'],
    });
  });

  it('POSIX: SIGTERM to the gateway (it drains), SIGKILL to its process group when forced', () => {
    expect(stopCommand(4242, false, 'linux')).toEqual({ kind: 'signal', signal: 'SIGTERM', group: false });
    expect(stopCommand(4242, true, 'darwin')).toEqual({ kind: 'signal', signal: 'SIGKILL', group: true });
  });
});

describe('the stop request file', () => {
  it('stops the supervisor it names, once; a request for a supervisor that is gone is removed, not obeyed', async () => {
    const dataDir = tempDir('stop-request');
    let stops = 0;
    // A request left by a dead supervisor (PID far above pid_max) is cleared and ignored.
    await requestSupervisorStop(dataDir, 2 ** 30);
    const cancel = watchStopRequest(dataDir, process.pid, () => stops++, 20);
    await until('the stale request removed', () => !fs.existsSync(stopRequestPath(dataDir)), 10_000, 20);
    expect(stops).toBe(0);

    await requestSupervisorStop(dataDir, process.pid);
    await until('the stop', () => stops === 1, 10_000, 20);
    expect(fs.existsSync(stopRequestPath(dataDir))).toBe(false);
    cancel();
  });
});
