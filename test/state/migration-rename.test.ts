import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBackupManifest } from '../../gateway/state/state-backup';
import { MigrationCancelledError } from '../../gateway/state/state-progress';
import { migrateState, planMigration, restoreBackup } from '../../gateway/state/state-migration';
import { pairedDevice, populateStateDir } from '../fixtures/state/state-fixtures';
import { leftovers, snapshot } from './helpers/tree-snapshot';

/**
 * Issue 16, same file system: a directory only the source has (an agent's transcripts, media) moves into the target
 * by one rename — its inode is the one the source had — instead of a hard link per file; the backup keeps only
 * what is rewritten and records where the moved directories went, so `state restore` brings them back; a cancel
 * or a failure after the rename moves them back.
 */

let root: string;
let home: string;
let from: string;
let to: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-rename-')));
  home = path.join(root, 'home');
  mkdirSync(home);
  from = path.join(home, '.clawdbot');
  to = path.join(home, '.openclaw');
  populateStateDir(from, { label: 'old', sessions: 2, devices: [pairedDevice('a'.repeat(64))] });
  populateStateDir(to, { label: 'new', sessions: 1, devices: [pairedDevice('b'.repeat(64))] });
  // Only the source has these: the agent "scout" with its transcripts, and a media dir.
  const sessions = path.join(from, 'agents', 'scout', 'sessions');
  mkdirSync(sessions, { recursive: true, mode: 0o700 });
  for (let i = 0; i < 50; i++) writeFileSync(path.join(sessions, `s-${i}.jsonl`), `{"turn":${i}}\n`, { mode: 0o600 });
  mkdirSync(path.join(from, 'media', 'inbound'), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(from, 'media', 'inbound', 'photo.bin'), Buffer.alloc(4096, 3), { mode: 0o600 });
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const ino = (p: string) => lstatSync(p).ino;

