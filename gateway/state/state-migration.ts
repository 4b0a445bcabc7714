import { createHash } from 'node:crypto';
import { accessSync, constants as fsConstants, promises as fs, linkSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_MAX_JSON_BYTES, SymlinkRefusedError, ensureRealDirectory, writeFileAtomic } from '../fs/atomic-file';
import {
  BACKUP_MANIFEST,
  BackupEntry,
  BackupInvalidError,
  BackupManifest,
  backupName,
  defaultBackupRoot,
  publishBackup,
  readBackupManifest,
  writeBackup,
} from './state-backup';
import {
  DeviceAuthFile,
  ExecApprovalsFile,
  JsonObject,
  OpenClawIdentityFile,
  PairedDevice,
  PendingRequest,
  StateRead,
  parseDeviceAuth,
  parseExecApprovals,
  parseObject,
  parseOpenClawIdentity,
  parsePairedDevices,
  parsePairedNodes,
  parsePending,
  readStateJson,
} from './state-files';
import {
  MergeNote,
  checkExecApprovalsInvariants,
  checkPairedInvariants,
  mergeByNewestApproval,
  mergeConfig,
  mergeDeviceAuth,
  mergeExecApprovals,
  mergeKeepTarget,
  mergePairedDevices,
  mergePending,
  rewriteStatePaths,
} from './state-merge';
import {
  CONFIG_FILENAME,
  LEGACY_CONFIG_FILENAMES,
  STATE_DIRNAME,
  envValue,
  expandUserPath,
  isPathInside,
  samePath,
} from './state-paths';
import {
  CreateLink,
  RecoveryOutcome,
  StepHook,
  TransactionLinkError,
  TxJournal,
  TxOp,
  abortPreparing,
  beginTransaction,
  commitTransaction,
  moveSubtreesIntoStaging,
  findJournal,
  newTransactionId,
  recoverTransaction,
  sweepJournalTemps,
} from './state-transaction';
import { describeNameProblem, findNameProblems, nameRulesFor, sweepStaleCaseProbes } from './state-names';
import { SafetyProblem, checkDirAndAncestors, checkTreeEntries, isSecretPath, isTrustPath } from './state-safety';
import {
  CopyContext,
  SourceChangedError,
  copyFileData,
  copyOne,
  copyTree,
  lexists,
  linkOrCopyFile,
  sha256File,
  walkTree,
} from './state-tree';
import { MigrationCancelledError, MigrationProgress, MigrationStrategy, ProgressTracker } from './state-progress';

/**
 * `clawdesk state migrate --from <dir> --to <dir>`: merges one OpenClaw state dir into another, backs both up
 * first, swaps the result in crash-consistently (state-transaction.ts), and leaves a link at the old location.
 * A second run finds the old location already linked to the new one and changes nothing.
 */

export interface PlannedFile {
  rel: string;
  action: 'merge' | 'copy' | 'archive' | 'keep-target' | 'skip' | 'rewrite';
  detail: string;
}

export interface MigrationPlan {
  from: string;
  to: string;
  fromReal?: string;
  toReal?: string;
  targetExists: boolean;
  status: 'ready' | 'nothing-to-do' | 'blocked';
  blockers: string[];
  warnings: string[];
  steps: string[];
  files: PlannedFile[];
  notes: MergeNote[];
  backupDir?: string;
  link: 'symlink' | 'junction';
  /**
   * same-volume: source, target and backup share a filesystem, so nothing is copied but the trust files: files get
   * a second name by hard link, whole directories are renamed, the old trees become the backup by rename.
   * cross-volume: the source's files are streamed to the target's filesystem (cloned where it can, holes kept),
   * checked, and the source removed only after the result is verified.
   */
  strategy?: MigrationStrategy;
}

/** The link at the old location could not be created and the link was needed: everything was rolled back. */
export class MigrationLinkError extends Error {
  readonly code = 'MIGRATION_LINK_FAILED';
  constructor(
    readonly from: string,
    readonly to: string,
    readonly reason: string,
    link: 'symlink' | 'junction',
  ) {
    super(
      `cannot migrate ${from} to ${to}: the last step, replacing ${from} with a ${link} to ${to}, failed (${reason}); ` +
        `everything was rolled back, nothing was changed. A ${link} needs a file system that supports it (not FAT/exFAT ` +
        `or a network drive). Either make it possible there, or set OPENCLAW_STATE_DIR=${to} for OpenClaw and Clawdesk ` +
        `and run the migration again: with OPENCLAW_STATE_DIR pointing at the target the ${link} is not needed`,
    );
  }
}

/** Written into the target when a migration finished without the link at the old location (doctor reports it). */
export const LINK_SKIPPED_RECORD = '.clawdesk-migration-link-skipped.json';

export interface LinkSkippedRecord {
  version: 1;
  from: string;
  to: string;
  link: 'symlink' | 'junction';
  reason: string;
  atMs: number;
}

