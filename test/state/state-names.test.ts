import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../gateway/state/state-doctor';
import {
  MigrationBlockedError,
  migrateState,
  planMigration,
  recoverInterruptedMigrations,
} from '../../gateway/state/state-migration';
import {
  NameRules,
  PORTABLE_NAME_RULES,
  findNameProblems,
  nameRulesFor,
  scanTreeNames,
  windowsNameIssue,
} from '../../gateway/state/state-names';
import { currentPathEnvironment } from '../../gateway/state/state-paths';
import { scanStateDirs } from '../../gateway/state/state-scan';
import { populateStateDir } from '../fixtures/state/state-fixtures';
import { leftovers, snapshot } from './helpers/tree-snapshot';

let root: string;
let home: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-names-')));
  home = path.join(root, 'home');
  mkdirSync(home);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const WINDOWS: NameRules = { windows: true, caseInsensitive: true, because: 'the target is on Windows' };
const CASE_ONLY: NameRules = { windows: false, caseInsensitive: true, because: 'the target volume ignores case' };
const LINUX: NameRules = { windows: false, caseInsensitive: false, because: 'any name' };

describe('names Windows cannot hold', () => {
  it.each([
    ['CON', 'reserved-name'],
    ['con', 'reserved-name'],
    ['aux.json', 'reserved-name'],
    ['AUX.JSON', 'reserved-name'],
    ['Nul.tar.gz', 'reserved-name'],
    ['nul .txt', 'reserved-name'],
    ['com1.log', 'reserved-name'],
    ['COM9', 'reserved-name'],
    ['lpt1', 'reserved-name'],
    ['LPT9.jsonl', 'reserved-name'],
    ['COM\u00b9', 'reserved-name'],
    ['PRN', 'reserved-name'],
    ['session.', 'trailing-dot-or-space'],
    ['notes ', 'trailing-dot-or-space'],
    ['a:b', 'forbidden-character'],
    ['what?', 'forbidden-character'],
    ['star*', 'forbidden-character'],
    ['<x>', 'forbidden-character'],
    ['say "hi"', 'forbidden-character'],
    ['pipe|d', 'forbidden-character'],
    ['back\\slash', 'forbidden-character'],
    ['ctl\u0001x', 'forbidden-character'],
    ['tab\tname', 'forbidden-character'],
  ])('%j is refused (%s)', (name, kind) => {
    expect(windowsNameIssue(name)?.kind).toBe(kind);
  });

  it.each([
    'CONSOLE',
    'com10',
    'LPT0',
    'auxiliary.json',
    'nul_file',
    'con-fig.json',
    '.env',
    'a.b.c',
    'x y',
    '.hidden',
  ])('%j is a fine Windows name', (name) => {
    expect(windowsNameIssue(name)).toBeUndefined();
  });

  it('names each offending path once: a bad directory is reported, not every file below it', () => {
    const rels = ['aux', 'aux/a.jsonl', 'aux/b.jsonl', 'ok', 'ok/trail.', 'ok/fine.json'];
    const problems = findNameProblems('/s', rels, WINDOWS);
    expect(problems.map((p) => [p.rel, p.kind, p.path])).toEqual([
      ['aux', 'reserved-name', '/s/aux'],
      ['ok/trail.', 'trailing-dot-or-space', '/s/ok/trail.'],
    ]);
    for (const p of problems) expect(p.fix).toMatch(/rename/);
  });

  it('finds names that differ only by case, inside the tree and against the target, when the target ignores case', () => {
    const rels = ['Sessions', 'Sessions/a', 'sessions', 'sessions/b', 'notes.md', 'NOTES.md', 'x/Foo', 'x/foo'];
    const problems = findNameProblems('/s', rels, CASE_ONLY, { targetRels: ['Config.JSON'] });
    expect(problems.map((p) => [p.rel, p.collidesWith])).toEqual([
      ['sessions', 'Sessions'],
      ['NOTES.md', 'notes.md'],
      ['x/foo', 'x/Foo'],
    ]);
    const againstTarget = findNameProblems('/s', ['config.json', 'Devices', 'Devices/paired.json'], CASE_ONLY, {
      targetRels: ['Config.json', 'devices'],
    });
    expect(againstTarget.map((p) => [p.rel, p.collidesWith, p.reason.includes("the target's")])).toEqual([
      ['config.json', 'Config.json', true],
      ['Devices', 'devices', true],
    ]);
    // A case-sensitive target holds them all; Windows rules alone do not fold case.
    expect(findNameProblems('/s', rels, LINUX)).toEqual([]);
    expect(findNameProblems('/s', rels, { ...WINDOWS, caseInsensitive: false })).toEqual([]);
  });

  it('stops at the limit', () => {
    const rels = Array.from({ length: 100 }, (_, i) => `con${i % 2 ? '.json' : ''}-${i}.`);
    expect(findNameProblems('/s', rels, WINDOWS, { limit: 7 })).toHaveLength(7);
  });

  it("asks the volume itself whether it ignores case, and leaves no probe behind (this machine's ext4/tmpfs does not)", async () => {
    const dir = path.join(root, 'probe');
    mkdirSync(dir);
    expect(await nameRulesFor(dir)).toMatchObject({ windows: false, caseInsensitive: false });
    expect(readdirSync(dir)).toEqual([]);
    // A target that does not exist yet is judged by its nearest existing parent.
    expect(await nameRulesFor(path.join(dir, 'not', 'yet'))).toMatchObject({ caseInsensitive: false });
    expect(readdirSync(dir)).toEqual([]);
    // Simulated platforms (their logic tested on Linux) take that platform's defaults.
    expect(await nameRulesFor('C:\\Users\\me\\.openclaw', { platform: 'win32' })).toMatchObject({
      windows: true,
      caseInsensitive: true,
    });
    expect(await nameRulesFor('/Users/me/.openclaw', { platform: 'darwin' })).toMatchObject({
      windows: false,
      caseInsensitive: true,
    });
  });
});

