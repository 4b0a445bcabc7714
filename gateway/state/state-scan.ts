import { lstatSync, readdirSync, promises as fs } from 'node:fs';
import {
  DEFAULT_PROFILE,
  LEGACY_STATE_DIRNAMES,
  PathEnvironment,
  RETIRED_STATE_DIRNAMES,
  STATE_DIRNAME,
  envValue,
  expandUserPath,
  isPathInside,
  pathApi,
  resolveClawdeskDataDir,
  resolveConfigPath,
  resolveOsHomeDir,
  resolveStateDir,
  samePath,
  StateDirSource,
} from './state-paths';
import { TreeNamesReport, scanTreeNames } from './state-names';
import { STATE_ITEMS, StateItem, itemSpec, locateItem, parserFor, readStateJson } from './state-files';

/**
 * Finds every directory that may hold OpenClaw state for this user and says what each holds and who uses it.
 * Read-only. Directories are compared by realpath, so a symlinked home or a legacy link to the new dir is an alias,
 * not a second state dir (docs/state-and-secrets.md § Looking around: `clawdesk state scan`).
 */

export type Component = 'openclaw-cli' | 'embedded-gateway' | 'exec-approvals-baseline' | 'macos-app';

export interface ScannedItem {
  item: StateItem;
  path: string;
  bytes: number;
  mtimeMs: number;
  /** File mode bits (POSIX), for the permission check. */
  mode: number;
  status: 'ok' | 'corrupt' | 'unreadable';
  error?: string;
  /** Entries in a map file (paired devices, pending requests, ...) or files under a directory item. */
  entries?: number;
  /** identity/device.json and device-auth.json: the deviceId they name. */
  deviceId?: string;
  /** identity/device.json: the deviceId re-derived from its public key. */
  derivedDeviceId?: string;
  /** pending files: requests older than the 5-minute TTL. */
  expiredEntries?: number;
}

export type DirKind = 'dir' | 'file' | 'missing' | 'unreadable' | 'symlink-loop' | 'broken-symlink';

export interface ScannedDir {
  path: string;
  reasons: string[];
  kind: DirKind;
  isLink: boolean;
  linkTarget?: string;
  realPath?: string;
  /** Another scanned path that resolves to the same directory. */
  aliasOf?: string;
  usedBy: Component[];
  items: ScannedItem[];
  /** Corrupt files moved aside earlier (`<file>.corrupt-<stamp>`). */
  quarantined: string[];
  mode?: number;
  inOneDrive: boolean;
  error?: string;
  /**
   * Names that cannot exist on Windows or collide on a case-insensitive volume (a migration there refuses them);
   * `appliesHere` when they already break this dir on its own volume. Not set for aliases and dirs not read.
   */
  names?: TreeNamesReport;
}

export interface StateScan {
  platform: NodeJS.Platform;
  home: string;
  osHome: string;
  active: { stateDir: string; source: StateDirSource; configPath: string; profile?: string };
  /** Where baseline OpenClaw reads exec approvals: always `<home>/.openclaw`, whatever OPENCLAW_STATE_DIR says. */
  baselineExecApprovalsDir: string;
  clawdeskDataDir: string;
  dirs: ScannedDir[];
}

export interface ScanOptions {
  profile?: string;
  /** The state dir the embedded gateway uses, if it differs from the CLI's resolution. */
  embeddedGatewayStateDir?: string;
  /** Lists a directory's entry names; defaults to fs.readdirSync (errors → empty). */
  listDir?: (dir: string) => string[];
  /** Existence without following links, so a dangling or circular link is still reported (default: lstat). */
  lexists?: (p: string) => boolean;
  now?: () => number;
}

interface Candidate {
  path: string;
  reasons: string[];
}

