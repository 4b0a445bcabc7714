import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * OpenClaw's state-directory resolution (docs/state-and-secrets.md § Where OpenClaw's state is), reproduced exactly so
 * Clawdesk, the openclaw CLI and the embedded gateway agree on where trust state lives. Everything goes through the
 * path API of the *target* platform (path.win32 / path.posix), never the host's, so the Windows rules are exercised on
 * Linux.
 */

/** Everything resolution depends on, injectable so each OS layout can be tested on any machine. */
export interface PathEnvironment {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  osHomedir: string;
  cwd: string;
  exists: (p: string) => boolean;
}

export type StateDirSource = 'env' | 'profile' | 'default' | 'legacy' | 'default-missing';

export interface ResolvedStateDir {
  stateDir: string;
  source: StateDirSource;
  home: string;
}

export const STATE_DIRNAME = '.openclaw';
/** Legacy dirs OpenClaw still falls back to when resolving. */
export const LEGACY_STATE_DIRNAMES = ['.clawdbot'] as const;
/** Older names OpenClaw no longer reads; the scan and doctor still report them. */
export const RETIRED_STATE_DIRNAMES = ['.moltbot', '.moldbot'] as const;
export const CONFIG_FILENAME = 'openclaw.json';
export const LEGACY_CONFIG_FILENAMES = ['clawdbot.json'] as const;
export const DEFAULT_PROFILE = 'default';

/** Profile names become directory names; keep them to a portable, traversal-free alphabet. */
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export class InvalidProfileError extends Error {
  readonly code = 'INVALID_PROFILE';
  constructor(readonly profile: string) {
    super(
      `invalid profile name "${profile}": use letters, digits, "-" and "_" (at most 64, starting with a letter or digit)`,
    );
  }
}