describe('case probes a killed migration left behind', () => {
  it('the next start removes them, and nothing else that looks like one', async () => {
    const dir = path.join(home, '.openclaw');
    mkdirSync(dir);
    // A pid no process can have: Linux caps pids at 2^22.
    const deadPid = 4_999_999;
    const stale = `.clawdesk-case-probe-${deadPid}-0badf00d`;
    writeFileSync(path.join(dir, stale), '');
    // Ours but in use (this process is alive), one a person wrote into, and one with a name we never make.
    const live = `.clawdesk-case-probe-${process.pid}-0badf00d`;
    const written = `.clawdesk-case-probe-${deadPid}-12345678`;
    const foreign = '.clawdesk-case-probe-notes';
    writeFileSync(path.join(dir, live), '');
    writeFileSync(path.join(dir, written), 'keep me');
    writeFileSync(path.join(dir, foreign), '');
    // A stale probe in the nearest existing ancestor of a target not made yet is found too.
    writeFileSync(path.join(home, stale), '');
    await recoverInterruptedMigrations([dir, path.join(home, 'not-yet')]);
    expect(readdirSync(dir).sort()).toEqual([foreign, live, written].sort());
    expect(readdirSync(home)).toEqual(['.openclaw']);
  });
});

/** A state dir made on Linux holding every kind of name Windows refuses, and two that differ only by case. */
function hostileSource(dir: string): string[] {
  populateStateDir(dir, { label: 'old', sessions: 3 });
  const sessions = path.join(dir, 'agents', 'main', 'sessions');
  mkdirSync(path.join(dir, 'aux'), { recursive: true });
  writeFileSync(path.join(dir, 'aux', 'inside.json'), '{}');
  const names = ['aux.json', 'CON', 'trail.', 'space ', 'a:b', 'what?', 'Notes.md', 'notes.md'];
  for (const name of names) writeFileSync(path.join(sessions, name), name);
  return names;
}

