import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supervisorRecordPath } from '../../gateway/openclaw/supervisor-record';
import { freePort } from '../helpers/free-port';
import {
  ensureOpenclawInstalled,
  repoRoot,
  spawnRealOpenclawGateway,
  waitForHelloOk,
  type SpawnedRealGateway,
} from '../interop/openclaw-harness';
import { alive, cleanup, isolatedEnv, tempDir, until } from './openclaw-fixture';

/**
 * `clawdesk openclaw start|stop|status` as a person runs them: the built CLI (dist/clawdesk-cli.cjs via
 * bin/clawdesk.js) in its own process, against the real openclaw@2026.9.6 from the interop cache.
 */

const TOKEN = 'cli-test-token-0123456789abcdef01';
const cli = path.join(repoRoot, 'bin', 'clawdesk.js');
let cacheDir: string;
const started: ChildProcess[] = [];

beforeAll(() => {
  if (!fs.existsSync(path.join(repoRoot, 'dist', 'clawdesk-cli.cjs')))
    throw new Error('build the CLI first: node scripts/build-cli.mjs (npm run test:interop builds it)');
  cacheDir = ensureOpenclawInstalled().cacheDir;
});

afterAll(async () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await cleanup();
});

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, 'openclaw', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A foreground `clawdesk openclaw start --json`, its JSON lines collected. */
function startForeground(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [cli, 'openclaw', 'start', '--json', '--install', cacheDir, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const lines: any[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString('utf8');
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ text: line });
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, lines, stderr: () => stderr, exited };
}

// OpenClaw's cold start alone took 120-170 s at load 16 on 2 cores; the polls inside allow 150 s for it.
describe('clawdesk openclaw', { timeout: 400_000 }, () => {
  it('start supervises OpenClaw with the runner attached; status reports it; a second start refuses; stop stops it', async () => {
    const port = await freePort();
    const environment = isolatedEnv(port, TOKEN);
    const env = environment.env;

    const before = await run(['status', '--json'], env);
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout)).toMatchObject({ state: 'stopped', port });

    const fg = startForeground([], env);
    const running = await until(
      'state running',
      () =>
        fg.lines.find((l) => l.state === 'running') ??
        (fg.child.exitCode !== null ? Promise.reject(new Error(`exited: ${fg.stderr()}`)) : undefined),
      150_000,
      200,
    );
    expect(running).toMatchObject({ mode: 'supervised', port });
    const runner = await until('runner attached', () => fg.lines.find((l) => l.runner), 60_000, 200);
    expect(runner.runner).toBe('connected');

    const status = await run(['status', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout);
    expect(shown).toMatchObject({
      state: 'running',
      mode: 'supervised',
      supervisorPid: fg.child.pid,
      pid: running.pid,
    });
    expect(fs.existsSync(supervisorRecordPath(path.join(environment.stateDir, 'clawdesk')))).toBe(true);

    const dashboard = await run(['dashboard', '--json', '--install', cacheDir], env);
    expect(dashboard.code, dashboard.stderr + dashboard.stdout).toBe(0);
    const link = JSON.parse(dashboard.stdout);
    expect(link).toMatchObject({ ok: true, port });
    expect(link.browserUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/#bootstrapToken=`));
    expect(link.browserUrl).not.toContain(TOKEN);

    const again = await run(['start', '--install', cacheDir], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`already supervised`);

    const stop = await run(['stop', '--json'], env);
    expect(stop.code, stop.stderr).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ state: 'stopped', stopped: true });
    expect(await fg.exited, `${fg.stderr()}\n${JSON.stringify(fg.lines.slice(-3))}`).toBe(0);
    expect(alive(running.pid)).toBe(false);
    expect(fg.lines.some((l) => l.state === 'stopped' && l.lastShutdown?.reason)).toBe(true);
    expect(fs.existsSync(supervisorRecordPath(path.join(environment.stateDir, 'clawdesk')))).toBe(false);
  });

  describe('with an OpenClaw gateway Clawdesk did not start', () => {
    let external: SpawnedRealGateway;
    beforeAll(async () => {
      external = await spawnRealOpenclawGateway({ authMode: 'token', token: TOKEN, tmpDir: tempDir('external') });
      await waitForHelloOk(external, { authMode: 'token', token: TOKEN }, 150_000);
    });
    afterAll(async () => {
      await external?.stop();
    });

    it('status names it, start attaches without a second child, and stop leaves it running', async () => {
      // The CLI sees the same config and state as the external gateway: the person's own machine.
      const env = external.environment.env;
      const status = await run(['status', '--json'], env);
      expect(status.code, status.stderr).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ state: 'external', pid: external.pid });

      const noop = await run(['stop', '--json'], env);
      expect(noop.code).toBe(0);
      expect(JSON.parse(noop.stdout)).toMatchObject({ stopped: false });
      expect(noop.stdout).toMatch(/not started by Clawdesk/);

      const fg = startForeground(['--no-node'], env);
      const attached = await until(
        'state attached',
        () =>
          fg.lines.find((l) => l.state === 'attached') ??
          (fg.child.exitCode !== null ? Promise.reject(new Error(`exited: ${fg.stderr()}`)) : undefined),
        60_000,
        100,
      );
      expect(attached).toMatchObject({ mode: 'external', pid: external.pid });
      expect(fg.lines.some((l) => l.state === 'starting')).toBe(false);

      const stop = await run(['stop', '--json'], env);
      expect(stop.code, stop.stderr).toBe(0);
      expect(JSON.parse(stop.stdout)).toMatchObject({ state: 'external', stopped: false });
      expect(await fg.exited, `${fg.stderr()}\n${JSON.stringify(fg.lines.slice(-3))}`).toBe(0);
      expect(alive(external.pid)).toBe(true);
      expect(external.exitInfo()).toBeUndefined();
      await waitForHelloOk(external, { authMode: 'token', token: TOKEN }, 10_000);
    });
  });
});
