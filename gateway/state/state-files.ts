import { promises as fs } from 'node:fs';
import path from 'node:path';
import JSON5 from 'json5';
import { DEFAULT_MAX_JSON_BYTES } from '../fs/atomic-file';
import { deviceIdFromPublicKey, publicKeyFromPem } from '../protocol/ed25519';
import { CONFIG_FILENAME, LEGACY_CONFIG_FILENAMES } from './state-paths';

/**
 * What an OpenClaw state dir holds (docs/state-and-secrets.md § What a state directory holds), and readers that never
 * modify anything: the scan, doctor and migration planning must be safe to run on a live directory. (Quarantining
 * corrupt files is a separate, explicit step: doctor --fix.)
 */

export type StateItem =
  | 'config'
  | 'env-file'
  | 'identity'
  | 'device-auth'
  | 'paired-devices'
  | 'pending-devices'
  | 'bootstrap-tokens'
  | 'paired-nodes'
  | 'pending-nodes'
  | 'node-config'
  | 'exec-approvals'
  | 'credentials'
  | 'agents'
  | 'workspace';

export interface StateItemSpec {
  item: StateItem;
  /** Relative path(s) inside the state dir, posix separators; the first existing one counts. */
  paths: readonly string[];
  kind: 'json' | 'json5' | 'text' | 'dir';
  /** Holds secrets or trust state: must be 0600 (files) / 0700 (dirs). */
  secret: boolean;
}

export const STATE_ITEMS: readonly StateItemSpec[] = [
  { item: 'config', paths: [CONFIG_FILENAME, ...LEGACY_CONFIG_FILENAMES], kind: 'json5', secret: true },
  { item: 'env-file', paths: ['.env'], kind: 'text', secret: true },
  { item: 'identity', paths: ['identity/device.json'], kind: 'json', secret: true },
  { item: 'device-auth', paths: ['identity/device-auth.json'], kind: 'json', secret: true },
  { item: 'paired-devices', paths: ['devices/paired.json'], kind: 'json', secret: true },
  { item: 'pending-devices', paths: ['devices/pending.json'], kind: 'json', secret: true },
  { item: 'bootstrap-tokens', paths: ['devices/bootstrap.json'], kind: 'json', secret: true },
  { item: 'paired-nodes', paths: ['nodes/paired.json'], kind: 'json', secret: true },
  { item: 'pending-nodes', paths: ['nodes/pending.json'], kind: 'json', secret: true },
  { item: 'node-config', paths: ['node.json'], kind: 'json', secret: true },
  { item: 'exec-approvals', paths: ['exec-approvals.json'], kind: 'json', secret: true },
  { item: 'credentials', paths: ['credentials'], kind: 'dir', secret: true },
  { item: 'agents', paths: ['agents'], kind: 'dir', secret: false },
  { item: 'workspace', paths: ['workspace'], kind: 'dir', secret: false },
];

/** Trust state whose presence in two places splits a user's pairing/approvals. */
export const TRUST_ITEMS: readonly StateItem[] = [
  'identity',
  'device-auth',
  'paired-devices',
  'exec-approvals',
  'node-config',
  'paired-nodes',
];

export const PENDING_TTL_MS = 5 * 60 * 1000;

export type StateRead<T> =
  | { kind: 'missing' }
  | { kind: 'ok'; value: T; raw: string; bytes: number }
  | { kind: 'corrupt'; error: string }
  | { kind: 'unreadable'; error: string };

