import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approver } from '../../gateway/approvals/approver';
import { connectGateway } from '../../gateway/client/gateway-client';
import { attachClawdesk, type ClawdeskAttachment } from '../../gateway/openclaw/attach';
import type { OpenclawInstall } from '../../gateway/openclaw/install';
import type { OpenclawSupervisor } from '../../gateway/openclaw/supervisor';
import { loadOrCreateFileIdentity } from '../../gateway/node-host/file-identity';
import type { DeviceSigner } from '../../gateway/protocol/device-auth';
import { freePort } from '../helpers/free-port';
import type { OpenclawEnvironment } from '../interop/openclaw-harness';
import { alive, cachedInstall, cleanup, isolatedEnv, supervise, tempDir, until } from './openclaw-fixture';

/**
 * OpenClaw's own gateway (openclaw@2026.9.6 on Node 26, from the interop cache) under Clawdesk's supervisor.
 * One child serves the first block's tests in order (start, attach by a second supervisor, kill -9 and restart,
 * orderly stop), because each OpenClaw cold start costs ~10 s on this machine; the exit-78 cases need their own.
 */

const TOKEN = 'supervisor-test-token-0123456789abcdef';
let install: OpenclawInstall;

beforeAll(() => {
  install = cachedInstall();
});

afterAll(async () => {
  await cleanup();
});

/** Answers nothing: these tests check the approver's connection, not decisions. */
const silentApprover: Approver = { canPresent: () => false, present: async () => null };

describe('a supervised OpenClaw gateway', () => {
  let environment: OpenclawEnvironment;
  let supervisor: OpenclawSupervisor;
  let identity: DeviceSigner;
  let attachment: ClawdeskAttachment | undefined;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    environment = isolatedEnv(port, TOKEN);
    identity = await loadOrCreateFileIdentity(path.join(tempDir('identity'), 'device.json'));
  });

  afterAll(async () => {
    await attachment?.stop();
    await supervisor?.dispose();
  });

  /** Our runner, connected, in the gateway's node.list (asked by a separate read-only operator). */
  const nodeListed = async () => {
    const reader = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: TOKEN,
      clientId: 'gateway-client',
      clientMode: 'backend',
      scopes: ['operator.read'],
      connectTimeoutMs: 5_000,
    });
    try {
      const list = await reader.request('node.list', {}, { timeoutMs: 5_000 });
      return list.nodes?.find((n) => n.nodeId === identity.deviceId && n.connected);
    } finally {
      await reader.close();
    }
  };

  it('starts OpenClaw with a real Node runtime and reports running only after hello-ok', async () => {
    supervisor = supervise({ install, env: environment.env, port, restart: { initialDelayMs: 1_000 } });
    const seen: string[] = [];
    supervisor.on('status', (s) => seen.push(s.state));
    await supervisor.start();
    const status = supervisor.status();
    expect(status, supervisor.outputTail(4000)).toMatchObject({ state: 'running', mode: 'supervised', port });
    expect(seen).toEqual(['checking', 'starting', 'running']);
    expect(supervisor.counters.spawns).toBe(1);
    expect(alive(supervisor.childPid())).toBe(true);
    expect(install.nodeVersion).toMatch(/^v26\./);
    // The gateway itself answers an independent client.
    const probe = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: TOKEN,
      clientId: 'gateway-client',
      clientMode: 'backend',
      scopes: [],
    });
    expect(probe.hello?.type).toBe('hello-ok');
    await probe.close();

    attachment = await attachClawdesk({
      url: status.url,
      token: TOKEN,
      identity,
      stateDir: environment.stateDir,
      approver: silentApprover,
    });
    expect(attachment.node.status().state).toBe('connected');
    expect(attachment.approvals!.status().state).toBe('connected');
    await until('Clawdesk runner in node.list', nodeListed, 30_000, 250);
  });

  it('issues a one-time Control UI link to this gateway, never the shared token', async () => {
    const first = await supervisor.controlUiLink();
    const url = new URL(first.browserUrl);
    expect(`${url.protocol}//${url.hostname}:${url.port}`).toBe(`http://127.0.0.1:${port}`);
    expect(first.browserUrl).toContain('bootstrapToken=');
    expect(first.browserUrl).not.toContain(TOKEN);
    expect(first.expiresAtMs).toBeGreaterThan(Date.now());
    // The page it opens is OpenClaw's Control UI, served by the supervised gateway.
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<!doctype html>/i);
    // Single use: every link is a fresh bootstrap.
    expect((await supervisor.controlUiLink()).browserUrl).not.toBe(first.browserUrl);
  });

  it('attaches to the gateway already running instead of starting a second one, and leaves it running on stop', async () => {
    const second = supervise({ install, env: environment.env, port });
    await second.start();
    const status = second.status();
    expect(status).toMatchObject({ state: 'attached', mode: 'external', port });
    expect(second.counters.spawns).toBe(0);
    // It names the owner: the first supervisor's child, by PID.
    expect(status.pid).toBe(supervisor.childPid());
    expect(status.owner).toContain(String(supervisor.childPid()));
    await second.stop();
    expect(second.status().state).toBe('stopped');
    expect(second.status().reason).toMatch(/keeps running/);
    expect(alive(supervisor.childPid())).toBe(true);
    expect(supervisor.status().state).toBe('running');
    const probe = await connectGateway({
      url: `ws://127.0.0.1:${port}`,
      token: TOKEN,
      clientId: 'gateway-client',
      clientMode: 'backend',
      scopes: [],
    });
    await probe.close();
  });

  it('restarts a child killed with SIGKILL after a backoff, and the node and approver reconnect', async () => {
    const oldPid = supervisor.childPid()!;
    const oldNodeSession = attachment!.node.session();
    const oldApproverSession = attachment!.approvals!.session();
    expect(oldNodeSession).toBeDefined();
    const backoff = supervisor.waitFor(['backoff']);
    process.kill(oldPid, 'SIGKILL');
    const waiting = await backoff;
    expect(waiting.lastExit?.signal).toBe('SIGKILL');
    expect(waiting.retryInMs).toBe(1_000);
    expect(waiting.restarts).toBe(1);
    const running = await supervisor.waitFor(['running'], 120_000);
    expect(running.pid).not.toBe(oldPid);
    expect(alive(oldPid)).toBe(false);
    expect(supervisor.counters.spawns).toBe(2);
    // The old child had exited before the new one was spawned: spawned after lastExit.
    expect(running.since).toBeGreaterThan(waiting.lastExit!.at);
    await until(
      'the runner on a new session',
      () => attachment!.node.status().state === 'connected' && attachment!.node.session() !== oldNodeSession,
      60_000,
    );
    await until(
      'the approver on a new session',
      () =>
        attachment!.approvals!.status().state === 'connected' &&
        attachment!.approvals!.session() !== oldApproverSession,
      60_000,
    );
    await until('Clawdesk runner in node.list after the restart', nodeListed, 30_000, 250);
  });

  it('an orderly stop reads the shutdown event, waits for the exit and does not restart', async () => {
    const pid = supervisor.childPid()!;
    await supervisor.stop();
    const status = supervisor.status();
    expect(status.state).toBe('stopped');
    expect(status.lastShutdown?.reason).toBeTruthy();
    expect(status.lastShutdown?.restartExpectedMs).toBeUndefined();
    expect(alive(pid)).toBe(false);
    expect(supervisor.busy()).toBe(false);
    expect(supervisor.counters.spawns).toBe(2);
    // The runner and approver are now without a gateway; nothing restarted it.
    await until('the runner lost its gateway', () => attachment!.node.status().state !== 'connected', 20_000);
    expect(supervisor.status().state).toBe('stopped');
  });
});

