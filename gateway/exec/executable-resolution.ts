import { accessSync, constants as fsConstants, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Finds the file a command name runs, the way the target OS does: PATH on POSIX, PATH × PATHEXT on Windows
 * (rules written against path.win32 so they are exercised on any host). The file system is injectable.
 */

export interface FileProbe {
  /** null when nothing is there; `executable` is the POSIX X bit (Windows ignores it). */
  stat(p: string): { isFile: boolean; executable: boolean } | null;
  realpath(p: string): string | null;
  /** Who owns the file and which file it is (symlinks followed); null when unknown. */
  identity?(p: string): FileIdentity | null;
}

/** What pins a file: a changed dev/ino/size/mtime is a different program. uid and mode decide trust. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  uid: number;
  mode: number;
}

export const hostFileProbe: FileProbe = {
  stat(p) {
    try {
      const st = statSync(p);
      if (!st.isFile()) return { isFile: false, executable: false };
      let executable = true;
      if (process.platform !== 'win32') {
        try {
          accessSync(p, fsConstants.X_OK);
        } catch {
          executable = false;
        }
      }
      return { isFile: true, executable };
    } catch {
      return null;
    }
  },
  realpath(p) {
    try {
      return realpathSync.native(p);
    } catch {
      return null;
    }
  },
  identity(p) {
    try {
      const st = statSync(p);
      return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, uid: st.uid, mode: st.mode };
    } catch {
      return null;
    }
  },
};

export function sameIdentity(a: FileIdentity | null, b: FileIdentity | null): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export interface ResolveContext {
  platform: NodeJS.Platform;
  env: Record<string, string | undefined>;
  cwd: string;
  home: string;
  probe?: FileProbe;
}

export const DEFAULT_PATHEXT = '.COM;.EXE;.BAT;.CMD';

export function pathFor(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** Environment lookup; Windows names are case-insensitive. */
export function envLookup(
  env: Record<string, string | undefined>,
  name: string,
  platform: NodeJS.Platform,
): string | undefined {
  if (platform !== 'win32') return env[name];
  const upper = name.toUpperCase();
  for (const [key, value] of Object.entries(env)) if (key.toUpperCase() === upper) return value;
  return undefined;
}

export function hasPathSeparator(name: string, platform: NodeJS.Platform): boolean {
  return name.includes('/') || (platform === 'win32' && name.includes('\\'));
}

function pathExtensions(ctx: ResolveContext): string[] {
  const raw = envLookup(ctx.env, 'PATHEXT', 'win32') || DEFAULT_PATHEXT;
  return raw
    .split(';')
    .map((ext) => ext.trim())
    .filter((ext) => ext.startsWith('.'));
}

function candidatesFor(base: string, ctx: ResolveContext): string[] {
  if (ctx.platform !== 'win32') return [base];
  const exts = pathExtensions(ctx);
  const ext = path.win32.extname(base).toLowerCase();
  // A name that already carries a PATHEXT extension is tried as is first; otherwise each extension in order.
  if (ext && exts.some((e) => e.toLowerCase() === ext)) return [base];
  return exts.map((e) => base + e.toLowerCase());
}

function usable(candidate: string, ctx: ResolveContext): boolean {
  const st = (ctx.probe ?? hostFileProbe).stat(candidate);
  if (!st || !st.isFile) return false;
  return ctx.platform === 'win32' || st.executable;
}

/**
 * PATH with only absolute entries, in order, without duplicates: what Clawdesk resolves with, and what every command
 * (a shell payload included) runs with, so a shell can never find a program the analyser did not see.
 */
export function absolutePathEntries(env: Record<string, string | undefined>, platform: NodeJS.Platform): string {
  const p = pathFor(platform);
  const delimiter = platform === 'win32' ? ';' : ':';
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of (envLookup(env, 'PATH', platform) ?? '').split(delimiter)) {
    const dir = raw.trim().replace(/^"(.*)"$/, '$1');
    if (!dir || !p.isAbsolute(dir) || dir.includes('\u0000')) continue;
    const key = platform === 'win32' ? dir.toLowerCase() : dir;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(dir);
  }
  return out.join(delimiter);
}

/** The absolute path `name` runs as, or null. */
export function resolveExecutable(name: string, ctx: ResolveContext): string | null {
  if (!name || name.includes('\u0000')) return null;
  const p = pathFor(ctx.platform);
  if (hasPathSeparator(name, ctx.platform) || name.startsWith('~')) {
    const expanded = expandTilde(name, ctx.home, ctx.platform);
    const absolute = p.resolve(ctx.cwd, expanded);
    for (const candidate of candidatesFor(absolute, ctx)) if (usable(candidate, ctx)) return candidate;
    return null;
  }
  const searchPath = envLookup(ctx.env, 'PATH', ctx.platform) ?? '';
  const delimiter = ctx.platform === 'win32' ? ';' : ':';
  for (const rawDir of searchPath.split(delimiter)) {
    const dir = rawDir.trim().replace(/^"(.*)"$/, '$1');
    // An empty PATH element means the cwd on POSIX; never search it, a planted binary must not win.
    if (!dir || !p.isAbsolute(dir)) continue;
    for (const candidate of candidatesFor(p.join(dir, name), ctx)) if (usable(candidate, ctx)) return candidate;
  }
  return null;
}

export function expandTilde(value: string, home: string, platform: NodeJS.Platform): string {
  if (value === '~') return home;
  if (value.startsWith('~/') || (platform === 'win32' && value.startsWith('~\\'))) {
    return pathFor(platform).join(home, value.slice(2));
  }
  return value;
}