describe('state migrate refuses names the target cannot hold, before anything moves', () => {
  it('to Windows: every offending path named with why and the fix; nothing changed, nothing left behind', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    hostileSource(from);
    populateStateDir(to, { label: 'new' });
    const before = { from: snapshot(from, root), to: snapshot(to, root), home: readdirSync(home).sort() };
    const error = await migrateState({ from, to, home, platform: 'win32' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationBlockedError);
    const text = (error as Error).message;
    const sessions = path.join(from, 'agents', 'main', 'sessions');
    for (const name of ['aux.json', 'CON', 'trail.', 'space ', 'a:b', 'what?', 'notes.md'])
      expect(text).toContain(path.join(sessions, name));
    expect(text).toContain(path.join(from, 'aux'));
    expect(text).not.toContain(path.join(from, 'aux', 'inside.json'));
    expect(text).toMatch(/device name Windows reserves/);
    expect(text).toMatch(/ends with a dot/);
    expect(text).toMatch(/contains ":"/);
    expect(text).toMatch(/differs from "agents\/main\/sessions\/Notes.md" only by case/);
    expect(text).toMatch(/the target is on Windows/);
    expect(text).toMatch(/fix: rename/);
    expect({ from: snapshot(from, root), to: snapshot(to, root), home: readdirSync(home).sort() }).toEqual(before);
    expect(leftovers(home)).toEqual([]);
  });

  it('to a case-insensitive volume (default macOS): only the names that collide; the plan says so', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    hostileSource(from);
    const plan = await planMigration({ from, to, home, platform: 'darwin' });
    expect(plan.status).toBe('blocked');
    expect(plan.blockers).toHaveLength(1);
    expect(plan.blockers[0]).toContain(path.join(from, 'agents', 'main', 'sessions', 'notes.md'));
    expect(plan.blockers[0]).toMatch(/ignore case/);
  });

  it('a source name that differs from one already in the target only by case is refused, not merged into it', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'old' });
    populateStateDir(to, { label: 'new' });
    writeFileSync(path.join(from, 'Workspace.md'), 'source');
    writeFileSync(path.join(to, 'workspace.md'), 'target');
    const plan = await planMigration({ from, to, home, platform: 'darwin' });
    expect(plan.blockers.join('\n')).toMatch(/Workspace\.md.*differs from the target's "workspace\.md" only by case/);
  });

  it('to a Linux volume that accepts any name: the same tree migrates, every name kept', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    const names = hostileSource(from);
    const result = await migrateState({ from, to, home, backupRoot: path.join(root, 'backups') });
    expect(result.outcome).toBe('migrated');
    expect(readdirSync(path.join(to, 'agents', 'main', 'sessions'))).toEqual(expect.arrayContaining(names));
  });
});

describe('scan and doctor report such names', () => {
  it('state scan lists them per dir; doctor notes them (they only matter for a move off this volume)', async () => {
    const dir = path.join(home, '.openclaw');
    hostileSource(dir);
    const direct = await scanTreeNames(dir);
    expect(direct.rules).toMatchObject({ windows: false, caseInsensitive: false });
    expect(direct.problems.map((p) => p.rel)).toEqual(
      expect.arrayContaining(['aux', 'agents/main/sessions/CON', 'agents/main/sessions/notes.md']),
    );
    expect(direct.problems.every((p) => !p.appliesHere)).toBe(true);
    expect(findNameProblems(dir, ['x'], PORTABLE_NAME_RULES)).toEqual([]);

    const pe = { ...currentPathEnvironment(), env: { HOME: home }, osHomedir: home, cwd: root };
    const scan = await scanStateDirs(pe);
    const scanned = scan.dirs.find((d) => d.path === dir)!;
    expect(scanned.names?.problems.length).toBe(direct.problems.length);

    const report = await runDoctor(pe, { probeKeychain: false, clawdeskDataDir: path.join(root, 'data') });
    const finding = report.findings.find((f) => f.code === 'unportable-names');
    expect(finding?.severity).toBe('info');
    expect(finding?.paths).toContain(path.join(dir, 'agents', 'main', 'sessions', 'aux.json'));
    expect(finding?.message).toMatch(/cannot exist on Windows/);
    expect(report.findings.some((f) => f.code === 'unusable-names')).toBe(false);
  });
});
