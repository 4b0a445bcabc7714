import { createHash } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Whole-directory operations for backups and migration staging. Links are copied as links and never followed (a
 * state dir may contain circular links); sockets and other special files are skipped and reported.
 */

export type ManifestEntry =
  | { type: 'dir'; mode: number }
  | { type: 'file'; mode: number; size: number; sha256: string }
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
}

/** Copies `src` to `dst` (which must not exist), preserving modes, times and links. */
export async function copyTree(src: string, dst: string, options: { skip?: (rel: string) => boolean } = {}): Promise<CopyTreeResult> {
  const result: CopyTreeResult = { files: 0, bytes: 0, skipped: [] };
  const rootStat = await fs.lstat(src);
  await fs.mkdir(dst, { mode: rootStat.mode & 0o777 });
  await copyChildren(src, dst, '', result, options.skip);
  await fs.chmod(dst, rootStat.mode & 0o777);
  return result;
}

async function copyChildren(src: string, dst: string, rel: string, result: CopyTreeResult, skip?: (rel: string) => boolean): Promise<void> {
  const entries = await fs.readdir(path.join(src, rel), { withFileTypes: true });
  for (const entry of entries) {
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (skip?.(childRel)) continue;
    await copyEntry(path.join(src, childRel), path.join(dst, childRel), childRel, result, skip, src, dst);
  }
}

async function copyEntry(
  from: string,
  to: string,
  rel: string,
  result: CopyTreeResult,
  skip: ((rel: string) => boolean) | undefined,
  srcRoot: string,
  dstRoot: string,
): Promise<void> {
  const st = await fs.lstat(from);
  if (st.isSymbolicLink()) {
    const target = await fs.readlink(from);
    await fs.symlink(target, to, await linkType(from));
  } else if (st.isDirectory()) {
    await fs.mkdir(to, { mode: st.mode & 0o777 });
    await copyChildren(srcRoot, dstRoot, rel, result, skip);
    await fs.chmod(to, st.mode & 0o777);
    await fs.utimes(to, st.atime, st.mtime);
  } else if (st.isFile()) {
    await copyFileData(from, to, st);
    await fs.chmod(to, st.mode & 0o777);
    await fs.utimes(to, st.atime, st.mtime);
    result.files++;
    result.bytes += st.size;
  } else {
    result.skipped.push(rel);
  }
}

/** Copies one file or link, creating parent dirs (0700) as needed. */
export async function copyOne(from: string, to: string): Promise<void> {
  await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
  const st = await fs.lstat(from);
  if (st.isSymbolicLink()) {
    await fs.symlink(await fs.readlink(from), to, await linkType(from));
    return;
  }
  if (!st.isFile()) throw new Error(`refusing to copy ${from}: not a regular file`);
  await copyFileData(from, to, st);
  await fs.chmod(to, st.mode & 0o777);
  await fs.utimes(to, st.atime, st.mtime);
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
  if (!sparse) {
    await fs.copyFile(from, to, fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
    return;
  }
  const src = await fs.open(from, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
  try {
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
          const isZero = buffer.subarray(offset, end).equals(end - offset === SPARSE_BLOCK ? zero : zero.subarray(0, end - offset));
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
  const byDepth = dirs.sort().reverse().map((d) => d.slice(d.indexOf('\0') + 1));
  await inParallel(byDepth, fsyncPath);
}

async function inParallel(items: string[], task: (item: string) => Promise<void>, width = 16): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
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

export async function treeManifest(root: string): Promise<TreeManifest> {
  const manifest: TreeManifest = {};
  const walk = async (rel: string) => {
    const dir = rel ? path.join(root, rel) : root;
    const entries = await fs.readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(root, childRel);
      const st = await fs.lstat(full);
      if (st.isSymbolicLink()) manifest[childRel] = { type: 'link', target: await fs.readlink(full) };
      else if (st.isDirectory()) {
        manifest[childRel] = { type: 'dir', mode: st.mode & 0o777 };
        await walk(childRel);
      } else if (st.isFile()) {
        manifest[childRel] = { type: 'file', mode: st.mode & 0o777, size: st.size, sha256: await sha256File(full) };
      }
    }
  };
  await walk('');
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

/** Walks a tree without following links; yields relative posix paths with their lstat. */
export async function walkTree(root: string): Promise<Array<{ rel: string; stat: import('node:fs').Stats }>> {
  const out: Array<{ rel: string; stat: import('node:fs').Stats }> = [];
  const walk = async (rel: string) => {
    const entries = await fs.readdir(rel ? path.join(root, rel) : root);
    entries.sort();
    for (const name of entries) {
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(path.join(root, childRel));
      out.push({ rel: childRel, stat: st });
      if (st.isDirectory()) await walk(childRel);
    }
  };
  await walk('');
  return out;
}
