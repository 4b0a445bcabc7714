import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationLinkError, migrateState, recoverInterruptedMigrations } from '../../gateway/state/state-migration';
import { runDoctor } from '../../gateway/state/state-doctor';
import { pairedDevice, populateStateDir } from '../fixtures/state/state-fixtures';
import { findJournal } from '../../gateway/state/state-transaction';
import { leftovers, snapshot } from '../state/helpers/tree-snapshot';

/**
 * Issue 14: the last step of a migration, the link (a junction on Windows) at the old location, can fail: Wine has
 * no junctions, real Windows refuses them on FAT/exFAT, network drives or by policy. Forced here through the
 * `createLink` seam. Either the migration rolls back to exactly the state before, saying why and what to do, or,
 * when OPENCLAW_STATE_DIR already points at the target, it finishes without the link and says so.
 * The same under Windows Node, with Wine's real ENOTSUP: test/windows/win/migration.win.ts (npm run test:windows).
 */

let root: string;
let home: string;
let from: string;
let to: string;
let backups: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-linkfail-')));
  home = path.join(root, 'home');
  from = path.join(home, '.openclaw');
  to = path.join(root, 'data', 'OpenClaw_Data');
  backups = path.join(root, 'backups');
  mkdirSync(home);
  populateStateDir(from, { label: 'old', devices: [pairedDevice('a'.repeat(64))] });
  populateStateDir(to, { label: 'new', devices: [pairedDevice('b'.repeat(64))] });
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const failingLink = (code = 'ENOTSUP') => {
  const calls: string[] = [];
  const createLink = async (target: string, linkPath: string) => {
    calls.push(`${linkPath} -> ${target}`);
    throw Object.assign(new Error(`${code}: operation not supported on socket, symlink '${target}' -> '${linkPath}'`), {
      code,
    });
  };
  return { calls, createLink };
};

const treeState = () => ({
  from: snapshot(from, root),
  to: snapshot(to, root),
  home: leftovers(home),
  data: leftovers(path.dirname(to)),
});

describe('the link at the old location cannot be created', () => {
  it('without OPENCLAW_STATE_DIR at the target: rolls back to exactly the state before, and says why and what to do', async () => {
    const before = treeState();
    const link = failingLink();
    const error = await migrateState({
      from,
      to,
      home,
      backupRoot: backups,
      env: {},
      createLink: link.createLink,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Made beside the old location under a temporary name, then renamed into place.
    expect(link.calls).toHaveLength(1);
    expect(link.calls[0].startsWith(`${from}.link-`) && link.calls[0].endsWith(` -> ${to}`)).toBe(true);
    expect(error).toBeInstanceOf(MigrationLinkError);
    const message = (error as Error).message;
    expect(message).toContain(from);
    expect(message).toContain(to);
    expect(message).toContain('ENOTSUP');
    expect(message).toMatch(/rolled back/);
    expect(message).toContain(`OPENCLAW_STATE_DIR=${to}`);
    expect((error as MigrationLinkError).code).toBe('MIGRATION_LINK_FAILED');
    // Exactly as before: both trees, no staging, aside, journal or link temp left, no backup published.
    expect(treeState()).toEqual(before);
    expect(existsSync(backups) ? leftovers(backups) : []).toEqual([]);
    expect(await recoverInterruptedMigrations([to, from])).toEqual([]);
  });

  it('a rerun once the link works migrates normally (nothing was left half-done)', async () => {
    const link = failingLink();
    await expect(
      migrateState({ from, to, home, backupRoot: backups, env: {}, createLink: link.createLink }),
    ).rejects.toBeInstanceOf(MigrationLinkError);
    const result = await migrateState({ from, to, home, backupRoot: backups, env: {} });
    expect(result.outcome).toBe('migrated');
    expect(snapshot(from, root)).toEqual({ link: '<ROOT>/data/OpenClaw_Data' });
  });

  it('with OPENCLAW_STATE_DIR already at the target: finishes without the link and says so; a second run changes nothing', async () => {
    const link = failingLink('EPERM');
    const env = { OPENCLAW_STATE_DIR: to };
    const result = await migrateState({ from, to, home, backupRoot: backups, env, createLink: link.createLink });
    expect(result.outcome).toBe('migrated');
    expect(result.linkSkipped?.path).toBe(from);
    expect(result.linkSkipped?.reason).toContain('EPERM');
    expect(result.plan.warnings.join('\n')).toMatch(/without a (link|junction|symlink)/);
    expect(result.plan.warnings.join('\n')).toContain(`OPENCLAW_STATE_DIR`);
    // The old dir is gone from its place (it is in the backup); the target holds the merged state.
    expect(existsSync(from)).toBe(false);
    expect(result.backupDir && existsSync(result.backupDir)).toBe(true);
    expect(Object.keys(snapshot(to, root) as Record<string, string>)).toEqual(
      expect.arrayContaining(['devices/paired.json', 'exec-approvals.json']),
    );
    expect(leftovers(home)).toEqual([]);
    expect(leftovers(path.dirname(to))).toEqual([]);

    const afterFirst = treeState();
    const again = await migrateState({ from, to, home, backupRoot: backups, env, createLink: link.createLink });
    expect(again.outcome).toBe('nothing-to-do');
    expect(treeState()).toEqual(afterFirst);
  });

  it('doctor shows the missing link as a note, not an error', async () => {
    const link = failingLink();
    await migrateState({
      from,
      to,
      home,
      backupRoot: backups,
      env: { OPENCLAW_STATE_DIR: to },
      createLink: link.createLink,
    });
    const report = await runDoctor(
      {
        env: { HOME: home, OPENCLAW_STATE_DIR: to },
        platform: 'linux',
        osHomedir: home,
        cwd: home,
        exists: existsSync,
      },
      { probeKeychain: false, keytar: null },
    );
    const note = report.findings.find((f) => f.code === 'migration-link-skipped');
    expect(note, JSON.stringify(report.findings, null, 2)).toBeDefined();
    expect(note!.severity).toBe('info');
    expect(note!.paths).toEqual(expect.arrayContaining([from, to]));
    expect(report.findings.filter((f) => f.severity === 'error' && /migration|split/.test(f.code))).toEqual([]);
  });

  it('a journal left in "committing" whose link cannot be created is rolled back by recovery, not stuck', async () => {
    const link = failingLink();
    const before = treeState();
    // Crash right after the target was swapped in, before the link: the state issue 14 found stuck.
    const crashed = await migrateState({
      from,
      to,
      home,
      backupRoot: backups,
      env: {},
      step: (s) => {
        if (s === 'op0-installed') throw new Error('simulated crash');
      },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(crashed?.message).toBe('simulated crash');
    // As after kill -9: the journal's process is gone.
    const found = await findJournal(to);
    if (!found || !('journal' in found)) throw new Error(`no journal after the crash: ${JSON.stringify(found)}`);
    expect(found.journal.phase).toBe('committing');
    writeFileSync(found.path, JSON.stringify({ ...found.journal, pid: 2 ** 22 + 1 }));
    const outcomes = await recoverInterruptedMigrations([to, from], undefined, { createLink: link.createLink });
    expect(outcomes.map((o) => o.outcome)).toEqual(['rolled-back']);
    expect(treeState()).toEqual(before);
  });
});
