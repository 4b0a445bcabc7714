import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs, lstatSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isProcessAlive } from './state-transaction';

/**
 * Names that are legal on Linux but cannot exist on Windows (or collide on a case-insensitive volume): a state dir
 * made on Linux, WSL or a Linux-formatted disk can hold them, and a migration onto Windows, an exFAT/FAT/NTFS disk,
 * an SMB share or a default macOS volume would fail half-way or, worse, silently merge two files into one. Found
 * before anything moves (`state migrate` refuses), and reported by `state scan` and `doctor`.
 */

export type NameProblemKind =
  'reserved-name' | 'trailing-dot-or-space' | 'forbidden-character' | 'case-collision' | 'unopenable-name';

export interface NameProblem {
  kind: NameProblemKind;
  /** Relative posix path inside the tree (for a case collision: one of the colliding names). */
  rel: string;
  /** Absolute path of the offending entry. */
  path: string;
  /** Why it cannot exist at the target, in a few words. */
  reason: string;
  /** What to do about it. */
  fix: string;
  /** For a case collision: the other entry's relative path (and absolute path). */
  collidesWith?: string;
  collidesWithPath?: string;
}

/** The naming rules of the volume a tree is going to (or lives on), and why they apply. */
export interface NameRules {
  /** Windows naming rules (reserved device names, trailing dots/spaces, `<>:"|?*\` and control characters). */
  windows: boolean;
  /** Names that differ only by case are the same name. */
  caseInsensitive: boolean;
  /** Human-readable: why these rules apply (e.g. "the target is on Windows", "the target volume ignores case"). */
  because: string;
}

