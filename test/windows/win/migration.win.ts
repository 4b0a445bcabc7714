import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { E_KIND, PROFILE, cleanEnv, describe as describeRun, freshDir, runCli, writeStateDir } from './tier';

/**
 * `clawdesk state migrate --from C:\users\<user>\.openclaw --to E:\OpenClaw_Data` under Windows Node, with E: on
 * another file system (a tmpfs: a rename between them fails with EXDEV, as between two volumes). Wine 8 has no
 * junctions: creating the link at the old location fails with ENOTSUP, the failure issue 14 found stuck.
 * Pending (not in the tier's glob) until the migration handles a failed link: see the issue 14 report.
 */

const from = path.join(PROFILE, '.openclaw');
const to = 'E:\\OpenClaw_Data';

/** Every file under `dir` with a hash of its content, links and directories marked. */
function tree(dir: string): Record<string, string> | 'missing' {
  if (!fs.existsSync(dir)) return 'missing';
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}\\${name}` : name;
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isSymbolicLink()) out[r] = `link:${fs.readlinkSync(path.join(dir, r))}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else
        out[r] = createHash('sha256')
          .update(fs.readFileSync(path.join(dir, r)))
          .digest('hex')
          .slice(0, 16);
    }
  };
  walk('');
  return out;
}
const siblings = (dir: string) =>
  fs
    .readdirSync(path.dirname(dir))
    .filter(
      (n) =>
        n.toLowerCase().includes(path.basename(dir).toLowerCase()) &&
        n.toLowerCase() !== path.basename(dir).toLowerCase(),
    );

after(() => {
  fs.rmSync(from, { recursive: true, force: true });
  fs.rmSync(to, { recursive: true, force: true });
});

void describe('state migrate C: -> E: under Windows Node', { timeout: 180_000 }, () => {
  void it('E: is another volume than C: (a rename fails with EXDEV)', () => {
    assert.equal(E_KIND, 'tmpfs', 'the tier could not mount a tmpfs for E:');
    fs.writeFileSync(path.join(PROFILE, 'clawdesk-tier-exdev'), 'x');
    assert.throws(() => fs.renameSync(path.join(PROFILE, 'clawdesk-tier-exdev'), 'E:\\clawdesk-tier-exdev'), {
      code: 'EXDEV',
    });
    fs.rmSync(path.join(PROFILE, 'clawdesk-tier-exdev'), { force: true });
  });

  void it('without OPENCLAW_STATE_DIR at E:, the junction failure rolls everything back exactly and says what to do', () => {
    freshDir(from);
    freshDir(to);
    writeStateDir(from);
    writeStateDir(to);
    const before = { from: tree(from), to: tree(to), c: siblings(from), e: siblings(to) };
    const run = runCli(['state', 'migrate', '--from', from, '--to', to], cleanEnv());
    assert.notEqual(run.code, 0, describeRun(run));
    const text = run.stdout + run.stderr;
    assert.match(text, /junction/i, describeRun(run));
    assert.match(text, /rolled back/i, describeRun(run));
    assert.ok(text.includes(`OPENCLAW_STATE_DIR=${to}`), describeRun(run));
    assert.deepEqual({ from: tree(from), to: tree(to), c: siblings(from), e: siblings(to) }, before);
    // Not stuck: doctor --fix finds nothing interrupted.
    const doctor = runCli(['doctor', '--json', '--skip-keychain'], cleanEnv({ OPENCLAW_STATE_DIR: to }));
    const report = JSON.parse(doctor.stdout);
    assert.deepEqual(
      report.findings.filter((f: any) => f.code === 'interrupted-migration'),
      [],
    );
  });

  void it('with OPENCLAW_STATE_DIR=E:\\OpenClaw_Data, it completes without the junction, says so, and a second run changes nothing', () => {
    const env = cleanEnv({ OPENCLAW_STATE_DIR: to });
    const run = runCli(['state', 'migrate', '--from', from, '--to', to, '--json'], env);
    assert.equal(run.code, 0, describeRun(run));
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    assert.equal(result.outcome, 'migrated', describeRun(run));
    assert.match(JSON.stringify(result.plan.warnings), /without a (junction|link)/, describeRun(run));
    assert.equal(fs.existsSync(from), false);
    assert.ok(fs.existsSync(path.join(to, 'devices', 'paired.json')));
    assert.deepEqual(
      siblings(to).filter((n) => !n.startsWith('.clawdesk-state-backups')),
      [],
    );
    const afterFirst = { from: tree(from), to: tree(to) };
    const again = runCli(['state', 'migrate', '--from', from, '--to', to, '--json'], env);
    assert.equal(again.code, 0, describeRun(again));
    assert.equal(JSON.parse(again.stdout.trim().split('\n').pop()!).outcome, 'nothing-to-do', describeRun(again));
    assert.deepEqual({ from: tree(from), to: tree(to) }, afterFirst);
    const doctor = runCli(['doctor', '--json', '--skip-keychain'], env);
    const report = JSON.parse(doctor.stdout);
    const note = report.findings.find((f: any) => f.code === 'migration-link-skipped');
    assert.equal(note?.severity, 'info', JSON.stringify(report.findings, null, 2));
  });
});
