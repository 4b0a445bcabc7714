import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../gateway/state/state-doctor';
import { PathEnvironment, currentPathEnvironment } from '../../gateway/state/state-paths';
import { populateStateDir, writePaired, pairedDevice } from '../fixtures/state/state-fixtures';
import { giveTo, secondUser } from '../state/helpers/second-user';

// Issue 9 finding 10 (doctor part): doctor did not flag a state dir that `state migrate` must refuse — links
// leaving the tree, a foreign owner, writable ancestors. Each test fails on the code before the fix.

let root: string;
let home: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-doctor-hostile-')));
  home = path.join(root, 'home');
  mkdirSync(home);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const pe = (env: Record<string, string> = {}): PathEnvironment => ({
  ...currentPathEnvironment(),
  env: { HOME: home, ...env },
  osHomedir: home,
  cwd: root,
});
const doctor = (env: Record<string, string> = {}) =>
  runDoctor(pe(env), { probeKeychain: false, clawdeskDataDir: path.join(root, 'data') });

describe('issue 9 finding 10: doctor flags a state dir another user can change', () => {
  it('links leaving the tree: an error on a trust path, a warning elsewhere', async () => {
    populateStateDir(path.join(home, '.openclaw'), { label: 'a' });
    const legacy = path.join(home, '.clawdbot');
    mkdirSync(legacy);
    const drop = path.join(root, 'drop');
    writePaired(drop, [pairedDevice('a'.repeat(64))]);
    chmodSync(drop, 0o777);
    symlinkSync(path.join(drop, 'devices'), path.join(legacy, 'devices'));
    const outside = path.join(root, 'elsewhere');
    mkdirSync(outside);
    symlinkSync(outside, path.join(legacy, 'notes'));
    const report = await doctor();
    const trust = report.findings.find((f) => f.code === 'trust-path-link')!;
    expect(trust).toMatchObject({ severity: 'error', paths: [path.join(legacy, 'devices')] });
    expect(trust.message).toMatch(/is a symbolic link \(to .*drop\/devices\): trust state must be a real directory/);
    expect(report.findings.find((f) => f.code === 'link-leaves-tree')).toMatchObject({
      severity: 'warn',
      paths: [path.join(legacy, 'notes')],
    });
    expect(report.ok).toBe(false);
  });

  it('a foreign owner', async () => {
    populateStateDir(path.join(home, '.openclaw'), { label: 'a' });
    const other = secondUser();
    if (!other) {
      // Not root: a root-owned state dir is another user's.
      const report = await doctor({ OPENCLAW_STATE_DIR: '/usr/share' });
      expect(report.findings.find((f) => f.code === 'foreign-owner')?.message).toMatch(
        /\/usr\/share is owned by uid 0/,
      );
      return;
    }
    const legacy = path.join(home, '.clawdbot');
    populateStateDir(legacy, { label: 'b' });
    giveTo(other, legacy);
    const report = await doctor();
    const finding = report.findings.find((f) => f.code === 'foreign-owner')!;
    expect(finding.severity).toBe('error');
    expect(finding.message).toContain(`${legacy} is owned by uid ${other.uid}, not by you (uid 0)`);
  });

  it('a writable directory above the state dir (no sticky bit), and not a sticky one', async () => {
    const shared = path.join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const state = path.join(shared, 'state');
    populateStateDir(state, { label: 'a' });
    const report = await doctor({ OPENCLAW_STATE_DIR: state });
    const finding = report.findings.find((f) => f.code === 'writable-ancestor')!;
    expect(finding).toMatchObject({ severity: 'error', paths: [shared, state] });
    expect(finding.fix).toBe(`chmod go-w ${shared}, or move the state dir somewhere only you can change.`);
    chmodSync(shared, 0o1777);
    expect(
      (await doctor({ OPENCLAW_STATE_DIR: state })).findings.filter((f) => f.code === 'writable-ancestor'),
    ).toEqual([]);
  });

  it('a clean state dir has none of these findings', async () => {
    populateStateDir(path.join(home, '.openclaw'), { label: 'a' });
    const codes = (await doctor()).findings.map((f) => f.code);
    expect(
      codes.filter((c) =>
        ['foreign-owner', 'writable-ancestor', 'trust-path-link', 'link-leaves-tree', 'unsafe-state-dir'].includes(c),
      ),
    ).toEqual([]);
  });
});
