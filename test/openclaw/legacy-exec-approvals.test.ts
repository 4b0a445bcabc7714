import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { legacyExecApprovalsWarning } from '../../gateway/openclaw/legacy-exec-approvals';
import { freePort } from '../helpers/free-port';
import { cachedInstall, cleanup, isolatedEnv, supervise, tempDir } from './openclaw-fixture';

/**
 * A person used Clawdesk's built-in gateway (which keeps its runner's policy in `<state dir>/exec-approvals.json`),
 * then chose OpenClaw (supervised). The real openclaw@2026.9.6 will not start (exit 78) until its doctor has
 * imported that file, and its doctor may be unable to: Clawdesk names the file and the way out instead of sending the
 * person to a config that was never wrong. It changes neither the file nor OpenClaw's database.
 */

const TOKEN = 'legacy-approvals-token-0123456789abcdef';

afterAll(async () => {
  await cleanup();
});

/** What Clawdesk's built-in gateway writes (the exec-approvals format OpenClaw's older releases used too). */
const BUILT_IN_POLICY = {
  version: 1,
  defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' },
  agents: { main: { allowlist: [{ pattern: '/usr/bin/ls' }] } },
};

describe('legacy exec approvals in OpenClaw’s state dir', () => {
  it('only what OpenClaw’s gate counts: the file, its doctor claim, anything lstat finds; nothing otherwise', () => {
    const dir = tempDir('legacy-unit');
    expect(legacyExecApprovalsWarning(dir)).toBeUndefined();
    fs.writeFileSync(path.join(dir, 'exec-approvals.json.doctor-importing'), '{}');
    expect(legacyExecApprovalsWarning(dir)?.message).toContain('exec-approvals.json.doctor-importing');
    fs.rmSync(path.join(dir, 'exec-approvals.json.doctor-importing'));
    fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'exec-approvals.json'));
    expect(legacyExecApprovalsWarning(dir)?.fix).toContain(`OPENCLAW_STATE_DIR set to ${dir}`);
  });

  it('the real gateway will not start while the file is there: Clawdesk names the file and the way out, not the config', async () => {
    const port = await freePort();
    const environment = isolatedEnv(port, TOKEN);
    const legacy = path.join(environment.stateDir, 'exec-approvals.json');
    fs.writeFileSync(legacy, JSON.stringify(BUILT_IN_POLICY, null, 2));
    const logs: string[] = [];
    const supervisor = supervise({
      install: cachedInstall(),
      env: environment.env,
      port,
      log: (level, message) => logs.push(`${level}: ${message}`),
    });
    try {
      await supervisor.start();
      const status = supervisor.status();
      // OpenClaw exits 78 ("maintenance required"); its doctor is tried once, as for any 78, and here cannot import
      // the file. Before this, the person was told to fix openclaw.json, which was fine all along.
      expect(status.lastExit?.code, supervisor.outputTail(4000)).toBe(78);
      expect(supervisor.counters.doctorRuns).toBe(1);
      expect(supervisor.outputTail(64 * 1024)).toMatch(/legacy exec approvals/i);
      expect(status).toMatchObject({ state: 'failed', code: 'legacy-exec-approvals' });
      expect(status.reason).toContain(
        `OpenClaw will not start while ${legacy} holds exec approvals it has not imported`,
      );
      expect(status.fix).toContain(`OPENCLAW_STATE_DIR set to ${environment.stateDir}`);
      expect(status.fix).toContain(`move ${legacy} out of the state dir`);
      expect(status.fix).not.toContain(environment.configPath);
      expect(status.warning?.message).toContain(legacy);
      expect(logs.join('\n')).toContain(
        `warn: OpenClaw will not start, or refuses every command, while ${legacy} exists`,
      );
      // Nothing restarts in a loop.
      expect(supervisor.counters.spawns).toBe(1);
    } finally {
      await supervisor.dispose();
    }

    // The way out works: with the file moved aside, the same environment starts and serves.
    fs.renameSync(legacy, `${legacy}.moved-aside`);
    const again = supervise({ install: cachedInstall(), env: environment.env, port });
    try {
      await again.start();
      expect(again.status(), again.outputTail(4000)).toMatchObject({ state: 'running', mode: 'supervised' });
      expect(again.status().warning).toBeUndefined();
    } finally {
      await again.dispose();
    }
    // Clawdesk changed nothing in it: the person's approvals are intact.
    expect(JSON.parse(fs.readFileSync(`${legacy}.moved-aside`, 'utf8'))).toEqual(BUILT_IN_POLICY);
  });
});
