import { isDeepStrictEqual } from 'node:util';
import { expandUserPath, isPathInside, pathApi } from './state-paths';
import type {
  DeviceAuthFile,
  ExecAgentPolicy,
  ExecAllowlistEntry,
  ExecApprovalsFile,
  ExecPolicyFields,
  JsonObject,
  PairedDevice,
  PendingRequest,
  RoleToken,
} from './state-files';

/**
 * Merging two OpenClaw state dirs, file by file. Pure functions: the migration plans with them, writes the result
 * into a staging dir, and verifies it with `checkMergeInvariants`. Principles: nothing granted in either dir is
 * lost, nothing revoked in either dir comes back, and where two decisions conflict the stricter or newer one wins.
 */

export interface MergeNote {
  file: string;
  kind: 'conflict' | 'kept-revoked' | 'info';
  message: string;
}

// ---- paired devices -----------------------------------------------------------------------------------------

function approvalTime(device: PairedDevice): number {
  return num(device.approvedAtMs) ?? num(device.createdAtMs) ?? 0;
}

function issueTime(token: RoleToken): number {
  return num(token.rotatedAtMs) ?? num(token.createdAtMs) ?? 0;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * The newest decision about a role wins: the most recently issued token is kept, and it is revoked if either dir
 * revoked that same token, or revoked the role after that token was issued. A revoked token is never revived.
 */
export function mergeRoleToken(a: RoleToken | undefined, b: RoleToken | undefined): RoleToken | undefined {
  if (!a || !b) return a ?? b;
  const [newer, older] = issueTime(b) > issueTime(a) ? [b, a] : [a, b];
  // Facts about the older token (its revocation, its last use) only carry over when it is the same token.
  const merged: RoleToken = older.token === newer.token ? { ...older, ...newer } : { ...newer };
  delete merged.revokedAtMs;
  const revocations: number[] = [];
  if (num(newer.revokedAtMs) !== undefined) revocations.push(newer.revokedAtMs!);
  if (num(older.revokedAtMs) !== undefined && (older.token === newer.token || older.revokedAtMs! >= issueTime(newer))) {
    revocations.push(older.revokedAtMs!);
  }
  if (revocations.length > 0) merged.revokedAtMs = Math.min(...revocations);
  const lastUsed = Math.max(num(a.lastUsedAtMs) ?? -1, num(b.lastUsedAtMs) ?? -1);
  if (lastUsed >= 0 && merged.token === a.token && merged.token === b.token) merged.lastUsedAtMs = lastUsed;
  return merged;
}

/** Devices united by deviceId; on a collision the newer approval's record wins and role tokens merge. */
export function mergePairedDevices(
  target: Record<string, PairedDevice>,
  source: Record<string, PairedDevice>,
  notes: MergeNote[],
  file = 'devices/paired.json',
): Record<string, PairedDevice> {
  const out: Record<string, PairedDevice> = {};
  for (const id of sortedUnion(target, source)) {
    const t = target[id];
    const s = source[id];
    if (!t || !s) {
      out[id] = (t ?? s)!;
      continue;
    }
    if (isDeepStrictEqual(t, s)) {
      out[id] = t;
      continue;
    }
    const [newer, older] = approvalTime(s) > approvalTime(t) ? [s, t] : [t, s];
    const merged: PairedDevice = { ...older, ...newer };
    const roles = new Set([...Object.keys(t.tokens ?? {}), ...Object.keys(s.tokens ?? {})]);
    if (roles.size > 0 || newer.tokens || older.tokens) {
      const tokens: Record<string, RoleToken> = {};
      for (const role of [...roles].sort()) {
        const token = mergeRoleToken(t.tokens?.[role], s.tokens?.[role]);
        if (token) tokens[role] = token;
        const revokedSomewhere = [t.tokens?.[role], s.tokens?.[role]].some(
          (x) => x && num(x.revokedAtMs) !== undefined,
        );
        if (revokedSomewhere && token && num(token.revokedAtMs) !== undefined) {
          notes.push({ file, kind: 'kept-revoked', message: `device ${short(id)}: the ${role} token stays revoked` });
        }
      }
      merged.tokens = tokens;
    }
    notes.push({
      file,
      kind: 'info',
      message: `device ${short(id)} is paired in both; kept the newer approval and merged its tokens`,
    });
    out[id] = merged;
  }
  return out;
}

/** Maps keyed by id (paired nodes): the newer approval wins a collision. */
export function mergeByNewestApproval(
  target: Record<string, JsonObject>,
  source: Record<string, JsonObject>,
  notes: MergeNote[],
  file: string,
): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const id of sortedUnion(target, source)) {
    const t = target[id];
    const s = source[id];
    if (!t || !s || isDeepStrictEqual(t, s)) {
      out[id] = (t ?? s)!;
      continue;
    }
    const tTime = num(t.approvedAtMs) ?? num(t.createdAtMs) ?? 0;
    const sTime = num(s.approvedAtMs) ?? num(s.createdAtMs) ?? 0;
    out[id] = sTime > tTime ? s : t;
    notes.push({
      file,
      kind: 'conflict',
      message: `${short(id)} differs between the dirs; kept the ${sTime > tTime ? 'source' : 'target'}'s newer approval`,
    });
  }
  return out;
}