/** The device names Windows reserves in every directory, with or without an extension, in any case. */
const RESERVED = new Set([
  'CON',
  'PRN',
  'AUX',
  'NUL',
  ...Array.from({ length: 9 }, (_, i) => `COM${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `LPT${i + 1}`),
  // Windows also treats the superscript digits as device numbers (COM¹, LPT²…).
  ...['\u00b9', '\u00b2', '\u00b3'].flatMap((d) => [`COM${d}`, `LPT${d}`]),
  'CONIN$',
  'CONOUT$',
]);

const FORBIDDEN = /[<>:"|?*\\\u0000-\u001f]/;

function describeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x20 ? `control character U+${code.toString(16).padStart(4, '0').toUpperCase()}` : `"${c}"`;
}

/** Why `name` (one path component) cannot exist on Windows, or undefined when it can. */
export function windowsNameIssue(
  name: string,
): { kind: 'reserved-name' | 'trailing-dot-or-space' | 'forbidden-character'; reason: string } | undefined {
  const bad = FORBIDDEN.exec(name);
  if (bad) {
    return {
      kind: 'forbidden-character',
      reason: `it contains ${describeChar(bad[0])}, which Windows does not allow in a file name`,
    };
  }
  if (name !== '.' && name !== '..' && /[. ]$/.test(name)) {
    return {
      kind: 'trailing-dot-or-space',
      reason: `it ends with ${name.endsWith('.') ? 'a dot' : 'a space'}, which Windows strips (the file would be reached as "${name.replace(/[. ]+$/, '')}")`,
    };
  }
  // The device name is what comes before the first dot, trailing spaces ignored: "aux.json", "NUL .txt", "Com1.log".
  const stem = name.split('.')[0].replace(/ +$/, '').toUpperCase();
  if (RESERVED.has(stem)) {
    return {
      kind: 'reserved-name',
      reason: `"${stem}" is a device name Windows reserves in every folder (with any extension, in any case): the name opens the device, not a file`,
    };
  }
  return undefined;
}

/** The key two names share when a case-insensitive volume sees them as one. */
export function caseFoldKey(name: string): string {
  // Windows folds by upper-casing (NTFS's $UpCase table); macOS also ignores Unicode normalization.
  return name.normalize('NFC').toUpperCase();
}

function fixFor(kind: NameProblemKind, rel: string): string {
  switch (kind) {
    case 'case-collision':
      return `rename one of them (or merge them into one) in the source, then migrate`;
    case 'unopenable-name':
      return `rename it from the system that created it (Linux or WSL), then migrate`;
    default:
      return `rename "${rel.split('/').pop()}" to a name without it (in the source, on the system that created it), then migrate`;
  }
}

export interface FindNameProblemsOptions {
  /** Relative paths already at the target (a merge): a source name that differs from one only by case collides. */
  targetRels?: Iterable<string>;
  /** Names a directory listed that could not be opened by that name (Windows: a character it cannot represent). */
  unopenable?: Iterable<string>;
  /** Stop after this many problems (a tree of bad names should not produce a megabyte of text). */
  limit?: number;
}

/**
 * Every entry of a tree (relative posix paths, as walked) whose name cannot exist under `rules`: each component is
 * checked once (a bad directory name is reported for the directory, not for each file below it), and names that a
 * case-insensitive volume would merge are reported in pairs, within the tree and against the target's own names.
 */
export function findNameProblems(
  root: string,
  rels: Iterable<string>,
  rules: NameRules,
  options: FindNameProblemsOptions = {},
): NameProblem[] {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const problems: NameProblem[] = [];
  const full = (rel: string) => path.join(root, ...rel.split('/'));
  const add = (p: NameProblem) => {
    if (problems.length < limit) problems.push(p);
  };
  for (const rel of options.unopenable ?? []) {
    add({
      kind: 'unopenable-name',
      rel,
      path: full(rel),
      reason:
        'the directory lists it, but it cannot be opened by that name here (it holds a character Windows cannot represent, such as < > : " | ? * \\ or a control character)',
      fix: fixFor('unopenable-name', rel),
    });
  }
  const badDirs: string[] = [];
  // Folded path -> the first real path seen with it; target names first, so the source's name is the one reported.
  const folded = new Map<string, { rel: string; fromTarget: boolean }>();
  const foldPath = (rel: string) => rel.split('/').map(caseFoldKey).join('/');
  if (rules.caseInsensitive)
    for (const rel of options.targetRels ?? []) folded.set(foldPath(rel), { rel, fromTarget: true });
  for (const rel of rels) {
    if (problems.length >= limit) break;
    if (badDirs.some((d) => rel.startsWith(`${d}/`))) continue;
    if (rules.windows) {
      const issue = windowsNameIssue(rel.split('/').pop()!);
      if (issue) {
        add({ ...issue, rel, path: full(rel), fix: fixFor(issue.kind, rel) });
        badDirs.push(rel);
        continue;
      }
    }
    if (rules.caseInsensitive) {
      const key = foldPath(rel);
      const seen = folded.get(key);
      if (seen && seen.rel !== rel) {
        add({
          kind: 'case-collision',
          rel,
          path: full(rel),
          reason: `it differs from ${seen.fromTarget ? "the target's " : ''}"${seen.rel}" only by case: a volume that ignores case holds one of them, so one would overwrite the other`,
          fix: fixFor('case-collision', rel),
          collidesWith: seen.rel,
          collidesWithPath: seen.fromTarget ? undefined : full(seen.rel),
        });
        // Everything below a colliding directory collides too: reported once, for the directory.
        badDirs.push(rel);
        continue;
      }
      if (!seen) folded.set(key, { rel, fromTarget: false });
    }
  }
  return problems;
}

/** One line per problem, for a refusal or a report. */
export function describeNameProblem(p: NameProblem, rules?: NameRules): string {
  const where = p.collidesWithPath ? ` (and ${p.collidesWithPath})` : '';
  return `${p.path}${where}: ${p.reason}${rules ? ` (${rules.because})` : ''}; fix: ${p.fix}`;
}

// statfs magic numbers of file systems that follow Windows naming rules (Linux).
const WINDOWS_NAMED_FILESYSTEMS = new Map<number, string>([
  [0x4d44, 'FAT'],
  [0x2011bab0, 'exFAT'],
  [0x5346544e, 'NTFS'],
  [0xff534d42, 'SMB (CIFS)'],
  [0xfe534d42, 'SMB2'],
  [0x517b, 'SMB'],
]);

export interface NameRulesOptions {
  /** The platform the target is used from (default: this process's). */
  platform?: NodeJS.Platform;
  /** Skip the probe (a read-only check must not write): the platform's default is assumed. */
  probe?: boolean;
}

/**
 * The naming rules of the volume holding `dir` (or, if it does not exist yet, its nearest existing ancestor).
 * Windows rules apply on Windows and on a FAT/exFAT/NTFS/SMB volume mounted elsewhere. Whether names differ by case
 * is asked of the volume itself: a probe file is created and looked up in upper case (a per-directory case-sensitive
 * folder on Windows, a case-sensitive APFS volume or a Wine drive each answer for themselves). When the probe cannot
 * run, the platform's default is assumed (Windows and macOS ignore case). A simulated platform (tests of another
 * platform's logic) uses that platform's defaults.
 */
export async function nameRulesFor(dir: string, options: NameRulesOptions = {}): Promise<NameRules> {
  const platform = options.platform ?? process.platform;
  const simulated = platform !== process.platform;
  const defaultInsensitive = platform === 'win32' || platform === 'darwin';
  const existing = simulated ? dir : await existingDir(dir);
  let fsName: string | undefined;
  if (!simulated && process.platform === 'linux') {
    const type = await fs.statfs(existing).then(
      (s) => Number(s.type) >>> 0,
      () => undefined,
    );
    if (type !== undefined) fsName = WINDOWS_NAMED_FILESYSTEMS.get(type);
  }
  let caseInsensitive = defaultInsensitive || fsName !== undefined;
  let probed = false;
  if (!simulated && options.probe !== false) {
    const result = await probeCaseInsensitive(existing);
    if (result !== undefined) {
      caseInsensitive = result;
      probed = true;
    }
  }
  const windows = platform === 'win32' || fsName !== undefined;
  const parts: string[] = [];
  if (platform === 'win32') parts.push('the target is on Windows');
  else if (fsName) parts.push(`the target is on a ${fsName} volume, which follows Windows naming rules`);
  if (caseInsensitive && !windows)
    parts.push(probed ? 'the target volume ignores case' : `${platform} volumes ignore case by default`);
  return { windows, caseInsensitive, because: parts.join('; ') || 'the target volume accepts any name' };
}

const CASE_PROBE_PREFIX = '.clawdesk-case-probe-';

/** true/false when the volume answered, undefined when the probe could not run (read-only, permission). */
async function probeCaseInsensitive(dir: string): Promise<boolean | undefined> {
  // The pid in the name lets the next start tell a probe left by a killed process from one still in use.
  const name = `${CASE_PROBE_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  const lower = path.join(dir, name);
  const upper = path.join(dir, name.toUpperCase());
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(
      lower,
      fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | (fsConstants.O_NOFOLLOW ?? 0),
      0o600,
    );
  } catch {
    return undefined;
  }
  try {
    await handle.close();
    handle = undefined;
    const [a, b] = await Promise.all([fs.lstat(lower), fs.lstat(upper).catch(() => undefined)]);
    return b !== undefined && b.ino === a.ino && b.dev === a.dev;
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
    await fs.rm(lower, { force: true }).catch(() => undefined);
  }
}

/**
 * Removes case probes a killed process left in `dir` (or its nearest existing ancestor, where the probe went):
 * only empty regular files of ours whose process is gone, so nothing a person made is touched.
 */
export async function sweepStaleCaseProbes(dir: string): Promise<string[]> {
  const existing = await existingDir(dir);
  const removed: string[] = [];
  for (const name of await fs.readdir(existing).catch(() => [] as string[])) {
    const match = /^\.clawdesk-case-probe-(\d+)-[0-9a-f]{8}$/.exec(name);
    // Our own pid counts as alive here: a probe of this process may be running beside the sweep.
    const pid = Number(match?.[1]);
    if (!match || pid === process.pid || isProcessAlive(pid, os.hostname())) continue;
    const full = path.join(existing, name);
    const st = await fs.lstat(full).catch(() => undefined);
    if (!st?.isFile() || st.size !== 0 || (process.getuid && st.uid !== process.getuid())) continue;
    await fs.rm(full, { force: true });
    removed.push(full);
  }
  return removed;
}

async function existingDir(dir: string): Promise<string> {
  let current = path.resolve(dir);
  for (;;) {
    const st = await fs.stat(current).catch(() => undefined);
    if (st?.isDirectory()) return current;
    const parent = path.dirname(current);
    if (parent === current) return current;
    current = parent;
  }
}

/** Every rule at once: what a move to Windows, a FAT/exFAT/NTFS/SMB volume or a case-insensitive volume refuses. */
export const PORTABLE_NAME_RULES: NameRules = {
  windows: true,
  caseInsensitive: true,
  because: 'on Windows, FAT/exFAT/NTFS/SMB volumes and case-insensitive volumes (default macOS)',
};

/** Whether a problem found under PORTABLE_NAME_RULES also breaks the tree where it is now (under `here`). */
export function appliesUnder(problem: NameProblem, here: NameRules): boolean {
  if (problem.kind === 'unopenable-name') return true;
  if (problem.kind === 'case-collision') return here.caseInsensitive;
  return here.windows;
}

export interface TreeNamesReport {
  /** The rules of the volume the tree is on (no probe: a scan does not write). */
  rules: NameRules;
  /** Problems under PORTABLE_NAME_RULES; `appliesHere` when they break the tree on its own volume too. */
  problems: Array<NameProblem & { appliesHere: boolean }>;
  /** The walk stopped at its entry limit: there may be more. */
  truncated: boolean;
}

/**
 * Walks `root` without following links (at most `limit` entries) and lists the names a move to Windows or a
 * case-insensitive volume would refuse (for `state scan` and `doctor`). Read-only.
 */
export async function scanTreeNames(
  root: string,
  options: { platform?: NodeJS.Platform; limit?: number; maxProblems?: number } = {},
): Promise<TreeNamesReport> {
  const limit = options.limit ?? 20_000;
  const rules = await nameRulesFor(root, { platform: options.platform, probe: false });
  const rels: string[] = [];
  const unopenable: string[] = [];
  let truncated = false;
  const stack = [''];
  while (stack.length > 0 && !truncated) {
    const rel = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(rel ? path.join(root, ...rel.split('/')) : root);
    } catch {
      continue;
    }
    names.sort();
    for (const name of names) {
      if (rels.length + unopenable.length >= limit) {
        truncated = true;
        break;
      }
      const childRel = rel ? `${rel}/${name}` : name;
      let st;
      try {
        st = lstatSync(path.join(root, ...childRel.split('/')));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && process.platform === 'win32')
          unopenable.push(childRel);
        continue;
      }
      rels.push(childRel);
      if (st.isDirectory()) stack.push(childRel);
    }
  }
  // Parents before children (the walk above is depth-first from a stack), so a bad directory hides its contents.
  rels.sort();
  const problems = findNameProblems(root, rels, PORTABLE_NAME_RULES, {
    unopenable,
    limit: options.maxProblems ?? 50,
  }).map((p) => ({ ...p, appliesHere: appliesUnder(p, rules) }));
  return { rules, problems, truncated };
}
