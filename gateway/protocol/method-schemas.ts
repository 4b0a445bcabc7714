import { z } from 'zod';

/**
 * Params and results of the gateway's core and device-pairing methods (docs/protocol.md § Pairing; docs/protocol.md § Methods). Params schemas are what the
 * server validates; result schemas are the contract clients read, checked by the tests against a live gateway.
 */

const str = z.string();
const int = z.number().int();
const scopeList = z.array(str);

// ---- reserved object keys (issue 9 finding 5) ----

/**
 * Names that reach or replace an object's prototype when used as a property key. No client-supplied id or key may be
 * one of them, anywhere: the gateway's own maps are Maps or null-prototype objects, and the schemas refuse these
 * names outright, so a later `obj[key] = ...` elsewhere (a node, a file writer) can never be steered into
 * `Object.prototype`.
 */
export const RESERVED_OBJECT_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);
const RESERVED_LIST = '"__proto__", "prototype" and "constructor"';

export function isReservedObjectKey(key: string): boolean {
  return RESERVED_OBJECT_KEYS.has(key);
}

const RESERVED_VALUE_MESSAGE = `is a reserved object key (${RESERVED_LIST} cannot be used as ids or keys)`;

/** An identifier (id, agent id, device id, env key...): a non-empty string that is not a reserved object key. */
export function safeId(max = 200) {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((value) => !RESERVED_OBJECT_KEYS.has(value), { message: RESERVED_VALUE_MESSAGE });
}

/** Like safeId, but "" is allowed (optional display ids the reference sends empty). */
export function safeIdOrEmpty(max = 200) {
  return z
    .string()
    .max(max)
    .refine((value) => !RESERVED_OBJECT_KEYS.has(value), { message: RESERVED_VALUE_MESSAGE });
}

/** How deep and how wide the reserved-key scan looks before it refuses the params as too complex to check. */
const SCAN_MAX_DEPTH = 64;
const SCAN_MAX_NODES = 100_000;

/**
 * Property names whose string value is an identifier something may later index by (`id`, `agentId`, `requestId`,
 * `sessionKey`, `kind`, `role`, `event`...): such a value may not be a reserved object key either, at any depth (a
 * relayed `node.invoke` payload's `agentId` included).
 */
const ID_PROPERTY = /^(id|[A-Za-z]*Id|[A-Za-z]*Key|kind|role|event)$/;

export type ReservedKeyFinding =
  | { kind: 'key'; path: (string | number)[]; key: string }
  | { kind: 'value'; path: (string | number)[]; key: string }
  | { kind: 'too-complex'; path: (string | number)[] };

/**
 * The first reserved object key used as a property name (at any depth), or as the value of an identifier property,
 * with its path. JSON.parse creates `"__proto__"` as an own key and zod silently drops it, so this runs on the raw
 * params and refuses instead. Params nested deeper or wider than the scan can follow are refused too (fail closed).
 */
export function findReservedKey(value: unknown): ReservedKeyFinding | null {
  let nodes = 0;
  const stack: Array<{ value: unknown; path: (string | number)[] }> = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (!current || typeof current !== 'object') continue;
    if (++nodes > SCAN_MAX_NODES || path.length > SCAN_MAX_DEPTH) return { kind: 'too-complex', path };
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...path, i] });
      continue;
    }
    const keys = Object.keys(current);
    for (const key of keys) {
      if (RESERVED_OBJECT_KEYS.has(key)) return { kind: 'key', path, key };
      const inner = (current as Record<string, unknown>)[key];
      if (typeof inner === 'string' && RESERVED_OBJECT_KEYS.has(inner) && ID_PROPERTY.test(key))
        return { kind: 'value', path: [...path, key], key: inner };
    }
    for (let i = keys.length - 1; i >= 0; i--)
      stack.push({ value: (current as Record<string, unknown>)[keys[i]], path: [...path, keys[i]] });
  }
  return null;
}

/**
 * A method's params schema that first refuses reserved object keys in the raw params (as a property name anywhere,
 * or as an identifier's value), naming the path and the reason, then validates as `schema` does. Every method of the
 * gateway's own modules is declared through this.
 */