/** Pending requests and bootstrap tokens: united by key; the target's entry wins a collision. */
export function mergeKeepTarget<T>(
  target: Record<string, T>,
  source: Record<string, T>,
  notes: MergeNote[],
  file: string,
): Record<string, T> {
  const out: Record<string, T> = {};
  for (const id of sortedUnion(target, source)) {
    const t = target[id];
    const s = source[id];
    if (t !== undefined && s !== undefined && !isDeepStrictEqual(t, s)) {
      notes.push({ file, kind: 'conflict', message: `${short(id)} differs between the dirs; kept the target's` });
    }
    out[id] = (t !== undefined ? t : s)!;
  }
  return out;
}

export function mergePending(
  target: Record<string, PendingRequest>,
  source: Record<string, PendingRequest>,
  notes: MergeNote[],
  file: string,
): Record<string, PendingRequest> {
  return mergeKeepTarget(target, source, notes, file);
}

// ---- device auth (tokens this dir's identity holds as a client) ---------------------------------------------

/** Two device-auth files for the same deviceId: per role, the most recently updated token wins. */
export function mergeDeviceAuth(
  target: DeviceAuthFile & JsonObject,
  source: DeviceAuthFile & JsonObject,
): DeviceAuthFile & JsonObject {
  const tokens: DeviceAuthFile['tokens'] = {};
  for (const role of sortedUnion(target.tokens, source.tokens)) {
    const t = target.tokens[role];
    const s = source.tokens[role];
    tokens[role] = (!t ? s : !s ? t : (num(s.updatedAtMs) ?? 0) > (num(t.updatedAtMs) ?? 0) ? s : t)!;
  }
  return { ...source, ...target, tokens };
}

// ---- exec approvals -----------------------------------------------------------------------------------------

const SECURITY_ORDER = ['deny', 'allowlist', 'full'] as const;
const ASK_ORDER = ['off', 'on-miss', 'always'] as const;

/** The stricter of two values: lower security / fallback, higher ask. Invalid values count as absent (as OpenClaw does). */
function stricter(order: readonly string[], a: unknown, b: unknown, prefer: 'min' | 'max'): string | undefined {
  const ia = typeof a === 'string' ? order.indexOf(a) : -1;
  const ib = typeof b === 'string' ? order.indexOf(b) : -1;
  if (ia < 0 && ib < 0) return undefined;
  if (ia < 0) return order[ib];
  if (ib < 0) return order[ia];
  return order[prefer === 'min' ? Math.min(ia, ib) : Math.max(ia, ib)];
}

/**
 * Field by field, the stricter wins. `inherited` is what an absent field falls back to in the merged file (for an
 * agent: the merged "*" agent over the merged defaults). An explicit value on one side that is not stricter than
 * that is dropped: the other side inherited something stricter, and the stricter decision wins.
 * At the top level (no `inherited`), an absent autoAllowSkills means OpenClaw's built-in false.
 */
function mergePolicy<T extends ExecPolicyFields>(
  t: T | undefined,
  s: T | undefined,
  inherited?: ExecPolicyFields,
): T | undefined {
  if (!t && !s) return undefined;
  const out = { ...s, ...t } as T;
  const field = (key: 'security' | 'ask' | 'askFallback', order: readonly string[], prefer: 'min' | 'max') => {
    const a = order.includes(t?.[key] as string) ? t![key] : undefined;
    const b = order.includes(s?.[key] as string) ? s![key] : undefined;
    let value = stricter(order, a, b, prefer);
    if (inherited && (a === undefined) !== (b === undefined)) {
      const fallback = stricter(order, inherited[key], undefined, prefer);
      // Strictly looser than what the other side inherits: the stricter (inherited) decision wins.
      if (fallback !== undefined && value !== fallback && stricter(order, value, fallback, prefer) === fallback)
        value = undefined;
    }
    setOrDelete(out, key, value);
  };
  field('security', SECURITY_ORDER, 'min');
  field('ask', ASK_ORDER, 'max');
  field('askFallback', SECURITY_ORDER, 'min');
  const ta = typeof t?.autoAllowSkills === 'boolean' ? t.autoAllowSkills : undefined;
  const sa = typeof s?.autoAllowSkills === 'boolean' ? s.autoAllowSkills : undefined;
  if (ta === undefined && sa === undefined) delete out.autoAllowSkills;
  else if (ta !== undefined && sa !== undefined) out.autoAllowSkills = ta && sa;
  else if (!inherited)
    out.autoAllowSkills = false; // top level: absent is OpenClaw's built-in false
  else if ((ta ?? sa) === true && inherited.autoAllowSkills !== true)
    delete out.autoAllowSkills; // the other side never granted it
  else out.autoAllowSkills = (ta ?? sa)!;
  return out;
}

