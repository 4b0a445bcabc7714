import { chmodSync, lstatSync, mkdirSync, mkdtempSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DoctorOptions, runDoctor } from '../../gateway/state/state-doctor';
import { clearModeBitsNoFollow } from '../../gateway/state/state-safety';
import { PathEnvironment, currentPathEnvironment } from '../../gateway/state/state-paths';
import { populateStateDir } from '../fixtures/state/state-fixtures';

// Issue 9 finding 13: `doctor --fix` chmodded through symbolic links (a 1777 shared dir became 0700 and lost its
// sticky bit) and set whole modes, dropping bits it was not asked to change. Each test fails on the code before.

let root: string;
let home: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-doctor-fix-')));
  home = path.join(root, 'home');
  mkdirSync(home);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const pe = (): PathEnvironment => ({ ...currentPathEnvironment(), env: { HOME: home }, osHomedir: home, cwd: root });
const doctor = (options: DoctorOptions = {}) =>
  runDoctor(pe(), { probeKeychain: false, clawdeskDataDir: path.join(root, 'data'), ...options });
const mode = (p: string) => (lstatSync(p).mode & 0o7777).toString(8);

describe('issue 9 finding 13: doctor --fix never follows symlinks', () => {
  it('a credentials link to a shared 1777 dir is reported, and the shared dir keeps its mode', async () => {
    const dir = path.join(home, '.openclaw');
    populateStateDir(dir, { label: 'a' });
    rmSync(path.join(dir, 'credentials'), { recursive: true, force: true });
    const shared = path.join(root, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    symlinkSync(shared, path.join(dir, 'credentials'));

    const report = await doctor({ fix: true });
    expect(mode(shared)).toBe('1777');
    const loose = report.findings.find(
      (f) => f.code === 'loose-permissions' && f.paths.includes(path.join(dir, 'credentials')),
    )!;
    expect(loose.fixed).toBeUndefined();
    expect(loose.message).toContain(`It is a symbolic link to ${shared}`);
    expect(loose.message).toContain('Not changed: doctor --fix does not follow symbolic links.');
    expect(report.findings.find((f) => f.code === 'trust-path-link')).toMatchObject({
      severity: 'error',
      paths: [path.join(dir, 'credentials')],
    });
  });

  it('a trust file that links to a file outside is not chmodded', async () => {
    const dir = path.join(home, '.openclaw');
    populateStateDir(dir, { label: 'a' });
    const outside = path.join(root, 'outside.json');
    const { renameSync } = await import('node:fs');
    renameSync(path.join(dir, 'devices', 'paired.json'), outside);
    chmodSync(outside, 0o644);
    symlinkSync(outside, path.join(dir, 'devices', 'paired.json'));
    await doctor({ fix: true });
    expect(mode(outside)).toBe('644');
  });

  it('a linked state dir is not chmodded through its link', async () => {
    const real = path.join(root, 'shared-state');
    populateStateDir(real, { label: 'a' });
    chmodSync(real, 0o1777);
    symlinkSync(real, path.join(home, '.openclaw'));
    await doctor({ fix: true });
    expect(mode(real)).toBe('1777');
  });
});

describe('issue 9 finding 13: doctor --fix clears only the group/other bits it means to', () => {
  it('the sticky and setgid bits and the owner bits survive', async () => {
    const dir = path.join(home, '.openclaw');
    populateStateDir(dir, { label: 'a' });
    chmodSync(dir, 0o1777);
    chmodSync(path.join(dir, 'credentials'), 0o2770);
    chmodSync(path.join(dir, 'identity', 'device.json'), 0o444);
    const report = await doctor({ fix: true });
    expect(mode(dir)).toBe('1700');
    expect(mode(path.join(dir, 'credentials'))).toBe('2700');
    // Read-only for its owner stays read-only: --fix removes access, never grants it.
    expect(mode(path.join(dir, 'identity', 'device.json'))).toBe('400');
    expect(report.findings.filter((f) => f.code === 'loose-permissions').map((f) => f.fixed)).toEqual(
      expect.arrayContaining(['mode 1777 → 1700', 'mode 2770 → 2700', 'mode 444 → 400']),
    );
  });

  it('clearModeBitsNoFollow: a link is reported and left alone; bits outside the mask are kept', async () => {
    const target = path.join(root, 'target');
    mkdirSync(target);
    chmodSync(target, 0o1777);
    symlinkSync(target, path.join(root, 'link'));
    expect(await clearModeBitsNoFollow(path.join(root, 'link'), 0o077)).toEqual({
      outcome: 'is-link',
      linkTarget: target,
    });
    expect(statSync(target).mode & 0o7777).toBe(0o1777);
    expect(await clearModeBitsNoFollow(target, 0o022)).toEqual({ outcome: 'changed', before: 0o1777, after: 0o1755 });
    expect(await clearModeBitsNoFollow(target, 0o022)).toEqual({ outcome: 'unchanged', before: 0o1755, after: 0o1755 });
    expect(await clearModeBitsNoFollow(path.join(root, 'missing'), 0o077)).toEqual({ outcome: 'missing' });
  });
});
