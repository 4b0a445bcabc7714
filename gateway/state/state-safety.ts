import { constants as fsConstants, promises as fs, Stats } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILENAME, LEGACY_CONFIG_FILENAMES, isPathInside } from './state-paths';

/**
 * Is a state directory safe to take trust from? A state dir decides who may pair and what may run, so a directory
 * another local user can change (owned by them, or reachable through a directory they can write to) must not be
 * merged into the active state, and a symbolic link inside it must never lead a read or a write out of the tree.
 * Used by `state migrate` (which refuses) and `doctor` (which reports).
 */

export type SafetyProblemKind =
  | 'foreign-owner'
  | 'writable-ancestor'
  | 'foreign-ancestor'
  | 'writable-dir'
  | 'writable-trust-file'
  | 'trust-path-link'
  | 'link-leaves-tree';

export interface SafetyProblem {
  kind: SafetyProblemKind;
  /** Absolute path of the offending entry. */
  path: string;
  /** One sentence: what is wrong and why it matters. */
  message: string;
  /** Refuses a migration (everything but a link leaving the tree outside trust paths, which is neutralised). */
  blocking: boolean;
}

/** Relative paths holding trust state: a link there is refused whatever it points to. */
const TRUST_FILES = new Set<string>([
  CONFIG_FILENAME,
  ...LEGACY_CONFIG_FILENAMES,
  '.env',
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
const TRUST_DIRS = new Set<string>(['identity', 'devices', 'nodes', 'credentials']);

/** Whether `rel` (posix, relative to the state dir) is trust state or a directory holding it. */
export function isTrustPath(rel: string): boolean {
  if (TRUST_FILES.has(rel) || TRUST_DIRS.has(rel)) return true;
  const top = rel.split('/')[0];
  return top === 'credentials' || top === 'identity';
}

/** Files whose copies must be written fresh with mode 0600 (trust files and everything under credentials/identity). */
export function isSecretPath(rel: string): boolean {
  return isTrustPath(rel) && !TRUST_DIRS.has(rel);
}

export interface SafetyOptions {
  /** The uid that must own the tree (default: this process's). Undefined on Windows: ownership is not checked. */
  uid?: number;
  platform?: NodeJS.Platform;
}

function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

function ownerLabel(uid: number): string {
  return `uid ${uid}`;
}

/**
 * Checks `dir` itself and every directory above it (both along the path as given and along its real path, so a
 * link in a safe place pointing into an unsafe one is caught): each ancestor must be owned by root or `uid` and
 * not writable by group or others unless its sticky bit is set; `dir` itself must be owned by `uid` and not
 * writable by group or others — a sticky bit is no excuse there, since the state dir's own entries are what
 * another user would replace.
 */
export async function checkDirAndAncestors(dir: string, options: SafetyOptions = {}): Promise<SafetyProblem[]> {
  const platform = options.platform ?? process.platform;
  const uid = options.uid ?? currentUid();
  if (platform === 'win32' || uid === undefined) return [];
  const problems: SafetyProblem[] = [];
  const seen = new Set<string>();
  const resolved = path.resolve(dir);
  const real = await fs.realpath(resolved).catch(() => resolved);

  let self: Stats | undefined;
  try {
    self = await fs.stat(real);
  } catch {
    self = undefined;
  }
  if (self) {
    if (self.uid !== uid) {
      problems.push({
        kind: 'foreign-owner',
        path: real,
        message: `${real} is owned by ${ownerLabel(self.uid)}, not by you (${ownerLabel(uid)}): its owner can change the trust state in it at any time`,
        blocking: true,
      });
    }
    if ((self.mode & 0o022) !== 0) {
      problems.push({
        kind: 'writable-dir',
        path: real,
        message: `${real} is writable by ${(self.mode & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${octal(self.mode)}${(self.mode & 0o1000) !== 0 ? '; the sticky bit does not protect the state files in it' : ''}): another user can add or replace its entries`,
        blocking: true,
      });
    }
  }

  for (const start of new Set([resolved, real])) {
    let current = path.dirname(start);
    for (;;) {
      if (!seen.has(current)) {
        seen.add(current);
        const st = await fs.stat(current).catch(() => undefined);
        if (st) {
          const sticky = (st.mode & 0o1000) !== 0;
          if (st.uid !== uid && st.uid !== 0) {
            problems.push({
              kind: 'foreign-ancestor',
              path: current,
              message: `${current}, a directory above ${resolved}, is owned by ${ownerLabel(st.uid)}: its owner can replace ${resolved} with a directory of their own`,
              blocking: true,
            });
          } else if ((st.mode & 0o022) !== 0 && !sticky) {
            problems.push({
              kind: 'writable-ancestor',
              path: current,
              message: `${current}, a directory above ${resolved}, is writable by ${(st.mode & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${octal(st.mode)}, no sticky bit): another user can replace ${resolved} with a directory of their own`,
              blocking: true,
            });
          }
        }
      }
      const parent = path.dirname(current);
      if (parent === current) break;
      current = parent;
    }
  }
  return problems;
}

export interface TreeEntry {
  rel: string;
  stat: Stats;
}

/** Where a link inside `root` leads: its real target when it resolves, else its target resolved by name. */
export async function linkDestination(
  root: string,
  rel: string,
): Promise<{ target: string; resolved: string; inside: boolean }> {
  const full = path.join(root, ...rel.split('/'));
  const target = await fs.readlink(full);
  const lexical = path.resolve(path.dirname(full), target);
  let inside = isPathInside(process.platform, root, lexical);
  let resolved = lexical;
  try {
    resolved = await fs.realpath(full);
    inside = inside && isPathInside(process.platform, root, resolved);
  } catch {
    // Dangling or circular: judged by name (a dangling link whose name stays inside cannot lead out today).
  }
  return { target, resolved, inside };
}

/**
 * Checks the entries of a tree walked without following links (`root` must be a real path): every entry owned by
 * `uid`; no directory writable by group or others; no trust file writable by group or others; no link on a trust
 * path; and every link that leads out of the tree reported (blocking on a trust path, neutralised elsewhere).
 */
export async function checkTreeEntries(
  root: string,
  entries: readonly TreeEntry[],
  options: SafetyOptions = {},
): Promise<SafetyProblem[]> {
  const platform = options.platform ?? process.platform;
  const uid = platform === 'win32' ? undefined : (options.uid ?? currentUid());
  const problems: SafetyProblem[] = [];
  for (const { rel, stat } of entries) {
    const full = path.join(root, ...rel.split('/'));
    if (uid !== undefined && stat.uid !== uid) {
      problems.push({
        kind: 'foreign-owner',
        path: full,
        message: `${full} is owned by ${ownerLabel(stat.uid)}, not by you (${ownerLabel(uid)})`,
        blocking: true,
      });
      continue;
    }
    if (stat.isSymbolicLink()) {
      const where = await linkDestination(root, rel).catch(() => undefined);
      if (isTrustPath(rel)) {
        problems.push({
          kind: 'trust-path-link',
          path: full,
          message: `${full} is a symbolic link${where ? ` (to ${where.target})` : ''}: trust state must be a real ${TRUST_DIRS.has(rel) ? 'directory' : 'file'} inside the state dir, never reached through a link`,
          blocking: true,
        });
      } else if (!where || !where.inside) {
        problems.push({
          kind: 'link-leaves-tree',
          path: full,
          message: `${full} is a symbolic link leading out of the state dir (to ${where?.target ?? 'an unreadable target'})`,
          blocking: false,
        });
      }
      continue;
    }
    if (platform === 'win32') continue;
    if (stat.isDirectory() && (stat.mode & 0o022) !== 0) {
      problems.push({
        kind: 'writable-dir',
        path: full,
        message: `${full} is writable by ${(stat.mode & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${octal(stat.mode)}): another user can add or replace entries in it`,
        blocking: true,
      });
    } else if (stat.isFile() && isSecretPath(rel) && (stat.mode & 0o022) !== 0) {
      problems.push({
        kind: 'writable-trust-file',
        path: full,
        message: `${full} holds trust state and is writable by ${(stat.mode & 0o002) !== 0 ? 'every user' : 'its group'} (mode ${octal(stat.mode)}): its content cannot be trusted`,
        blocking: true,
      });
    }
  }
  return problems;
}

/** Walks a tree without following links, stopping after `limit` entries (doctor must stay quick on big dirs). */
export async function walkTreeLimited(
  root: string,
  limit: number,
): Promise<{ entries: TreeEntry[]; truncated: boolean }> {
  const entries: TreeEntry[] = [];
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const names = await fs.readdir(rel ? path.join(root, rel) : root).catch(() => [] as string[]);
    names.sort();
    for (const name of names) {
      if (entries.length >= limit) return { entries, truncated: true };
      const childRel = rel ? `${rel}/${name}` : name;
      const st = await fs.lstat(path.join(root, childRel)).catch(() => undefined);
      if (!st) continue;
      entries.push({ rel: childRel, stat: st });
      if (st.isDirectory()) stack.push(childRel);
    }
  }
  return { entries, truncated: false };
}

export interface ChmodNoFollowResult {
  outcome: 'changed' | 'unchanged' | 'is-link' | 'not-file-or-dir' | 'missing';
  before?: number;
  after?: number;
  /** For 'is-link': where it points. */
  linkTarget?: string;
}

/**
 * Clears `clearBits` (permission bits only, within 0o777) on `p` without ever following a symbolic link, and leaves
 * every other bit (owner bits, setuid/setgid, sticky) exactly as it was. The file is opened with O_NOFOLLOW and
 * changed through that descriptor, so a link swapped in after the check is not followed either. A link is reported,
 * never changed.
 */
export async function clearModeBitsNoFollow(p: string, clearBits: number): Promise<ChmodNoFollowResult> {
  const bits = clearBits & 0o777;
  const lst = await fs.lstat(p).catch((error: NodeJS.ErrnoException) => error);
  if (lst instanceof Error) {
    if (lst.code === 'ENOENT') return { outcome: 'missing' };
    throw lst;
  }
  if (lst.isSymbolicLink()) return { outcome: 'is-link', linkTarget: await fs.readlink(p).catch(() => undefined) };
  if (!lst.isFile() && !lst.isDirectory()) return { outcome: 'not-file-or-dir', before: lst.mode & 0o7777 };
  const noFollow = fsConstants.O_NOFOLLOW;
  if (noFollow === undefined) throw new Error(`cannot change ${p} safely on this platform (no O_NOFOLLOW)`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(p, fsConstants.O_RDONLY | noFollow | (fsConstants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK')
      return { outcome: 'is-link', linkTarget: await fs.readlink(p).catch(() => undefined) };
    if (code !== 'EACCES') throw error;
    // Not readable by its owner (e.g. mode 0044): no descriptor to change it through. chmod by name is safe only
    // while the entry is still the very file checked above.
    const again = await fs.lstat(p);
    if (again.isSymbolicLink() || again.ino !== lst.ino || again.dev !== lst.dev)
      return { outcome: 'is-link', linkTarget: await fs.readlink(p).catch(() => undefined) };
    const before = again.mode & 0o7777;
    const after = before & ~bits;
    if (after === before) return { outcome: 'unchanged', before, after };
    await fs.chmod(p, after);
    return { outcome: 'changed', before, after };
  }
  try {
    const st = await handle.stat();
    if (st.ino !== lst.ino || st.dev !== lst.dev) return { outcome: 'not-file-or-dir', before: st.mode & 0o7777 };
    if (!st.isFile() && !st.isDirectory()) return { outcome: 'not-file-or-dir', before: st.mode & 0o7777 };
    const before = st.mode & 0o7777;
    const after = before & ~bits;
    if (after === before) return { outcome: 'unchanged', before, after };
    await handle.chmod(after);
    return { outcome: 'changed', before, after };
  } finally {
    await handle.close();
  }
}