function definedPolicyFields(p: ExecPolicyFields | undefined): ExecPolicyFields {
  const out: ExecPolicyFields = {};
  for (const key of ['security', 'ask', 'askFallback', 'autoAllowSkills'] as const)
    if (p?.[key] !== undefined) (out as JsonObject)[key] = p[key];
  return out;
}

function setOrDelete(obj: ExecPolicyFields, key: 'security' | 'ask' | 'askFallback', value: string | undefined): void {
  if (value === undefined) delete obj[key];
  else obj[key] = value;
}

function allowlistKey(entry: ExecAllowlistEntry | string): string {
  return typeof entry === 'string' ? `${entry}\0` : `${entry.pattern}\0${entry.argPattern ?? ''}`;
}

function mergeAllowlists(
  t: Array<ExecAllowlistEntry | string> | undefined,
  s: Array<ExecAllowlistEntry | string> | undefined,
) {
  if (!t && !s) return undefined;
  const out: Array<ExecAllowlistEntry | string> = [];
  const index = new Map<string, number>();
  for (const entry of [...(t ?? []), ...(s ?? [])]) {
    if (typeof entry !== 'string' && (typeof entry !== 'object' || entry === null || typeof entry.pattern !== 'string'))
      continue;
    const key = allowlistKey(entry);
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, out.length);
      out.push(entry);
      continue;
    }
    // Same pattern in both: keep the first entry (its id) but the most recent usage facts.
    const kept = out[at];
    if (
      typeof kept !== 'string' &&
      typeof entry !== 'string' &&
      (num(entry.lastUsedAt) ?? 0) > (num(kept.lastUsedAt) ?? 0)
    ) {
      out[at] = {
        ...kept,
        lastUsedAt: entry.lastUsedAt,
        lastUsedCommand: entry.lastUsedCommand,
        lastResolvedPath: entry.lastResolvedPath,
      };
    }
  }
  return out;
}

export function mergeExecApprovals(
  target: ExecApprovalsFile | undefined,
  source: ExecApprovalsFile | undefined,
  notes: MergeNote[],
): ExecApprovalsFile {
  const file = 'exec-approvals.json';
  const t = target ?? { version: 1 };
  const s = source ?? { version: 1 };
  const out: ExecApprovalsFile = { ...s, ...t, version: 1 };
  // Socket path and token belong to whoever runs the approvals socket in the target; the source's only if none.
  if (t.socket || s.socket) out.socket = t.socket ?? s.socket;
  const defaults = mergePolicy(t.defaults, s.defaults);
  const mergedWildcard = mergePolicy(t.agents?.['*'], s.agents?.['*'], defaults ?? {});
  const inheritedFor = (id: string): ExecPolicyFields =>
    id === '*' ? (defaults ?? {}) : { ...(defaults ?? {}), ...definedPolicyFields(mergedWildcard) };
  if (defaults) out.defaults = defaults;
  else delete out.defaults;
  if (t.defaults && s.defaults && !isDeepStrictEqual(defaults, t.defaults)) {
    notes.push({ file, kind: 'conflict', message: 'defaults differ; kept the stricter value of each field' });
  }
  const agents: Record<string, ExecAgentPolicy> = {};
  for (const id of sortedUnion(t.agents ?? {}, s.agents ?? {})) {
    const ta = t.agents?.[id];
    const sa = s.agents?.[id];
    const merged = mergePolicy(ta, sa, inheritedFor(id))!;
    const allowlist = mergeAllowlists(ta?.allowlist, sa?.allowlist);
    if (allowlist) merged.allowlist = allowlist as ExecAllowlistEntry[];
    if (ta && sa) {
      const scalarsDiffer = ['security', 'ask', 'askFallback', 'autoAllowSkills'].some(
        (k) => ta[k] !== undefined && sa[k] !== undefined && ta[k] !== sa[k],
      );
      if (scalarsDiffer)
        notes.push({
          file,
          kind: 'conflict',
          message: `agent ${id}: policies differ; kept the stricter value of each field`,
        });
    }
    agents[id] = merged;
  }
  if (t.agents || s.agents) out.agents = agents;
  return out;
}