export function hardenParams<T extends z.ZodType>(schema: T) {
  return z.preprocess((raw, ctx) => {
    const found = findReservedKey(raw);
    if (found?.kind === 'too-complex') {
      ctx.addIssue({
        code: 'custom',
        path: found.path,
        message: `params nest deeper than ${SCAN_MAX_DEPTH} levels or hold more than ${SCAN_MAX_NODES} values; refused unchecked`,
      });
    } else if (found?.kind === 'key') {
      ctx.addIssue({
        code: 'custom',
        path: found.path,
        message: `"${found.key}" is a reserved object key (${RESERVED_LIST} cannot be used as keys)`,
      });
    } else if (found?.kind === 'value') {
      ctx.addIssue({ code: 'custom', path: found.path, message: `"${found.key}" ${RESERVED_VALUE_MESSAGE}` });
    }
    return raw;
  }, schema);
}

/** A record keyed by client-supplied strings: reserved keys are refused by name, entries and key length are bounded. */
export function safeRecord<V extends z.ZodType>(value: V, options: { maxEntries: number; maxKeyLength?: number }) {
  const maxKey = options.maxKeyLength ?? 256;
  return z.record(z.string(), value).superRefine((record, ctx) => {
    const keys = Object.keys(record);
    if (keys.length > options.maxEntries)
      ctx.addIssue({ code: 'custom', message: `more than ${options.maxEntries} entries` });
    for (const key of keys) {
      if (RESERVED_OBJECT_KEYS.has(key))
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `"${key}" is a reserved object key (${RESERVED_LIST} cannot be used as keys)`,
        });
      else if (!key || key.length > maxKey)
        ctx.addIssue({ code: 'custom', path: [key], message: `a key must be 1-${maxKey} characters` });
    }
  });
}

// ---- params ----
const scopeName = safeId(100);
export const emptyParams = hardenParams(z.looseObject({}));
export const healthParams = hardenParams(z.looseObject({ probe: z.boolean().optional() }));
export const requestIdParams = hardenParams(z.looseObject({ requestId: safeId() }));
export const deviceIdParams = hardenParams(z.looseObject({ deviceId: safeId() }));
const deviceRoleShape = z.looseObject({ deviceId: safeId(), role: z.enum(['operator', 'node']) });
export const deviceRoleParams = hardenParams(deviceRoleShape);
export const tokenRotateParams = hardenParams(
  deviceRoleShape.extend({ scopes: z.array(scopeName).max(64).optional() }),
);

// ---- results ----
const sessionsSummary = z.looseObject({ path: str, count: int.min(0), recent: z.array(z.unknown()) });

export const healthResult = z.looseObject({
  ok: z.boolean(),
  ts: int,
  durationMs: int.min(0),
  channels: z.record(str, z.unknown()),
  channelOrder: z.array(str),
  channelLabels: z.record(str, str),
  heartbeatSeconds: z.number(),
  defaultAgentId: str,
  agents: z.array(z.looseObject({ agentId: str, isDefault: z.boolean(), sessions: sessionsSummary })),
  sessions: sessionsSummary,
  eventLoop: z
    .looseObject({
      degraded: z.boolean(),
      reasons: z.array(str),
      delayP99Ms: z.number(),
      delayMaxMs: z.number(),
      utilization: z.number(),
    })
    .optional(),
});

export const statusResult = z.looseObject({
  ok: z.literal(true),
  ts: int,
  version: str,
  runtimeVersion: str,
  uptimeMs: int.min(0),
  authMode: z.enum(['none', 'token', 'password']),
});

export const presenceEntry = z.looseObject({
  host: str,
  ip: str.optional(),
  version: str,
  platform: str,
  mode: str,
  reason: str,
  text: str,
  ts: int,
});
export const systemPresenceResult = z.array(presenceEntry);

export const configGetResult = z.looseObject({
  path: str,
  exists: z.boolean(),
  valid: z.boolean(),
  issues: z.array(str),
  hash: str,
  config: z.unknown(),
});

