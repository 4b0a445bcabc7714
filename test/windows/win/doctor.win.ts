import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { PROFILE, cleanEnv, describe as describeRun, freshDir, runCli, writeStateDir } from './tier';

/**
 * The bundled `clawdesk doctor` and `state scan` under Windows Node, on the set-up the feature started with: the
 * active state dir E:\OpenClaw_Data (OPENCLAW_STATE_DIR) and trust state left in C:\users\<user>\.openclaw.
 */

const active = 'E:\\OpenClaw_Data';
const old = path.join(PROFILE, '.openclaw');

after(() => {
  fs.rmSync(active, { recursive: true, force: true });
  fs.rmSync(old, { recursive: true, force: true });
});

void describe('clawdesk doctor under Windows Node: state split between E: and C:', { timeout: 120_000 }, () => {
  void it('finds the split between E:\\OpenClaw_Data and C:\\users\\<user>\\.openclaw and names both in Windows form', () => {
    freshDir(active);
    freshDir(old);
    writeStateDir(old);
    fs.writeFileSync(path.join(active, 'openclaw.json'), JSON.stringify({ gateway: { port: 18789 } }));
    const run = runCli(['doctor', '--json', '--skip-keychain'], cleanEnv({ OPENCLAW_STATE_DIR: active }));
    assert.equal(run.code, 1, describeRun(run));
    const report = JSON.parse(run.stdout);
    assert.equal(report.activeStateDir, active);
    assert.equal(report.source, 'env');
    const split = report.findings.filter((f: any) => f.code === 'split-state' || f.code === 'split-exec-approvals');
    assert.ok(split.length > 0, JSON.stringify(report.findings, null, 2));
    const named = split.flatMap((f: any) => [...f.paths, f.message, f.fix]).join('\n');
    // Both directories, spelled the Windows way (drive letter, backslashes), never as POSIX paths.
    assert.ok(named.toLowerCase().includes(old.toLowerCase()), named);
    assert.ok(named.includes(active), named);
    for (const f of split) for (const p of f.paths) assert.match(p, /^[A-Z]:\\[^/]*$/i, p);
    assert.equal(report.ok, false);
  });

  void it('the text report names both directories with backslashes too', () => {
    const run = runCli(['doctor', '--skip-keychain'], cleanEnv({ OPENCLAW_STATE_DIR: active }));
    assert.equal(run.code, 1, describeRun(run));
    assert.ok(run.stdout.includes(active), describeRun(run));
    assert.ok(run.stdout.toLowerCase().includes(old.toLowerCase()), describeRun(run));
    assert.ok(!/[A-Z]:\/|\/users\//i.test(run.stdout), describeRun(run));
  });

  void it('state scan --json lists both, the active one used by the CLI, the C: one holding the trust files', () => {
    const run = runCli(['state', 'scan', '--json'], cleanEnv({ OPENCLAW_STATE_DIR: active }));
    assert.equal(run.code, 0, describeRun(run));
    const scan = JSON.parse(run.stdout);
    assert.equal(scan.platform, 'win32');
    const e = scan.dirs.find((d: any) => d.path === active);
    const c = scan.dirs.find((d: any) => d.path.toLowerCase() === old.toLowerCase());
    assert.ok(e && c, JSON.stringify(scan.dirs.map((d: any) => d.path)));
    assert.ok(e.usedBy.includes('openclaw-cli'));
    assert.ok(!c.usedBy.includes('openclaw-cli'));
    assert.deepEqual(c.items.map((i: any) => i.item).sort(), [
      'config',
      'exec-approvals',
      'identity',
      'paired-devices',
    ]);
  });

  void it('the same split reached through a lower-case e: and forward slashes is the same finding', () => {
    const run = runCli(['doctor', '--json', '--skip-keychain'], cleanEnv({ OPENCLAW_STATE_DIR: 'e:/OpenClaw_Data/' }));
    assert.equal(run.code, 1, describeRun(run));
    const report = JSON.parse(run.stdout);
    assert.equal(report.activeStateDir.toLowerCase(), active.toLowerCase());
    assert.ok(!report.activeStateDir.includes('/'), report.activeStateDir);
    assert.ok(
      report.findings.some((f: any) => f.code === 'split-state'),
      JSON.stringify(report.findings),
    );
  });

  void it('a state dir on a drive that is not mounted is reported, not crashed on', () => {
    const run = runCli(['doctor', '--json', '--skip-keychain'], cleanEnv({ OPENCLAW_STATE_DIR: 'Q:\\OpenClaw_Data' }));
    assert.notEqual(run.stdout.trim(), '', describeRun(run));
    const report = JSON.parse(run.stdout);
    assert.equal(report.activeStateDir, 'Q:\\OpenClaw_Data');
    assert.ok(!/TypeError|at .*\.cjs/.test(run.stderr), describeRun(run));
  });
});