// ---- config -------------------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Key by key: objects recurse, equal values merge, a conflict keeps the target's value and is reported (by key only: configs hold tokens). */
export function mergeConfig(
  target: JsonObject,
  source: JsonObject,
  notes: MergeNote[],
  file: string,
  keyPath = '',
): JsonObject {
  const out: JsonObject = {};
  for (const key of [...Object.keys(target), ...Object.keys(source).filter((k) => !(k in target))]) {
    const here = keyPath ? `${keyPath}.${key}` : key;
    const t = target[key];
    const s = source[key];
    if (!(key in source)) out[key] = t;
    else if (!(key in target)) out[key] = s;
    else if (isPlainObject(t) && isPlainObject(s)) out[key] = mergeConfig(t, s, notes, file, here);
    else {
      out[key] = t;
      if (!isDeepStrictEqual(t, s))
        notes.push({ file, kind: 'conflict', message: `${here}: the two configs differ; kept the target's value` });
    }
  }
  return out;
}

/**
 * Rewrites strings that are paths into `fromDir` (absolute, or `~/...` under `home`) so they point into `toDir`.
 * Returns the rewritten value and the key paths changed.
 */
export function rewriteStatePaths<T>(
  value: T,
  fromDirs: readonly string[],
  toDir: string,
  platform: NodeJS.Platform,
  home: string,
): { value: T; rewritten: string[] } {
  const p = pathApi(platform);
  const rewritten: string[] = [];
  const visit = (v: unknown, keyPath: string): unknown => {
    if (typeof v === 'string') {
      const looksLikePath = v.startsWith('~') || p.isAbsolute(v);
      if (!looksLikePath) return v;
      const absolute = expandUserPath(v, home, { platform, cwd: home });
      for (const from of fromDirs) {
        if (!isPathInside(platform, from, absolute)) continue;
        const rel = p.relative(from, absolute);
        const next = rel ? p.join(toDir, rel) : toDir;
        if (next === v) return v;
        rewritten.push(keyPath || '(root)');
        return next;
      }
      return v;
    }
    if (Array.isArray(v)) return v.map((x, i) => visit(x, `${keyPath}[${i}]`));
    if (isPlainObject(v)) {
      const out: JsonObject = {};
      for (const [k, x] of Object.entries(v)) out[k] = visit(x, keyPath ? `${keyPath}.${k}` : k);
      return out;
    }
    return v;
  };
  return { value: visit(value, '') as T, rewritten };
}

// ---- verification -------------------------------------------------------------------------------------------

/** What must hold after merging paired devices; returns the violations. */
export function checkPairedInvariants(
  inputs: Array<Record<string, PairedDevice>>,
  merged: Record<string, PairedDevice>,
): string[] {
  const problems: string[] = [];
  for (const input of inputs) {
    for (const [id, device] of Object.entries(input)) {
      const result = merged[id];
      if (!result) {
        problems.push(`device ${short(id)} was lost`);
        continue;
      }
      for (const [role, token] of Object.entries(device.tokens ?? {})) {
        if (num(token.revokedAtMs) === undefined) continue;
        const now = result.tokens?.[role];
        if (now && now.token === token.token && num(now.revokedAtMs) === undefined) {
          problems.push(`device ${short(id)}: revoked ${role} token was revived`);
        }
      }
    }
  }
  return problems;
}

export function checkExecApprovalsInvariants(inputs: ExecApprovalsFile[], merged: ExecApprovalsFile): string[] {
  const problems: string[] = [];
  for (const input of inputs) {
    for (const [id, agent] of Object.entries(input.agents ?? {})) {
      const keys = new Set((merged.agents?.[id]?.allowlist ?? []).map((e) => allowlistKey(e)));
      for (const entry of agent.allowlist ?? []) {
        if ((typeof entry === 'string' || typeof entry?.pattern === 'string') && !keys.has(allowlistKey(entry))) {
          problems.push(`agent ${id}: allowlist entry ${typeof entry === 'string' ? entry : entry.pattern} was lost`);
        }
      }
      const m = merged.agents?.[id];
      if (
        agent.security &&
        m?.security &&
        SECURITY_ORDER.indexOf(m.security as never) > SECURITY_ORDER.indexOf(agent.security as never) &&
        SECURITY_ORDER.includes(agent.security as never)
      ) {
        problems.push(`agent ${id}: security was loosened`);
      }
    }
    const d = input.defaults;
    const md = merged.defaults;
    if (
      d?.security &&
      SECURITY_ORDER.includes(d.security as never) &&
      (!md?.security || SECURITY_ORDER.indexOf(md.security as never) > SECURITY_ORDER.indexOf(d.security as never))
    ) {
      problems.push('defaults.security was loosened');
    }
    if (
      d?.ask &&
      ASK_ORDER.includes(d.ask as never) &&
      (!md?.ask || ASK_ORDER.indexOf(md.ask as never) < ASK_ORDER.indexOf(d.ask as never))
    ) {
      problems.push('defaults.ask was loosened');
    }
  }
  return problems;
}

function sortedUnion(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 12)}…` : id;
}
