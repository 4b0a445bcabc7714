import { randomBytes } from 'node:crypto';
import { promises as fs, lstatSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeJsonAtomic } from '../fs/atomic-file';
import { isSecretPath } from './state-safety';
import { TreeManifest, diffManifests, flushFiles, fsyncDirs, fsyncPath, lexists, treeManifest } from './state-tree';

/**
 * Replaces whole directories so that a crash (kill -9, power loss) at any instant leaves either the old state or
 * the new state once recovered — never a mix. The new contents are built in staging dirs beside their targets; a
 * journal written atomically before the first rename records what goes where, and every step is idempotent, so
 * recovery (the next start, `clawdesk doctor --fix`, or a rerun) can always finish the job or undo it:
 *
 *   preparing   → staging is being built; recovery deletes it (old state stays).
 *   committing  → staging is complete and fsynced; recovery rolls forward.
 *   committed   → all renames done; recovery checks the result and cleans up.
 *   rolling-back→ a verification failed; recovery keeps rolling back.
 */

export type TxInstall =
  | { kind: 'dir'; staged: string }
  /**
   * `optional`: a convenience link (the state is found without it, e.g. OPENCLAW_STATE_DIR points at the target).
   * If it cannot be created the transaction finishes without it and records why in `skippedLinks`; a required link
   * that cannot be created rolls the whole transaction back.
   */
  | { kind: 'link'; target: string; linkType: 'dir' | 'junction'; optional?: boolean }
  | { kind: 'absent' };

/** Creates the link at `linkPath` (fs.symlink by default; tests inject a failing one). */
export type CreateLink = (target: string, linkPath: string, type: 'dir' | 'junction') => Promise<void>;

const defaultCreateLink: CreateLink = (target, linkPath, type) => fs.symlink(target, linkPath, type);

export interface TxOp {
  /** The directory being replaced. */
  path: string;
  install: TxInstall;
  /** Where the current content is moved (kept until the transaction is done; it is also in the backup). */
  aside: string;
  existedBefore: boolean;
}

export type TxPhase = 'preparing' | 'committing' | 'committed' | 'rolling-back';

export interface TxJournal {
  version: 1;
  kind: 'clawdesk-state-transaction';
  id: string;
  purpose: 'migrate' | 'restore';
  pid: number;
  hostname: string;
  startedAtMs: number;
  phase: TxPhase;
  ops: TxOp[];
  /** Manifests of the staged dirs, by op index, recorded when committing starts. */
  expected?: Record<string, TreeManifest>;
  journalPath: string;
  pointerPaths: string[];
  /** Extra paths to delete when the transaction ends either way (partial backups, scratch dirs). */
  scratch: string[];
  /** Free-form facts for reporting (from/to, backup dir). */
  info: Record<string, string>;
  /**
   * A backup finished by the commit itself: once the result is verified, each `moves[i].from` (an aside, i.e. the
   * old directory exactly as it was) is renamed to `moves[i].to` inside `partial`, and `partial` is renamed to
   * `final`. The old trees become the backup without a byte copied. `partial` is also in `scratch`: a migration
   * that does not commit leaves no backup, since it changed nothing.
   */
  backup?: { partial: string; final: string; moves: Array<{ from: string; to: string }> };
  /** Optional links that could not be created, by op index: why (e.g. "ENOTSUP: …"). */
  skippedLinks?: Record<string, string>;
  /**
   * Whole directories moved by one rename from `from` into op `op`'s staged dir at `rel` while preparing (same
   * filesystem: a tree of transcripts moves without touching its files). Journaled before the first of them moves;
   * undoing a transaction moves back each one whose inode (`ino`, decimal) is still at its place in the staging,
   * before the staging is removed.
   */
  subtrees?: SubtreeMove[];
}

export interface SubtreeMove {
  op: number;
  rel: string;
  from: string;
  ino: string;
}

export class TransactionInProgressError extends Error {
  readonly code = 'MIGRATION_IN_PROGRESS';
  constructor(
    readonly journalPath: string,
    readonly pid: number,
  ) {
    super(
      `another Clawdesk migration (pid ${pid}) is working on this state dir (${journalPath}); wait for it to finish`,
    );
  }
}

export class TransactionVerifyError extends Error {
  readonly code = 'MIGRATION_VERIFY_FAILED';
}