describe('same file system: directories only the source has move by rename', () => {
  it('the moved directory keeps its inode, the backup holds none of it and says where it went', async () => {
    const scout = ino(path.join(from, 'agents', 'scout'));
    const media = ino(path.join(from, 'media'));
    const plan = await planMigration({ from, to, home });
    expect(plan.steps.join('\n')).toMatch(/2 directories only .* \(51 file\(s\)\) move in by rename/);
    const result = await migrateState({ from, to, home });
    expect(result.outcome).toBe('migrated');
    expect(ino(path.join(to, 'agents', 'scout'))).toBe(scout);
    expect(ino(path.join(to, 'media'))).toBe(media);
    expect(readdirSync(path.join(to, 'agents', 'scout', 'sessions'))).toHaveLength(50);
    // The directory both have is merged file by file as before.
    expect(existsSync(path.join(to, 'agents', 'main', 'sessions'))).toBe(true);
    const backup = result.backupDir!;
    expect(existsSync(path.join(backup, 'from-1', 'agents', 'scout'))).toBe(false);
    expect(existsSync(path.join(backup, 'from-1', 'media'))).toBe(false);
    expect(existsSync(path.join(backup, 'from-1', 'devices', 'paired.json'))).toBe(true);
    const manifest = await readBackupManifest(backup);
    expect(manifest.entries.find((e) => e.role === 'from')!.movedTo).toEqual({
      path: to,
      rels: ['agents/scout', 'media'],
    });
    expect(leftovers(home)).toEqual([]);
  });

  it('state restore brings the moved directories back into the source, with what was appended since', async () => {
    const before = { from: snapshot(from, root), to: snapshot(to, root) };
    const result = await migrateState({ from, to, home });
    appendFileSync(path.join(to, 'agents', 'scout', 'sessions', 's-3.jsonl'), '{"turn":"after"}\n');
    const restored = await restoreBackup(result.backupDir!);
    expect(restored.warnings).toEqual([]);
    expect(lstatSync(from).isDirectory()).toBe(true);
    expect(readFileSync(path.join(from, 'agents', 'scout', 'sessions', 's-3.jsonl'), 'utf8')).toBe(
      '{"turn":3}\n{"turn":"after"}\n',
    );
    const afterFrom = snapshot(from, root) as Record<string, string>;
    const expectedFrom = { ...(before.from as Record<string, string>) };
    delete expectedFrom['agents/scout/sessions/s-3.jsonl'];
    delete afterFrom['agents/scout/sessions/s-3.jsonl'];
    expect(afterFrom).toEqual(expectedFrom);
    expect(snapshot(to, root)).toEqual(before.to);
  });

  it('into a target that did not exist: everything but trust state moves, and a restore puts it all back', async () => {
    rmSync(to, { recursive: true });
    const before = snapshot(from, root);
    const sessions = ino(path.join(from, 'agents'));
    const result = await migrateState({ from, to, home });
    expect(ino(path.join(to, 'agents'))).toBe(sessions);
    const restored = await restoreBackup(result.backupDir!);
    expect(restored.warnings).toEqual([]);
    expect(snapshot(from, root)).toEqual(before);
    expect(existsSync(to)).toBe(false);
    expect(leftovers(home)).toEqual([]);
  });

  it('a restore after the moved directory was deleted from the live dir says what could not come back', async () => {
    const result = await migrateState({ from, to, home });
    rmSync(path.join(to, 'media'), { recursive: true });
    const restored = await restoreBackup(result.backupDir!);
    expect(restored.warnings).toEqual([expect.stringMatching(/^media\/ \(moved into .*\) is no longer there$/)]);
    expect(existsSync(path.join(from, 'agents', 'scout', 'sessions', 's-0.jsonl'))).toBe(true);
  });

  it('a cancel after the renames moves every directory back: both trees exactly as they were', async () => {
    const before = { from: snapshot(from, root), to: snapshot(to, root) };
    const scout = ino(path.join(from, 'agents', 'scout'));
    const controller = new AbortController();
    await expect(
      migrateState({
        from,
        to,
        home,
        signal: controller.signal,
        step: (name) => {
          if (name === 'subtrees-moved') controller.abort();
        },
      }),
    ).rejects.toThrow(MigrationCancelledError);
    expect(ino(path.join(from, 'agents', 'scout'))).toBe(scout);
    expect(snapshot(from, root)).toEqual(before.from);
    expect(snapshot(to, root)).toEqual(before.to);
    expect(leftovers(home)).toEqual([]);
  });

  it('a place re-created while its directory was moved away keeps both, and the cancel says where', async () => {
    const media = ino(path.join(from, 'media'));
    const controller = new AbortController();
    const error = await migrateState({
      from,
      to,
      home,
      signal: controller.signal,
      step: (name) => {
        if (name !== 'subtrees-moved') return;
        // A writer (a gateway left running) makes media/ again and saves into it.
        mkdirSync(path.join(from, 'media', 'inbound'), { recursive: true });
        writeFileSync(path.join(from, 'media', 'inbound', 'new.bin'), 'new');
        controller.abort();
      },
    }).catch((e) => e);
    expect(error).toBeInstanceOf(MigrationCancelledError);
    expect(error.message).toMatch(
      /everything was rolled back, but something re-created .*\/media while the migration had moved it away: the original is kept beside it \(.*\/media\.moved-back-[^)]+\); merge the two by hand/,
    );
    const besideName = readdirSync(from).find((n) => n.startsWith('media.moved-back-'))!;
    expect(ino(path.join(from, besideName))).toBe(media);
    expect(readFileSync(path.join(from, besideName, 'inbound', 'photo.bin'))).toEqual(Buffer.alloc(4096, 3));
    expect(readFileSync(path.join(from, 'media', 'inbound', 'new.bin'), 'utf8')).toBe('new');
    // The other moved directory went back to its place.
    expect(readdirSync(path.join(from, 'agents', 'scout', 'sessions'))).toHaveLength(50);
  });

  it('a failure after the renames (the merged result fails its check) moves them back too', async () => {
    const before = { from: snapshot(from, root), to: snapshot(to, root) };
    await expect(
      migrateState({
        from,
        to,
        home,
        step: (name) => {
          // Something removes a merged trust file from the staging before it is checked.
          if (name === 'staging-built') {
            const staging = readdirSync(home).find((n) => n.includes('.staging-'))!;
            rmSync(path.join(home, staging, 'devices', 'paired.json'));
          }
        },
      }),
    ).rejects.toThrow(/failed its checks/);
    expect(snapshot(from, root)).toEqual(before.from);
    expect(snapshot(to, root)).toEqual(before.to);
    expect(leftovers(home)).toEqual([]);
  });

  it('a directory holding a link, a temporary file or trust state is placed file by file, not moved', async () => {
    symlinkSync('s-0.jsonl', path.join(from, 'agents', 'scout', 'sessions', 'latest'));
    mkdirSync(path.join(from, 'work', 'tmp'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(from, 'work', 'tmp', '.draft.json.tmp'), '{}');
    writeFileSync(path.join(from, 'work', 'notes.md'), 'notes');
    const scout = ino(path.join(from, 'agents', 'scout'));
    const work = ino(path.join(from, 'work'));
    const media = ino(path.join(from, 'media'));
    const transcript = ino(path.join(from, 'agents', 'scout', 'sessions', 's-0.jsonl'));
    await migrateState({ from, to, home });
    expect(ino(path.join(to, 'agents', 'scout'))).not.toBe(scout);
    expect(ino(path.join(to, 'agents', 'scout', 'sessions', 's-0.jsonl'))).toBe(transcript);
    expect(lstatSync(path.join(to, 'agents', 'scout', 'sessions', 'latest')).isSymbolicLink()).toBe(true);
    expect(ino(path.join(to, 'work'))).not.toBe(work);
    expect(existsSync(path.join(to, 'work', 'tmp', '.draft.json.tmp'))).toBe(false);
    // The rest still moves.
    expect(ino(path.join(to, 'media'))).toBe(media);
  });

  it('a directory whose rename is refused is placed file by file instead, and the migration succeeds', () => {
    // The target has agents/, so agents/scout is what moves. Bind-mounted onto itself it is a mount point, whose
    // rename fails (EBUSY); its files cross mounts, so they are copied. Needs root (as here and in .ci/run).
    const scout = path.join(from, 'agents', 'scout');
    execFileSync('mount', ['--bind', scout, scout]);
    // The mount travels with its directory (into the backup): unmount wherever it is then.
    const unmount = () => {
      for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n').reverse()) {
        const point = line.split(' ')[1]?.replace(/\\040/g, ' ');
        if (point?.startsWith(`${root}/`)) execFileSync('umount', [point]);
      }
    };
    return (async () => {
      try {
        const result = await migrateState({ from, to, home });
        expect(result.outcome).toBe('migrated');
        expect(readFileSync(path.join(to, 'agents', 'scout', 'sessions', 's-1.jsonl'), 'utf8')).toBe('{"turn":1}\n');
        expect(readdirSync(path.join(to, 'agents', 'scout', 'sessions'))).toHaveLength(50);
        const manifest = await readBackupManifest(result.backupDir!);
        expect(manifest.entries.find((e) => e.role === 'from')!.movedTo).toEqual({ path: to, rels: ['media'] });
        expect(existsSync(path.join(result.backupDir!, 'from-1', 'agents', 'scout', 'sessions', 's-1.jsonl'))).toBe(
          true,
        );
        expect(leftovers(home)).toEqual([]);
      } finally {
        unmount();
      }
    })();
  });

  it('a directory swapped for a link after it was journaled (just before its rename) is never installed', async () => {
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'not state');
    await expect(
      migrateState({
        from,
        to,
        home,
        step: (name) => {
          // Between the journal's inode check and the rename: the rename would move the link itself.
          if (name === 'subtrees-journaled') {
            rmSync(path.join(from, 'media'), { recursive: true });
            symlinkSync(outside, path.join(from, 'media'));
          }
        },
      }),
    ).rejects.toThrow(/changed while it was being migrated \(was replaced since it was planned\)/);
    expect(lstatSync(path.join(from, 'media')).isSymbolicLink()).toBe(true);
    expect(existsSync(path.join(to, 'media'))).toBe(false);
    expect(readdirSync(path.join(from, 'agents', 'scout', 'sessions'))).toHaveLength(50);
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('not state');
    expect(leftovers(home)).toEqual([]);
  });

  it('a moved directory swapped for a link before the rename is not followed: the migration refuses', async () => {
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'secret.txt'), 'not state');
    await expect(
      migrateState({
        from,
        to,
        home,
        step: (name) => {
          if (name === 'journal-written') {
            rmSync(path.join(from, 'media'), { recursive: true });
            symlinkSync(outside, path.join(from, 'media'));
          }
        },
      }),
    ).rejects.toThrow(/changed|replaced|was modified|disappeared/);
    expect(lstatSync(path.join(from, 'media')).isSymbolicLink()).toBe(true);
    expect(existsSync(path.join(to, 'media'))).toBe(false);
    expect(readFileSync(path.join(outside, 'secret.txt'), 'utf8')).toBe('not state');
    expect(leftovers(home)).toEqual([]);
  });
});
