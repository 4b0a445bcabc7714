import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * A content snapshot of a directory (links not followed) with `root` replaced by `<ROOT>` inside file contents and
 * link targets, so trees built under different temp roots compare equal when they are "the same state".
 */
export function snapshot(
  dir: string,
  root: string,
  /** More roots to name, in contents and link targets (a target on another volume). */
  named: ReadonlyArray<[path: string, name: string]> = [],
): Record<string, string> | 'missing' | { link: string } {
  const named_ = (text: string) =>
    [[root, '<ROOT>'] as const, ...named].reduce((t, [from, to]) => t.split(from).join(to), text);
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return 'missing';
  }
  if (st.isSymbolicLink()) return { link: named_(readlinkSync(dir)) };
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const full = path.join(dir, childRel);
      const s = lstatSync(full);
      if (s.isSymbolicLink()) out[childRel] = `link:${named_(readlinkSync(full))}`;
      else if (s.isDirectory()) {
        out[childRel] = `dir:${(s.mode & 0o777).toString(8)}`;
        walk(childRel);
      } else {
        const text = named_(readFileSync(full, 'utf8'));
        out[childRel] =
          `file:${(s.mode & 0o777).toString(8)}:${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
      }
    }
  };
  walk('');
  return out;
}

/** Names in a directory that betray an unfinished transaction (staging, aside copies, journals, link temps, partial backups). */
export function leftovers(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) =>
    /\.staging-|\.old-|\.restoring-|\.link-|clawdesk-migration\.json|^\.clawdesk-case-probe-|^\.partial-|\.unexpected-|\.moved-back-/.test(
      n,
    ),
  );
}