/** A required link could not be created; the transaction has been rolled back when this reaches the caller. */
export class TransactionLinkError extends Error {
  readonly code = 'MIGRATION_LINK_FAILED';
  constructor(
    readonly linkPath: string,
    readonly target: string,
    readonly linkType: 'dir' | 'junction',
    readonly reason: string,
  ) {
    super(
      `cannot create the ${linkType === 'junction' ? 'junction' : 'symbolic link'} ${linkPath} -> ${target} (${reason})`,
    );
  }
}

function errorText(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.message ? e.message : String(error);
}

/** Test hook: called at every step boundary with its name (the crash tests kill the process there). */
export type StepHook = (step: string) => void | Promise<void>;

const JOURNAL_SUFFIX = '.clawdesk-migration.json';

/** The journal beside a directory: `<parent>/.<name>.clawdesk-migration.json`. */
export function journalPathFor(dir: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}${JOURNAL_SUFFIX}`);
}

export function newTransactionId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Reads the journal (following a pointer) for any directory a transaction touches. */
export async function findJournal(
  dir: string,
): Promise<{ journal: TxJournal; path: string } | { corrupt: string; path: string } | undefined> {
  const candidate = journalPathFor(dir);
  // A journal directs renames and deletions: one another user could have planted (or a link) is never acted on.
  const untrusted = await untrustedJournal(candidate);
  if (untrusted === 'missing') return undefined;
  if (untrusted) return { corrupt: untrusted, path: candidate };
  let text: string;
  try {
    text = await fs.readFile(candidate, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed: (TxJournal & { pointer?: undefined }) | { pointer: string };
  try {
    parsed = JSON.parse(text);
  } catch {
    return { corrupt: `${candidate} is not valid JSON`, path: candidate };
  }
  if ('pointer' in parsed && typeof parsed.pointer === 'string') {
    if (parsed.pointer === candidate) return { corrupt: `${candidate} points at itself`, path: candidate };
    const pointedUntrusted = await untrustedJournal(parsed.pointer);
    if (pointedUntrusted && pointedUntrusted !== 'missing') return { corrupt: pointedUntrusted, path: parsed.pointer };
    const target = await fs.readFile(parsed.pointer, 'utf8').catch(() => undefined);
    if (target === undefined) {
      // The transaction finished and removed its journal before this pointer: a leftover.
      await fs.rm(candidate, { force: true });
      return undefined;
    }
    try {
      return { journal: JSON.parse(target) as TxJournal, path: parsed.pointer };
    } catch {
      return { corrupt: `${parsed.pointer} is not valid JSON`, path: parsed.pointer };
    }
  }
  const journal = parsed as TxJournal;
  if (journal.kind !== 'clawdesk-state-transaction' || !Array.isArray(journal.ops)) {
    return { corrupt: `${candidate} is not a Clawdesk migration journal`, path: candidate };
  }
  return { journal, path: candidate };
}

/**
 * Why a journal file cannot be trusted (a link, not a regular file, owned by another user, or writable by others),
 * 'missing' when there is none, undefined when it is fine.
 */
async function untrustedJournal(file: string): Promise<string | 'missing' | undefined> {
  let st;
  try {
    st = await fs.lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  if (st.isSymbolicLink()) return `${file} is a symbolic link, not a migration journal Clawdesk wrote; not acted on`;
  if (!st.isFile()) return `${file} is not a regular file; not acted on`;
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return undefined;
  const uid = process.getuid();
  if (st.uid !== uid)
    return `${file} is owned by uid ${st.uid}, not by you (uid ${uid}): another user's file is not acted on`;
  if ((st.mode & 0o022) !== 0)
    return `${file} is writable by other users (mode ${(st.mode & 0o777).toString(8)}); not acted on`;
  return undefined;
}

/**
 * Removes temp files a killed process left while publishing a journal (`<journal>.<pid>.<hex>.new`, and the
 * atomic writer's `.<journal>.<pid>.<hex>.tmp`). Only those of processes that are gone.
 */
