import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';

/** Mode for files that hold secrets or trust state. */
export const SECRET_FILE_MODE = 0o600;
export const SECRET_DIR_MODE = 0o700;

export interface AtomicWriteOptions {
  /** File mode of the result; defaults to 0600 because almost everything we write is trust state. */
  mode?: number;
  /** Refuse to replace a destination that is a symbolic link (exec-approvals.json must not follow links). */
  refuseSymlink?: boolean;
  /** Create missing parent directories with this mode (default 0700). */
  dirMode?: number;
  /**
   * Never pass through a link below this directory: every directory between `root` and the file must be a real
   * directory (missing ones are created, 0700). Refuses with SymlinkRefusedError otherwise. Implies refuseSymlink.
   */
  root?: string;
}

export class SymlinkRefusedError extends Error {
  readonly code = 'SYMLINK_REFUSED';
  constructor(readonly filePath: string) {
    super(`refusing to write ${filePath}: it is a symbolic link`);
  }
}

const writeChains = new Map<string, Promise<unknown>>();

/**
 * Runs `task` after every earlier task queued for the same key has settled.
 * Serializes read-modify-write cycles on one file within this process.
 */
export function serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = writeChains.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  const tail = next.catch(() => undefined);
  writeChains.set(key, tail);
  void tail.then(() => {
    if (writeChains.get(key) === tail) writeChains.delete(key);
  });
  return next;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `.name.<pid>.<random>.tmp` beside the file: the pid lets a later writer tell an orphan from a live write. */
