import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Stats, constants as fsConstants, promises as fs, linkSync, lstatSync, readdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * Whole-directory operations for backups and migration staging. Links are copied as links and never followed (a
 * state dir may contain circular links); sockets and other special files are skipped and reported.
 */

export type ManifestEntry =
  /** `moved`: a whole subtree moved in by rename, listed without its contents (nothing in it was written). */
  | { type: 'dir'; mode: number; moved?: true }
  | { type: 'file'; mode: number; size: number; sha256?: string }
  | { type: 'link'; target: string };

/** Relative posix path → entry; the root itself is not listed. */
export type TreeManifest = Record<string, ManifestEntry>;

export async function lexists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export interface CopyTreeResult {
  files: number;
  bytes: number;
  skipped: string[];
  /** Files whose bytes were written here (copies, not links): they need an fsync before anything depends on them. */
  written: string[];
}

/** Per-file feedback and cancellation for long copies (migration progress bar, Ctrl-C). */
export interface CopyContext {
  /** Called after each regular file is placed, with its apparent size and how it was placed. */
  onFile?: (bytes: number, how: 'linked' | 'copied', from: string, to: string) => void;
  /** Throws (e.g. a cancellation) to stop between files; called before each file. */
  check?: () => void;
}

export interface CopyTreeOptions {
  skip?: (rel: string) => boolean;
  /**
   * Place regular files by hard link instead of copying their bytes (same filesystem only; falls back to a copy
   * where the filesystem refuses links). Files for which `copyIf(rel)` is true are always copied.
   */
  link?: boolean;
  copyIf?: (rel: string) => boolean;
  ctx?: CopyContext;
}

/** Copies `src` to `dst` (which must not exist), preserving modes, times and links. */
export async function copyTree(src: string, dst: string, options: CopyTreeOptions = {}): Promise<CopyTreeResult> {
  const result: CopyTreeResult = { files: 0, bytes: 0, skipped: [], written: [] };
  const rootStat = await fs.lstat(src);
  await fs.mkdir(dst, { mode: rootStat.mode & 0o777 });
  await copyChildren(src, dst, '', result, options);
  await fs.chmod(dst, rootStat.mode & 0o777);
  return result;
}

async function copyChildren(
  src: string,
  dst: string,
  rel: string,
  result: CopyTreeResult,
  options: CopyTreeOptions,
): Promise<void> {
  const entries = await fs.readdir(path.join(src, rel), { withFileTypes: true });
  for (const entry of entries) {
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (options.skip?.(childRel)) continue;
    await copyEntry(path.join(src, childRel), path.join(dst, childRel), childRel, result, options, src, dst);
  }
}

async function copyEntry(
  from: string,
  to: string,
  rel: string,
  result: CopyTreeResult,
  options: CopyTreeOptions,
  srcRoot: string,
  dstRoot: string,
): Promise<void> {
  options.ctx?.check?.();
  const st = lstatSync(from);
  if (st.isSymbolicLink()) {
    const target = await fs.readlink(from);
    await fs.symlink(target, to, await linkType(from));
  } else if (st.isDirectory()) {
    await fs.mkdir(to, { mode: st.mode & 0o777 });
    await copyChildren(srcRoot, dstRoot, rel, result, options);
    await fs.chmod(to, st.mode & 0o777);
    await fs.utimes(to, st.atime, st.mtime);
  } else if (st.isFile()) {
    const how = options.link && !options.copyIf?.(rel) ? await linkOrCopyFile(from, to, st) : 'copied';
    if (how === 'copied') {
      if (!options.link || options.copyIf?.(rel)) await copyFileData(from, to, st);
      await fs.chmod(to, st.mode & 0o777);
      await fs.utimes(to, st.atime, st.mtime);
      result.written.push(to);
    }
    result.files++;
    result.bytes += st.size;
    options.ctx?.onFile?.(st.size, how, from, to);
  } else {
    result.skipped.push(rel);
  }
}

/** A file changed (or was swapped for something else) between the check and its placement. */
export class SourceChangedError extends Error {
  readonly code = 'SOURCE_CHANGED';
  constructor(
    readonly filePath: string,
    why: string,
  ) {
    super(`${filePath} changed while it was being migrated (${why})`);
  }
}