export async function readLinkSkippedRecord(stateDir: string): Promise<LinkSkippedRecord | undefined> {
  try {
    const record = JSON.parse(await fs.readFile(path.join(stateDir, LINK_SKIPPED_RECORD), 'utf8')) as LinkSkippedRecord;
    return record && typeof record.from === 'string' && typeof record.to === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}

export class MigrationBlockedError extends Error {
  readonly code = 'MIGRATION_BLOCKED';
  constructor(readonly plan: MigrationPlan) {
    super(`cannot migrate ${plan.from} to ${plan.to}: ${plan.blockers.join('; ')}`);
  }
}

export interface MigrateOptions {
  from: string;
  to: string;
  /** For `~` in config values (defaults to the OS home). */
  home?: string;
  /** Where timestamped backups go (default: `.clawdesk-state-backups` beside the target). */
  backupRoot?: string;
  dryRun?: boolean;
  platform?: NodeJS.Platform;
  now?: () => number;
  /** Test hook called at every step boundary. */
  step?: StepHook;
  /**
   * Largest source accepted, in bytes of apparent size (holes in sparse files count): every byte is read at least
   * three times (backup, staging, verification). Default DEFAULT_MAX_MIGRATION_BYTES.
   */
  maxBytes?: number;
  /** Free bytes available to this user on the filesystem holding `dir` (default: statfs). Tests inject it. */
  freeBytes?: (dir: string) => Promise<number>;
  /** Progress while files are placed, backed up and verified (throttled to about 10 a second per phase). */
  onProgress?: (progress: MigrationProgress) => void;
  /** Cancels the migration: honoured between any two files until the commit point, and everything is rolled back. */
  signal?: AbortSignal;
  /**
   * The environment OpenClaw will run with (default process.env): when its OPENCLAW_STATE_DIR already points at the
   * target, the link at the old location is a convenience, and a migration whose link fails finishes without it.
   */
  env?: Record<string, string | undefined>;
  /** Creates the link at the old location (default fs.symlink; a junction on Windows). Tests inject failures. */
  createLink?: CreateLink;
}

/** A refusal names this many offending paths at most (the rest: scan and doctor). */
const MAX_NAME_PROBLEMS_LISTED = 20;
/** Windows' classic MAX_PATH: 260 characters including the terminating NUL. */
const WINDOWS_MAX_PATH = 260;

/** 16 GiB: far above any OpenClaw state dir, far below what a hostile sparse file could claim. */
export const DEFAULT_MAX_MIGRATION_BYTES = 16 * 1024 ** 3;

function canRead(file: string): boolean {
  try {
    accessSync(file, fsConstants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** PATH_MAX of Linux (macOS: 1024), counting the terminating NUL. */
const POSIX_PATH_MAX = process.platform === 'darwin' ? 1024 : 4096;
/** As long as the transaction ids the migration will use (newTransactionId), for measuring paths before it has one. */
const PLACEHOLDER_ID = `${Date.now().toString(36)}-00000000`;

/** The first source entry whose path below one of `roots` reaches PATH_MAX (in bytes, as the kernel counts). */
function pathsTooLong(
  entries: ReadonlyArray<{ rel: string }>,
  roots: readonly string[],
): { rel: string; bytes: number; under: string } | undefined {
  const longest = entries.reduce<{ rel: string; bytes: number } | undefined>((a, e) => {
    const bytes = Buffer.byteLength(e.rel);
    return !a || bytes > a.bytes ? { rel: e.rel, bytes } : a;
  }, undefined);
  if (!longest) return undefined;
  for (const root of roots) {
    const bytes = Buffer.byteLength(root) + 1 + longest.bytes;
    if (bytes >= POSIX_PATH_MAX) return { rel: longest.rel, bytes, under: root };
  }
  return undefined;
}
/** Room left free after a migration, beyond what its copies take. */
const FREE_SPACE_MARGIN = 64 * 1024 * 1024;

export interface MigrationResult {
  plan: MigrationPlan;
  outcome: 'migrated' | 'nothing-to-do' | 'dry-run';
  backupDir?: string;
  recovered: Array<{ journal: string; outcome: RecoveryOutcome }>;
  /** Set when the migration finished without the link at the old location (OPENCLAW_STATE_DIR points at the target). */
  linkSkipped?: { path: string; reason: string };
}

interface Recipe {
  /** Regular files of the source that have an identical copy in the target (not carried over). */
  identical: string[];
  /** Regular files the staging places (target's and carried source files), for progress. */
  totals: { files: number; bytes: number };
  devices: { source: number; target: number; backup: number };
  /** The source dir's real path, and its mtime when planned (names added or removed at its top level move it). */
  fromReal: string;
  rootMtimeMs?: number;
  sourceEntries: Array<{ rel: string; stat: import('node:fs').Stats }>;
  mkdirs: string[];
  /** `secret`: trust state, written fresh (new inode, 0600) instead of copied with its mode. */
  /** `plain`: a file only the source has, carried over as it is to the same relative path. */
  copies: Array<{ from: string; rel: string; secret?: boolean; plain?: boolean; skip?: (childRel: string) => boolean }>;
  /**
   * Same filesystem: directories only the source has, holding nothing but files carried over as they are, that
   * move whole by one rename (docs/state-and-secrets.md § How the files travel). `ino` as planned.
   */
  subtrees: Array<{ rel: string; ino: number; files: number; bytes: number }>;
  /** The subtrees that did move (the rest were placed file by file): not in the source any more. */
  moved: Set<string>;
  writes: Array<{ rel: string; content: string }>;
  /** Parsed inputs and outputs for the staging check. */
  checks: {
    paired?: { inputs: Array<Record<string, PairedDevice>>; rel: string };
    exec?: { inputs: ExecApprovalsFile[]; rel: string };
    /** Relative paths that must exist in the staged result (everything copied or archived from the source). */
    accounted: string[];
  };
}

const SPECIAL = new Set([
  CONFIG_FILENAME,
  ...LEGACY_CONFIG_FILENAMES,
  'identity/device.json',
  'identity/device-auth.json',
  'devices/paired.json',
  'devices/pending.json',
  'devices/bootstrap.json',
  'nodes/paired.json',
  'nodes/pending.json',
  'node.json',
  'exec-approvals.json',
]);

/** Leftovers of interrupted atomic writes and live sockets are not state. */
function isTransient(rel: string): boolean {
  const name = rel.split('/').pop()!;
  return /^\..+\.tmp$/.test(name) || /\.\d+\.[0-9a-f]+\.new$/.test(name) || name === 'exec-approvals.sock';
}

export async function planMigration(options: MigrateOptions): Promise<MigrationPlan> {
  return (await buildPlan(options)).plan;
}

async function buildPlan(options: MigrateOptions): Promise<{ plan: MigrationPlan; recipe: Recipe }> {
  const platform = options.platform ?? process.platform;
  const from = path.resolve(options.from);
  const to = path.resolve(options.to);
  const link = platform === 'win32' ? 'junction' : 'symlink';
  const plan: MigrationPlan = {
    from,
    to,
    targetExists: false,
    status: 'ready',
    blockers: [],
    warnings: [],
    steps: [],
    files: [],
    notes: [],
    link,
  };
  const recipe: Recipe = {
    identical: [],
    totals: { files: 0, bytes: 0 },
    devices: { source: -1, target: -2, backup: -3 },
    fromReal: '',
    sourceEntries: [],
    mkdirs: [],
    copies: [],
    subtrees: [],
    moved: new Set(),
    writes: [],
    checks: { accounted: [] },
  };
  const blockAll = (problems: SafetyProblem[], whose: string) => {
    for (const problem of problems) plan.blockers.push(`${whose}: ${problem.message}`);
    plan.status = 'blocked';
    return { plan, recipe };
  };
  const blocked = () => plan.blockers.length > 0;
  const block = (message: string) => {
    plan.blockers.push(message);
    plan.status = 'blocked';
    return { plan, recipe };
  };

  // --- the source
  const fromLstat = await fs.lstat(from).catch((error: NodeJS.ErrnoException) => error);
  if (fromLstat instanceof Error) {
    return block(
      fromLstat.code === 'ENOENT'
        ? `the source ${from} does not exist`
        : `cannot read the source ${from}: ${fromLstat.message}`,
    );
  }
  let fromReal: string;
  try {
    fromReal = await fs.realpath(from);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return block(
      code === 'ELOOP'
        ? `the source ${from} is a circular chain of symbolic links`
        : `the source ${from} is a dangling link (${(error as Error).message})`,
    );
  }
  plan.fromReal = fromReal;
  const fromStat = await fs.stat(fromReal);
  recipe.fromReal = fromReal;
  recipe.rootMtimeMs = fromStat.mtimeMs;
  if (!fromStat.isDirectory()) return block(`the source ${from} is a file, not a state directory`);
  // Trust is taken from the source: another user must not be able to change it, now or while it is copied.
  const unsafe = (await checkDirAndAncestors(from, { platform })).filter((p) => p.blocking);
  if (unsafe.length > 0) return blockAll(unsafe, `refusing the source ${from}`);
  try {
    await fs.readdir(fromReal);
  } catch (error) {
    return block(`cannot read the source ${from}: ${(error as Error).message}`);
  }

  // --- the target
  const toLstat = await fs.lstat(to).catch(() => undefined);
  let toReal: string;
  if (toLstat) {
    try {
      toReal = await fs.realpath(to);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return block(
        code === 'ELOOP'
          ? `the target ${to} is a circular chain of symbolic links`
          : `the target ${to} is a dangling link`,
      );
    }
    const toStat = await fs.stat(toReal);
    if (!toStat.isDirectory()) return block(`the target ${to} is a file, not a directory`);
    plan.targetExists = true;
  } else {
    toReal = path.join(await realAncestor(path.dirname(to)), path.basename(to));
  }
  plan.toReal = toReal;

  if (fromReal === toReal) {
    plan.status = 'nothing-to-do';
    plan.steps.push(
      from === fromReal ? `${from} is already the target` : `${from} already links to ${toReal}: nothing to migrate`,
    );
    return { plan, recipe };
  }
  if (isPathInside(platform, fromReal, toReal))
    return block(`the target ${to} is inside the source ${from}; choose a target outside it`);
  if (isPathInside(platform, toReal, fromReal))
    return block(`the source ${from} is inside the target ${to}; choose a source outside it`);

  // --- read both trees
  let sourceEntries;
  const unopenable: string[] = [];
  try {
    sourceEntries = await walkTree(fromReal, { unopenable });
  } catch (error) {
    return block(`cannot read everything in ${from}: ${(error as Error).message}`);
  }
  const treeProblems = await checkTreeEntries(fromReal, sourceEntries, { platform });
  const treeBlockers = treeProblems.filter((p) => p.blocking);
  if (treeBlockers.length > 0) return blockAll(treeBlockers.slice(0, 20), `refusing the source ${from}`);
  // Links leading out of the source are neutralised: not installed in the result, listed in the archive.
  const escaping = new Map<string, string>();
  for (const problem of treeProblems) {
    if (problem.kind !== 'link-leaves-tree') continue;
    const rel = path.relative(fromReal, problem.path).split(path.sep).join('/');
    escaping.set(rel, await fs.readlink(problem.path).catch(() => '?'));
  }
  if (plan.targetExists) {
    for (const rel of [
      'identity',
      'devices',
      'nodes',
      'credentials',
      'identity/device.json',
      'identity/device-auth.json',
      'devices/paired.json',
      'devices/pending.json',
      'devices/bootstrap.json',
      'nodes/paired.json',
      'nodes/pending.json',
      'node.json',
      'exec-approvals.json',
      CONFIG_FILENAME,
      ...LEGACY_CONFIG_FILENAMES,
    ]) {
      const st = await fs.lstat(path.join(toReal, rel)).catch(() => undefined);
      if (st?.isSymbolicLink() && isTrustPath(rel)) {
        block(
          `the target's ${rel} (${path.join(toReal, rel)}) is a symbolic link to ${await fs.readlink(path.join(toReal, rel)).catch(() => '?')}: trust state must be a real file or directory, never written through a link; replace the link with what it points to, then migrate`,
        );
      }
    }
    if (blocked()) return { plan, recipe };
  }

  // --- size: a limit on what is read, and room for the backup and the staged copy
  const sizeOf = (entries: Array<{ stat: import('node:fs').Stats }>) =>
    entries.reduce(
      (acc, { stat }) =>
        stat.isFile() ? { apparent: acc.apparent + stat.size, allocated: acc.allocated + allocatedBytes(stat) } : acc,
      { apparent: 0, allocated: 0 },
    );
  const sourceSize = sizeOf(sourceEntries);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MIGRATION_BYTES;
  if (sourceSize.apparent > maxBytes) {
    const largest = sourceEntries
      .filter((e) => e.stat.isFile())
      .sort((a, b) => b.stat.size - a.stat.size)
      .slice(0, 3);
    return block(
      `the source ${from} holds ${formatBytes(sourceSize.apparent)} (apparent size, holes in sparse files included), over the ${formatBytes(maxBytes)} limit (largest: ${largest.map((e) => `${e.rel} ${formatBytes(e.stat.size)}`).join(', ')}); remove what is not state, or raise the limit with --max-size`,
    );
  }
  let targetSize = { apparent: 0, allocated: 0 };
  const targetMap = new Map<string, import('node:fs').Stats>();
  let targetFiles = { files: 0, bytes: 0 };
  if (plan.targetExists) {
    try {
      const targetEntries = await walkTree(toReal);
      for (const e of targetEntries) targetMap.set(e.rel, e.stat);
      targetSize = sizeOf(targetEntries);
      targetFiles = { files: targetEntries.filter((e) => e.stat.isFile()).length, bytes: targetSize.apparent };
    } catch (error) {
      return block(`cannot read everything in the target ${to}: ${(error as Error).message}`);
    }
  }
  recipe.sourceEntries = sourceEntries;

  // --- names the target cannot hold (Windows, FAT/exFAT/NTFS/SMB, a volume that ignores case): refused up front,
  // every one named, rather than failing half-way or letting two names become one file.
  const rules = await nameRulesFor(toReal, { platform });
  const nameProblems = findNameProblems(
    fromReal,
    sourceEntries.map((e) => e.rel),
    rules,
    { targetRels: targetMap.keys(), unopenable, limit: MAX_NAME_PROBLEMS_LISTED + 1 },
  );
  if (nameProblems.length > 0) {
    for (const problem of nameProblems.slice(0, MAX_NAME_PROBLEMS_LISTED))
      plan.blockers.push(`the target cannot hold ${describeNameProblem(problem, rules)}`);
    if (nameProblems.length > MAX_NAME_PROBLEMS_LISTED)
      plan.blockers.push(
        `and more names like these (\`clawdesk state scan\` and \`clawdesk doctor\` list them); nothing was changed`,
      );
    plan.status = 'blocked';
    return { plan, recipe };
  }
  if (rules.windows) {
    const longest = sourceEntries.reduce((a, e) => (e.rel.length > a.length ? e.rel : a), '');
    const longestAtTarget = path.join(toReal, ...longest.split('/'));
    if (longestAtTarget.length >= WINDOWS_MAX_PATH)
      plan.warnings.push(
        `some paths will be longer than ${WINDOWS_MAX_PATH - 1} characters at the target (the longest: ${longestAtTarget.length}, ${longestAtTarget}): Node, OpenClaw and Clawdesk reach them, but Explorer and tools without long-path support may not; a shorter target path avoids it`,
      );
  }
  const backupRootForSpace = options.backupRoot ?? defaultBackupRoot(toReal);
  const freeBytes = options.freeBytes ?? freeBytesAt;
  const stagingFs = await existingAncestor(path.dirname(toReal));
  const backupFs = await existingAncestor(backupRootForSpace);
  const devOf = (p: string, fallback: number) =>
    fs.stat(p).then(
      (st) => st.dev,
      () => fallback,
    );
  recipe.devices = { source: fromStat.dev, target: await devOf(stagingFs, -2), backup: await devOf(backupFs, -3) };
  const { devices } = recipe;
  plan.strategy = devices.source === devices.target ? 'same-volume' : 'cross-volume';
  // Files that will be read (all of them across filesystems; trust files, rewritten, always): one that cannot be
  // would stop the migration half-way, so it is named now, before anything is written.
  const unreadable = sourceEntries.filter(
    (e) =>
      e.stat.isFile() &&
      (plan.strategy === 'cross-volume' || isSecretPath(e.rel)) &&
      !canRead(path.join(fromReal, ...e.rel.split('/'))),
  );
  if (unreadable.length > 0)
    return block(
      `${unreadable.length} file(s) in ${from} cannot be read (${unreadable
        .slice(0, 5)
        .map((e) => e.rel)
        .join(
          ', ',
        )}${unreadable.length > 5 ? ', …' : ''}); nothing was changed: make them readable by you (or remove them), then migrate`,
    );
  // What each filesystem must hold. Directories and trust files are always new (a few KiB each); data is new only
  // where it crosses filesystems: the source's files on the target's; a backup on a third filesystem is a copy.
  const secretBytes = (entries: Array<{ rel: string; stat: import('node:fs').Stats }>) =>
    entries.reduce(
      (n, e) => n + (e.stat.isFile() && isSecretPath(e.rel) ? allocatedBytes(e.stat) : e.stat.isDirectory() ? 4096 : 0),
      0,
    );
  const metadata = secretBytes(sourceEntries) + secretBytes([...targetMap].map(([rel, stat]) => ({ rel, stat })));
  const onTarget = metadata + (devices.source === devices.target ? 0 : sourceSize.allocated);
  let onBackup = metadata;
  if (devices.backup !== devices.target) onBackup += targetSize.allocated;
  if (devices.backup !== devices.source && devices.backup !== devices.target) onBackup += sourceSize.allocated;
  const needs =
    devices.target === devices.backup
      ? [{ dir: stagingFs, bytes: onTarget + onBackup, what: 'the backup and the staged copy' }]
      : [
          { dir: stagingFs, bytes: onTarget, what: 'the staged copy' },
          { dir: backupFs, bytes: onBackup, what: 'the backup' },
        ];
  for (const need of needs) {
    const free = await freeBytes(need.dir).catch(() => undefined);
    if (free === undefined) return block(`cannot tell how much space is free at ${need.dir}; nothing was changed`);
    if (free < need.bytes + FREE_SPACE_MARGIN) {
      return block(
        `not enough free space at ${need.dir}: ${need.what} need about ${formatBytes(need.bytes + FREE_SPACE_MARGIN)}, ${formatBytes(free)} is free`,
      );
    }
  }
  const targetHas = async (rel: string) => (plan.targetExists ? targetMap.get(rel) : undefined);
  recipe.totals = { ...targetFiles };

  const read = async <T>(
    root: string,
    rel: string,
    parse: (v: unknown) => T,
    json5 = false,
  ): Promise<StateRead<T> | undefined> => {
    if (root === toReal && !plan.targetExists) return { kind: 'missing' };
    const result = await readStateJson(path.join(root, rel), { parse, json5 });
    if (result.kind === 'corrupt' || result.kind === 'unreadable') {
      block(`${result.error}. Nothing was changed: repair it, or run \`clawdesk doctor --fix\` to move it aside`);
      return undefined;
    }
    return result;
  };
  const ok = <T>(r: StateRead<T> | undefined): T | undefined => (r && r.kind === 'ok' ? r.value : undefined);
  const label = path.basename(from).replace(/^\./, '') || 'source';
  let archiveRoot = `migrated-from-${label}`;
  for (let n = 2; await targetHas(archiveRoot); n++) archiveRoot = `migrated-from-${label}-${n}`;
  const skipEscapingBelow = (rel: string) => (childRel: string) => escaping.has(`${rel}/${childRel}`);
  const archive = (rel: string, why: string) => {
    recipe.copies.push({
      from: path.join(fromReal, rel),
      rel: `${archiveRoot}/${rel}`,
      secret: isSecretPath(rel),
      skip: skipEscapingBelow(rel),
    });
    plan.files.push({ rel, action: 'archive', detail: `${why}; the source's copy is kept at ${archiveRoot}/${rel}` });
    recipe.checks.accounted.push(`${archiveRoot}/${rel}`);
  };
  const write = (rel: string, value: unknown, detail: string, action: PlannedFile['action'] = 'merge') => {
    recipe.writes.push({ rel, content: `${JSON.stringify(value, null, 2)}\n` });
    plan.files.push({ rel, action, detail });
  };
  const copy = (rel: string, detail: string, destRel = rel) => {
    recipe.copies.push({
      from: path.join(fromReal, rel),
      rel: destRel,
      secret: isSecretPath(rel) || isSecretPath(destRel),
    });
    plan.files.push({ rel, action: 'copy', detail });
    recipe.checks.accounted.push(destRel);
  };
  const home = options.home ?? os.homedir();
  const fromDirs = [...new Set([from, fromReal])];

  // --- config: key by key, conflicts reported, paths into the old dir rewritten
  const srcCfgRel = [CONFIG_FILENAME, ...LEGACY_CONFIG_FILENAMES].find((rel) =>
    sourceEntries.some((e) => e.rel === rel),
  );
  let tgtCfgRel: string | undefined;
  for (const rel of [CONFIG_FILENAME, ...LEGACY_CONFIG_FILENAMES])
    if (!tgtCfgRel && (await targetHas(rel))) tgtCfgRel = rel;
  const srcCfgRead = srcCfgRel ? await read(fromReal, srcCfgRel, parseObject, true) : undefined;
  const tgtCfgRead = tgtCfgRel ? await read(toReal, tgtCfgRel, parseObject, true) : undefined;
  if (blocked()) return { plan, recipe };
  const srcCfg = ok(srcCfgRead);
  const tgtCfg = ok(tgtCfgRead);
  if (srcCfg || tgtCfg) {
    const destRel = tgtCfgRel ?? CONFIG_FILENAME;
    const notes: MergeNote[] = [];
    // Rewrite paths into the old dir first, so `<old>/workspace` and `<new>/workspace` are not reported as a conflict.
    const src = srcCfg ? rewriteStatePaths(srcCfg, fromDirs, to, platform, home) : undefined;
    const tgt = tgtCfg ? rewriteStatePaths(tgtCfg, fromDirs, to, platform, home) : undefined;
    const merged = src && tgt ? mergeConfig(tgt.value, src.value, notes, destRel) : (tgt ?? src)!.value;
    const rewritten = [...new Set([...(src?.rewritten ?? []), ...(tgt?.rewritten ?? [])])];
    const value = merged;
    plan.notes.push(...notes);
    const changedTarget = tgtCfg ? !isDeepStrictEqual(value, tgtCfg) : true;
    if (!changedTarget) {
      plan.files.push({ rel: destRel, action: 'keep-target', detail: 'the target config already holds everything' });
    } else if (!tgtCfg && rewritten.length === 0 && srcCfgRel) {
      copy(srcCfgRel, srcCfgRel === destRel ? 'config copied as is' : `config copied as ${destRel}`, destRel);
    } else {
      const parts = [srcCfg && tgtCfg ? 'configs merged key by key' : 'config'];
      if (rewritten.length > 0) parts.push(`paths into ${from} rewritten at ${rewritten.join(', ')}`);
      parts.push('written as plain JSON (comments are not kept; the original is in the backup)');
      write(destRel, value, parts.join('; '), srcCfg && tgtCfg ? 'merge' : 'rewrite');
    }
  }

  // --- identity: the target's is kept; the source's is archived
  const srcId = ok(await read(fromReal, 'identity/device.json', parseOpenClawIdentity));
  const tgtId = ok(await read(toReal, 'identity/device.json', parseOpenClawIdentity));
  const srcAuthRead = await read<DeviceAuthFile>(fromReal, 'identity/device-auth.json', parseDeviceAuth);
  const tgtAuthRead = await read<DeviceAuthFile>(toReal, 'identity/device-auth.json', parseDeviceAuth);
  if (blocked()) return { plan, recipe };
  const idOf = (f?: OpenClawIdentityFile) => f?.derivedDeviceId ?? f?.deviceId;
  const keptId = idOf(tgtId) ?? idOf(srcId);
  if (srcId && tgtId) {
    if (idOf(srcId) !== idOf(tgtId)) {
      archive(
        'identity/device.json',
        `two identities: the target's ${short(idOf(tgtId))} is kept, the source's ${short(idOf(srcId))} archived`,
      );
      plan.warnings.push(
        `the source's device identity ${short(idOf(srcId))} is archived, not used: gateways that paired it will ask to pair ${short(idOf(tgtId))}`,
      );
    } else {
      plan.files.push({ rel: 'identity/device.json', action: 'keep-target', detail: 'the same identity is in both' });
    }
  } else if (srcId) {
    copy('identity/device.json', `identity ${short(idOf(srcId))} moved in`);
  }
  const srcAuth = ok(srcAuthRead) as (DeviceAuthFile & JsonObject) | undefined;
  const tgtAuth = ok(tgtAuthRead) as (DeviceAuthFile & JsonObject) | undefined;
  if (srcAuth) {
    if (keptId && srcAuth.deviceId !== keptId) {
      archive('identity/device-auth.json', `its tokens belong to ${short(srcAuth.deviceId)}, not the kept identity`);
    } else if (tgtAuth && tgtAuth.deviceId === srcAuth.deviceId) {
      const merged = mergeDeviceAuth(tgtAuth, srcAuth);
      if (isDeepStrictEqual(merged, tgtAuth))
        plan.files.push({
          rel: 'identity/device-auth.json',
          action: 'keep-target',
          detail: 'no newer tokens in the source',
        });
      else write('identity/device-auth.json', merged, 'device tokens merged per role (newest wins)');
    } else if (tgtAuth) {
      archive('identity/device-auth.json', `the target's tokens (for ${short(tgtAuth.deviceId)}) are kept`);
    } else {
      copy('identity/device-auth.json', 'device tokens moved in');
    }
  }

  // --- pairing, nodes, exec approvals
  const mergeFile = async <T extends object>(
    rel: string,
    parse: (v: unknown) => T,
    merge: (t: T, s: T, notes: MergeNote[]) => T,
    describe: string,
  ) => {
    const s = await read(fromReal, rel, parse);
    const t = await read(toReal, rel, parse);
    if (blocked() || !s || s.kind !== 'ok') return;
    if (!t || t.kind !== 'ok') {
      const normalized = merge({} as T, s.value, []);
      if (isDeepStrictEqual(normalized, JSON.parse(s.raw))) copy(rel, 'moved in');
      else write(rel, normalized, `moved in, normalized (${describe})`);
      return;
    }
    const notes: MergeNote[] = [];
    const merged = merge(t.value, s.value, notes);
    plan.notes.push(...notes);
    if (isDeepStrictEqual(merged, JSON.parse(t.raw)))
      plan.files.push({ rel, action: 'keep-target', detail: 'the target already holds everything' });
    else write(rel, merged, describe);
  };
  const pairedSrc = ok(await read(fromReal, 'devices/paired.json', parsePairedDevices));
  const pairedTgt = ok(await read(toReal, 'devices/paired.json', parsePairedDevices));
  if (blocked()) return { plan, recipe };
  if (pairedSrc)
    recipe.checks.paired = { inputs: [pairedSrc, ...(pairedTgt ? [pairedTgt] : [])], rel: 'devices/paired.json' };
  await mergeFile(
    'devices/paired.json',
    parsePairedDevices,
    (t, s, n) => mergePairedDevices(t, s, n),
    'devices united by deviceId; newest approval wins; revoked tokens stay revoked',
  );
  await mergeFile<Record<string, PendingRequest>>(
    'devices/pending.json',
    parsePending,
    (t, s, n) => mergePending(t, s, n, 'devices/pending.json'),
    'pending requests united',
  );
  await mergeFile<Record<string, unknown>>(
    'devices/bootstrap.json',
    parseObject,
    (t, s, n) => mergeKeepTarget(t, s, n, 'devices/bootstrap.json'),
    'bootstrap tokens united',
  );
  await mergeFile<Record<string, JsonObject>>(
    'nodes/paired.json',
    parsePairedNodes,
    (t, s, n) => mergeByNewestApproval(t, s, n, 'nodes/paired.json'),
    'nodes united by nodeId; newest approval wins',
  );
  await mergeFile<Record<string, PendingRequest>>(
    'nodes/pending.json',
    parsePending,
    (t, s, n) => mergePending(t, s, n, 'nodes/pending.json'),
    'pending node requests united',
  );
  const execSrc = ok(await read(fromReal, 'exec-approvals.json', parseExecApprovals));
  const execTgt = ok(await read(toReal, 'exec-approvals.json', parseExecApprovals));
  if (blocked()) return { plan, recipe };
  if (execSrc) {
    recipe.checks.exec = { inputs: [execSrc, ...(execTgt ? [execTgt] : [])], rel: 'exec-approvals.json' };
    const notes: MergeNote[] = [];
    const merged = execTgt ? mergeExecApprovals(execTgt, execSrc, notes) : execSrc;
    const { value } = rewriteStatePaths(merged.socket ? { socket: merged.socket } : {}, fromDirs, to, platform, home);
    const result = merged.socket
      ? { ...merged, socket: (value as { socket: ExecApprovalsFile['socket'] }).socket }
      : merged;
    plan.notes.push(...notes);
    if (execTgt && isDeepStrictEqual(result, execTgt))
      plan.files.push({ rel: 'exec-approvals.json', action: 'keep-target', detail: 'nothing new' });
    else if (!execTgt && isDeepStrictEqual(result, execSrc)) copy('exec-approvals.json', 'moved in');
    else
      write(
        'exec-approvals.json',
        result,
        execTgt
          ? 'allowlists united; defaults and agent policies: the stricter wins'
          : 'moved in; socket path rewritten',
      );
  }
  const nodeSrc = sourceEntries.some((e) => e.rel === 'node.json');
  if (nodeSrc) {
    const tgtNode = await targetHas('node.json');
    if (!tgtNode) copy('node.json', 'node host config moved in');
    else if (!(await sameFile(path.join(fromReal, 'node.json'), path.join(toReal, 'node.json'))))
      archive('node.json', "the target's node identity is kept");
  }

  // --- everything else: copied when new, skipped when identical, archived when different
  const archivedDirs: string[] = [];
  for (const { rel, stat } of sourceEntries) {
    if (SPECIAL.has(rel) || rel === srcCfgRel) continue;
    if (archivedDirs.some((d) => rel.startsWith(`${d}/`))) continue;
    if (isTransient(rel)) {
      plan.files.push({ rel, action: 'skip', detail: 'temporary file or socket, recreated by its owner' });
      continue;
    }
    if (escaping.has(rel)) {
      plan.files.push({
        rel,
        action: 'skip',
        detail: `a symbolic link leading out of the state dir (to ${escaping.get(rel)}): not installed; listed in ${archiveRoot}/${LINKS_RECORD}`,
      });
      continue;
    }
    const existing = await targetHas(rel);
    if (stat.isDirectory()) {
      if (!existing) recipe.mkdirs.push(rel);
      else if (!existing.isDirectory()) {
        archivedDirs.push(rel);
        recipe.copies.push({
          from: path.join(fromReal, rel),
          rel: `${archiveRoot}/${rel}`,
          skip: skipEscapingBelow(rel),
        });
        plan.files.push({
          rel,
          action: 'archive',
          detail: `a directory in the source but not in the target; kept at ${archiveRoot}/${rel}`,
        });
      }
      continue;
    }
    if (!stat.isFile() && !stat.isSymbolicLink()) {
      plan.files.push({ rel, action: 'skip', detail: 'not a regular file (socket, pipe or device)' });
      continue;
    }
    if (!existing) {
      const secret = isSecretPath(rel);
      recipe.copies.push({ from: path.join(fromReal, rel), rel, secret, plain: !secret && stat.isFile() });
      recipe.checks.accounted.push(rel);
      continue;
    }
    if (await sameEntry(path.join(fromReal, rel), path.join(toReal, rel))) {
      if (stat.isFile()) recipe.identical.push(rel);
      continue;
    }
    archive(rel, "differs from the target's file, which is kept");
  }
  const copiedCount = recipe.copies.filter((c) => !c.rel.startsWith(archiveRoot) && !SPECIAL.has(c.rel)).length;
  if (copiedCount > 0)
    plan.files.push({
      rel: '(other files)',
      action: 'copy',
      detail: `${copiedCount} file(s) only in the source copied over`,
    });
  if (escaping.size > 0) {
    const links = [...escaping].map(([rel, target]) => ({ path: rel, target }));
    recipe.writes.push({
      rel: `${archiveRoot}/${LINKS_RECORD}`,
      content: `${JSON.stringify({ version: 1, from: fromReal, note: 'symbolic links that led out of the migrated state dir; not installed', links }, null, 2)}\n`,
    });
    recipe.checks.accounted.push(`${archiveRoot}/${LINKS_RECORD}`);
    plan.warnings.push(
      `${escaping.size} symbolic link(s) in ${from} lead out of it and are not migrated (${[...escaping.keys()].slice(0, 5).join(', ')}${escaping.size > 5 ? ', …' : ''}); they are listed in ${archiveRoot}/${LINKS_RECORD} and kept in the backup`,
    );
  }

  // --- what staging places, for progress: the target's files and every source file carried over
  const sourceByRel = new Map(sourceEntries.map((e) => [e.rel, e.stat]));
  for (const c of recipe.copies) {
    const rel = c.from
      .slice(fromReal.length + 1)
      .split(path.sep)
      .join('/');
    const st = sourceByRel.get(rel);
    if (st?.isFile()) {
      recipe.totals.files++;
      recipe.totals.bytes += st.size;
    } else if (st?.isDirectory()) {
      for (const e of sourceEntries) {
        if (!e.stat.isFile() || !e.rel.startsWith(`${rel}/`) || c.skip?.(e.rel.slice(rel.length + 1))) continue;
        recipe.totals.files++;
        recipe.totals.bytes += e.stat.size;
      }
    }
  }

  if (plan.strategy === 'same-volume') collapseIntoSubtrees(recipe);
  if (!rules.windows) {
    // A path the kernel refuses (ENAMETOOLONG) would stop the migration half-way: refused before anything is written.
    // What moves whole is only ever reached at the target; everything else also passes the staging and the backup.
    const moving = new Set(recipe.subtrees.map((t) => t.rel));
    const backupRoot = options.backupRoot ?? defaultBackupRoot(toReal);
    const tooLong =
      pathsTooLong(sourceEntries, [toReal]) ??
      pathsTooLong(
        sourceEntries.filter((e) => !isUnder(e.rel, moving)),
        [
          path.join(path.dirname(toReal), `.${path.basename(toReal)}.staging-${PLACEHOLDER_ID}`),
          path.join(backupRoot, `.partial-${PLACEHOLDER_ID}`, 'from-1'),
          path.join(backupRoot, backupName(Date.now(), PLACEHOLDER_ID), 'from-1'),
        ],
      );
    if (tooLong) {
      return block(
        `${tooLong.rel} in ${from} would be a path of ${tooLong.bytes} bytes at ${tooLong.under}, over the ${POSIX_PATH_MAX - 1}-byte limit of this system; nothing was changed: shorten that name (or its directories) in the source, or choose a shorter target or --backup-dir`,
      );
    }
  }
  const movedFiles = recipe.subtrees.reduce((n, t) => n + t.files, 0);

  // --- the plan, in words
  const backupRoot = options.backupRoot ?? defaultBackupRoot(toReal);
  plan.backupDir = path.join(backupRoot, '<timestamp>');
  plan.steps.push(`back up ${from}${plan.targetExists ? ` and ${to}` : ''} under ${backupRoot}`);
  plan.steps.push(
    `build the merged state beside ${to} and check it (${
      plan.strategy === 'same-volume'
        ? `same file system: no data is copied but the rewritten trust files${
            recipe.subtrees.length > 0
              ? `; ${recipe.subtrees.length} director${recipe.subtrees.length === 1 ? 'y' : 'ies'} only ${from} has (${movedFiles} file(s)) move in by rename (${recipe.subtrees
                  .slice(0, 3)
                  .map((t) => `${t.rel}/`)
                  .join(', ')}${recipe.subtrees.length > 3 ? ', …' : ''})`
              : ''
          }; other files get a second name by hard link`
        : `across file systems: ${formatBytes(sourceSize.apparent)} streamed, cloned where the file system can, sparse files kept sparse`
    })`,
  );
  plan.steps.push(plan.targetExists ? `swap it in at ${to}` : `move it into place at ${to}`);
  plan.steps.push(`replace ${from} with a ${link} to ${to}`);
  plan.steps.push('verify the result; on any difference, roll everything back');
  if (path.basename(fromReal) === STATE_DIRNAME) {
    plan.warnings.push(
      `${from} will be a ${link}: OpenClaw releases before PR #92056 refuse to write exec-approvals.json through a linked ~/.openclaw; set OPENCLAW_STATE_DIR=${to} for them`,
    );
  }
  if (await gatewayLockPresent())
    plan.warnings.push(
      'an OpenClaw gateway lock exists: stop the gateway (and Clawdesk) first, or its next write may go to the old location',
    );
  return { plan, recipe };
}

/**
 * Same filesystem: a directory the target lacks, all of whose contents are plain files and directories carried over
 * unchanged (no trust file, link, socket, temporary file or archived entry anywhere below it), moves whole by one
 * rename instead of a hard link per file; only the outermost such directories are listed. Their files and
 * directories leave the per-file recipe; the progress totals (computed before) still count them.
 */
function collapseIntoSubtrees(recipe: Recipe): void {
  const newDirs = new Set(recipe.mkdirs);
  const plainFiles = new Set(recipe.copies.filter((c) => c.plain).map((c) => c.rel));
  const blocked = new Set<string>();
  for (const { rel, stat } of recipe.sourceEntries) {
    const plain = stat.isDirectory() ? newDirs.has(rel) : stat.isFile() && plainFiles.has(rel);
    if (plain) continue;
    for (let at = stat.isDirectory() ? rel : path.posix.dirname(rel); at !== '.' && !blocked.has(at);) {
      blocked.add(at);
      at = path.posix.dirname(at);
    }
  }
  const movable = (rel: string) => newDirs.has(rel) && !blocked.has(rel);
  const byRel = new Map(recipe.sourceEntries.map((e) => [e.rel, e.stat]));
  for (const rel of recipe.mkdirs) {
    const parent = path.posix.dirname(rel);
    if (!movable(rel) || (parent !== '.' && movable(parent))) continue;
    recipe.subtrees.push({ rel, ino: byRel.get(rel)!.ino, files: 0, bytes: 0 });
  }
  if (recipe.subtrees.length === 0) return;
  const trees = new Map(recipe.subtrees.map((t) => [t.rel, t]));
  const under = (rel: string) => {
    for (let at = rel; at !== '.'; at = path.posix.dirname(at)) {
      const tree = trees.get(at);
      if (tree) return tree;
    }
    return undefined;
  };
  for (const { rel, stat } of recipe.sourceEntries) {
    const tree = stat.isFile() ? under(rel) : undefined;
    if (!tree) continue;
    tree.files++;
    tree.bytes += stat.size;
  }
  recipe.mkdirs = recipe.mkdirs.filter((rel) => !under(rel));
  recipe.copies = recipe.copies.filter((c) => !c.plain || !under(c.rel));
  recipe.checks.accounted = [
    ...recipe.checks.accounted.filter((rel) => !under(rel)),
    ...recipe.subtrees.map((t) => t.rel),
  ];
}

/**
 * Runs a migration: recovers an interrupted one first, plans, stages, backs up, swaps, verifies.
 *
 * The data path (docs/state-and-secrets.md § How the files travel): the merged result is staged beside the target
 * without touching either directory — the target's files and, on the same filesystem, the source's files get a
 * second name there by hard link; across filesystems the source's files are streamed (cloned where possible,
 * holes kept) and checked by size; trust files are always written fresh. Then four journaled renames swap it in
 * (state-transaction.ts), the result is verified (sizes, and sha256 for trust files), and the old trees become the
 * backup by rename (same filesystem) or are removed once the backup holds links to their verified copies.
 */
export async function migrateState(options: MigrateOptions): Promise<MigrationResult> {
  const recovered = await recoverInterruptedMigrations([options.to, options.from], options.step, {
    createLink: options.createLink,
  });
  const platform = options.platform ?? process.platform;
  // Already migrated without a link: the source is gone from its place and the target says where it went.
  const skippedBefore = await readLinkSkippedRecord(options.to);
  if (
    skippedBefore &&
    samePath(platform, skippedBefore.from, path.resolve(options.from)) &&
    !(await lexists(options.from))
  ) {
    const plan: MigrationPlan = {
      from: options.from,
      to: options.to,
      targetExists: true,
      status: 'nothing-to-do',
      blockers: [],
      warnings: [],
      steps: [
        `${options.from} was already migrated into ${skippedBefore.to} (without a ${skippedBefore.link} at its old location)`,
      ],
      files: [],
      notes: [],
      link: skippedBefore.link,
    };
    return { plan, outcome: 'nothing-to-do', recovered };
  }
  const { plan, recipe } = await buildPlan(options);
  if (plan.status === 'blocked') throw new MigrationBlockedError(plan);
  if (plan.status === 'nothing-to-do') return { plan, outcome: 'nothing-to-do', recovered };
  if (options.dryRun) return { plan, outcome: 'dry-run', recovered };

  const now = options.now ?? Date.now;
  const fromReal = plan.fromReal!;
  const toReal = plan.toReal!;
  const { devices } = recipe;
  const progress = new ProgressTracker(plan.strategy ?? 'cross-volume', options.onProgress, options.signal);
  progress.check();
  const id = newTransactionId();
  const backupRoot = options.backupRoot ?? defaultBackupRoot(toReal);
  const backupDir = path.join(backupRoot, backupName(now(), id));
  const partialBackup = path.join(backupRoot, `.partial-${id}`);
  const staging = path.join(path.dirname(toReal), `.${path.basename(toReal)}.staging-${id}`);
  const toAside = path.join(path.dirname(toReal), `.${path.basename(toReal)}.old-${id}`);
  const fromAside = path.join(path.dirname(fromReal), `.${path.basename(fromReal)}.old-${id}`);
  const ops: TxOp[] = [
    { path: toReal, install: { kind: 'dir', staged: staging }, aside: toAside, existedBefore: plan.targetExists },
    {
      path: fromReal,
      install: {
        kind: 'link',
        target: toReal,
        linkType: plan.link === 'junction' ? 'junction' : 'dir',
        optional: await stateDirEnvPointsAt(options, toReal),
      },
      aside: fromAside,
      existedBefore: true,
    },
  ];
  // The backup: an old tree on the backup's filesystem becomes its part of the backup by rename once the result is
  // verified; one elsewhere is linked (to its verified copies) or, last resort, copied now.
  const moves: Array<{ from: string; to: string }> = [];
  if (plan.targetExists && devices.backup === devices.target)
    moves.push({ from: toAside, to: path.join(partialBackup, 'to-0') });
  if (devices.backup === devices.source) moves.push({ from: fromAside, to: path.join(partialBackup, 'from-1') });
  const journal = await beginTransaction({
    id,
    purpose: 'migrate',
    ops,
    scratch: [partialBackup],
    info: { from: fromReal, to: toReal, backup: backupDir, strategy: plan.strategy ?? '' },
    backup: { partial: partialBackup, final: backupDir, moves },
    step: options.step,
  });
  const written: string[] = [];
  try {
    progress.check();
    const twins = new Map<string, string>();
    progress.start('staging', recipe.totals.files, recipe.totals.bytes);
    try {
      await buildStaging(staging, plan.targetExists ? toReal : undefined, recipe, {
        sameVolume: devices.source === devices.target,
        progress,
        written,
        twins,
        moveSubtrees: async (moves) => {
          // Checked now, while a change can still be seen: once a directory has moved, the source's names differ.
          const changed = await sourceChanges(fromReal, recipe, true);
          if (changed.length > 0) throw changedDuringMigration(plan, changed.slice(0, 5).join('; '));
          const moved = await moveSubtreesIntoStaging(
            journal,
            moves.map((m) => ({ ...m, op: 0 })),
            options.step,
          );
          // The renames moved the mtimes of the directories they left: those become the reference for the last check.
          for (const rel of moved) refreshPlannedStat(recipe, path.posix.dirname(rel));
          return moved;
        },
      });
    } catch (error) {
      if (error instanceof SourceChangedError) throw changedDuringMigration(plan, error.message);
      if (!(error instanceof SymlinkRefusedError)) throw error;
      throw new MigrationBlockedError({
        ...plan,
        status: 'blocked',
        blockers: [
          `${error.filePath} is a symbolic link: the merged state is never written through a link (did something change the directories during the migration?)`,
        ],
      });
    }
    progress.finish();
    await fs.mkdir(backupRoot, { recursive: true, mode: 0o700 });
    await fs.mkdir(partialBackup, { mode: 0o700 });
    const entries: BackupEntry[] = [
      {
        role: 'to',
        path: toReal,
        state: plan.targetExists ? 'dir' : 'missing',
        ...(plan.targetExists ? { copy: 'to-0' } : {}),
      },
      {
        role: 'from',
        path: fromReal,
        state: 'dir',
        copy: 'from-1',
        ...(recipe.moved.size > 0 ? { movedTo: { path: toReal, rels: [...recipe.moved].sort() } } : {}),
      },
    ];
    if (plan.targetExists && devices.backup !== devices.target) {
      progress.start('backup');
      const result = await copyTree(toReal, path.join(partialBackup, 'to-0'), {
        link: true,
        copyIf: isSecretPath,
        ctx: progressContext(progress),
      });
      written.push(...result.written);
    }
    if (devices.backup !== devices.source) {
      progress.start(
        'backup',
        recipe.sourceEntries.filter((e) => e.stat.isFile()).length,
        recipe.sourceEntries.reduce((n, e) => n + (e.stat.isFile() ? e.stat.size : 0), 0),
      );
      try {
        await backUpSourceFromCopies(
          fromReal,
          path.join(partialBackup, 'from-1'),
          recipe,
          staging,
          twins,
          progress,
          written,
        );
      } catch (error) {
        if (error instanceof SourceChangedError) throw changedDuringMigration(plan, error.message);
        throw error;
      }
      progress.finish();
    }
    const manifest: BackupManifest = {
      version: 1,
      kind: 'clawdesk-state-backup',
      id,
      reason: 'migrate',
      createdAtMs: now(),
      entries,
      skipped: [],
    };
    await writeFileAtomic(path.join(partialBackup, BACKUP_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, {
      root: partialBackup,
      mode: 0o600,
    });
    await options.step?.('backup-published');
    progress.check();
    for (const { rel, content } of recipe.writes)
      await writeFileAtomic(path.join(staging, rel), content, { root: staging, mode: 0o600 });
    await options.step?.('staging-built');
    progress.start('verifying');
    const problems = await checkStaging(staging, recipe);
    if (problems.length > 0)
      throw new MigrationBlockedError({
        ...plan,
        status: 'blocked',
        blockers: [`the merged result failed its checks: ${problems.join('; ')}`],
      });
    const changed = await sourceChanges(fromReal, recipe, devices.source === devices.target);
    if (changed.length > 0) throw changedDuringMigration(plan, changed.slice(0, 5).join('; '));
    progress.check();
  } catch (error) {
    const beside = await abortPreparing(journal);
    // Something re-created a moved directory's place while it was away: both are kept, and the person is told.
    const besideNote =
      beside.length > 0
        ? `something re-created ${beside.map((p) => p.replace(/\.moved-back-[^/\\]+$/, '')).join(', ')} while the migration had moved it away: the original is kept beside it (${beside.join(', ')}); merge the two by hand`
        : undefined;
    if (error instanceof MigrationCancelledError)
      throw new MigrationCancelledError(
        besideNote
          ? `everything was rolled back, but ${besideNote}`
          : 'everything was rolled back; nothing was changed',
      );
    if (besideNote) (error as Error).message += `; ${besideNote}`;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT')
      throw new MigrationBlockedError({
        ...plan,
        status: 'blocked',
        blockers: [
          `${code === 'ENOSPC' ? 'a file system ran out of space' : 'your disk quota ran out'} while the merged state was being built (${(error as Error).message}); everything was rolled back, nothing was changed: free space at ${path.dirname(toReal)} (and at ${backupRoot}), then migrate again`,
        ],
      });
    throw error;
  }
  progress.start('committing');
  try {
    await commitTransaction(journal, options.step, { written, createLink: options.createLink });
  } catch (error) {
    if (error instanceof TransactionLinkError)
      throw new MigrationLinkError(plan.from, plan.to, error.reason, plan.link);
    throw error;
  }
  progress.start('done');
  const skipped = journal.skippedLinks?.['1'];
  if (skipped === undefined) return { plan: { ...plan, backupDir }, outcome: 'migrated', backupDir, recovered };
  const record: LinkSkippedRecord = {
    version: 1,
    from: fromReal,
    to: toReal,
    link: plan.link,
    reason: skipped,
    atMs: now(),
  };
  await writeFileAtomic(path.join(toReal, LINK_SKIPPED_RECORD), `${JSON.stringify(record, null, 2)}\n`, {
    root: toReal,
    mode: 0o600,
  });
  const warnings = [
    ...plan.warnings,
    `finished without a ${plan.link} at ${plan.from} (${skipped}): OPENCLAW_STATE_DIR already points at ${plan.to}, so OpenClaw and Clawdesk find the state there; a tool that ignores OPENCLAW_STATE_DIR would start a fresh ${plan.from}`,
  ];
  return {
    plan: { ...plan, backupDir, warnings },
    outcome: 'migrated',
    backupDir,
    recovered,
    linkSkipped: { path: fromReal, reason: skipped },
  };
}

/** Whether OPENCLAW_STATE_DIR (in the environment OpenClaw runs with) names the target, by real path. */
async function stateDirEnvPointsAt(options: MigrateOptions, toReal: string): Promise<boolean> {
  const platform = options.platform ?? process.platform;
  const pe = { env: options.env ?? process.env, platform, cwd: process.cwd() };
  const value = envValue(pe, 'OPENCLAW_STATE_DIR');
  if (!value) return false;
  const dir = expandUserPath(value, options.home ?? os.homedir(), pe);
  const real = await fs.realpath(dir).catch(() => dir);
  return samePath(platform, real, toReal);
}

function changedDuringMigration(plan: MigrationPlan, detail: string): MigrationBlockedError {
  return new MigrationBlockedError({
    ...plan,
    status: 'blocked',
    blockers: [
      `the source changed while it was being migrated (${detail}); nothing was changed: stop what writes there (the gateway, Clawdesk) and run the migration again`,
    ],
  });
}

function progressContext(progress: ProgressTracker, extra: Partial<CopyContext> = {}): CopyContext {
  return {
    check: () => progress.check(),
    onFile: (bytes, how, from, to) => {
      progress.file(bytes);
      extra.onFile?.(bytes, how, from, to);
    },
  };
}

/**
 * What changed in the source since it was planned. Same filesystem: entries added or removed (a directory's mtime
 * moves when its names do; the files themselves are shared by link, so appended data is carried anyway). Across
 * filesystems the copies were taken from the planned files: any file whose size or mtime moved since is named.
 */
async function sourceChanges(fromReal: string, recipe: Recipe, sameVolume: boolean): Promise<string[]> {
  const out: string[] = [];
  for (const { rel, stat } of recipe.sourceEntries) {
    if (!stat.isDirectory() && (sameVolume || !stat.isFile())) continue;
    // A directory moved whole took whatever was added to it along: nothing of it can be missed.
    if (isUnder(rel, recipe.moved)) continue;
    const now = await fs.lstat(path.join(fromReal, rel)).catch(() => undefined);
    if (!now) out.push(`${rel} disappeared`);
    else if (now.ino !== stat.ino || now.mtimeMs !== stat.mtimeMs || (stat.isFile() && now.size !== stat.size))
      out.push(`${rel} was modified`);
  }
  const rootNow = await fs.stat(fromReal).catch(() => undefined);
  if (rootNow && recipe.rootMtimeMs !== undefined && rootNow.mtimeMs !== recipe.rootMtimeMs)
    out.push('entries were added or removed at its top level');
  return out;
}

/** Whether `rel` is one of `dirs` or inside one. */
function isUnder(rel: string, dirs: ReadonlySet<string>): boolean {
  if (dirs.size === 0) return false;
  for (let at = rel; at !== '.'; at = path.posix.dirname(at)) if (dirs.has(at)) return true;
  return false;
}

/** Takes the current stat of a source directory (`.`: the root) as the planned one. */
function refreshPlannedStat(recipe: Recipe, rel: string): void {
  const st = lstatSync(rel === '.' ? recipe.fromReal : path.join(recipe.fromReal, rel), { throwIfNoEntry: false });
  if (!st) return;
  if (rel === '.') recipe.rootMtimeMs = st.mtimeMs;
  const entry = recipe.sourceEntries.find((e) => e.rel === rel);
  if (entry) entry.stat = st;
}

/**
 * Builds the merged tree. Nothing here passes through a link: every directory written into is checked to be a real
 * directory below `staging` (SymlinkRefusedError otherwise), trust files are written fresh (temp, fsync, rename,
 * 0600) rather than copied, and no existing file is ever written into: a regular file is placed by hard link (the
 * very inode that was checked, SourceChangedError otherwise) where the filesystem is the same, by a copy where not.
 * The trust files to be merged are written by the caller afterwards.
 */
async function buildStaging(
  staging: string,
  targetReal: string | undefined,
  recipe: Recipe,
  how: {
    sameVolume: boolean;
    progress: ProgressTracker;
    written: string[];
    twins: Map<string, string>;
    /** Journals and performs the subtree renames (state-transaction.ts); returns the rels that moved. */
    moveSubtrees: (moves: Array<{ rel: string; from: string; plannedIno: number }>) => Promise<Set<string>>;
  },
): Promise<void> {
  const ctx = progressContext(how.progress, { onFile: (_b, _h, from, to) => how.twins.set(from, to) });
  if (targetReal) {
    // The target's own files: same filesystem as the staging, always linked; its trust files are copied so the
    // backup's copy of them can never change with the live one.
    const result = await copyTree(targetReal, staging, { link: true, copyIf: isSecretPath, ctx });
    how.written.push(...result.written);
  } else {
    await fs.mkdir(staging, { mode: 0o700 });
  }
  // Directories checked to be real (not links) below the staging once each, not once per file placed in them.
  const realDirs = new Set<string>();
  const ensureDir = async (dir: string) => {
    if (realDirs.has(dir)) return;
    await ensureRealDirectory(staging, dir, 0o700);
    realDirs.add(dir);
  };
  for (const rel of recipe.mkdirs) await ensureDir(path.join(staging, rel));
  if (recipe.subtrees.length > 0) {
    for (const { rel } of recipe.subtrees) await ensureDir(path.dirname(path.join(staging, rel)));
    how.progress.check();
    const moved = await how.moveSubtrees(
      recipe.subtrees.map((t) => ({ rel: t.rel, from: path.join(recipe.fromReal, t.rel), plannedIno: t.ino })),
    );
    for (const tree of recipe.subtrees) {
      if (moved.has(tree.rel)) {
        recipe.moved.add(tree.rel);
        how.progress.filesAtOnce(tree.files, tree.bytes);
        continue;
      }
      // Not moved (the rename failed: a file held open on Windows, a bind mount): placed file by file instead.
      const now = lstatSync(path.join(recipe.fromReal, tree.rel), { throwIfNoEntry: false });
      if (!now?.isDirectory() || now.ino !== tree.ino)
        throw new SourceChangedError(path.join(recipe.fromReal, tree.rel), 'was replaced since it was planned');
      const result = await copyTree(path.join(recipe.fromReal, tree.rel), path.join(staging, tree.rel), {
        link: true,
        copyIf: isSecretPath,
        ctx,
      });
      how.written.push(...result.written);
    }
  }
  const streamed: Array<{ from: string; dest: string; st: import('node:fs').Stats }> = [];
  for (const { from, rel, secret, skip } of recipe.copies) {
    how.progress.check();
    const dest = path.join(staging, rel);
    await ensureDir(path.dirname(dest));
    const st = lstatSync(from);
    if (st.isFile() && !secret && how.sameVolume) {
      // The hot path (thousands of transcripts): two system calls, no thread-pool round trips.
      let placed: 'linked' | 'copied';
      try {
        placed = await linkOrCopyFile(from, dest, st);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        await fs.rm(dest, { force: true });
        placed = await linkOrCopyFile(from, dest, st);
      }
      if (placed === 'copied') {
        await fs.chmod(dest, st.mode & 0o777);
        await fs.utimes(dest, st.atime, st.mtime);
        how.written.push(dest);
      }
      how.twins.set(from, dest);
      how.progress.file(st.size);
      continue;
    }
    if (st.isFile() && !secret) {
      // Across volumes: streamed by a bounded pool below (one copy at a time leaves the disks idle between files).
      streamed.push({ from, dest, st });
      continue;
    }
    if (st.isDirectory()) {
      const result = await copyTree(from, dest, { skip, link: how.sameVolume, copyIf: isSecretPath, ctx });
      how.written.push(...result.written);
    } else if (secret && st.isFile()) {
      await writeFresh(staging, from, dest, st);
      how.progress.file(st.size);
    } else {
      await fs.rm(dest, { force: true });
      const placed = await copyOne(from, dest, { link: how.sameVolume });
      if (placed === 'copied') {
        const copied = await fs.lstat(dest);
        if (copied.size !== st.size)
          throw new SourceChangedError(from, `${st.size} bytes when planned, ${copied.size} copied`);
        how.written.push(dest);
      }
      if (placed !== 'link') {
        how.twins.set(from, dest);
        how.progress.file(st.size);
      }
    }
  }
  await inPool(streamed, STREAMED_COPIES_AT_ONCE, async ({ from, dest, st }) => {
    how.progress.check();
    rmSync(dest, { force: true });
    await copyFileData(from, dest, st);
    await fs.chmod(dest, st.mode & 0o777);
    await fs.utimes(dest, st.atime, st.mtime);
    const copied = lstatSync(dest);
    if (copied.size !== st.size)
      throw new SourceChangedError(from, `${st.size} bytes when planned, ${copied.size} copied`);
    how.written.push(dest);
    how.twins.set(from, dest);
    how.progress.file(st.size);
  });
}

/**
 * Copies at once across volumes: Node's thread pool has four threads, and measured here four concurrent kernel
 * copies (then one syncfs) took about 0.6× the time of one at a time (then an fsync per file).
 */
const STREAMED_COPIES_AT_ONCE = 4;

/**
 * Runs `task` over `items`, `width` at a time. On the first failure no new item starts, and the failure is thrown
 * only once every running task has ended: nothing may still write into a staging dir that is being removed.
 */
async function inPool<T>(items: readonly T[], width: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++];
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  if (failure) throw failure.error;
}

/**
 * The source's part of the backup when the source is on another filesystem than the backup: its tree rebuilt
 * there, each file a hard link to its verified copy in the staged result (or to the target's identical file), its
 * trust files and anything without a copy copied byte for byte, its links recreated (those not migrated
 * included). Sockets and other special files are skipped, as in any copy.
 */
async function backUpSourceFromCopies(
  fromReal: string,
  dest: string,
  recipe: Recipe,
  staging: string,
  twins: Map<string, string>,
  progress: ProgressTracker,
  written: string[],
): Promise<void> {
  const identical = new Set(recipe.identical);
  const dirs: Array<{ to: string; st: import('node:fs').Stats }> = [];
  await fs.mkdir(dest, { mode: 0o700 });
  dirs.push({ to: dest, st: await fs.stat(fromReal) });
  for (const { rel, stat } of recipe.sourceEntries) {
    progress.check();
    // Moved whole into the live dir: the backup's manifest says where it is (movedTo), nothing to keep here.
    if (isUnder(rel, recipe.moved)) continue;
    const from = path.join(fromReal, rel);
    const to = path.join(dest, rel);
    if (stat.isDirectory()) {
      mkdirSync(to, { mode: 0o700 });
      dirs.push({ to, st: stat });
    } else if (stat.isSymbolicLink()) {
      await fs.symlink(await fs.readlink(from), to);
    } else if (stat.isFile()) {
      const twin = isSecretPath(rel)
        ? undefined
        : (twins.get(from) ?? (identical.has(rel) ? path.join(staging, rel) : undefined));
      let linked = false;
      if (twin) {
        // Synchronous: two system calls per file, no thread-pool round trips (thousands of transcripts).
        const twinStat = lstatSync(twin, { throwIfNoEntry: false });
        if (twinStat?.isFile() && twinStat.size === stat.size) {
          try {
            linkSync(twin, to);
            linked = true;
          } catch {
            linked = false;
          }
        }
      }
      if (!linked) {
        await copyFileData(from, to, stat);
        await fs.chmod(to, stat.mode & 0o777);
        await fs.utimes(to, stat.atime, stat.mtime);
        written.push(to);
      }
      progress.file(stat.size);
    }
  }
  for (const { to, st } of dirs.reverse()) {
    await fs.chmod(to, st.mode & 0o777);
    await fs.utimes(to, st.atime, st.mtime);
  }
}

/** A trust file copied as a new file: read without following a link, written atomically with mode 0600. */
async function writeFresh(staging: string, from: string, dest: string, st: import('node:fs').Stats): Promise<void> {
  if (st.size > DEFAULT_MAX_JSON_BYTES) {
    // Too big to hold in memory (only ever a credentials blob): a no-follow copy, then 0600.
    await fs.rm(dest, { force: true });
    await copyFileData(from, dest, st);
    await fs.chmod(dest, 0o600);
  } else {
    const handle = await fs.open(from, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0));
    let data: Buffer;
    try {
      data = await handle.readFile();
    } finally {
      await handle.close();
    }
    await writeFileAtomic(dest, data, { root: staging, mode: 0o600 });
    // The copy is checked against what was read before anything depends on it.
    if ((await sha256File(dest)) !== createHash('sha256').update(data).digest('hex'))
      throw new Error(`${dest} does not read back as written`);
  }
  await fs.utimes(dest, st.atime, st.mtime);
}

/** Re-reads what was staged: every written file parses, nothing granted was lost, nothing revoked came back. */
async function checkStaging(staging: string, recipe: Recipe): Promise<string[]> {
  const problems: string[] = [];
  for (const { rel } of recipe.writes) {
    const result = await readStateJson(path.join(staging, rel));
    if (result.kind !== 'ok') problems.push(`${rel} does not read back`);
  }
  if (recipe.checks.paired) {
    const merged = await readStateJson(path.join(staging, recipe.checks.paired.rel), { parse: parsePairedDevices });
    if (merged.kind !== 'ok') problems.push('devices/paired.json does not read back');
    else problems.push(...checkPairedInvariants(recipe.checks.paired.inputs, merged.value));
  }
  if (recipe.checks.exec) {
    const merged = await readStateJson(path.join(staging, recipe.checks.exec.rel), { parse: parseExecApprovals });
    if (merged.kind !== 'ok') problems.push('exec-approvals.json does not read back');
    else problems.push(...checkExecApprovalsInvariants(recipe.checks.exec.inputs, merged.value));
  }
  for (const rel of recipe.checks.accounted) {
    if (!lexistsSync(path.join(staging, rel))) problems.push(`${rel} is missing`);
  }
  return problems;
}

/** Finishes or undoes interrupted migrations/restores touching any of these dirs. */
export async function recoverInterruptedMigrations(
  dirs: string[],
  step?: StepHook,
  options: { createLink?: CreateLink } = {},
): Promise<Array<{ journal: string; outcome: RecoveryOutcome }>> {
  const out: Array<{ journal: string; outcome: RecoveryOutcome }> = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    for (const candidate of new Set([path.resolve(dir), await fs.realpath(dir).catch(() => path.resolve(dir))])) {
      await sweepJournalTemps(candidate);
      await sweepStaleCaseProbes(candidate);
      const found = await findJournal(candidate);
      if (!found || seen.has(found.path)) continue;
      seen.add(found.path);
      if ('corrupt' in found) throw new Error(`${found.corrupt}; inspect it by hand (the state dirs were not touched)`);
      out.push({ journal: found.path, outcome: await recoverTransaction(found.journal, step, options) });
    }
  }
  return out;
}

/** Lists interrupted transactions without touching them (for doctor). */
export async function findInterruptedMigrations(
  dirs: string[],
): Promise<Array<{ journal: string; phase?: TxJournal['phase']; pid?: number; error?: string }>> {
  const out: Array<{ journal: string; phase?: TxJournal['phase']; pid?: number; error?: string }> = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    const found = await findJournal(path.resolve(dir)).catch((error: Error) => ({ corrupt: error.message, path: dir }));
    if (!found || seen.has(found.path)) continue;
    seen.add(found.path);
    if ('corrupt' in found) out.push({ journal: found.path, error: found.corrupt });
    else out.push({ journal: found.path, phase: found.journal.phase, pid: found.journal.pid });
  }
  return out;
}

export interface RestoreResult {
  manifest: BackupManifest;
  /** A backup of what was there just before the restore, so the restore itself can be undone. */
  safetyBackupDir: string;
  restored: string[];
  /** What could not be put back (a directory the migration moved, since removed from where it went). */
  warnings: string[];
}

/** `clawdesk state restore <backup>`: puts every directory in the backup back as it was, crash-consistently. */
export async function restoreBackup(
  backupDir: string,
  options: { backupRoot?: string; now?: () => number; step?: StepHook } = {},
): Promise<RestoreResult> {
  const resolved = path.resolve(backupDir);
  // A backup decides what every listed directory becomes: one another user could have written is not restored.
  const unsafe = (await checkDirAndAncestors(resolved)).filter((p) => p.blocking);
  if (unsafe.length > 0)
    throw new BackupInvalidError(`refusing to restore ${resolved}: ${unsafe.map((p) => p.message).join('; ')}`);
  const manifest = await readBackupManifest(resolved);
  const paths = manifest.entries.map((e) => e.path);
  await recoverInterruptedMigrations(paths, options.step);
  const now = options.now ?? Date.now;
  const id = newTransactionId();
  const backupRoot = options.backupRoot ?? path.dirname(resolved);
  const safetyBackupDir = path.join(backupRoot, `${backupName(now(), id)}-before-restore`);
  const partial = path.join(backupRoot, `.partial-${id}`);
  const ops: TxOp[] = manifest.entries.map((entry) => {
    const aside = path.join(path.dirname(entry.path), `.${path.basename(entry.path)}.old-${id}`);
    const existedBefore = true;
    if (entry.state === 'dir') {
      return {
        path: entry.path,
        install: {
          kind: 'dir',
          staged: path.join(path.dirname(entry.path), `.${path.basename(entry.path)}.restoring-${id}`),
        },
        aside,
        existedBefore,
      };
    }
    if (entry.state === 'link') {
      return {
        path: entry.path,
        install: {
          kind: 'link',
          target: path.resolve(path.dirname(entry.path), entry.linkTarget!),
          linkType: process.platform === 'win32' ? 'junction' : 'dir',
        },
        aside,
        existedBefore,
      };
    }
    return { path: entry.path, install: { kind: 'absent' }, aside, existedBefore };
  });
  for (const op of ops) op.existedBefore = await lexists(op.path);
  const journal = await beginTransaction({
    id,
    purpose: 'restore',
    ops,
    scratch: [partial],
    info: { backup: resolved, safety: safetyBackupDir },
    step: options.step,
  });
  const written: string[] = [];
  const missing: string[] = [];
  try {
    await writeBackup(
      partial,
      manifest.entries.map((e) => ({ role: e.role, path: e.path })),
      { id, reason: 'restore', createdAtMs: now() },
    );
    await publishBackup(partial, safetyBackupDir);
    for (const [index, entry] of manifest.entries.entries()) {
      const op = ops[index];
      if (entry.state === 'dir' && op.install.kind === 'dir') {
        await fs.mkdir(path.dirname(entry.path), { recursive: true, mode: 0o700 });
        // Hard links where the backup shares the filesystem (its files are never written in place), trust files copied.
        written.push(
          ...(await copyTree(path.join(resolved, entry.copy!), op.install.staged, { link: true, copyIf: isSecretPath }))
            .written,
        );
        // Directories the migration moved whole into another dir come back from where they live now, as they are.
        for (const rel of entry.movedTo?.rels ?? []) {
          const live = path.join(entry.movedTo!.path, ...rel.split('/'));
          const st = await fs.lstat(live).catch(() => undefined);
          if (!st?.isDirectory()) {
            missing.push(`${rel}/ (moved into ${entry.movedTo!.path} by the migration) is no longer there`);
            continue;
          }
          const dest = path.join(op.install.staged, ...rel.split('/'));
          await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
          written.push(...(await copyTree(live, dest, { link: true, copyIf: isSecretPath })).written);
        }
      }
    }
    await options.step?.('staging-built');
  } catch (error) {
    await abortPreparing(journal);
    throw error;
  }
  await commitTransaction(journal, options.step, { written });
  return { manifest, safetyBackupDir, restored: paths, warnings: missing };
}

/** The record of neutralised links, inside the archive dir of a migration. */
export const LINKS_RECORD = 'symlinks-not-migrated.json';

function allocatedBytes(st: import('node:fs').Stats): number {
  return typeof st.blocks === 'number' && process.platform !== 'win32' ? st.blocks * 512 : st.size;
}

async function freeBytesAt(dir: string): Promise<number> {
  const st = await fs.statfs(dir);
  return Number(st.bavail) * Number(st.bsize);
}

/** The nearest existing directory at or above `dir` (where a directory about to be created will live). */
async function existingAncestor(dir: string): Promise<string> {
  let current = path.resolve(dir);
  for (;;) {
    if (
      await fs.stat(current).then(
        (s) => s.isDirectory(),
        () => false,
      )
    )
      return current;
    const parent = path.dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

async function realAncestor(dir: string): Promise<string> {
  let current = dir;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.realpath(current), ...rest.reverse());
    } catch {
      const parent = path.dirname(current);
      if (parent === current) return dir;
      rest.push(path.basename(current));
      current = parent;
    }
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fs.stat(a), fs.stat(b)]);
  if (sa.size !== sb.size) return false;
  return (await sha256File(a)) === (await sha256File(b));
}

async function sameEntry(a: string, b: string): Promise<boolean> {
  const [la, lb] = await Promise.all([fs.lstat(a), fs.lstat(b)]);
  if (la.isSymbolicLink() || lb.isSymbolicLink()) {
    return la.isSymbolicLink() && lb.isSymbolicLink() && (await fs.readlink(a)) === (await fs.readlink(b));
  }
  if (!la.isFile() || !lb.isFile()) return false;
  return sameFile(a, b);
}

async function gatewayLockPresent(): Promise<boolean> {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid === undefined) return false;
  const dir = path.join(os.tmpdir(), `openclaw-${uid}`);
  const entries = await fs.readdir(dir).catch(() => [] as string[]);
  return entries.some((name) => /lock/i.test(name));
}

function short(id: string | undefined): string {
  return id ? `${id.slice(0, 12)}…` : '(unknown)';
}

function lexistsSync(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