export const pendingPairingRequest = z.looseObject({
  requestId: str,
  deviceId: str,
  publicKey: str,
  role: str.optional(),
  roles: scopeList.optional(),
  scopes: scopeList.optional(),
  remoteIp: str.optional(),
  silent: z.boolean().optional(),
  isRepair: z.boolean().optional(),
  ts: int,
});

/** A paired device as clients see it: token metadata only, never token strings or approvedScopes (docs/protocol.md § Pairing). */
export const redactedPairedDevice = z
  .looseObject({
    deviceId: str,
    publicKey: str,
    roles: scopeList.optional(),
    scopes: scopeList.optional(),
    tokens: z.array(
      z.strictObject({
        role: str,
        scopes: scopeList,
        createdAtMs: int,
        rotatedAtMs: int.optional(),
        revokedAtMs: int.optional(),
        lastUsedAtMs: int.optional(),
      }),
    ),
    createdAtMs: int,
    approvedAtMs: int,
  })
  .refine((d) => !('approvedScopes' in d), { message: 'approvedScopes must not be exposed' });

export const devicePairListResult = z.strictObject({
  pending: z.array(pendingPairingRequest),
  paired: z.array(redactedPairedDevice),
});
export const devicePairApproveResult = z.strictObject({ requestId: str, device: redactedPairedDevice });
export const devicePairRejectResult = z.strictObject({ requestId: str, deviceId: str });
export const devicePairRemoveResult = z.strictObject({ deviceId: str });
export const deviceTokenRotateResult = z.strictObject({
  deviceId: str,
  role: str,
  token: str.optional(),
  scopes: scopeList,
  rotatedAtMs: int,
});
export const deviceTokenRevokeResult = z.strictObject({ deviceId: str, role: str, revokedAtMs: int });

/** A node as `node.list` and `node.describe` show it: approved surface only, never token material. */
export const nodeSummary = z.looseObject({
  nodeId: str,
  displayName: str.optional(),
  platform: str.optional(),
  version: str.optional(),
  deviceFamily: str.optional(),
  remoteIp: str.optional(),
  caps: scopeList.optional(),
  commands: scopeList,
  paired: z.boolean(),
  connected: z.boolean(),
  connectedAtMs: int.optional(),
  approvedAtMs: int.optional(),
});
export const nodeListResult = z.looseObject({ ts: int, nodes: z.array(nodeSummary) });

export const pendingNodeRequest = z.looseObject({
  requestId: str,
  nodeId: str,
  displayName: str.optional(),
  platform: str.optional(),
  commands: scopeList.optional(),
  requiredApproveScopes: scopeList,
  isRepair: z.boolean().optional(),
  ts: int,
});
export const nodePairListResult = z.looseObject({
  pending: z.array(pendingNodeRequest),
  paired: z.array(
    z.looseObject({ nodeId: str, commands: scopeList.optional(), approvedAtMs: int, connected: z.boolean() }),
  ),
});

export const devicePairResolvedEvent = z.strictObject({
  requestId: str,
  deviceId: str,
  decision: z.enum(['approved', 'rejected']),
  ts: int,
});

export const helloOk = z.looseObject({
  type: z.literal('hello-ok'),
  protocol: z.literal(4),
  server: z.looseObject({ version: str, connId: str }),
  features: z.strictObject({ methods: z.array(str), events: z.array(str) }),
  snapshot: z.looseObject({
    presence: systemPresenceResult,
    health: healthResult,
    stateVersion: z.strictObject({ presence: int, health: int }),
    uptimeMs: int.min(0),
    authMode: z.enum(['none', 'token', 'password']),
  }),
  auth: z.looseObject({
    method: z.enum(['none', 'token', 'password', 'device-token']),
    role: z.enum(['operator', 'node']),
    scopes: scopeList,
    deviceToken: str.optional(),
    issuedAtMs: int.optional(),
  }),
  policy: z.strictObject({ maxPayload: int, maxBufferedBytes: int, tickIntervalMs: int }),
});