/** Every place worth looking at, with why; pure apart from `pe.exists` and `listDir`. */
export function listCandidates(pe: PathEnvironment, options: ScanOptions = {}): Candidate[] {
  const p = pathApi(pe.platform);
  const listDir = options.listDir ?? defaultListDir;
  const out: Candidate[] = [];
  const lexists = options.lexists ?? (() => false);
  const add = (dir: string, reason: string, always = false) => {
    if (!always && !pe.exists(dir) && !lexists(dir)) return;
    const existing = out.find((c) => samePath(pe.platform, c.path, dir));
    if (existing) {
      if (!existing.reasons.includes(reason)) existing.reasons.push(reason);
    } else {
      out.push({ path: dir, reasons: [reason] });
    }
  };

  const active = resolveStateDir(pe, { profile: options.profile });
  add(active.stateDir, `active (${active.source})`, true);
  const stateEnv = envValue(pe, 'OPENCLAW_STATE_DIR');
  if (stateEnv) add(expandUserPath(stateEnv, active.home, pe), 'env OPENCLAW_STATE_DIR', true);
  const configEnv = envValue(pe, 'OPENCLAW_CONFIG_PATH');
  if (configEnv) add(p.dirname(expandUserPath(configEnv, active.home, pe)), 'env OPENCLAW_CONFIG_PATH');
  if (options.embeddedGatewayStateDir) add(options.embeddedGatewayStateDir, 'embedded gateway', true);

  // Every home a tool might use: OPENCLAW_HOME, HOME (Git Bash), USERPROFILE, the OS account home.
  const homes: Array<[string, string]> = [[active.home, 'home']];
  for (const [name, value] of [
    ['HOME', envValue(pe, 'HOME')],
    ['USERPROFILE', envValue(pe, 'USERPROFILE')],
    ['os home', pe.osHomedir || undefined],
  ] as const) {
    if (value) homes.push([p.resolve(pe.cwd, value), name]);
  }
  const distinctHomes = homes.filter(
    ([home], i) => homes.findIndex(([other]) => samePath(pe.platform, other, home)) === i,
  );
  for (const [home, label] of distinctHomes) {
    const suffix = label === 'home' ? '' : ` under ${label}`;
    add(p.join(home, STATE_DIRNAME), `default${suffix}`);
    for (const legacy of LEGACY_STATE_DIRNAMES) add(p.join(home, legacy), `legacy ${legacy}${suffix}`);
    for (const retired of RETIRED_STATE_DIRNAMES)
      add(p.join(home, retired), `retired ${retired} (OpenClaw no longer reads it)${suffix}`);
    for (const name of listDir(home)) {
      const match = /^\.openclaw-(.+)$/.exec(name);
      if (match && match[1] !== DEFAULT_PROFILE) add(p.join(home, name), `profile ${match[1]}${suffix}`);
    }
  }

  const osHome = resolveOsHomeDir(pe);
  if (pe.platform === 'darwin') {
    add(p.join(pe.osHomedir || osHome, 'Library', 'Application Support', 'OpenClaw'), 'macOS app identity');
  }
  if (pe.platform === 'win32') {
    for (const variable of ['APPDATA', 'LOCALAPPDATA']) {
      const base = envValue(pe, variable);
      if (!base) continue;
      for (const name of listDir(base)) {
        if (/^(openclaw|clawdbot|moltbot|moldbot)/i.test(name)) add(p.join(base, name), `%${variable}% leftover`);
      }
    }
    for (const variable of ['OneDrive', 'OneDriveConsumer', 'OneDriveCommercial']) {
      const base = envValue(pe, variable);
      if (base) add(p.join(base, STATE_DIRNAME), `OneDrive (${variable})`);
    }
  }
  return out;
}

