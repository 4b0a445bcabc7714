import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DashboardService } from '../../main/dashboard-service';
import { execPolicySource, migrateIntoActive, toStateView } from '../../main/desktop-sources';
import { scanStateDirs } from '../../gateway/state/state-scan';
import type { PathEnvironment } from '../../gateway/state/state-paths';

describe('exec policy source (real files)', () => {
  it('reads host file and config, shows the stricter as effective, and a preset writes the host file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-policy-'));
    const configPath = path.join(dir, 'openclaw.json');
    writeFileSync(configPath, JSON.stringify({ tools: { exec: { security: 'allowlist', ask: 'always' } } }));
    writeFileSync(
      path.join(dir, 'exec-approvals.json'),
      JSON.stringify({ version: 1, defaults: { security: 'full', ask: 'off', askFallback: 'deny' }, agents: {} }),
    );
    const source = execPolicySource(dir, configPath);
    const service = new DashboardService({ policy: source } as unknown as ConstructorParameters<
      typeof DashboardService
    >[0]);
    const view = await service.getExecPolicy();
    expect(view.effective).toEqual({ security: 'allowlist', ask: 'always', askFallback: 'deny' });
    expect(view.decidedBy).toEqual({ security: 'config', ask: 'config', askFallback: 'host-file' });
    await source.write({ security: 'deny', ask: 'off', askFallback: 'deny' });
    const file = JSON.parse(readFileSync(path.join(dir, 'exec-approvals.json'), 'utf8'));
    expect(file.defaults).toMatchObject({ security: 'deny', ask: 'off', askFallback: 'deny' });
    expect((await service.getExecPolicy()).effective.security).toBe('deny');
  });
});

describe('state view and migration (real directories)', () => {
  it('finds two state dirs with data, previews the migration without changing anything', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-home-'));
    const legacy = path.join(home, '.clawdbot');
    mkdirSync(path.join(legacy, 'devices'), { recursive: true });
    writeFileSync(
      path.join(legacy, 'devices', 'paired.json'),
      JSON.stringify({ d1: { deviceId: 'd1', publicKey: 'x', createdAtMs: 1, approvedAtMs: 1 } }),
    );
    const active = path.join(home, '.openclaw');
    mkdirSync(path.join(active, 'devices'), { recursive: true });
    writeFileSync(path.join(active, 'devices', 'paired.json'), JSON.stringify({}));
    const pe: PathEnvironment = {
      env: { HOME: home },
      platform: 'linux',
      osHomedir: home,
      cwd: home,
      exists: (p) => {
        try {
          readFileSync(p);
          return true;
        } catch {
          try {
            return require('node:fs').statSync(p).isDirectory();
          } catch {
            return false;
          }
        }
      },
    };
    const scan = await scanStateDirs(pe);
    const view = toStateView(scan);
    expect(view.dirs.some((d) => d.path === legacy)).toBe(true);
    expect(view.dirs.find((d) => d.active)?.path).toBe(scan.active.stateDir);
    expect(view.findings.map((f) => f.id)).toContain('multiple-state-dirs');
    const before = readFileSync(path.join(active, 'devices', 'paired.json'), 'utf8');
    const preview = await migrateIntoActive(scan, true);
    expect(preview.dryRun).toBe(true);
    expect(preview.applied).toBe(false);
    expect(preview.steps.length).toBeGreaterThan(0);
    expect(readFileSync(path.join(active, 'devices', 'paired.json'), 'utf8')).toBe(before);
  });
});
