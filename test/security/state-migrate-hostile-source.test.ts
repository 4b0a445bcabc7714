import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupInvalidError } from '../../gateway/state/state-backup';
import {
  LINKS_RECORD,
  MigrationBlockedError,
  MigrateOptions,
  migrateState,
  restoreBackup,
} from '../../gateway/state/state-migration';
import { journalPathFor } from '../../gateway/state/state-transaction';
import {
  pairedDevice,
  populateStateDir,
  writeIdentity,
  writeJson,
  writePaired,
} from '../fixtures/state/state-fixtures';
import { giveTo, secondUser } from '../state/helpers/second-user';
import { snapshot } from '../state/helpers/tree-snapshot';

// Issue 9 finding 10: a hostile `state migrate` source. Each test here fails on the code before the fix.

let root: string;
let home: string;
let backups: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-hostile-')));
  home = path.join(root, 'home');
  backups = path.join(root, 'backups');
  mkdirSync(home);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const migrate = (from: string, to: string, extra: Partial<MigrateOptions> = {}) =>
  migrateState({ from, to, home, backupRoot: backups, ...extra });
const blocked = async (from: string, to: string, message: RegExp, extra: Partial<MigrateOptions> = {}) => {
  const error = await migrate(from, to, extra).catch((e) => e);
  expect(error).toBeInstanceOf(MigrationBlockedError);
  expect(error.message).toMatch(message);
  return error as MigrationBlockedError;
};
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

/** A directory every local user can write to, outside both state dirs (as the issue's /tmp drop). */
function worldWritable(name: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  return dir;
}

describe('issue 9 finding 10: links in the source never lead a write out of the tree', () => {
  it('a source whose devices/ is a link to a world-writable dir is refused, and nothing is written there', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    const drop = worldWritable('drop');
    writeIdentity(from);
    writePaired(drop, [pairedDevice('a'.repeat(64))]);
    symlinkSync(path.join(drop, 'devices'), path.join(from, 'devices'));
    writeIdentity(to);
    const before = [snapshot(from, root), snapshot(to, root), snapshot(drop, root)];
    const error = await blocked(
      from,
      to,
      /devices is a symbolic link \(to .*drop.*\): trust state must be a real directory/,
    );
    expect(error.message).toContain(`refusing the source ${from}`);
    expect([snapshot(from, root), snapshot(to, root), snapshot(drop, root)]).toEqual(before);
  });

  it('a trust file that is a link (exec-approvals.json → elsewhere) is refused', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x' });
    const drop = worldWritable('drop');
    writeJson(path.join(drop, 'approvals.json'), {
      version: 1,
      agents: { main: { allowlist: [{ pattern: '/bin/sh' }] } },
    });
    rmSync(path.join(from, 'exec-approvals.json'));
    symlinkSync(path.join(drop, 'approvals.json'), path.join(from, 'exec-approvals.json'));
    await blocked(from, to, /exec-approvals\.json is a symbolic link/);
  });

  it("a link where the target's trust state belongs is refused too (it would be written through)", async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x' });
    mkdirSync(to);
    const drop = worldWritable('drop');
    symlinkSync(drop, path.join(to, 'devices'));
    await blocked(from, to, /the target's devices .* is a symbolic link/);
    expect(readdirSync(drop)).toEqual([]);
  });

  it('a link leaving the tree elsewhere is neutralised: not installed, listed in the archive, kept in the backup', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x' });
    const outside = path.join(root, 'outside');
    mkdirSync(outside);
    symlinkSync(outside, path.join(from, 'agents', 'main', 'notes'));
    symlinkSync('../sessions', path.join(from, 'agents', 'main', 'inside-link'));
    const result = await migrate(from, to);
    expect(result.outcome).toBe('migrated');
    expect(
      existsSync(path.join(to, 'agents', 'main', 'notes')) || lstatExists(path.join(to, 'agents', 'main', 'notes')),
    ).toBe(false);
    // A link that stays inside the tree is still copied as a link.
    expect(readlinkSync(path.join(to, 'agents', 'main', 'inside-link'))).toBe('../sessions');
    const record = readJson(path.join(to, 'migrated-from-clawdbot', LINKS_RECORD));
    expect(record.links).toEqual([{ path: 'agents/main/notes', target: outside }]);
    expect(statSync(path.join(to, 'migrated-from-clawdbot', LINKS_RECORD)).mode & 0o777).toBe(0o600);
    expect(result.plan.warnings.join('\n')).toMatch(
      /1 symbolic link\(s\) in .* lead out of it and are not migrated \(agents\/main\/notes\)/,
    );
    const [backup] = readdirSync(backups);
    expect(readlinkSync(path.join(backups, backup, 'from-1', 'agents', 'main', 'notes'))).toBe(outside);
  });
});

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

