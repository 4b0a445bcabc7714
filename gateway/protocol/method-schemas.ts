import { z } from 'zod';

/**
 * Params and results of the gateway's core and device-pairing methods (spec 3.7, 7). Params schemas are what the
 * server validates; result schemas are the contract clients read, checked by the tests against a live gateway.
 */

const str = z.string();
const int = z.number().int();
const scopeList = z.array(str);

// ---- params ----
export const emptyParams = z.looseObject({});
export const healthParams = z.looseObject({ probe: z.boolean().optional() });
export const requestIdParams = z.looseObject({ requestId: str.min(1).max(200) });
export const deviceIdParams = z.looseObject({ deviceId: str.min(1).max(200) });
export const deviceRoleParams = z.looseObject({ deviceId: str.min(1).max(200), role: z.enum(['operator', 'node']) });
export const tokenRotateParams = deviceRoleParams.extend({ scopes: scopeList.max(64).optional() });

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
    .looseObject({ degraded: z.boolean(), reasons: z.array(str), delayP99Ms: z.number(), delayMaxMs: z.number(), utilization: z.number() })
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

/** A paired device as clients see it: token metadata only, never token strings or approvedScopes (spec 3.7). */
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

export const devicePairListResult = z.strictObject({ pending: z.array(pendingPairingRequest), paired: z.array(redactedPairedDevice) });
export const devicePairApproveResult = z.strictObject({ requestId: str, device: redactedPairedDevice });
export const devicePairRejectResult = z.strictObject({ requestId: str, deviceId: str });
export const devicePairRemoveResult = z.strictObject({ deviceId: str });
export const deviceTokenRotateResult = z.strictObject({ deviceId: str, role: str, token: str.optional(), scopes: scopeList, rotatedAtMs: int });
export const deviceTokenRevokeResult = z.strictObject({ deviceId: str, role: str, revokedAtMs: int });

export const devicePairResolvedEvent = z.strictObject({ requestId: str, deviceId: str, decision: z.enum(['approved', 'rejected']), ts: int });

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
