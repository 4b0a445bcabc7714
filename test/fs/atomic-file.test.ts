import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createFileExclusive,
  readJsonFile,
  serialize,
  SymlinkRefusedError,
  sweepOrphanedTempFiles,
  writeFileAtomic,
  writeJsonAtomic,
} from '../../gateway/fs/atomic-file';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-fs-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A pid that certainly belongs to no running process: one that just exited. */
function deadPid(): number {
  return Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
  );
}

describe('writeFileAtomic', () => {
  it('creates missing directories, writes mode 0600 by default, and leaves no temp file', async () => {
    const file = path.join(tempDir(), 'a', 'b', 'state.json');
    await writeJsonAtomic(file, { ok: true });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ ok: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(readdirSync(path.dirname(file))).toEqual(['state.json']);
  });

  it('honours an explicit mode', async () => {
    const file = path.join(tempDir(), 'public.json');
    await writeFileAtomic(file, '{}', { mode: 0o644 });
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('refuses a symlinked destination when asked, and leaves the link target alone', async () => {
    const dir = tempDir();
    const target = path.join(dir, 'elsewhere.json');
    writeFileSync(target, 'original');
    const link = path.join(dir, 'exec-approvals.json');
    symlinkSync(target, link);
    await expect(writeFileAtomic(link, 'new', { refuseSymlink: true })).rejects.toBeInstanceOf(SymlinkRefusedError);
    expect(readFileSync(target, 'utf8')).toBe('original');
  });

  it('removes temp files that a killed writer of the same file left behind, not those of live processes', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'paired.json');
    const dead = deadPid();
    const orphan = path.join(dir, `.paired.json.${dead}.abcdef012345.tmp`);
    const live = path.join(dir, `.paired.json.${process.ppid}.abcdef012345.tmp`);
    const other = path.join(dir, `.pending.json.${dead}.abcdef012345.tmp`);
    for (const f of [orphan, live, other]) writeFileSync(f, 'secret copy');
    await writeJsonAtomic(file, { v: 1 });
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(await sweepOrphanedTempFiles(path.join(dir, 'pending.json'))).toBe(1);
    expect(existsSync(other)).toBe(false);
  });
});

describe('createFileExclusive', () => {
  it('creates a file (0600) only when the name is free, and never replaces or follows what is there', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'exec-approvals.json');
    expect(await createFileExclusive(file, 'first')).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await createFileExclusive(file, 'second')).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('first');
    const dangling = path.join(dir, 'link.json');
    const target = path.join(dir, 'not-there-yet.json');
    symlinkSync(target, dangling);
    expect(await createFileExclusive(dangling, 'through the link')).toBe(false);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('readJsonFile', () => {
  it('reports a missing file as missing', async () => {
    expect(await readJsonFile(path.join(tempDir(), 'none.json'))).toEqual({ kind: 'missing' });
  });

  it('moves a file that is not JSON aside and reports it; the bytes are kept', async () => {
    const file = path.join(tempDir(), 'paired.json');
    writeFileSync(file, '{"cut": tr');
    const result = await readJsonFile(file);
    expect(result.kind).toBe('corrupt');
    if (result.kind !== 'corrupt') return;
    expect(result.error).toMatch(/not valid JSON/);
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(result.quarantinedTo, 'utf8')).toBe('{"cut": tr');
  });

  it('treats a wrong shape (rejected by parse) and an oversized file as corrupt', async () => {
    const dir = tempDir();
    const shape = path.join(dir, 'shape.json');
    writeFileSync(shape, '[1,2,3]');
    const wrong = await readJsonFile(shape, {
      parse: (v) => {
        if (Array.isArray(v)) throw new Error('expected an object');
        return v;
      },
    });
    expect(wrong).toMatchObject({ kind: 'corrupt', error: expect.stringContaining('wrong shape: expected an object') });
    const big = path.join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ pad: 'x'.repeat(2048) }));
    expect(await readJsonFile(big, { maxBytes: 1024 })).toMatchObject({
      kind: 'corrupt',
      error: expect.stringContaining('over the 1024-byte limit'),
    });
  });

  it('refuses a directory in place of a file without moving it', async () => {
    const dir = tempDir();
    const result = await readJsonFile(dir);
    expect(result.kind).toBe('corrupt');
    expect(existsSync(dir)).toBe(true);
  });
});

describe('serialize', () => {
  it('runs tasks for one key one at a time, in order, even when one fails', async () => {
    const order: string[] = [];
    const slow =
      (name: string, ms: number, fail = false) =>
      async () => {
        order.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      serialize('k', slow('a', 30)),
      serialize('k', slow('b', 5, true)),
      serialize('k', slow('c', 1)),
    ]);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});

describe('writeFileAtomic with a root never passes through a link (issue 9 finding 10)', () => {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const scratch = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-atomic-root-'));
    made.push(dir);
    return dir;
  };

  it('refuses a linked directory below the root and writes nothing through it', async () => {
    const root = scratch();
    const outside = scratch();
    symlinkSync(outside, path.join(root, 'devices'));
    const error = await writeFileAtomic(path.join(root, 'devices', 'paired.json'), '{}', { root }).catch((e) => e);
    expect(error).toBeInstanceOf(SymlinkRefusedError);
    expect(error.message).toBe(`refusing to write ${path.join(root, 'devices')}: it is a symbolic link`);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses a link at the file itself, and creates missing directories 0700', async () => {
    const root = scratch();
    const outside = path.join(scratch(), 'target.json');
    writeFileSync(outside, 'theirs');
    symlinkSync(outside, path.join(root, 'node.json'));
    await expect(writeFileAtomic(path.join(root, 'node.json'), 'mine', { root })).rejects.toBeInstanceOf(
      SymlinkRefusedError,
    );
    expect(readFileSync(outside, 'utf8')).toBe('theirs');
    await writeFileAtomic(path.join(root, 'a', 'b', 'c.json'), 'x', { root });
    expect(statSync(path.join(root, 'a')).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(root, 'a', 'b', 'c.json')).mode & 0o777).toBe(0o600);
  });
});
