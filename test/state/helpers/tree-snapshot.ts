import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

/**
 * A content snapshot of a directory (links not followed) with `root` replaced by `<ROOT>` inside file contents and
 * link targets, so trees built under different temp roots compare equal when they are "the same state".
 */
export function snapshot(dir: string, root: string): Record<string, string> | 'missing' | { link: string } {
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return 'missing';
  }
  if (st.isSymbolicLink()) return { link: readlinkSync(dir).split(root).join('<ROOT>') };
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const full = path.join(dir, childRel);
      const s = lstatSync(full);
      if (s.isSymbolicLink()) out[childRel] = `link:${readlinkSync(full).split(root).join('<ROOT>')}`;
      else if (s.isDirectory()) {
        out[childRel] = `dir:${(s.mode & 0o777).toString(8)}`;
        walk(childRel);
      } else {
        const text = readFileSync(full, 'utf8').split(root).join('<ROOT>');
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
    /\.staging-|\.old-|\.restoring-|\.link-|clawdesk-migration\.json|^\.clawdesk-case-probe-|^\.partial-|\.unexpected-/.test(
      n,
    ),
  );
}