function tempPathFor(filePath: string): string {
  return path.join(
    path.dirname(filePath),
    `.${path.basename(filePath)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
}

function tempFilePattern(filePath: string): RegExp {
  const base = path.basename(filePath).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\.${base}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
}

/**
 * Removes temp files that writers of `filePath` left when they were killed mid-write (they may hold copies of
 * secrets). Only files of processes that no longer exist are touched.
 */
export async function sweepOrphanedTempFiles(filePath: string): Promise<number> {
  const dir = path.dirname(filePath);
  const pattern = tempFilePattern(filePath);
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (!pid || pid === process.pid || processAlive(pid)) continue;
    await fs.rm(path.join(dir, name), { force: true });
    removed += 1;
  }
  return removed;
}

const sweptPaths = new Set<string>();

async function fsyncDirectory(dir: string): Promise<void> {
  // Directory fsync makes the rename durable; not supported on Windows, where rename is already durable enough.
  if (process.platform === 'win32') return;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the data file itself is already synced.
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `data` to `filePath` atomically: a temp file in the same directory, fsync, rename, fsync the directory.
 * A crash at any point leaves either the old content or the new content, never a mix.
 */
export async function writeFileAtomic(
  filePath: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? SECRET_FILE_MODE;
  const dir = path.dirname(filePath);
  if (options.root !== undefined) await ensureRealDirectory(options.root, dir, options.dirMode ?? SECRET_DIR_MODE);
  else await fs.mkdir(dir, { recursive: true, mode: options.dirMode ?? SECRET_DIR_MODE });
  if (options.refuseSymlink || options.root !== undefined) {
    const stat = await fs.lstat(filePath).catch(() => undefined);
    if (stat?.isSymbolicLink()) throw new SymlinkRefusedError(filePath);
  }
  if (!sweptPaths.has(filePath)) {
    // Once per file per process: whatever an earlier, killed writer left behind goes.
    sweptPaths.add(filePath);
    await sweepOrphanedTempFiles(filePath);
  }
  const tempPath = tempPathFor(filePath);
  const handle = await fs.open(tempPath, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(tempPath, { force: true });
    throw error;
  }
  await handle.close();
  try {
    // open() honours the umask; make the mode exact.
    await fs.chmod(tempPath, mode);
    await fs.rename(tempPath, filePath);
  } catch (error) {
    await fs.rm(tempPath, { force: true });
    throw error;
  }
  await fsyncDirectory(dir);
}

/**
 * Makes sure `dir` exists as a real directory below `root` without passing through a link: each component from
 * `root` down is lstat'ed (never followed) and created (mode `dirMode`) when missing. `root` itself must be a real
 * directory. Throws SymlinkRefusedError naming the first component that is a link or not a directory.
 */
export async function ensureRealDirectory(root: string, dir: string, dirMode = SECRET_DIR_MODE): Promise<void> {
  const base = path.resolve(root);
  const target = path.resolve(dir);
  const rel = path.relative(base, target);
  if (rel.startsWith('..') || path.isAbsolute(rel))
    throw new Error(`refusing to write ${target}: it is outside ${base}`);
  let current = base;
  for (const part of ['', ...(rel ? rel.split(path.sep) : [])]) {
    current = part ? path.join(current, part) : current;
    let st = await fs
      .lstat(current)
      .catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)));
    if (!st && part) {
      try {
        await fs.mkdir(current, { mode: dirMode });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      st = await fs.lstat(current);
    }
    if (!st) throw new Error(`refusing to write below ${current}: it does not exist`);
    if (st.isSymbolicLink()) throw new SymlinkRefusedError(current);
    if (!st.isDirectory()) throw new Error(`refusing to write below ${current}: it is not a directory`);
  }
}

export async function writeJsonAtomic(
  filePath: string,
  value: unknown,
  options: AtomicWriteOptions = {},
): Promise<void> {
  await writeFileAtomic(filePath, `${JSON.stringify(value, null, 2)}\n`, options);
}

export type JsonReadResult<T> =
  | { kind: 'missing' }
  | { kind: 'ok'; value: T; raw: string }
  | { kind: 'corrupt'; error: string; quarantinedTo: string };

export interface ReadJsonOptions<T> {
  /** Validates and normalizes the parsed value; throw to reject the shape. */
  parse?: (value: unknown) => T;
  /** Larger files are treated as corrupt rather than parsed into memory. */
  maxBytes?: number;
}

/** Default cap on trust-state files: far above any real pairing list, far below anything that hurts. */
export const DEFAULT_MAX_JSON_BYTES = 16 * 1024 * 1024;

/**
 * Reads a JSON state file. A file that does not parse (or fails `parse`) is moved aside to
 * `<file>.corrupt-<timestamp>` and reported, never silently emptied or overwritten.
 */
export async function readJsonFile<T = unknown>(
  filePath: string,
  options: ReadJsonOptions<T> = {},
): Promise<JsonReadResult<T>> {
  let raw: string;
  try {
    const stat = await fs.stat(filePath);
    if (!stat.isFile()) {
      return quarantine(filePath, `${filePath} is not a regular file`, false);
    }
    if (stat.size > (options.maxBytes ?? DEFAULT_MAX_JSON_BYTES)) {
      return quarantine(
        filePath,
        `${filePath} is ${stat.size} bytes, over the ${options.maxBytes ?? DEFAULT_MAX_JSON_BYTES}-byte limit`,
      );
    }
    raw = await fs.readFile(filePath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return quarantine(filePath, `${filePath} is not valid JSON: ${(error as Error).message}`);
  }
  if (options.parse) {
    try {
      return { kind: 'ok', value: options.parse(value), raw };
    } catch (error) {
      return quarantine(filePath, `${filePath} has the wrong shape: ${(error as Error).message}`);
    }
  }
  return { kind: 'ok', value: value as T, raw };
}

async function quarantine(filePath: string, error: string, move = true): Promise<JsonReadResult<never>> {
  if (!move) return { kind: 'corrupt', error, quarantinedTo: '' };
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const quarantinedTo = `${filePath}.corrupt-${stamp}-${randomBytes(3).toString('hex')}`;
  await fs.rename(filePath, quarantinedTo);
  return { kind: 'corrupt', error, quarantinedTo };
}

/**
 * Creates `filePath` with `data` only if the name is free, atomically: a synced temp file hard-linked into place
 * (link(2) fails with EEXIST on any existing entry, dangling symlinks included, and never follows one). Where hard
 * links are unsupported, an O_EXCL create (which also refuses to follow a symlink) holds the same guarantee except
 * that a crash mid-write could leave a short file. Returns false if the name is taken.
 */
export async function createFileExclusive(filePath: string, data: string, mode = SECRET_FILE_MODE): Promise<boolean> {
  const dir = path.dirname(filePath);
  await fs.mkdir(dir, { recursive: true, mode: SECRET_DIR_MODE });
  // A killed earlier attempt may have left its temp copy.
  await sweepOrphanedTempFiles(filePath);
  const tempPath = tempPathFor(filePath);
  const write = async (target: string) => {
    const handle = await fs.open(target, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode);
    try {
      await handle.writeFile(data);
      // open() honours the umask; make the mode exact.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  try {
    await write(tempPath);
    try {
      await fs.link(tempPath, filePath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
      try {
        await write(filePath);
      } catch (fallbackError) {
        if ((fallbackError as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw fallbackError;
      }
    }
  } finally {
    await fs.rm(tempPath, { force: true });
  }
  await fsyncDirectory(dir);
  return true;
}