/** Reads and validates a JSON (or JSON5) state file without ever moving or rewriting it. */
export async function readStateJson<T = unknown>(
  filePath: string,
  options: { parse?: (value: unknown) => T; json5?: boolean; maxBytes?: number } = {},
): Promise<StateRead<T>> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_JSON_BYTES;
  let raw: string;
  try {
    const stat = await fs.stat(filePath);
    if (!stat.isFile()) return { kind: 'corrupt', error: `${filePath} is not a regular file` };
    if (stat.size > maxBytes)
      return { kind: 'corrupt', error: `${filePath} is ${stat.size} bytes, over the ${maxBytes}-byte limit` };
    raw = await fs.readFile(filePath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'unreadable', error: `${filePath}: ${(error as Error).message}` };
  }
  let value: unknown;
  try {
    value = options.json5 ? JSON5.parse(raw) : JSON.parse(raw);
  } catch (error) {
    const why = raw.trim() === '' ? 'it is empty' : (error as Error).message;
    return { kind: 'corrupt', error: `${filePath} is not valid ${options.json5 ? 'JSON5' : 'JSON'}: ${why}` };
  }
  if (!options.parse) return { kind: 'ok', value: value as T, raw, bytes: Buffer.byteLength(raw) };
  try {
    return { kind: 'ok', value: options.parse(value), raw, bytes: Buffer.byteLength(raw) };
  } catch (error) {
    return { kind: 'corrupt', error: `${filePath} has the wrong shape: ${(error as Error).message}` };
  }
}

// ---- shapes -------------------------------------------------------------------------------------------------

export type JsonObject = Record<string, unknown>;

export interface RoleToken extends JsonObject {
  token: string;
  role: string;
  scopes: string[];
  createdAtMs: number;
  rotatedAtMs?: number;
  revokedAtMs?: number;
  lastUsedAtMs?: number;
}

export interface PairedDevice extends JsonObject {
  deviceId: string;
  publicKey: string;
  createdAtMs?: number;
  approvedAtMs?: number;
  tokens?: Record<string, RoleToken>;
}

export interface PendingRequest extends JsonObject {
  requestId?: string;
  deviceId?: string;
  nodeId?: string;
  ts?: number;
}

export interface ExecAllowlistEntry extends JsonObject {
  pattern: string;
  argPattern?: string;
}

export interface ExecPolicyFields extends JsonObject {
  security?: string;
  ask?: string;
  askFallback?: string;
  autoAllowSkills?: boolean;
}

export interface ExecAgentPolicy extends ExecPolicyFields {
  allowlist?: ExecAllowlistEntry[];
}

export interface ExecApprovalsFile extends JsonObject {
  version: 1;
  socket?: { path?: string; token?: string } & JsonObject;
  defaults?: ExecPolicyFields;
  agents?: Record<string, ExecAgentPolicy>;
}

export interface OpenClawIdentityFile {
  version?: number;
  deviceId: string;
  /** Re-derived from publicKeyPem; differs from deviceId when the file is stale. */
  derivedDeviceId?: string;
  createdAtMs?: number;
}