/** Scans all candidates on the real filesystem. */
export async function scanStateDirs(pe: PathEnvironment, options: ScanOptions = {}): Promise<StateScan> {
  const p = pathApi(pe.platform);
  const now = options.now ?? Date.now;
  const active = resolveStateDir(pe, { profile: options.profile });
  const configPath = resolveConfigPath(pe, active.stateDir);
  const candidates = listCandidates(pe, { lexists: defaultLexists, ...options });

  // Directories named inside the active config (workspace, agent dirs, ...) that point into some state dir.
  for (const ref of await configStateReferences(pe, configPath, active.home)) {
    if (!candidates.some((c) => samePath(pe.platform, c.path, ref.dir)) && pe.exists(ref.dir)) {
      candidates.push({ path: ref.dir, reasons: [`named in config at ${ref.keyPath}`] });
    }
  }

  const oneDriveRoots = ['OneDrive', 'OneDriveConsumer', 'OneDriveCommercial']
    .map((v) => envValue(pe, v))
    .filter((v): v is string => !!v);
  const baselineExecApprovalsDir = p.join(active.home, STATE_DIRNAME);
  const macAppStateDir = envValue(pe, 'OPENCLAW_STATE_DIR')
    ? expandUserPath(envValue(pe, 'OPENCLAW_STATE_DIR')!, pe.osHomedir, pe)
    : p.join(pe.osHomedir, STATE_DIRNAME);

  const dirs: ScannedDir[] = [];
  for (const candidate of candidates) {
    const scanned = await inspectDir(candidate, now());
    scanned.inOneDrive =
      oneDriveRoots.some((root) => isPathInside(pe.platform, root, candidate.path)) ||
      /[\\/]OneDrive( - [^\\/]+)?[\\/]/i.test(candidate.path);
    const alias = dirs.find(
      (d) => d.realPath && scanned.realPath && samePath(pe.platform, d.realPath, scanned.realPath),
    );
    if (alias) scanned.aliasOf = alias.path;
    else if (scanned.kind === 'dir')
      scanned.names = await scanTreeNames(scanned.realPath ?? scanned.path, { platform: pe.platform });
    dirs.push(scanned);
  }

  const activeReal = dirs[0]?.realPath ?? active.stateDir;
  const sameDir = (d: ScannedDir, target: string) =>
    samePath(pe.platform, d.path, target) || (!!d.realPath && samePath(pe.platform, d.realPath, target));
  for (const d of dirs) {
    if (sameDir(d, active.stateDir) || sameDir(d, activeReal)) d.usedBy.push('openclaw-cli');
    if (
      sameDir(d, options.embeddedGatewayStateDir ?? active.stateDir) ||
      (!options.embeddedGatewayStateDir && sameDir(d, activeReal))
    ) {
      d.usedBy.push('embedded-gateway');
    }
    if (sameDir(d, baselineExecApprovalsDir)) d.usedBy.push('exec-approvals-baseline');
    if (pe.platform === 'darwin' && (sameDir(d, macAppStateDir) || d.reasons.includes('macOS app identity')))
      d.usedBy.push('macos-app');
  }

  return {
    platform: pe.platform,
    home: active.home,
    osHome: resolveOsHomeDir(pe),
    active: { stateDir: active.stateDir, source: active.source, configPath, profile: options.profile },
    baselineExecApprovalsDir,
    clawdeskDataDir: resolveClawdeskDataDir(pe, { profile: options.profile }),
    dirs,
  };
}

