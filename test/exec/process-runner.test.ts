import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_RUN_TIMEOUT_MS,
  effectiveRunTimeoutMs,
  ENV_OVERRIDE_REJECTED,
  TRUNCATION_MARKER,
  applyEnvOverrides,
  decoderForCodePage,
  parseChcpOutput,
  runProcess,
  withRunSignal,
} from '../../gateway/exec/process-runner';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-run-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const env = () =>
  applyEnvOverrides(process.env, {}, { platform: process.platform, shellCarrier: false }) as {
    ok: true;
    env: Record<string, string>;
  };

/** Running, not merely a zombie waiting for a reaper (an orphan's reaper in a container may be slow or absent). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return process.platform !== 'linux';
  }
}

describe('runProcess', () => {
  it('runs argv without a shell, in cwd, and reports the exit', async () => {
    const r = await runProcess({
      argv: [process.execPath, '-e', 'process.stdout.write(process.cwd()); process.exit(3)'],
      cwd: dir,
      env: env().env,
    });
    expect(r.stdout).toBe(require('node:fs').realpathSync(dir));
    expect(r).toMatchObject({ exitCode: 3, success: false, timedOut: false, error: null });
    // Shell metacharacters are plain argument text.
    const echo = await runProcess({
      argv: [process.execPath, '-e', 'console.log(process.argv[1])', '$(id) > x; rm -rf /'],
      cwd: dir,
      env: env().env,
    });
    expect(echo.stdout.trim()).toBe('$(id) > x; rm -rf /');
    expect(existsSync(path.join(dir, 'x'))).toBe(false);
  });

  it('kills the whole process tree on timeout, grandchildren included', async () => {
    const pidFile = path.join(dir, 'grandchild.pid');
    const script = `
      const { spawn } = require('node:child_process');
      const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(g.pid));
      setInterval(() => {}, 1000);
    `;
    const r = await runProcess({ argv: [process.execPath, '-e', script], env: env().env, timeoutMs: 1500 });
    expect(r.timedOut).toBe(true);
    expect(r.success).toBe(false);
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    // SIGKILL delivery is asynchronous; give the kernel a moment to reap.
    for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((res) => setTimeout(res, 20));
    expect(alive(grandchild)).toBe(false);
  });

  it('caps output at the limit with a truncation marker', async () => {
    const r = await runProcess({
      argv: [
        process.execPath,
        '-e',
        'process.stdout.write("a".repeat(300000)); process.stderr.write("b".repeat(1000))',
      ],
      env: env().env,
      maxOutputChars: 200_000,
    });
    expect(r.stdout.length + r.stderr.length).toBe(200_000 + TRUNCATION_MARKER.length);
    expect(r.stdout.endsWith(TRUNCATION_MARKER)).toBe(true);
    const small = await runProcess({
      argv: [process.execPath, '-e', 'process.stdout.write("x".repeat(10))'],
      env: env().env,
      maxOutputChars: 5,
    });
    expect(small.stdout).toBe(`xxxxx${TRUNCATION_MARKER}`);
  });

  it('gives a clear error and runs nothing for a missing executable or cwd', async () => {
    const missing = await runProcess({ argv: [path.join(dir, 'nope')], env: env().env });
    expect(missing.exitCode).toBeNull();
    expect(missing.error).toMatch(/not found/);
    const badCwd = await runProcess({
      argv: [process.execPath, '-e', '1'],
      cwd: path.join(dir, 'missing'),
      env: env().env,
    });
    expect(badCwd.error).toMatch(/not found/);
  });
});

/** Live (non-zombie) members of a process group, from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && fields[0] !== 'X' && Number(fields[2]) === pgid) members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

describe.runIf(process.platform === 'linux')('issue 9 finding 14: every run ends, and its whole tree with it', () => {
  it('issue 9 finding 14: `yes` is stopped and killed at the output cap (it kept running before), truncation reported', async () => {
    let pid = 0;
    const started = Date.now();
    const r = await runProcess({
      argv: ['yes'],
      env: env().env,
      maxOutputChars: 10_000,
      onStarted: (p) => (pid = p ?? 0),
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r).toMatchObject({ truncated: true, stoppedBy: 'output-limit', success: false, timedOut: false });
    expect(r.error).toMatch(/output limit reached \(10000 characters\); the command was stopped/);
    expect(r.stdout).toBe(`${'y\n'.repeat(5_000)}${TRUNCATION_MARKER}`);
    await expect.poll(() => groupMembers(pid), { timeout: 5_000, interval: 20 }).toEqual([]);
  });

  it("issue 9 finding 14: the cap kills the producer's whole group, a grandchild producer included", async () => {
    let pid = 0;
    const r = await runProcess({
      argv: ['sh', '-c', 'yes | cat; sleep 300'],
      env: env().env,
      maxOutputChars: 1_000,
      onStarted: (p) => (pid = p ?? 0),
    });
    expect(r.stoppedBy).toBe('output-limit');
    await expect.poll(() => groupMembers(pid), { timeout: 5_000, interval: 20 }).toEqual([]);
  });

  it('issue 9 finding 14: an abort signal, explicit or ambient (withRunSignal), kills `sleep 300` and its tree', async () => {
    for (const ambient of [false, true]) {
      const controller = new AbortController();
      let pid = 0;
      const opts = {
        argv: ['sh', '-c', 'sleep 300 & sleep 300'],
        env: env().env,
        onStarted: (p: number | undefined) => (pid = p ?? 0),
      };
      const run = ambient
        ? withRunSignal(controller.signal, async () => runProcess(opts))
        : runProcess({ ...opts, signal: controller.signal });
      await expect.poll(() => groupMembers(pid).length, { timeout: 5_000, interval: 20 }).toBe(3);
      controller.abort(new Error('requester disconnected'));
      const r = await run;
      expect(r).toMatchObject({ stoppedBy: 'cancelled', success: false, timedOut: false });
      expect(r.error).toBe('command cancelled (requester disconnected); its process tree was killed');
      await expect.poll(() => groupMembers(pid), { timeout: 5_000, interval: 20 }).toEqual([]);
    }
    const aborted = AbortSignal.abort('invoke timed out');
    const never = await runProcess({
      argv: ['sh', '-c', `touch ${path.join(dir, 'ran')}`],
      env: env().env,
      signal: aborted,
    });
    expect(never).toMatchObject({
      stoppedBy: 'cancelled',
      exitCode: null,
      error: 'command not started: invoke timed out',
    });
    expect(existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('issue 9 finding 14: a run that names no timeout gets the default (10 min); an explicit one is kept', async () => {
    expect(DEFAULT_RUN_TIMEOUT_MS).toBe(600_000);
    for (const none of [undefined, null, 0, -5, Number.NaN])
      expect(effectiveRunTimeoutMs(none)).toBe(DEFAULT_RUN_TIMEOUT_MS);
    expect(effectiveRunTimeoutMs(24 * 3600_000)).toBe(24 * 3600_000);
    const r = await runProcess({ argv: ['sleep', '300'], env: env().env, timeoutMs: 300 });
    expect(r).toMatchObject({
      timedOut: true,
      stoppedBy: 'timeout',
      error: 'command timed out after 300 ms; its process tree was killed',
    });
  });
});

describe('applyEnvOverrides', () => {
  it('refuses PATH and loader hooks, in any case on Windows', () => {
    for (const [key, platform] of [
      ['PATH', 'linux'],
      ['Path', 'win32'],
      ['LD_PRELOAD', 'linux'],
      ['DYLD_INSERT_LIBRARIES', 'darwin'],
      ['NODE_OPTIONS', 'linux'],
      ['BASH_ENV', 'linux'],
      ['bad name', 'linux'],
    ] as const) {
      const r = applyEnvOverrides({}, { [key]: 'x' }, { platform, shellCarrier: false });
      expect(r.ok).toBe(false);
      expect((r as { message: string }).message.startsWith(ENV_OVERRIDE_REJECTED)).toBe(true);
    }
  });
  it('lets ordinary keys through, and only locale/terminal keys into shells', () => {
    expect(applyEnvOverrides({ A: '1' }, { FOO: 'bar' }, { platform: 'linux', shellCarrier: false })).toEqual({
      ok: true,
      env: { A: '1', FOO: 'bar' },
    });
    expect(applyEnvOverrides({}, { LC_ALL: 'C', TERM: 'dumb' }, { platform: 'linux', shellCarrier: true }).ok).toBe(
      true,
    );
    expect(applyEnvOverrides({}, { FOO: 'bar' }, { platform: 'linux', shellCarrier: true }).ok).toBe(false);
  });
});

describe('Windows console decoding', () => {
  it('parses chcp output and decodes with the code page', () => {
    expect(parseChcpOutput('Active code page: 65001\r\n')).toBe(65001);
    expect(parseChcpOutput('Página de códigos activa: 850')).toBe(850);
    expect(decoderForCodePage(1251)(Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]))).toBe('Привет');
    expect(decoderForCodePage(932)(Buffer.from([0x82, 0xa0]))).toBe('あ');
    expect(decoderForCodePage(null)(Buffer.from('héllo'))).toBe('héllo');
  });
});