export async function sweepJournalTemps(dir: string): Promise<string[]> {
  const parent = path.dirname(dir);
  const prefix = `.${path.basename(dir)}${JOURNAL_SUFFIX}.`;
  const removed: string[] = [];
  for (const name of await fs.readdir(parent).catch(() => [] as string[])) {
    const bare = name.startsWith(`.${prefix}`) ? name.slice(1) : name;
    if (!bare.startsWith(prefix)) continue;
    const match = /^(\d+)\.[0-9a-f]+\.(new|tmp)$/.exec(bare.slice(prefix.length));
    if (!match || isProcessAlive(Number(match[1]), os.hostname())) continue;
    await fs.rm(path.join(parent, name), { force: true });
    removed.push(name);
  }
  return removed;
}

export function isProcessAlive(pid: number, hostname: string): boolean {
  if (hostname !== os.hostname()) return true; // cannot tell; assume alive rather than race another machine
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface BeginOptions {
  id: string;
  purpose: TxJournal['purpose'];
  ops: TxOp[];
  scratch?: string[];
  info?: Record<string, string>;
  backup?: TxJournal['backup'];
  step?: StepHook;
}

/** Records the intent before anything is staged. Fails if another transaction holds either directory. */
export async function beginTransaction(options: BeginOptions): Promise<TxJournal> {
  const [first, ...rest] = options.ops;
  if (!first) throw new Error('a transaction needs at least one operation');
  const journalPath = journalPathFor(first.path);
  const journal: TxJournal = {
    version: 1,
    kind: 'clawdesk-state-transaction',
    id: options.id,
    purpose: options.purpose,
    pid: process.pid,
    hostname: os.hostname(),
    startedAtMs: Date.now(),
    phase: 'preparing',
    ops: options.ops,
    journalPath,
    pointerPaths: rest.map((op) => journalPathFor(op.path)).filter((p) => p !== journalPath),
    scratch: options.scratch ?? [],
    info: options.info ?? {},
    ...(options.backup ? { backup: options.backup } : {}),
  };
  await fs.mkdir(path.dirname(journalPath), { recursive: true, mode: 0o700 });
  await createExclusively(journalPath, journal);
  for (const pointer of journal.pointerPaths) {
    try {
      await createExclusively(pointer, { pointer: journalPath });
    } catch (error) {
      await abortPreparing(journal);
      throw error;
    }
  }
  await options.step?.('journal-written');
  return journal;
}

/** Publishes a JSON file only if the name is free: link() of a complete temp file is atomic and exclusive. */
async function createExclusively(file: string, value: unknown): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.new`;
  // The temp only has to be complete before link() publishes it; no second temp level (easier to sweep).
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const existing = await findJournal(
        path.join(path.dirname(file), path.basename(file).slice(1, -JOURNAL_SUFFIX.length)),
      ).catch(() => undefined);
      const pid = existing && 'journal' in existing ? existing.journal.pid : 0;
      throw new TransactionInProgressError(file, pid);
    }
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
  await fsyncPath(path.dirname(file));
}

async function writeJournal(journal: TxJournal): Promise<void> {
  await writeJsonAtomic(journal.journalPath, journal);
}

/**
 * Moves whole directories into op staging dirs by rename, journaled first. `plannedIno` is the inode each was
 * planned with: a directory swapped for another one (or for a link) since is not moved, and neither is one whose
 * rename fails (a file held open on Windows, say); the caller places those file by file. Returns the moved `rel`s.
 */
export async function moveSubtreesIntoStaging(
  journal: TxJournal,
  moves: ReadonlyArray<{ op: number; rel: string; from: string; plannedIno: number }>,
  step?: StepHook,
): Promise<Set<string>> {
  const moved = new Set<string>();
  if (moves.length === 0) return moved;
  const planned: SubtreeMove[] = [];
  for (const m of moves) {
    const st = lstatSync(m.from, { bigint: true, throwIfNoEntry: false });
    if (st?.isDirectory() && Number(st.ino) === m.plannedIno)
      planned.push({ op: m.op, rel: m.rel, from: m.from, ino: st.ino.toString() });
  }
  journal.subtrees = [...(journal.subtrees ?? []), ...planned];
  await writeJournal(journal);
  await step?.('subtrees-journaled');
  const parents = new Set<string>();
  for (const m of planned) {
    const to = subtreeStagedPath(journal, m);
    try {
      // Synchronous: a handful of renames, no thread-pool round trips on the hot path.
      renameSync(m.from, to);
    } catch {
      continue;
    }
    // rename(2) moves whatever is there now: something swapped in since the check above (a link leading out of the
    // state dir, another directory) goes straight back, and the caller refuses it as a changed source.
    const arrived = lstatSync(to, { bigint: true, throwIfNoEntry: false });
    if (!arrived?.isDirectory() || arrived.ino.toString() !== m.ino) {
      renameSync(to, m.from);
      await fsyncPath(path.dirname(m.from));
      continue;
    }
    moved.add(m.rel);
    parents.add(path.dirname(m.from));
    parents.add(path.dirname(to));
  }
  for (const parent of parents) await fsyncPath(parent);
  await step?.('subtrees-moved');
  return moved;
}

function subtreeStagedPath(journal: TxJournal, move: SubtreeMove): string {
  const install = journal.ops[move.op]?.install;
  if (install?.kind !== 'dir')
    throw new Error(`journal ${journal.id}: subtree ${move.rel} names op ${move.op}, not a staged dir`);
  return path.join(install.staged, ...move.rel.split('/'));
}

/**
 * Puts every journaled subtree still in a staging dir back where it came from (idempotent; runs before a staging
 * dir is removed). One whose old place was taken meanwhile goes beside it, never over it, so nothing is lost;
 * those places are returned.
 */
async function undoSubtreeMoves(journal: TxJournal): Promise<string[]> {
  const beside: string[] = [];
  for (const move of [...(journal.subtrees ?? [])].reverse()) {
    const to = subtreeStagedPath(journal, move);
    const st = await fs.lstat(to, { bigint: true }).catch(() => undefined);
    if (!st?.isDirectory() || st.ino.toString() !== move.ino) continue;
    await fs.mkdir(path.dirname(move.from), { recursive: true, mode: 0o700 });
    const back = (await lexists(move.from)) ? `${move.from}.moved-back-${journal.id}` : move.from;
    await fs.rename(to, back);
    await fsyncPath(path.dirname(back));
    if (back !== move.from) beside.push(back);
  }
  return beside;
}

/** The subtrees moved into op `index`'s staging, as relative paths (not entered by manifests and flushes). */
function movedInto(journal: TxJournal, index: number): Set<string> {
  return new Set((journal.subtrees ?? []).filter((m) => m.op === index).map((m) => m.rel));
}

/**
 * Abandons a transaction that never started committing: staging and scratch go, the old state was never touched
 * (the directories moved into a staging are moved back). Returns where a moved directory had to go beside its old
 * place, because something re-created that place meanwhile.
 */
export async function abortPreparing(journal: TxJournal): Promise<string[]> {
  const beside = await undoSubtreeMoves(journal);
  for (const op of journal.ops) {
    if (op.install.kind === 'dir') await fs.rm(op.install.staged, { recursive: true, force: true });
    await fs.rm(linkTemp(op, journal), { force: true });
  }
  for (const scratch of journal.scratch) await fs.rm(scratch, { recursive: true, force: true });
  await finish(journal);
  return beside;
}

/**
 * Commits: flushes the staging dirs, records their manifests, swaps everything in, verifies, cleans up.
 * Throws TransactionVerifyError after rolling back if the result does not match what was staged.
 */
export async function commitTransaction(
  journal: TxJournal,
  step?: StepHook,
  options: { written?: readonly string[]; createLink?: CreateLink } = {},
): Promise<void> {
  const expected: Record<string, TreeManifest> = {};
  // Durable before the commit point: the bytes this transaction wrote (copies) and every new name (directories).
  // Files placed by hard link are the very inodes that were already there; their data is not ours to flush.
  await flushFiles(options.written ?? []);
  for (const [index, op] of journal.ops.entries()) {
    if (op.install.kind !== 'dir') continue;
    const moved = movedInto(journal, index);
    await fsyncDirs(op.install.staged, moved);
    expected[index] = await treeManifest(op.install.staged, hashedInManifest, moved);
  }
  await step?.('staging-synced');
  journal.expected = expected;
  journal.phase = 'committing';
  await writeJournal(journal);
  await step?.('committing');
  try {
    await rollForward(journal, step, options.createLink);
  } catch (error) {
    // Only a link that could not be made is undone here; anything else (a crash) is left to recovery.
    if (!(error instanceof TransactionLinkError)) throw error;
    await rollBack(journal, step);
    throw error;
  }
  journal.phase = 'committed';
  await writeJournal(journal);
  await step?.('committed');
  const problems = await verifyInstalled(journal, true);
  if (problems.length > 0) {
    await rollBack(journal, step);
    throw new TransactionVerifyError(
      `the migrated state did not match what was staged (${problems.join('; ')}); everything was rolled back`,
    );
  }
  await cleanUp(journal, step);
}

async function rollForward(
  journal: TxJournal,
  step?: StepHook,
  createLink: CreateLink = defaultCreateLink,
): Promise<void> {
  for (const [index, op] of journal.ops.entries()) {
    const parent = path.dirname(op.path);
    await fs.mkdir(parent, { recursive: true, mode: 0o700 });
    if (op.install.kind === 'dir') {
      if (await lexists(op.install.staged)) {
        await moveAside(op, journal);
        await step?.(`op${index}-aside`);
        await fs.rename(op.install.staged, op.path);
      }
    } else if (op.install.kind === 'link') {
      if (!(await isLinkTo(op.path, op.install.target)) && journal.skippedLinks?.[index] === undefined) {
        await moveAside(op, journal);
        await step?.(`op${index}-aside`);
        const temp = linkTemp(op, journal);
        await fs.rm(temp, { force: true });
        try {
          await createLink(op.install.target, temp, op.install.linkType);
          await fs.rename(temp, op.path);
        } catch (error) {
          // Wine has no junctions; Windows refuses them on FAT/exFAT, network drives or by policy.
          await fs.rm(temp, { force: true }).catch(() => undefined);
          if (!op.install.optional)
            throw new TransactionLinkError(op.path, op.install.target, op.install.linkType, errorText(error));
          journal.skippedLinks = { ...journal.skippedLinks, [index]: errorText(error) };
          await writeJournal(journal);
        }
      }
    } else {
      await moveAside(op, journal);
    }
    await fsyncPath(parent);
    await step?.(`op${index}-installed`);
  }
}

/** Moves whatever is at op.path out of the way; something that appeared there unexpectedly is kept, not deleted. */
async function moveAside(op: TxOp, journal: TxJournal): Promise<void> {
  if (!(await lexists(op.path))) return;
  if (!(await lexists(op.aside))) {
    await fs.rename(op.path, op.aside);
  } else {
    await fs.rename(op.path, `${op.path}.unexpected-${journal.id}`);
  }
  await fsyncPath(path.dirname(op.path));
}

async function rollBack(journal: TxJournal, step?: StepHook): Promise<void> {
  journal.phase = 'rolling-back';
  await writeJournal(journal);
  await step?.('rolling-back');
  for (const move of journal.backup?.moves ?? []) {
    if (!(await lexists(move.from)) && (await lexists(move.to))) await fs.rename(move.to, move.from);
  }
  for (const op of [...journal.ops].reverse()) {
    const installed = await isInstalled(op);
    if (installed) {
      if (op.install.kind === 'dir') await fs.rename(op.path, op.install.staged);
      else if (op.install.kind === 'link') await fs.rm(op.path, { force: true });
    }
    await fs.rm(linkTemp(op, journal), { force: true });
    if (await lexists(op.aside)) {
      if (await lexists(op.path)) await fs.rename(op.path, `${op.path}.unexpected-${journal.id}`);
      await fs.rename(op.aside, op.path);
    }
    await fsyncPath(path.dirname(op.path));
  }
  await undoSubtreeMoves(journal);
  for (const op of journal.ops)
    if (op.install.kind === 'dir') await fs.rm(op.install.staged, { recursive: true, force: true });
  for (const scratch of journal.scratch) await fs.rm(scratch, { recursive: true, force: true });
  await finish(journal);
}

/** Whether op.path currently holds what this transaction installs there. */
async function isInstalled(op: TxOp): Promise<boolean> {
  if (op.install.kind === 'link') return isLinkTo(op.path, op.install.target);
  if (op.install.kind === 'dir') return !(await lexists(op.install.staged)) && (await lexists(op.path));
  return false;
}

async function verifyInstalled(journal: TxJournal, compareContent: boolean): Promise<string[]> {
  const problems: string[] = [];
  for (const [index, op] of journal.ops.entries()) {
    if (op.install.kind === 'dir') {
      const st = await fs.lstat(op.path).catch(() => undefined);
      if (!st?.isDirectory()) {
        problems.push(`${op.path} is not a directory`);
        continue;
      }
      if (compareContent && journal.expected?.[index]) {
        const want = journal.expected[index];
        const diff = diffManifests(
          want,
          await treeManifest(
            op.path,
            (rel) => (want[rel] as { sha256?: string } | undefined)?.sha256 !== undefined,
            movedInto(journal, index),
          ),
        );
        if (diff.length > 0) problems.push(`${op.path}: ${diff.join(', ')}`);
      }
    } else if (op.install.kind === 'link') {
      if (journal.skippedLinks?.[index] !== undefined) {
        if (await lexists(op.path)) problems.push(`${op.path} exists, though its link was skipped`);
      } else if (!(await isLinkTo(op.path, op.install.target))) {
        problems.push(`${op.path} does not link to ${op.install.target}`);
      }
    } else if (await lexists(op.path)) {
      problems.push(`${op.path} still exists`);
    }
  }
  return problems;
}

async function cleanUp(journal: TxJournal, step?: StepHook): Promise<void> {
  if (journal.backup) {
    // The asides are the old trees exactly as they were: they become the backup by rename, then it is published.
    const { partial, final, moves } = journal.backup;
    if (await lexists(partial)) {
      for (const move of moves) {
        if ((await lexists(move.from)) && !(await lexists(move.to))) await fs.rename(move.from, move.to);
      }
      await fsyncPath(partial);
      if (!(await lexists(final))) {
        await fs.rename(partial, final);
        await fsyncPath(path.dirname(final));
      }
    }
  }
  for (const op of journal.ops) {
    // The old content is in the backup; the aside copy has served its purpose. Synchronous: a tree of thousands of
    // files goes several times faster without a thread-pool round trip per entry.
    rmSync(op.aside, { recursive: true, force: true });
    await step?.('aside-removed');
  }
  for (const scratch of journal.scratch) await fs.rm(scratch, { recursive: true, force: true });
  await finish(journal);
}

async function finish(journal: TxJournal): Promise<void> {
  for (const pointer of journal.pointerPaths) await fs.rm(pointer, { force: true });
  await fs.rm(journal.journalPath, { force: true });
  await fsyncPath(path.dirname(journal.journalPath));
}

export type RecoveryOutcome = 'rolled-back' | 'rolled-forward' | 'discarded-staging';

/** Finishes or undoes an interrupted transaction. Idempotent: a crash during recovery is recovered the same way. */
export async function recoverTransaction(
  journal: TxJournal,
  step?: StepHook,
  options: { createLink?: CreateLink } = {},
): Promise<RecoveryOutcome> {
  if (isProcessAlive(journal.pid, journal.hostname))
    throw new TransactionInProgressError(journal.journalPath, journal.pid);
  if (journal.phase === 'preparing') {
    await abortPreparing(journal);
    return 'discarded-staging';
  }
  if (journal.phase === 'rolling-back') {
    await rollBack(journal, step);
    return 'rolled-back';
  }
  if (journal.phase === 'committing') {
    try {
      await rollForward(journal, step, options.createLink);
    } catch (error) {
      // The link step fails the same way on every attempt: undo instead of staying stuck in "committing".
      if (!(error instanceof TransactionLinkError)) throw error;
      await rollBack(journal, step);
      return 'rolled-back';
    }
    journal.phase = 'committed';
    await writeJournal(journal);
  }
  // Structural check only: the contents may legitimately have changed since (a gateway ran after the crash).
  const problems = await verifyInstalled(journal, false);
  if (problems.length > 0) {
    await rollBack(journal, step);
    return 'rolled-back';
  }
  await cleanUp(journal, step);
  return 'rolled-forward';
}

async function isLinkTo(linkPath: string, target: string): Promise<boolean> {
  try {
    const st = await fs.lstat(linkPath);
    if (!st.isSymbolicLink()) return false;
    const current = await fs.readlink(linkPath);
    return path.resolve(path.dirname(linkPath), current) === path.resolve(target) || current === target;
  } catch {
    return false;
  }
}

function linkTemp(op: TxOp, journal: TxJournal): string {
  return `${op.path}.link-${journal.id}`;
}

/**
 * Which files the commit's manifest hashes: trust state (small, and what a migration rewrites). Everything else is
 * checked by type, mode and size, so verifying a tree of large transcripts costs a directory walk, not a re-read.
 */
export function hashedInManifest(rel: string): boolean {
  return isSecretPath(rel) || isSecretPath(rel.replace(/^migrated-from-[^/]+\//, ''));
}