/** Errors meaning "this filesystem (or this pair of paths) cannot hard-link": fall back to a copy. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS', 'EACCES']);

/**
 * Gives the regular file `from` (as lstat'ed in `st`) a second name `to` (which must not exist) without copying a
 * byte. The new name is checked to be the very inode that was checked (a file swapped for a link or another file
 * since is refused: link(2) never follows a symbolic link, so a swapped-in link would show up here). Where the
 * filesystem refuses hard links, the bytes are copied instead (sparse-preserving, cloned where possible); the
 * caller then sets mode and times. Returns how the file was placed.
 */
export async function linkOrCopyFile(from: string, to: string, st: Stats): Promise<'linked' | 'copied'> {
  try {
    linkSync(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!NO_LINK.has(code)) throw error;
    await copyFileData(from, to, st);
    return 'copied';
  }
  const placed = lstatSync(to);
  if (!placed.isFile() || placed.ino !== st.ino || placed.dev !== st.dev) {
    unlinkSync(to);
    throw new SourceChangedError(
      from,
      placed.isSymbolicLink() ? 'it became a symbolic link' : 'it was replaced by another file',
    );
  }
  return 'linked';
}

/** Copies one file or link, creating parent dirs (0700) as needed. */
export async function copyOne(
  from: string,
  to: string,
  options: { link?: boolean } = {},
): Promise<'linked' | 'copied' | 'link'> {
  await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  const st = lstatSync(from);
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(from), to, await linkType(from));
    return 'link';
  }
  if (!st.isFile()) throw new Error(`refusing to copy ${from}: not a regular file`);
  if (options.link && (await linkOrCopyFile(from, to, st)) === 'linked') return 'linked';
  if (!options.link) await copyFileData(from, to, st);
  await fs.chmod(to, st.mode & 0o777);
  await fs.utimes(to, st.atime, st.mtime);
  return 'copied';
}

/** Allocation unit assumed for hole detection; holes are only ever created for whole, zero-filled blocks. */
const SPARSE_BLOCK = 4096;
const COPY_CHUNK = 1024 * 1024;

/**
 * Copies a regular file's bytes into `to` (which must not exist). A file that occupies fewer blocks than its size
 * (sparse) is copied so that it stays sparse: zero-filled blocks are skipped, not written, and the length is set at
 * the end, so neither a backup nor a migrated copy of a huge, mostly empty file fills the disk. Other files are
 * cloned where the filesystem can, else copied by the kernel. The source is opened without following a link.
 */