export interface DeviceAuthFile {
  version?: number;
  deviceId: string;
  tokens: Record<string, { token?: string; role?: string; scopes?: string[]; updatedAtMs?: number } & JsonObject>;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectObject(value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw new Error(`${what} must be an object`);
  return value;
}

/** paired.json: a map keyed by deviceId. Legacy files held an array; those are accepted and keyed. */
export function parsePairedDevices(value: unknown): Record<string, PairedDevice> {
  const entries: Array<[string | undefined, unknown]> = Array.isArray(value)
    ? value.map((v) => [undefined, v])
    : Object.entries(expectObject(value, 'paired devices'));
  const out: Record<string, PairedDevice> = {};
  for (const [key, raw] of entries) {
    const device = expectObject(raw, `device ${key ?? '(array entry)'}`);
    const deviceId = typeof device.deviceId === 'string' ? device.deviceId : key;
    if (!deviceId) throw new Error('a device has no deviceId');
    if (key && device.deviceId !== undefined && device.deviceId !== key)
      throw new Error(`device under key ${key} says deviceId ${String(device.deviceId)}`);
    if (device.tokens !== undefined) {
      const tokens = expectObject(device.tokens, `tokens of ${deviceId}`);
      for (const [role, token] of Object.entries(tokens)) {
        const t = expectObject(token, `token ${role} of ${deviceId}`);
        if (typeof t.token !== 'string') throw new Error(`token ${role} of ${deviceId} has no token string`);
      }
    }
    out[deviceId] = { ...device, deviceId } as PairedDevice;
  }
  return out;
}

/** nodes/paired.json: a map keyed by nodeId. */
export function parsePairedNodes(value: unknown): Record<string, JsonObject> {
  const map = expectObject(value, 'paired nodes');
  for (const [key, node] of Object.entries(map)) expectObject(node, `node ${key}`);
  return map as Record<string, JsonObject>;
}

/** pending.json: a map keyed by requestId. */
export function parsePending(value: unknown): Record<string, PendingRequest> {
  const map = expectObject(value, 'pending requests');
  for (const [key, request] of Object.entries(map)) expectObject(request, `request ${key}`);
  return map as Record<string, PendingRequest>;
}

export function parseObject(value: unknown): JsonObject {
  return expectObject(value, 'the file');
}

export function parseExecApprovals(value: unknown): ExecApprovalsFile {
  const file = expectObject(value, 'exec approvals');
  if (file.agents !== undefined) {
    const agents = expectObject(file.agents, 'agents');
    for (const [id, agent] of Object.entries(agents)) {
      const a = expectObject(agent, `agent ${id}`);
      if (a.allowlist !== undefined && !Array.isArray(a.allowlist))
        throw new Error(`agent ${id}: allowlist must be an array`);
    }
  }
  if (file.defaults !== undefined) expectObject(file.defaults, 'defaults');
  if (file.socket !== undefined) expectObject(file.socket, 'socket');
  return file as ExecApprovalsFile;
}

export function parseOpenClawIdentity(value: unknown): OpenClawIdentityFile {
  const file = expectObject(value, 'identity');
  if (typeof file.deviceId !== 'string') throw new Error('identity has no deviceId');
  let derivedDeviceId: string | undefined;
  if (typeof file.publicKeyPem === 'string') {
    derivedDeviceId = deviceIdFromPublicKey(publicKeyFromPem(file.publicKeyPem));
  } else if (typeof file.publicKey === 'string') {
    derivedDeviceId = deviceIdFromPublicKey(
      Buffer.from(file.publicKey.replace(/-/g, '+').replace(/_/g, '/'), 'base64'),
    );
  } else {
    throw new Error('identity has no public key');
  }
  return {
    version: typeof file.version === 'number' ? file.version : undefined,
    deviceId: file.deviceId,
    derivedDeviceId,
    createdAtMs: typeof file.createdAtMs === 'number' ? file.createdAtMs : undefined,
  };
}

export function parseDeviceAuth(value: unknown): DeviceAuthFile {
  const file = expectObject(value, 'device auth');
  if (typeof file.deviceId !== 'string') throw new Error('device-auth has no deviceId');
  return {
    version: file.version as number | undefined,
    deviceId: file.deviceId,
    tokens: isObject(file.tokens) ? (file.tokens as DeviceAuthFile['tokens']) : {},
  };
}

/** The parser for each JSON item; config is JSON5 and must be an object. */
export function parserFor(item: StateItem): ((value: unknown) => unknown) | undefined {
  switch (item) {
    case 'paired-devices':
      return parsePairedDevices;
    case 'paired-nodes':
      return parsePairedNodes;
    case 'pending-devices':
    case 'pending-nodes':
      return parsePending;
    case 'exec-approvals':
      return parseExecApprovals;
    case 'identity':
      return parseOpenClawIdentity;
    case 'device-auth':
      return parseDeviceAuth;
    case 'config':
    case 'bootstrap-tokens':
    case 'node-config':
      return parseObject;
    default:
      return undefined;
  }
}

/** The first existing path of an item in `dir`, or undefined. */
export async function locateItem(
  dir: string,
  spec: StateItemSpec,
  p: path.PlatformPath = path,
): Promise<string | undefined> {
  for (const rel of spec.paths) {
    const candidate = p.join(dir, ...rel.split('/'));
    try {
      await fs.lstat(candidate);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

export function itemSpec(item: StateItem): StateItemSpec {
  const spec = STATE_ITEMS.find((s) => s.item === item);
  if (!spec) throw new Error(`unknown state item ${item}`);
  return spec;
}
