import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeJsonAtomic } from '../fs/atomic-file';
import { isSecretPath } from './state-safety';
import { CopyContext, copyTree, fsyncDirs, fsyncFiles, fsyncPath, lexists } from './state-tree';

/**
 * Timestamped copies of state dirs taken before a migration or restore, restorable with
 * `clawdesk state restore <backup>`. A backup is built under a `.partial-*` name and renamed into place only once
 * complete and flushed, so a listed backup is always whole.
 */

export const BACKUP_MANIFEST = 'clawdesk-backup.json';

export interface BackupEntry {
  role: 'from' | 'to' | 'dir';
  /** The real (resolved) path this entry was taken from and restores to. */
  path: string;
  state: 'dir' | 'link' | 'missing';
  linkTarget?: string;
  /** Subdirectory of the backup holding the copy (state 'dir'). */
  copy?: string;
  /**
   * Directories of this entry a migration moved whole into another directory (`path`, at the same relative
   * paths) instead of keeping a copy: a restore takes them back from there, as they are then.
   */
  movedTo?: { path: string; rels: string[] };
}

export interface BackupManifest {
  version: 1;
  kind: 'clawdesk-state-backup';
  id: string;
  reason: 'migrate' | 'restore';
  createdAtMs: number;
  entries: BackupEntry[];
  skipped: string[];
}

export class BackupInvalidError extends Error {
  readonly code = 'BACKUP_INVALID';
}

export function backupName(nowMs: number, id: string): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*$/, '');
  return `${stamp}-${id}`;
}

/** The default place for backups: beside the target state dir, under a name no OpenClaw scan mistakes for a profile. */
export function defaultBackupRoot(stateDir: string): string {
  return path.join(path.dirname(stateDir), '.clawdesk-state-backups');
}

/**
 * Copies each path into `<partialDir>/<role>-<index>` and writes the manifest; the caller renames `partialDir` to its
 * final name (that rename is what makes the backup exist). Trust files (identity, tokens, pairings, approvals,
 * config, credentials) are always copied byte for byte; other files are hard-linked where the filesystem allows
 * (they are never rewritten in place by Clawdesk, and a link takes no space), else copied.
 */
export async function writeBackup(
  partialDir: string,
  sources: Array<{ role: BackupEntry['role']; path: string }>,
  meta: { id: string; reason: BackupManifest['reason']; createdAtMs: number },
  options: { ctx?: CopyContext } = {},
): Promise<BackupManifest> {
  await fs.mkdir(path.dirname(partialDir), { recursive: true, mode: 0o700 });
  await fs.mkdir(partialDir, { mode: 0o700 });
  const entries: BackupEntry[] = [];
  const skipped: string[] = [];
  const written: string[] = [];
  for (const [index, source] of sources.entries()) {
    const st = await fs.lstat(source.path).catch(() => undefined);
    if (!st) {
      entries.push({ role: source.role, path: source.path, state: 'missing' });
    } else if (st.isSymbolicLink()) {
      entries.push({ role: source.role, path: source.path, state: 'link', linkTarget: await fs.readlink(source.path) });
    } else if (st.isDirectory()) {
      const copy = `${source.role}-${index}`;
      const result = await copyTree(source.path, path.join(partialDir, copy), {
        link: true,
        copyIf: isSecretPath,
        ctx: options.ctx,
      });
      skipped.push(...result.skipped.map((rel) => `${source.path}/${rel}`));
      written.push(...result.written);
      entries.push({ role: source.role, path: source.path, state: 'dir', copy });
    } else {
      throw new BackupInvalidError(`${source.path} is not a directory`);
    }
  }
  const manifest: BackupManifest = { version: 1, kind: 'clawdesk-state-backup', ...meta, entries, skipped };
  await writeJsonAtomic(path.join(partialDir, BACKUP_MANIFEST), manifest);
  await fsyncFiles(written);
  await fsyncDirs(partialDir);
  return manifest;
}

export async function publishBackup(partialDir: string, finalDir: string): Promise<void> {
  await fs.rename(partialDir, finalDir);
  await fsyncPath(path.dirname(finalDir));
}

export async function readBackupManifest(backupDir: string): Promise<BackupManifest> {
  const file = path.join(backupDir, BACKUP_MANIFEST);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BackupInvalidError(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `${backupDir} is not a Clawdesk state backup (no ${BACKUP_MANIFEST})`
        : `cannot read ${file}: ${(error as Error).message}`,
    );
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(text) as BackupManifest;
  } catch (error) {
    throw new BackupInvalidError(
      `${file} is not valid JSON (${(error as Error).message}); the backup cannot be trusted`,
    );
  }
  if (manifest?.kind !== 'clawdesk-state-backup' || manifest.version !== 1 || !Array.isArray(manifest.entries)) {
    throw new BackupInvalidError(`${file} is not a Clawdesk state backup manifest`);
  }
  for (const entry of manifest.entries) {
    if (typeof entry.path !== 'string' || !path.isAbsolute(entry.path))
      throw new BackupInvalidError(`${file}: an entry has no absolute path`);
    if (
      entry.state === 'dir' &&
      (typeof entry.copy !== 'string' ||
        !/^[a-z]+-\d+$/.test(entry.copy) ||
        !(await lexists(path.join(backupDir, entry.copy))))
    ) {
      throw new BackupInvalidError(`${file}: the copy of ${entry.path} is missing from the backup`);
    }
    if (entry.movedTo !== undefined && !validMovedTo(entry.movedTo))
      throw new BackupInvalidError(`${file}: the moved directories of ${entry.path} are not listed as expected`);
  }
  return manifest;
}

/** `movedTo`: an absolute path and relative, normalised names inside it (never `..`, never absolute). */
function validMovedTo(value: unknown): boolean {
  const v = value as BackupEntry['movedTo'];
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.path === 'string' &&
    path.isAbsolute(v.path) &&
    Array.isArray(v.rels) &&
    v.rels.every(
      (rel) =>
        typeof rel === 'string' &&
        rel.length > 0 &&
        !rel.includes('\\') &&
        !rel.includes('\0') &&
        rel.split('/').every((part) => part !== '' && part !== '.' && part !== '..') &&
        !path.isAbsolute(rel),
    )
  );
}
