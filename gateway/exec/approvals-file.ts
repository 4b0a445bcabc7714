import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { createFileExclusive, serialize, writeFileAtomic } from '../fs/atomic-file';
import { STATE_DIRNAME, samePath } from '../state/state-paths';
import {
  EXEC_ASK,
  EXEC_SECURITY,
  type ExecAsk,
  type ExecAskFallback,
  type ExecSecurity,
} from '../protocol/exec-vocabulary';

/**
 * OpenClaw's exec-approvals.json (docs/exec-policy.md § The policy file): read, normalized, hashed and written with
 * compare-and-set. The file is the node's own policy; the gateway and the CLI see it only as a redacted snapshot.
 */

/** Keys that name Object.prototype's own members: never an agent id, never a key of a client-indexed object. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

export function isReservedKey(key: string): boolean {
  return RESERVED_KEYS.has(key);
}

/** An `agents` map that inherits nothing, so no agent id can reach Object.prototype. */
export function emptyAgents(): Record<string, AgentApprovals> {
  return Object.create(null) as Record<string, AgentApprovals>;
}

export interface AllowlistEntry {
  id: string;
  pattern: string;
  /** Regex over the args joined with NUL plus a trailing NUL; honoured on Windows targets only. */
  argPattern?: string;
  source?: string;
  lastUsedAt?: number;
  lastUsedCommand?: string;
  lastResolvedPath?: string;
  /**
   * Clawdesk's pin of the file an allow-always decision was about ("dev:ino:size:mtimeMs"): a replaced or rewritten
   * file is no longer covered. Entries without one (hand-written, or rewritten by OpenClaw) match by path alone.
   */
  fileIdentity?: string;
}

export interface ExecPolicyFields {
  security?: ExecSecurity;
  ask?: ExecAsk;
  askFallback?: ExecAskFallback;
  autoAllowSkills?: boolean;
}

export interface AgentApprovals extends ExecPolicyFields {
  allowlist?: AllowlistEntry[];
}

export interface ExecApprovalsFile {
  version: 1;
  socket?: { path?: string; token?: string };
  defaults?: ExecPolicyFields;
  agents: Record<string, AgentApprovals>;
}

/**
 * `{path, exists, hash, file}`: what exec.approvals.get and system.execApprovals.get answer
 * (docs/exec-policy.md § What clients see).
 */
export interface ExecApprovalsSnapshot {
  path: string;
  exists: boolean;
  hash: string;
  file: ExecApprovalsFile;
}

export const EXEC_APPROVALS_FILENAME = 'exec-approvals.json';
export const EXEC_APPROVALS_SOCKET_FILENAME = 'exec-approvals.sock';

export class ExecApprovalsError extends Error {
  constructor(
    readonly code: 'BASE_HASH_REQUIRED' | 'BASE_HASH_MISMATCH' | 'INVALID_FILE' | 'SYMLINK_REFUSED' | 'NOT_A_FILE',
    message: string,
  ) {
    super(message);
  }
}

export function execApprovalsPath(stateDir: string): string {
  return path.join(stateDir, EXEC_APPROVALS_FILENAME);
}