export async function copyFileData(from: string, to: string, st: import('node:fs').Stats): Promise<void> {
  const sparse = process.platform !== 'win32' && st.blocks !== undefined && st.blocks * 512 < st.size;
  const src = await fs.open(from, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  try {
    const opened = await src.stat();
    if (!opened.isFile() || opened.ino !== st.ino || opened.dev !== st.dev)
      throw new SourceChangedError(from, 'it was replaced by another file');
    if (!sparse) {
      // The kernel copies (a copy-on-write clone where the filesystem offers one, else copy_file_range/sendfile):
      // no bytes pass through this process. On Linux the copy reads the descriptor opened above (no link followed).
      const name = process.platform === 'linux' ? `/proc/self/fd/${src.fd}` : from;
      await fs.copyFile(name, to, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
      return;
    }
    const dst = await fs.open(to, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
    try {
      const buffer = Buffer.alloc(COPY_CHUNK);
      const zero = Buffer.alloc(SPARSE_BLOCK);
      let position = 0;
      for (;;) {
        const { bytesRead } = await src.read(buffer, 0, COPY_CHUNK, position);
        if (bytesRead === 0) break;
        // Write each run of non-zero blocks; leave zero blocks as holes.
        let runStart = -1;
        for (let offset = 0; offset < bytesRead; offset += SPARSE_BLOCK) {
          const end = Math.min(offset + SPARSE_BLOCK, bytesRead);
          const isZero = buffer
            .subarray(offset, end)
            .equals(end - offset === SPARSE_BLOCK ? zero : zero.subarray(0, end - offset));
          if (!isZero && runStart < 0) runStart = offset;
          if (isZero && runStart >= 0) {
            await writeAll(dst, buffer.subarray(runStart, offset), position + runStart);
            runStart = -1;
          }
        }
        if (runStart >= 0) await writeAll(dst, buffer.subarray(runStart, bytesRead), position + runStart);
        position += bytesRead;
      }
      await dst.truncate(position);
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
}

async function writeAll(handle: fs.FileHandle, data: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

async function linkType(linkPath: string): Promise<'file' | 'dir' | 'junction' | undefined> {
  if (process.platform !== 'win32') return undefined;
  const target = await fs.stat(linkPath).catch(() => undefined);
  return target?.isDirectory() ? 'junction' : 'file';
}

/**
 * Flushes every file and directory under `root` (and `root` itself) to disk. Files go first, in parallel (the
 * filesystem batches concurrent flushes into few journal commits), then directories, deepest first.
 */
export async function fsyncTree(root: string): Promise<void> {
  const files: string[] = [];
  const dirs: string[] = [];
  const collect = async (p: string, depth: number) => {
    const st = await fs.lstat(p);
    if (st.isFile()) files.push(p);
    else if (st.isDirectory()) {
      dirs.push(`${depth.toString().padStart(4, '0')}\0${p}`);
      for (const name of await fs.readdir(p)) await collect(path.join(p, name), depth + 1);
    }
  };
  await collect(root, 0);
  await inParallel(files, fsyncPath);
  const byDepth = dirs
    .sort()
    .reverse()
    .map((d) => d.slice(d.indexOf('\0') + 1));
  await inParallel(byDepth, fsyncPath);
}

/**
 * Flushes the directories under `root` (deepest first) and `root` itself: new names, not file contents. Subtrees
 * under a `moved` relative path are not entered: moved in by one rename, their own names are as they were.
 */
export async function fsyncDirs(root: string, moved: ReadonlySet<string> = new Set()): Promise<void> {
  const dirs: Array<{ depth: number; p: string }> = [];
  const collect = (p: string, rel: string, depth: number) => {
    dirs.push({ depth, p });
    if (moved.has(rel)) return;
    for (const entry of readdirSync(p, { withFileTypes: true }))
      if (entry.isDirectory()) collect(path.join(p, entry.name), rel ? `${rel}/${entry.name}` : entry.name, depth + 1);
  };
  collect(root, '', 0);
  dirs.sort((a, b) => b.depth - a.depth);
  await inParallel(
    dirs.map((d) => d.p),
    fsyncPath,
  );
}

/** Flushes these files, many at once (the filesystem batches concurrent flushes into few journal commits). */
export async function fsyncFiles(files: readonly string[]): Promise<void> {
  await inParallel([...files], fsyncPath, 32);
}

/** From this many files on, one syncfs per file system beats an fsync per file. */
const SYNCFS_FROM_FILES = 64;

/**
 * Makes these files' data durable. Many files (a migration across volumes): on Linux one syncfs(2) per file system
 * they are on (`sync -f`, coreutils), which flushes everything in one pass — measured here about 40 % faster than
 * thousands of fsyncs, however parallel; elsewhere, or when `sync -f` fails, an fsync per file.
 */
export async function flushFiles(files: readonly string[]): Promise<void> {
  if (files.length >= SYNCFS_FROM_FILES && process.platform === 'linux') {
    const onePerVolume = new Map<number, string>();
    for (const file of files) {
      const st = lstatSync(file, { throwIfNoEntry: false });
      if (st && !onePerVolume.has(st.dev)) onePerVolume.set(st.dev, file);
    }
    try {
      for (const file of onePerVolume.values()) await syncFileSystemOf(file);
      return;
    } catch {
      // No usable `sync -f` (old coreutils, not on PATH): flush file by file.
    }
  }
  await fsyncFiles(files);
}

function syncFileSystemOf(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('sync', ['-f', file], { timeout: 10 * 60_000 }, (error: Error | null) =>
      error ? reject(error) : resolve(),
    );
  });
}

async function inParallel(items: string[], task: (item: string) => Promise<void>, width = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** fsync a file or directory; directories cannot be opened for sync on Windows, where renames are durable anyway. */
export async function fsyncPath(p: string): Promise<void> {
  if (process.platform === 'win32') {
    const st = await fs.stat(p).catch(() => undefined);
    if (!st?.isFile()) return;
  }
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(p, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the file data itself was synced.
  } finally {
    await handle?.close();
  }
}

/**
 * What a tree holds: every directory (mode), link (target) and file (mode, size; and its sha256 when `hashIf(rel)`,
 * by default for every file). Links are never followed.
 */
export async function treeManifest(
  root: string,
  hashIf: (rel: string) => boolean = () => true,
  moved: ReadonlySet<string> = new Set(),
): Promise<TreeManifest> {
  const manifest: TreeManifest = {};
  for (const { rel, stat } of await walkTree(root, { prune: moved })) {
    if (stat.isSymbolicLink()) manifest[rel] = { type: 'link', target: await fs.readlink(path.join(root, rel)) };
    else if (stat.isDirectory())
      manifest[rel] = moved.has(rel)
        ? { type: 'dir', mode: stat.mode & 0o777, moved: true }
        : { type: 'dir', mode: stat.mode & 0o777 };
    else if (stat.isFile()) {
      manifest[rel] = hashIf(rel)
        ? { type: 'file', mode: stat.mode & 0o777, size: stat.size, sha256: await sha256File(path.join(root, rel)) }
        : { type: 'file', mode: stat.mode & 0o777, size: stat.size };
    }
  }
  return manifest;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await fs.open(file, 'r');
  try {
    for await (const chunk of handle.createReadStream()) hash.update(chunk as Buffer);
  } finally {
    await handle.close().catch(() => undefined);
  }
  return hash.digest('hex');
}

/** Differences between two manifests, as readable lines (empty when equal). */
export function diffManifests(expected: TreeManifest, actual: TreeManifest, limit = 10): string[] {
  const out: string[] = [];
  for (const [rel, entry] of Object.entries(expected)) {
    const other = actual[rel];
    if (!other) out.push(`missing ${rel}`);
    else if (JSON.stringify(other) !== JSON.stringify(entry)) out.push(`changed ${rel}`);
    if (out.length >= limit) return out;
  }
  for (const rel of Object.keys(actual)) {
    if (!expected[rel]) out.push(`unexpected ${rel}`);
    if (out.length >= limit) return out;
  }
  return out;
}

/**
 * Walks a tree without following links; returns relative posix paths (sorted) with their lstat. Uses synchronous
 * calls (a state dir holds thousands of small entries; one thread-pool round trip per entry costs more than the
 * call itself) and lets the event loop run every few hundred entries, so signals and progress still get through.
 * With `unopenable`, names Windows lists but cannot open are collected there instead of failing the walk; with
 * `prune`, the directories at those relative paths are listed but not entered.
 */
export async function walkTree(
  root: string,
  options: { unopenable?: string[]; prune?: ReadonlySet<string> } = {},
): Promise<Array<{ rel: string; stat: import('node:fs').Stats }>> {
  const out: Array<{ rel: string; stat: import('node:fs').Stats }> = [];
  let sinceYield = 0;
  const walk = async (rel: string) => {
    const names = readdirSync(rel ? path.join(root, rel) : root);
    names.sort();
    for (const name of names) {
      const childRel = rel ? `${rel}/${name}` : name;
      let st: Stats;
      try {
        st = lstatSync(path.join(root, childRel));
      } catch (error) {
        // Windows lists a name made elsewhere (Linux, WSL) with a character it cannot represent, then cannot open it.
        if (!options.unopenable || process.platform !== 'win32' || (error as NodeJS.ErrnoException).code !== 'ENOENT')
          throw error;
        options.unopenable.push(childRel);
        continue;
      }
      out.push({ rel: childRel, stat: st });
      if (++sinceYield >= 512) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (st.isDirectory() && !options.prune?.has(childRel)) await walk(childRel);
    }
  };
  await walk('');
  return out;
}
