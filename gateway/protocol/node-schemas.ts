import { z } from 'zod';
import { EXEC_ASK, EXEC_SECURITY } from './exec-vocabulary';
import { hardenParams, nodeSummary, safeId } from './method-schemas';

/**
 * The wire shapes of nodes (docs/protocol.md § Nodes): what `node.*` takes and answers beyond the listings in
 * method-schemas.ts. Every params schema refuses reserved object keys (hardenParams), the invoked command's params
 * included. gateway/nodes serves them; the contract types both ends from them.
 */

const int = z.number().int();

export const nodeIdParams = hardenParams(z.looseObject({ nodeId: z.string().min(1) }));
export const nodeRequestIdParams = hardenParams(z.looseObject({ requestId: z.string().min(1) }));
export const nodeRenameParams = hardenParams(
  z.looseObject({
    nodeId: z.string().min(1),
    displayName: z.string().trim().min(1).max(200),
  }),
);
export const nodeInvokeParams = hardenParams(
  z.looseObject({
    nodeId: z.string().min(1),
    command: z.string().min(1),
    params: z.unknown().optional(),
    timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
    idempotencyKey: z.string().min(1),
  }),
);
/** A node's answer to `node.invoke.request`. */
export const nodeInvokeResultParams = hardenParams(
  z.looseObject({
    id: z.string().min(1),
    nodeId: z.string().min(1),
    ok: z.boolean(),
    payload: z.unknown().optional(),
    payloadJSON: z.string().nullable().optional(),
    error: z.looseObject({ code: z.string().optional(), message: z.string().optional() }).nullable().optional(),
  }),
);
export const nodeEventParams = hardenParams(
  z.looseObject({
    event: z.string().min(1),
    payload: z.unknown().optional(),
    payloadJSON: z.string().nullable().optional(),
  }),
);

export const nodeDescribeResult = nodeSummary.extend({ ts: int });
export const nodePairApproveResult = z.looseObject({ requestId: z.string(), node: nodeSummary });
export const nodePairRejectResult = z.looseObject({ requestId: z.string(), nodeId: z.string() });
export const nodeRenameResult = z.looseObject({ nodeId: z.string(), displayName: z.string() });
export const nodeInvokeResult = z.looseObject({
  ok: z.literal(true),
  nodeId: z.string(),
  command: z.string(),
  payload: z.unknown(),
  payloadJSON: z.string().nullable(),
});
export const okResult = z.looseObject({ ok: z.literal(true) });

// Plain objects (not loose) so the file's own TypeScript interfaces fit them; what is not named is still sent.
const policyFields = z.object({
  security: z.enum(EXEC_SECURITY).optional(),
  ask: z.enum(EXEC_ASK).optional(),
  askFallback: z.enum(EXEC_SECURITY).optional(),
});

/** `{path, exists, hash, file}`: a host's or a node's exec-approvals.json, socket token redacted. */
export const execApprovalsSnapshot = z.strictObject({
  path: z.string(),
  exists: z.boolean(),
  hash: z.string(),
  // Shapes only what every reader relies on; the policy inside is described in docs/exec-policy.md.
  file: z.object({
    version: z.literal(1),
    socket: z.object({ path: z.string().optional() }).optional(),
    defaults: policyFields.optional(),
    agents: z.record(
      z.string(),
      policyFields.extend({ allowlist: z.array(z.object({ pattern: z.string() })).optional() }),
    ),
  }),
});
export const execApprovalsSetParams = hardenParams(
  z.looseObject({ file: z.unknown(), baseHash: z.string().max(200).nullable().optional() }),
);
export const execApprovalsNodeParams = hardenParams(z.looseObject({ nodeId: safeId() }));
export const execApprovalsNodeSetParams = hardenParams(
  z.looseObject({ nodeId: safeId(), file: z.unknown(), baseHash: z.string().max(200).nullable().optional() }),
);