export function hashApprovalsText(raw: string | null): string {
  return raw === null ? '' : createHash('sha256').update(raw, 'utf8').digest('hex');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pickEnum<T extends string>(value: unknown, allowed: readonly T[]): T | undefined {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;
}

function normalizePolicyFields(raw: Record<string, unknown>): ExecPolicyFields {
  const out: ExecPolicyFields = {};
  const security = pickEnum(raw.security, EXEC_SECURITY);
  const ask = pickEnum(raw.ask, EXEC_ASK);
  const askFallback = pickEnum(raw.askFallback, EXEC_SECURITY);
  if (security) out.security = security;
  if (ask) out.ask = ask;
  if (askFallback) out.askFallback = askFallback;
  if (typeof raw.autoAllowSkills === 'boolean') out.autoAllowSkills = raw.autoAllowSkills;
  return out;
}

function normalizeEntry(raw: unknown): AllowlistEntry | null {
  if (typeof raw === 'string') raw = { pattern: raw };
  if (!isRecord(raw)) return null;
  const pattern = typeof raw.pattern === 'string' ? raw.pattern.trim() : '';
  if (!pattern) return null;
  const entry: AllowlistEntry = {
    id: typeof raw.id === 'string' && raw.id.trim() ? raw.id.trim() : randomUUID(),
    pattern,
  };
  if (typeof raw.argPattern === 'string' && raw.argPattern) {
    try {
      new RegExp(raw.argPattern);
      entry.argPattern = raw.argPattern;
    } catch {
      // A regex that does not compile can never match; dropping it would widen the entry, so drop the entry.
      return null;
    }
  }
  if (typeof raw.source === 'string' && raw.source) entry.source = raw.source;
  if (typeof raw.lastUsedAt === 'number' && Number.isFinite(raw.lastUsedAt)) entry.lastUsedAt = raw.lastUsedAt;
  if (typeof raw.lastUsedCommand === 'string') entry.lastUsedCommand = raw.lastUsedCommand;
  if (typeof raw.lastResolvedPath === 'string') entry.lastResolvedPath = raw.lastResolvedPath;
  if (typeof raw.fileIdentity === 'string' && raw.fileIdentity) entry.fileIdentity = raw.fileIdentity;
  // commandText is deliberately not carried over (docs/exec-policy.md § The policy file).
  return entry;
}

function normalizeAllowlist(raw: unknown): AllowlistEntry[] {
  if (!Array.isArray(raw)) return [];
  const seen = new Set<string>();
  const out: AllowlistEntry[] = [];
  for (const item of raw) {
    const entry = normalizeEntry(item);
    if (!entry) continue;
    const key = `${entry.pattern}\u0000${entry.argPattern ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  return out;
}

function normalizeAgent(raw: unknown): AgentApprovals {
  if (!isRecord(raw)) return {};
  const agent: AgentApprovals = normalizePolicyFields(raw);
  const allowlist = normalizeAllowlist(raw.allowlist);
  if (allowlist.length || Array.isArray(raw.allowlist)) agent.allowlist = allowlist;
  return agent;
}

/**
 * OpenClaw's load-time normalization (docs/exec-policy.md § The policy file). Never throws: anything unusable becomes
 * the empty policy.
 */
export function normalizeExecApprovals(raw: unknown): ExecApprovalsFile {
  if (!isRecord(raw) || raw.version !== 1) return { version: 1, agents: emptyAgents() };
  const file: ExecApprovalsFile = { version: 1, agents: emptyAgents() };
  if (isRecord(raw.socket)) {
    const socket: { path?: string; token?: string } = {};
    if (typeof raw.socket.path === 'string' && raw.socket.path) socket.path = raw.socket.path;
    if (typeof raw.socket.token === 'string' && raw.socket.token) socket.token = raw.socket.token;
    file.socket = socket;
  }
  if (isRecord(raw.defaults)) file.defaults = normalizePolicyFields(raw.defaults);
  const agents = isRecord(raw.agents) ? raw.agents : {};
  for (const [id, value] of Object.entries(agents)) {
    if (id === 'default' || isReservedKey(id)) continue;
    file.agents[id] = normalizeAgent(value);
  }
  if (Object.hasOwn(agents, 'default') && agents.default !== undefined) {
    // Legacy "default" agent folds into "main": main's own scalars win, allowlists concatenate.
    const legacy = normalizeAgent(agents.default);
    const main = Object.hasOwn(file.agents, 'main') ? file.agents.main : {};
    const merged: AgentApprovals = { ...legacy, ...main };
    const list = normalizeAllowlist([...(main.allowlist ?? []), ...(legacy.allowlist ?? [])]);
    if (list.length) merged.allowlist = list;
    else delete merged.allowlist;
    file.agents.main = merged;
  }
  return file;
}

/**
 * The same file without the socket token: what leaves the node or the host (docs/exec-policy.md § What clients see).
 */
export function redactExecApprovals(file: ExecApprovalsFile): ExecApprovalsFile {
  const copy = structuredClone(file);
  if (copy.socket) delete copy.socket.token;
  return copy;
}

export interface ExecApprovalsStoreOptions {
  stateDir: string;
  /** The approvals file; defaults to `<stateDir>/exec-approvals.json`. */
  filePath?: string;
  /** Override of the socket path recorded in the file. */
  socketPath?: string;
}

/** What `ensureExists` found: it wrote the default file, or something (a file, a link, anything) was already there. */
export type EnsureExecApprovalsResult = { created: true } | { created: false; existing: 'file' | 'symlink' | 'other' };

export interface ExecApprovalsState {
  file: ExecApprovalsFile;
  raw: string | null;
  hash: string;
  exists: boolean;
}

/**
 * Owns one exec-approvals.json: reads it fresh on every call (another process, the openclaw CLI or the user's
 * editor may have changed it) and writes it with compare-and-set, atomically, 0600, never through a symlink.
 */
export class ExecApprovalsStore {
  readonly filePath: string;
  readonly socketPath: string;

  constructor(private readonly options: ExecApprovalsStoreOptions) {
    this.filePath = options.filePath ?? execApprovalsPath(options.stateDir);
    this.socketPath = options.socketPath ?? path.join(options.stateDir, EXEC_APPROVALS_SOCKET_FILENAME);
  }

  async read(): Promise<ExecApprovalsState> {
    let raw: string | null;
    try {
      const stat = await fs.lstat(this.filePath);
      if (stat.isSymbolicLink()) {
        throw new ExecApprovalsError('SYMLINK_REFUSED', `refusing to read ${this.filePath}: it is a symbolic link`);
      }
      if (!stat.isFile()) throw new ExecApprovalsError('NOT_A_FILE', `${this.filePath} is not a regular file`);
      raw = await fs.readFile(this.filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      raw = null;
    }
    if (raw === null) return { file: { version: 1, agents: emptyAgents() }, raw: null, hash: '', exists: false };
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // An unparsable policy must not loosen anything: it reads as the empty file, which means Clawdesk's
      // strict defaults. The bytes stay on disk (hash included) so the user can fix them; a write needs the hash.
      parsed = undefined;
    }
    return { file: normalizeExecApprovals(parsed), raw, hash: hashApprovalsText(raw), exists: true };
  }

  /**
   * The redacted snapshot, with the socket path filled in so clients always see `file.socket`
   * (docs/exec-policy.md § What clients see).
   */
  async snapshot(): Promise<ExecApprovalsSnapshot> {
    const state = await this.read();
    const file = redactExecApprovals(state.file);
    file.socket = { ...(file.socket ?? {}), path: file.socket?.path ?? this.socketPath };
    return { path: this.filePath, exists: state.exists, hash: state.hash, file };
  }

  /**
   * Writes `{version: 1, socket: {path, token}, defaults, agents: {}}` when nothing is at the path yet, like the
   * reference's ensureExecApprovals on start: a running host always has a file, so clients that insist on a
   * non-empty base hash (the openclaw CLI) can write it. Never replaces what is there, whoever created it a moment
   * ago, and never follows a symlink: the content is complete on disk (0600, synced) before it appears under the
   * name, by a hard link that fails if the name is taken.
   */
  async ensureExists(defaults: ExecPolicyFields): Promise<EnsureExecApprovalsResult> {
    return serialize(this.filePath, async () => {
      const existing = await lstatOrNull(this.filePath);
      if (existing) return { created: false, existing: existingKind(existing) };
      const file: ExecApprovalsFile = {
        version: 1,
        socket: { path: this.socketPath, token: newSocketToken() },
        defaults: normalizePolicyFields({ ...defaults }),
        agents: {},
      };
      const created = await createFileExclusive(this.filePath, `${JSON.stringify(file, null, 2)}\n`);
      if (created) return { created: true };
      const now = await lstatOrNull(this.filePath);
      return { created: false, existing: now ? existingKind(now) : 'other' };
    });
  }

  /**
   * Replaces the file with `incoming` when `baseHash` names the current content (required once the file exists).
   * The socket path and token on disk are kept; a client never sees or sets the token.
   */
  async set(incoming: unknown, baseHash: string | undefined): Promise<ExecApprovalsSnapshot> {
    if (!isRecord(incoming) || incoming.version !== 1) {
      throw new ExecApprovalsError('INVALID_FILE', 'exec approvals file must be an object with "version": 1');
    }
    await serialize(this.filePath, async () => {
      const current = await this.read();
      if (current.exists) {
        if (!baseHash)
          throw new ExecApprovalsError('BASE_HASH_REQUIRED', 'exec approvals base hash required; reload and retry');
        if (baseHash !== current.hash) {
          throw new ExecApprovalsError('BASE_HASH_MISMATCH', 'exec approvals changed; reload and retry');
        }
      } else if (baseHash && baseHash !== '') {
        throw new ExecApprovalsError('BASE_HASH_MISMATCH', 'exec approvals changed; reload and retry');
      }
      const next = normalizeExecApprovals(incoming);
      next.socket = {
        path: current.file.socket?.path ?? this.socketPath,
        token: current.file.socket?.token ?? newSocketToken(),
      };
      await this.writeRaw(next);
    });
    return this.snapshot();
  }

  /**
   * Read-modify-write under the per-file lock, for the node's own bookkeeping (allow-always entries, lastUsedAt).
   * `mutate` returns false to skip the write. Concurrent editors are detected by re-checking the hash.
   */
  async update(mutate: (file: ExecApprovalsFile) => boolean | void): Promise<ExecApprovalsState> {
    return serialize(this.filePath, async () => {
      const current = await this.read();
      const file = structuredClone(current.file);
      if (mutate(file) === false) return current;
      file.socket = {
        path: file.socket?.path ?? this.socketPath,
        token: file.socket?.token ?? newSocketToken(),
      };
      const latest = await this.read();
      if (latest.hash !== current.hash) {
        throw new ExecApprovalsError('BASE_HASH_MISMATCH', 'exec approvals changed on disk while updating; retry');
      }
      await this.writeRaw(file);
      return this.read();
    });
  }

  private async writeRaw(file: ExecApprovalsFile): Promise<void> {
    try {
      await writeFileAtomic(this.filePath, `${JSON.stringify(file, null, 2)}\n`, { refuseSymlink: true });
    } catch (error) {
      if ((error as { code?: string }).code === 'SYMLINK_REFUSED') {
        throw new ExecApprovalsError('SYMLINK_REFUSED', (error as Error).message);
      }
      throw error;
    }
  }
}

async function lstatOrNull(file: string): Promise<Stats | null> {
  try {
    return await fs.lstat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

function existingKind(stat: Stats): 'file' | 'symlink' | 'other' {
  if (stat.isSymbolicLink()) return 'symlink';
  return stat.isFile() ? 'file' : 'other';
}

function newSocketToken(): string {
  return randomBytes(24).toString('base64url');
}

export type LegacyApprovalsReport =
  | { kind: 'none' }
  | { kind: 'imported'; legacyPath: string; targetPath: string }
  | { kind: 'conflict'; legacyPath: string; targetPath: string; message: string }
  | { kind: 'unreadable'; legacyPath: string; message: string };

/**
 * A `<home>/.openclaw/exec-approvals.json` left behind while the state dir lives elsewhere is a second policy the
 * baseline openclaw still obeys (docs/state-and-secrets.md § Where OpenClaw's state is). It is imported when the active
 * file is missing, and reported otherwise; never silently ignored. The legacy file is left in place: renaming it would
 * hand the baseline openclaw its permissive built-in defaults.
 */
export async function importLegacyExecApprovals(opts: {
  stateDir: string;
  home: string;
  platform?: NodeJS.Platform;
}): Promise<LegacyApprovalsReport> {
  const platform = opts.platform ?? process.platform;
  const legacyDir = path.join(opts.home, STATE_DIRNAME);
  if (samePath(platform, legacyDir, opts.stateDir)) return { kind: 'none' };
  const legacyPath = path.join(legacyDir, EXEC_APPROVALS_FILENAME);
  const targetPath = execApprovalsPath(opts.stateDir);
  let raw: string;
  try {
    raw = await fs.readFile(legacyPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    return { kind: 'unreadable', legacyPath, message: `cannot read ${legacyPath}: ${(error as Error).message}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    return { kind: 'unreadable', legacyPath, message: `${legacyPath} is not valid JSON: ${(error as Error).message}` };
  }
  const store = new ExecApprovalsStore({ stateDir: opts.stateDir });
  return serialize(store.filePath, async () => {
    const current = await store.read();
    if (current.exists) {
      const same =
        JSON.stringify(normalizeForCompare(current.file)) ===
        JSON.stringify(normalizeForCompare(normalizeExecApprovals(parsed)));
      if (same) return { kind: 'none' } as const;
      return {
        kind: 'conflict',
        legacyPath,
        targetPath,
        message: `a second exec approvals file exists at ${legacyPath}; ${targetPath} is the one in force. Merge or delete the legacy file.`,
      } as const;
    }
    const file = normalizeExecApprovals(parsed);
    file.socket = { path: store.socketPath, token: file.socket?.token ?? newSocketToken() };
    await writeFileAtomic(targetPath, `${JSON.stringify(file, null, 2)}\n`, { refuseSymlink: true });
    return { kind: 'imported', legacyPath, targetPath } as const;
  });
}

function normalizeForCompare(file: ExecApprovalsFile): unknown {
  const copy = structuredClone(file);
  delete copy.socket;
  for (const agent of Object.values(copy.agents)) {
    for (const entry of agent.allowlist ?? []) {
      delete (entry as Partial<AllowlistEntry>).id;
      delete entry.lastUsedAt;
      delete entry.lastUsedCommand;
      delete entry.lastResolvedPath;
    }
  }
  return copy;
}