describe('exit 78 (configuration refused)', () => {
  it('runs doctor --fix once, retries, and serves when doctor repaired the config', async () => {
    const port = await freePort();
    // An unknown key: OpenClaw refuses the config (exit 78); doctor removes it.
    const environment = isolatedEnv(port, TOKEN, (config) => (config.gateway.clawdeskBogusKey = true));
    const supervisor = supervise({ install, env: environment.env, port });
    const seen: string[] = [];
    supervisor.on('status', (s) => seen.push(s.state));
    await supervisor.start();
    expect(supervisor.status().state, supervisor.outputTail(4000)).toBe('running');
    expect(supervisor.status().lastExit?.code).toBe(78);
    expect(supervisor.counters).toMatchObject({ spawns: 2, doctorRuns: 1 });
    expect(seen).toEqual(['checking', 'starting', 'repairing', 'checking', 'starting', 'running']);
    await supervisor.stop();
    expect(supervisor.status().state).toBe('stopped');
  });

  it('a second exit 78 after doctor is surfaced with the fix, and nothing restarts', async () => {
    const port = await freePort();
    // Password auth without a password: refused with 78, and no doctor can invent the password.
    const environment = isolatedEnv(port, TOKEN, (config) => (config.gateway.auth = { mode: 'password' }));
    const supervisor = supervise({ install, env: environment.env, port });
    await supervisor.start();
    const status = supervisor.status();
    expect(status, supervisor.outputTail(4000)).toMatchObject({ state: 'failed', code: 'config-invalid' });
    expect(status.lastExit?.code).toBe(78);
    expect(status.fix).toContain(environment.configPath);
    expect(supervisor.counters).toMatchObject({ spawns: 2, doctorRuns: 1 });
    expect(supervisor.busy()).toBe(false);
    expect(supervisor.childPid()).toBeUndefined();
  });
});