async function inspectDir(candidate: Candidate, nowMs: number): Promise<ScannedDir> {
  const dir: ScannedDir = {
    path: candidate.path,
    reasons: candidate.reasons,
    kind: 'missing',
    isLink: false,
    usedBy: [],
    items: [],
    quarantined: [],
    inOneDrive: false,
  };
  let lst;
  try {
    lst = await fs.lstat(candidate.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      dir.kind = 'unreadable';
      dir.error = (error as Error).message;
    }
    return dir;
  }
  if (lst.isSymbolicLink()) {
    dir.isLink = true;
    dir.linkTarget = await fs.readlink(candidate.path).catch(() => undefined);
  }
  let st;
  try {
    st = await fs.stat(candidate.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    dir.kind = code === 'ELOOP' ? 'symlink-loop' : code === 'ENOENT' ? 'broken-symlink' : 'unreadable';
    dir.error = code === 'ELOOP' ? `${candidate.path} is a circular chain of symbolic links` : (error as Error).message;
    return dir;
  }
  dir.mode = st.mode & 0o7777;
  dir.realPath = await fs.realpath(candidate.path).catch(() => undefined);
  if (!st.isDirectory()) {
    dir.kind = 'file';
    dir.error = `${candidate.path} is a file, not a directory`;
    return dir;
  }
  try {
    await fs.readdir(candidate.path);
  } catch (error) {
    dir.kind = 'unreadable';
    dir.error = (error as Error).message;
    return dir;
  }
  dir.kind = 'dir';
  for (const spec of STATE_ITEMS) {
    const itemPath = await locateItem(candidate.path, spec);
    if (!itemPath) continue;
    dir.items.push(await inspectItem(spec.item, itemPath, nowMs));
  }
  for (const sub of ['', 'devices', 'nodes', 'identity']) {
    const base = sub ? `${candidate.path}/${sub}` : candidate.path;
    const names = await fs.readdir(base).catch(() => [] as string[]);
    for (const name of names) if (/\.corrupt-/.test(name)) dir.quarantined.push(sub ? `${sub}/${name}` : name);
  }
  return dir;
}

async function inspectItem(item: StateItem, itemPath: string, nowMs: number): Promise<ScannedItem> {
  const spec = itemSpec(item);
  let st;
  try {
    st = await fs.stat(itemPath);
  } catch (error) {
    return {
      item,
      path: itemPath,
      bytes: 0,
      mtimeMs: 0,
      mode: 0,
      status: 'unreadable',
      error: (error as Error).message,
    };
  }
  const base: ScannedItem = {
    item,
    path: itemPath,
    bytes: st.size,
    mtimeMs: st.mtimeMs,
    mode: st.mode & 0o7777,
    status: 'ok',
  };
  if (spec.kind === 'dir') {
    if (!st.isDirectory()) return { ...base, status: 'corrupt', error: `${itemPath} should be a directory` };
    const { files, bytes, truncated, error } = await measureTree(itemPath);
    if (error) return { ...base, status: 'unreadable', error };
    return {
      ...base,
      entries: files,
      bytes,
      ...(truncated ? { error: 'very large; counted the first 20000 entries' } : {}),
    };
  }
  if (spec.kind === 'text') {
    return (await fs.access(itemPath, fs.constants.R_OK).then(
      () => true,
      () => false,
    ))
      ? base
      : { ...base, status: 'unreadable', error: `${itemPath} is not readable` };
  }
  const read = await readStateJson(itemPath, { parse: parserFor(item), json5: spec.kind === 'json5' });
  if (read.kind === 'missing') return { ...base, status: 'unreadable', error: `${itemPath} vanished during the scan` };
  if (read.kind !== 'ok') return { ...base, status: read.kind, error: read.error };
  const value = read.value as Record<string, unknown>;
  if (item === 'identity') {
    const id = value as unknown as { deviceId: string; derivedDeviceId?: string };
    return { ...base, deviceId: id.deviceId, derivedDeviceId: id.derivedDeviceId };
  }
  if (item === 'device-auth') {
    const auth = value as unknown as { deviceId: string; tokens: Record<string, unknown> };
    return { ...base, deviceId: auth.deviceId, entries: Object.keys(auth.tokens).length };
  }
  if (item === 'pending-devices' || item === 'pending-nodes') {
    const requests = Object.values(value) as Array<{ ts?: number }>;
    const expired = requests.filter((r) => typeof r.ts === 'number' && nowMs - r.ts > 5 * 60 * 1000).length;
    return { ...base, entries: requests.length, expiredEntries: expired };
  }
  if (item === 'paired-devices' || item === 'paired-nodes' || item === 'bootstrap-tokens') {
    return { ...base, entries: Object.keys(value).length };
  }
  if (item === 'exec-approvals') {
    const agents = (value.agents ?? {}) as Record<string, { allowlist?: unknown[] }>;
    return { ...base, entries: Object.values(agents).reduce((n, a) => n + (a.allowlist?.length ?? 0), 0) };
  }
  return base;
}

const TREE_LIMIT = 20_000;

async function measureTree(
  root: string,
): Promise<{ files: number; bytes: number; truncated: boolean; error?: string }> {
  let files = 0;
  let bytes = 0;
  const stack = [root];
  let seen = 0;
  while (stack.length > 0) {
    const dir = stack.pop()!;
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if (dir === root) return { files, bytes, truncated: false, error: (error as Error).message };
      continue;
    }
    for (const entry of entries) {
      if (++seen > TREE_LIMIT) return { files, bytes, truncated: true };
      const full = `${dir}/${entry.name}`;
      // Never follow links inside a state dir: they may loop.
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) {
        files++;
        bytes += (await fs.stat(full).catch(() => ({ size: 0 }))).size;
      }
    }
  }
  return { files, bytes, truncated: false };
}

/** String values in the config that point into a state dir (e.g. a workspace under ~/.clawdbot). */
async function configStateReferences(
  pe: PathEnvironment,
  configPath: string,
  home: string,
): Promise<Array<{ dir: string; keyPath: string }>> {
  const read = await readStateJson(configPath, { json5: true });
  if (read.kind !== 'ok') return [];
  const p = pathApi(pe.platform);
  const out: Array<{ dir: string; keyPath: string }> = [];
  const names = new Set<string>([STATE_DIRNAME, ...LEGACY_STATE_DIRNAMES, ...RETIRED_STATE_DIRNAMES]);
  const visit = (value: unknown, keyPath: string, depth: number) => {
    if (depth > 20) return;
    if (typeof value === 'string') {
      const looksLikePath = value.startsWith('~') || p.isAbsolute(value);
      if (!looksLikePath || value.length > 4096) return;
      const absolute = expandUserPath(value, home, pe);
      const parts = absolute.split(/[\\/]+/);
      const index = parts.findIndex((part) => names.has(part) || /^\.openclaw-.+/.test(part));
      if (index <= 0) return;
      const unc = pe.platform === 'win32' && absolute.startsWith('\\\\') ? p.sep : '';
      const root = unc + parts.slice(0, index + 1).join(p.sep);
      out.push({ dir: root, keyPath });
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${keyPath}[${i}]`, depth + 1));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) visit(v, keyPath ? `${keyPath}.${k}` : k, depth + 1);
    }
  };
  visit(read.value, '', 0);
  return out;
}

function defaultLexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

function defaultListDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