export function pathApi(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/**
 * Reads an environment variable the way the target OS does: Windows variable names are case-insensitive.
 * Blank values count as unset, as in OpenClaw.
 */
export function envValue(pe: Pick<PathEnvironment, 'env' | 'platform'>, name: string): string | undefined {
  let value = pe.env[name];
  if (value === undefined && pe.platform === 'win32') {
    const upper = name.toUpperCase();
    for (const [key, candidate] of Object.entries(pe.env)) {
      if (key.toUpperCase() === upper && candidate !== undefined) {
        value = candidate;
        break;
      }
    }
  }
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** The OS home as OpenClaw sees it before OPENCLAW_HOME: HOME, then USERPROFILE, then os.homedir(), then cwd. */
function resolveOsHome(pe: PathEnvironment): string {
  const p = pathApi(pe.platform);
  const raw = envValue(pe, 'HOME') ?? envValue(pe, 'USERPROFILE') ?? (pe.osHomedir.trim() || undefined) ?? pe.cwd;
  return p.resolve(pe.cwd, raw);
}

function startsWithTilde(value: string, platform: NodeJS.Platform): boolean {
  if (value === '~') return true;
  if (value.startsWith('~/')) return true;
  return platform === 'win32' && value.startsWith('~\\');
}

/** Expands a leading `~` against `home` and makes the result absolute against `cwd`. */
export function expandUserPath(value: string, home: string, pe: Pick<PathEnvironment, 'platform' | 'cwd'>): string {
  const p = pathApi(pe.platform);
  const trimmed = value.trim();
  if (startsWithTilde(trimmed, pe.platform)) {
    return p.resolve(home, trimmed === '~' ? '.' : trimmed.slice(2));
  }
  return p.resolve(pe.cwd, trimmed);
}

/**
 * Home: OPENCLAW_HOME (a leading `~` means the OS home), else HOME, else USERPROFILE, else the OS home, else cwd.
 * HOME before USERPROFILE on Windows too: a HOME exported by Git Bash/MSYS moves OpenClaw's state dir.
 */
export function resolveHomeDir(pe: PathEnvironment): string {
  const osHome = resolveOsHome(pe);
  const explicit = envValue(pe, 'OPENCLAW_HOME');
  if (explicit) return expandUserPath(explicit, osHome, pe);
  return osHome;
}

/** `<home>/.openclaw-<profile>`, or `<home>/.openclaw` for the default profile. */
export function profileStateDir(pe: PathEnvironment, profile: string, home = resolveHomeDir(pe)): string {
  const p = pathApi(pe.platform);
  if (profile === DEFAULT_PROFILE) return p.join(home, STATE_DIRNAME);
  if (!PROFILE_NAME.test(profile)) throw new InvalidProfileError(profile);
  return p.join(home, `${STATE_DIRNAME}-${profile}`);
}

/**
 * State dir: OPENCLAW_STATE_DIR (`~` expands against the resolved home), else the profile's dir when a profile is
 * given (OpenClaw's --profile only fills OPENCLAW_STATE_DIR when it is unset), else `<home>/.openclaw` if it
 * exists, else the first existing legacy dir, else `<home>/.openclaw` (not yet created).
 */
export function resolveStateDir(pe: PathEnvironment, opts: { profile?: string } = {}): ResolvedStateDir {
  const p = pathApi(pe.platform);
  const home = resolveHomeDir(pe);
  const override = envValue(pe, 'OPENCLAW_STATE_DIR');
  if (override) return { stateDir: expandUserPath(override, home, pe), source: 'env', home };

  const profile = opts.profile?.trim();
  if (profile && profile !== DEFAULT_PROFILE) {
    return { stateDir: profileStateDir(pe, profile, home), source: 'profile', home };
  }

  const preferred = p.join(home, STATE_DIRNAME);
  // OpenClaw's fast test mode skips the existence probes and always takes the new name.
  if (envValue(pe, 'OPENCLAW_TEST_FAST') === '1') return { stateDir: preferred, source: 'default', home };
  if (pe.exists(preferred)) return { stateDir: preferred, source: 'default', home };
  for (const legacy of LEGACY_STATE_DIRNAMES) {
    const candidate = p.join(home, legacy);
    if (pe.exists(candidate)) return { stateDir: candidate, source: 'legacy', home };
  }
  return { stateDir: preferred, source: 'default-missing', home };
}

/** Config: OPENCLAW_CONFIG_PATH, else `<stateDir>/openclaw.json`, else legacy `clawdbot.json` if only it exists. */
export function resolveConfigPath(pe: PathEnvironment, stateDir: string): string {
  const p = pathApi(pe.platform);
  const override = envValue(pe, 'OPENCLAW_CONFIG_PATH');
  if (override) return expandUserPath(override, resolveHomeDir(pe), pe);
  const preferred = p.join(stateDir, CONFIG_FILENAME);
  if (pe.exists(preferred)) return preferred;
  for (const legacy of LEGACY_CONFIG_FILENAMES) {
    const candidate = p.join(stateDir, legacy);
    if (pe.exists(candidate)) return candidate;
  }
  return preferred;
}

/** Compares two absolute paths as the target OS does: case-insensitively on Windows (and by default on macOS). */
export function samePath(platform: NodeJS.Platform, a: string, b: string): boolean {
  const p = pathApi(platform);
  const na = p.normalize(p.resolve(a)).replace(/[\\/]+$/, '');
  const nb = p.normalize(p.resolve(b)).replace(/[\\/]+$/, '');
  if (platform === 'win32' || platform === 'darwin') return na.toLowerCase() === nb.toLowerCase();
  return na === nb;
}

/** True when `child` is `parent` or lies inside it (same comparison rules as samePath). */
export function isPathInside(platform: NodeJS.Platform, parent: string, child: string): boolean {
  const p = pathApi(platform);
  const fold = platform === 'win32' || platform === 'darwin' ? (s: string) => s.toLowerCase() : (s: string) => s;
  const rel = p.relative(fold(p.resolve(parent)), fold(p.resolve(child)));
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${p.sep}`) && !p.isAbsolute(rel));
}

/**
 * Clawdesk's own data dir (secret vault, backend record, identity record): `clawdesk/` inside the resolved state
 * dir, so each profile has its own and backups/migrations carry it along. The same layout as
 * gateway/identity/clawdesk-identity.ts (`clawdeskDataDir(stateDir)`). CLAWDESK_DATA_DIR overrides it.
 */
export function resolveClawdeskDataDir(pe: PathEnvironment, opts: { profile?: string } = {}): string {
  const override = envValue(pe, 'CLAWDESK_DATA_DIR');
  if (override) return expandUserPath(override, resolveOsHome(pe), pe);
  return pathApi(pe.platform).join(resolveStateDir(pe, opts).stateDir, CLAWDESK_DATA_DIRNAME);
}

export const CLAWDESK_DATA_DIRNAME = 'clawdesk';

/** The OS home without OPENCLAW_HOME (HOME, USERPROFILE, os.homedir(), cwd), for things that ignore OPENCLAW_HOME. */
export function resolveOsHomeDir(pe: PathEnvironment): string {
  return resolveOsHome(pe);
}

export function currentPathEnvironment(): PathEnvironment {
  return {
    env: process.env,
    platform: process.platform,
    osHomedir: safeOsHomedir(),
    cwd: process.cwd(),
    exists: (p) => existsSync(p),
  };
}

function safeOsHomedir(): string {
  try {
    return os.homedir();
  } catch {
    // os.homedir() throws when the user has no passwd entry (some containers); OpenClaw then falls back to cwd.
    return '';
  }
}