describe('issue 9 finding 10: merged and copied trust files are written fresh, 0600', () => {
  it('a source-only trust file with a loose mode arrives as a new 0600 file', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    writeIdentity(from);
    writePaired(from, [pairedDevice('a'.repeat(64))]);
    chmodSync(path.join(from, 'devices', 'paired.json'), 0o644);
    chmodSync(path.join(from, 'identity', 'device.json'), 0o644);
    const inode = statSync(path.join(from, 'devices', 'paired.json')).ino;
    await migrate(from, to);
    for (const rel of ['devices/paired.json', 'identity/device.json']) {
      expect((statSync(path.join(to, rel)).mode & 0o777).toString(8)).toBe('600');
    }
    expect(statSync(path.join(to, 'devices', 'paired.json')).ino).not.toBe(inode);
  });
});

describe('issue 9 finding 10: a source another user can change is refused', () => {
  it('a source owned by another user', async () => {
    const other = secondUser();
    const to = path.join(home, '.openclaw');
    if (!other) {
      // Not root: a root-owned directory is "another user" for this process.
      await blocked('/usr/share', to, /\/usr\/share is owned by uid 0, not by you/);
      return;
    }
    const from = path.join(home, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    giveTo(other, from);
    const before = [snapshot(from, root), snapshot(to, root)];
    await blocked(from, to, new RegExp(`${escape(from)} is owned by uid ${other.uid}, not by you \\(uid 0\\)`));
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
  });

  it('a source holding a file another user owns', async () => {
    const other = secondUser();
    const from = path.join(home, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    if (!other) return void (await blocked('/usr/share', path.join(home, '.openclaw'), /owned by uid 0/));
    giveTo(other, path.join(from, 'devices', 'paired.json'));
    await blocked(from, path.join(home, '.openclaw'), /devices\/paired\.json is owned by uid \d+, not by you/);
  });

  it('a source reached through a world-writable directory without the sticky bit', async () => {
    const shared = worldWritable('shared');
    const from = path.join(shared, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    await blocked(
      from,
      path.join(home, '.openclaw'),
      new RegExp(`${escape(shared)}, a directory above .* is writable by every user \\(mode 0777, no sticky bit\\)`),
    );
  });

  it('a link to a source inside a group-writable directory is judged by where it leads', async () => {
    const shared = path.join(root, 'group');
    mkdirSync(shared);
    chmodSync(shared, 0o770);
    const real = path.join(shared, 'state');
    populateStateDir(real, { label: 'x' });
    symlinkSync(real, path.join(home, '.clawdbot'));
    await blocked(
      path.join(home, '.clawdbot'),
      path.join(home, '.openclaw'),
      /is writable by its group \(mode 0770, no sticky bit\)/,
    );
  });

  it('a sticky world-writable ancestor is fine; a sticky bit on the source itself is no excuse', async () => {
    const tmp = path.join(root, 'tmp');
    mkdirSync(tmp);
    chmodSync(tmp, 0o1777);
    const from = path.join(tmp, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    chmodSync(from, 0o1777);
    await blocked(
      from,
      path.join(home, '.openclaw'),
      /writable by every user \(mode 1777; the sticky bit does not protect the state files in it\)/,
    );
    chmodSync(from, 0o700);
    expect((await migrate(from, path.join(home, '.openclaw'))).outcome).toBe('migrated');
  });

  it('a directory inside the source that others can write to', async () => {
    const from = path.join(home, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    chmodSync(path.join(from, 'agents'), 0o777);
    await blocked(from, path.join(home, '.openclaw'), /agents is writable by every user \(mode 0777\)/);
  });

  it('a migration journal planted beside the source by someone else is never acted on', async () => {
    const other = secondUser();
    const tmp = path.join(root, 'tmp');
    mkdirSync(tmp);
    chmodSync(tmp, 0o1777);
    const from = path.join(tmp, 'state');
    populateStateDir(from, { label: 'x' });
    const victim = path.join(home, 'precious');
    mkdirSync(victim);
    writeFileSync(path.join(victim, 'keep.txt'), 'mine');
    // An abandoned "preparing" journal whose staging dir is the victim: recovery would delete it.
    const journal = journalPathFor(from);
    writeFileSync(
      journal,
      JSON.stringify({
        version: 1,
        kind: 'clawdesk-state-transaction',
        id: 'x',
        purpose: 'migrate',
        pid: 2 ** 22 + 17,
        hostname: os.hostname(),
        startedAtMs: 0,
        phase: 'preparing',
        ops: [{ path: from, install: { kind: 'dir', staged: victim }, aside: `${from}.aside`, existedBefore: true }],
        journalPath: journal,
        pointerPaths: [],
        scratch: [],
        info: {},
      }),
      { mode: 0o644 },
    );
    if (other) giveTo(other, journal);
    else chmodSync(journal, 0o666);
    const error = await migrate(from, path.join(home, '.openclaw')).catch((e) => e);
    expect(String(error?.message)).toMatch(
      other ? /is owned by uid \d+, not by you .*: another user's file is not acted on/ : /is writable by other users/,
    );
    expect(readFileSync(path.join(victim, 'keep.txt'), 'utf8')).toBe('mine');
  });
});

describe('issue 9 finding 10: a backup another user can change is not restored', () => {
  it('a backup dir writable by others is refused before anything is touched', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x' });
    const { backupDir } = await migrate(from, to);
    chmodSync(backupDir!, 0o777);
    const before = [snapshot(from, root), snapshot(to, root)];
    const error = await restoreBackup(backupDir!).catch((e) => e);
    expect(error).toBeInstanceOf(BackupInvalidError);
    expect(error.message).toMatch(
      new RegExp(`^refusing to restore ${escape(backupDir!)}: .* is writable by every user`),
    );
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
    chmodSync(backupDir!, 0o700);
    await restoreBackup(backupDir!);
    expect(lstatSync(from).isDirectory()).toBe(true);
  });
});

describe('issue 9 finding 10: sparse files stay sparse; size and free space are checked', () => {
  const SIZE = 64 * 1024 * 1024;
  const makeSparse = (file: string) => {
    const fd = openSync(file, 'w', 0o600);
    writeSync(fd, Buffer.from('head'), 0, 4, 0);
    writeSync(fd, Buffer.alloc(4096, 7), 0, 4096, 40 * 1024 * 1024);
    writeSync(fd, Buffer.from('tail'), 0, 4, SIZE - 4);
    closeSync(fd);
  };
  const allocated = (file: string) => statSync(file).blocks * 512;

  it('a sparse file is neither densified in the target nor in the backup', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x' });
    populateStateDir(to, { label: 'y' });
    makeSparse(path.join(from, 'agents', 'main', 'big.bin'));
    makeSparse(path.join(to, 'agents', 'main', 'target-big.bin'));
    expect(allocated(path.join(from, 'agents', 'main', 'big.bin'))).toBeLessThan(1024 * 1024);
    await migrate(from, to);
    const [backup] = readdirSync(backups);
    const copies = [
      path.join(to, 'agents', 'main', 'big.bin'),
      path.join(to, 'agents', 'main', 'target-big.bin'),
      path.join(backups, backup, 'from-1', 'agents', 'main', 'big.bin'),
      path.join(backups, backup, 'to-0', 'agents', 'main', 'target-big.bin'),
    ];
    for (const copy of copies) {
      expect(statSync(copy).size).toBe(SIZE);
      expect(allocated(copy)).toBeLessThan(1024 * 1024);
      const data = readFileSync(copy);
      expect(data.subarray(0, 4).toString()).toBe('head');
      expect(data.subarray(SIZE - 4).toString()).toBe('tail');
      expect(data.subarray(40 * 1024 * 1024, 40 * 1024 * 1024 + 4096).equals(Buffer.alloc(4096, 7))).toBe(true);
    }
  });

  it('a source over the size limit is refused, naming its largest files', async () => {
    const from = path.join(home, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    makeSparse(path.join(from, 'agents', 'main', 'big.bin'));
    await blocked(
      from,
      path.join(home, '.openclaw'),
      /holds 64 MiB \(apparent size, holes in sparse files included\), over the 16 MiB limit \(largest: agents\/main\/big\.bin 64 MiB/,
      {
        maxBytes: 16 * 1024 * 1024,
      },
    );
  });

  it('not enough free space for the backup and the staged copy is refused before anything is written', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x' });
    const before = [snapshot(from, root), snapshot(to, root)];
    await blocked(
      from,
      to,
      /not enough free space at .*: the backup and the staged copy need about .*, 1000 bytes is free/,
      { freeBytes: async () => 1000 },
    );
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
    expect(existsSync(backups)).toBe(false);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
