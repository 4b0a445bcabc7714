import { z } from 'zod';
import { APPROVAL_DECISIONS, EXEC_ASK, EXEC_SECURITY } from './exec-vocabulary';
import { hardenParams, isReservedObjectKey, safeId, safeIdOrEmpty } from './method-schemas';

/**
 * The wire shapes of exec approvals (docs/protocol.md § Approvals): what `exec.approval.*` and `approval.*` take and
 * answer, with the limits a request must keep. gateway/approvals serves them; the contract
 * (gateway/protocol/gateway-contract.ts) types both ends from them.
 */

/**
 * Bounds on one approval request and on all of them (issue 9 finding 14: 120 requests of 1 MB with a 24 h expiry took
 * the gateway from 82 to 327 MB and made every `exec.approval.list` caller a slow consumer). A person cannot review
 * more than this anyway; anything bigger is refused with the limit named.
 */
/** Longest expiry a request may ask for (the default is 30 min). */
export const MAX_APPROVAL_TIMEOUT_MS = 60 * 60_000;
/** Command text (the requester's `command`, a plan's `commandText` / `commandPreview`), in UTF-8 bytes. */
export const MAX_APPROVAL_COMMAND_BYTES = 64 * 1024;
/** argv: entries, and all entries together in UTF-8 bytes. */
export const MAX_APPROVAL_ARGV_ENTRIES = 256;
export const MAX_APPROVAL_ARGV_BYTES = 64 * 1024;
/** Environment overrides: entries, and keys plus values together in UTF-8 bytes. */
export const MAX_APPROVAL_ENV_ENTRIES = 128;
export const MAX_APPROVAL_ENV_BYTES = 32 * 1024;
/** Paths and other single-line fields (cwd, resolvedPath), in characters. */
export const MAX_APPROVAL_FIELD_CHARS = 4096;
/** The request as the gateway keeps and broadcasts it (plan included), serialized. */
export const MAX_APPROVAL_REQUEST_BYTES = 512 * 1024;
/** All live approval records together, serialized. */
export const MAX_APPROVAL_BYTES_TOTAL = 32 * 1024 * 1024;
/** `exec.approval.list` answers at most this many bytes (and MAX_APPROVAL_LIST_ENTRIES entries). */
export const MAX_APPROVAL_LIST_BYTES = 1024 * 1024;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

const commandTextSchema = z.string().refine((text) => utf8Bytes(text) <= MAX_APPROVAL_COMMAND_BYTES, {
  message: `command text longer than ${MAX_APPROVAL_COMMAND_BYTES} bytes`,
});
const argvSchema = z
  .array(z.string())
  .min(1, { message: 'an argv needs at least the program' })
  .max(MAX_APPROVAL_ARGV_ENTRIES, { message: `more than ${MAX_APPROVAL_ARGV_ENTRIES} argv entries` })
  .refine((argv) => argv.reduce((n, arg) => n + utf8Bytes(arg), 0) <= MAX_APPROVAL_ARGV_BYTES, {
    message: `argv longer than ${MAX_APPROVAL_ARGV_BYTES} bytes in total`,
  });
const fieldText = z
  .string()
  .max(MAX_APPROVAL_FIELD_CHARS, { message: `longer than ${MAX_APPROVAL_FIELD_CHARS} characters` });
const envSchema = z.record(z.string(), z.string()).superRefine((env, ctx) => {
  const keys = Object.keys(env);
  if (keys.length > MAX_APPROVAL_ENV_ENTRIES)
    ctx.addIssue({ code: 'custom', message: `more than ${MAX_APPROVAL_ENV_ENTRIES} environment overrides` });
  let bytes = 0;
  for (const key of keys) {
    if (isReservedObjectKey(key))
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `"${key}" is a reserved object key and cannot be an environment variable name`,
      });
    else if (!key || key.length > 256 || /[=\u0000]/.test(key))
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'an environment variable name must be 1-256 characters without "=" or NUL',
      });
    bytes += utf8Bytes(key) + utf8Bytes(env[key]);
  }
  if (bytes > MAX_APPROVAL_ENV_BYTES)
    ctx.addIssue({
      code: 'custom',
      message: `environment overrides longer than ${MAX_APPROVAL_ENV_BYTES} bytes in total`,
    });
});
/** Optional ids the reference may send empty: bounded, and never a reserved object key. */
const optionalId = (max = 512) => safeIdOrEmpty(max).nullable().optional();

export const planSchema = z.looseObject({
  argv: argvSchema.min(1),
  cwd: fieldText.nullable().optional(),
  commandText: commandTextSchema.optional(),
  commandPreview: commandTextSchema.nullable().optional(),
  agentId: optionalId(),
  sessionKey: optionalId(),
  mutableFileOperand: z.unknown().optional(),
});

export const approvalRequestShape = z.looseObject({
  id: safeId(200).optional(),
  command: commandTextSchema.optional(),
  commandArgv: argvSchema.optional(),
  systemRunPlan: planSchema.nullable().optional(),
  env: envSchema.nullable().optional(),
  cwd: fieldText.nullable().optional(),
  nodeId: optionalId(),
  host: optionalId(64),
  security: z.enum(EXEC_SECURITY).nullable().optional(),
  ask: z.enum(EXEC_ASK).nullable().optional(),
  /** The policy's askFallback as the requester states it; the gateway never applies one looser than its own. */
  askFallback: z.enum(EXEC_SECURITY).nullable().optional(),
  agentId: optionalId(),
  resolvedPath: fieldText.nullable().optional(),
  sessionKey: optionalId(),
  turnSourceChannel: optionalId(),
  turnSourceTo: optionalId(),
  turnSourceAccountId: optionalId(),
  turnSourceThreadId: z
    .union([safeIdOrEmpty(512), z.number()])
    .nullable()
    .optional(),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(MAX_APPROVAL_TIMEOUT_MS, { message: `timeoutMs above the maximum of ${MAX_APPROVAL_TIMEOUT_MS} ms (1 h)` })
    .optional(),
  twoPhase: z.boolean().optional(),
});
export const approvalRequestParams = hardenParams(approvalRequestShape);
export type ApprovalRequestParams = z.infer<typeof approvalRequestShape>;

/** `exec.approval.list` answers at most this many (the most recent) pending approvals. */
export const MAX_APPROVAL_LIST_ENTRIES = 100;
export const approvalListParams = hardenParams(
  z.looseObject({ limit: z.number().int().min(1).max(MAX_APPROVAL_LIST_ENTRIES).optional() }),
);
export const approvalIdParams = hardenParams(z.looseObject({ id: safeId(200) }));
export const approvalDecisionParams = hardenParams(
  z.looseObject({ id: safeId(200), decision: z.enum(APPROVAL_DECISIONS) }),
);
/** `approval.resolve`: the kind is checked by the handler, so an unknown kind gets its own error code. */
export const approvalKindDecisionParams = hardenParams(
  z.looseObject({ id: safeId(200), kind: safeId(64), decision: z.enum(APPROVAL_DECISIONS) }),
);

const decision = z.enum(APPROVAL_DECISIONS);
const int = z.number().int();
const textOrNull = z.string().nullable();

/**
 * A request as the gateway files it, lists it and broadcasts it in `exec.approval.requested`: the command text is the
 * gateway's own rendering of the argv that will run (`agentCommandText` is what the requester claimed, when that
 * differs), control characters replaced; absent fields are left out rather than sent as undefined.
 */
export const filedApprovalRequest = z.looseObject({
  command: z.string(),
  commandPreview: z.string(),
  agentCommandText: z.string().optional(),
  commandArgv: z.array(z.string()).optional(),
  envKeys: z.array(z.string()).optional(),
  systemRunBinding: z
    .looseObject({
      argv: z.array(z.string()).nullable(),
      cwd: textOrNull,
      agentId: textOrNull,
      sessionKey: textOrNull,
      envHash: z.string(),
    })
    .optional(),
  systemRunPlan: planSchema.optional(),
  cwd: textOrNull,
  nodeId: textOrNull,
  host: textOrNull,
  security: z.enum(EXEC_SECURITY).nullable(),
  ask: z.enum(EXEC_ASK),
  allowedDecisions: z.array(decision),
  agentId: textOrNull,
  resolvedPath: textOrNull,
  agentResolvedPath: z.string().optional(),
  sessionKey: textOrNull,
  turnSourceChannel: z.string().optional(),
  turnSourceTo: z.string().optional(),
  turnSourceAccountId: z.string().optional(),
  turnSourceThreadId: z.union([z.string(), z.number()]).optional(),
});
export type FiledApprovalRequest = z.output<typeof filedApprovalRequest>;

/** A pending exec approval as `exec.approval.list` returns it: a bare array, as the openclaw CLI requires. */
export const execApprovalSummary = z.looseObject({
  id: z.string(),
  request: filedApprovalRequest,
  createdAtMs: int,
  expiresAtMs: int,
});
export const execApprovalListResult = z.array(execApprovalSummary);

/** What `exec.approval.request` (in the end) and `exec.approval.waitDecision` answer: the decision, or null. */
export const execApprovalOutcome = z.looseObject({
  id: z.string(),
  decision: decision.nullable(),
  createdAtMs: int,
  expiresAtMs: int,
  terminalReason: z.enum(['user', 'timeout', 'no-approval-route']).optional(),
  askFallback: z.enum(EXEC_SECURITY).optional(),
  fallbackDecision: z.enum(['allow-once', 'deny']).optional(),
  /** Only when nobody could be asked: askFallback decided at once. */
  deliveryRoute: z.literal('none').optional(),
});
export type ExecApprovalOutcome = z.input<typeof execApprovalOutcome>;
export const execApprovalResolveResult = z.strictObject({ ok: z.literal(true) });
export const execApprovalGetResult = z.looseObject({
  id: z.string(),
  commandText: z.string(),
  commandPreview: z.string().nullable(),
  allowedDecisions: z.array(decision),
  host: z.string().nullable().optional(),
  nodeId: z.string().nullable().optional(),
  agentId: z.string().nullable().optional(),
  createdAtMs: int,
  expiresAtMs: int,
  status: z.enum(['pending', 'resolved', 'expired']),
  decision: decision.nullable(),
});

/** An approval as `approval.get` / `approval.resolve` show it (OpenClaw's kind-neutral approval view). */
export const approvalView = z.looseObject({
  id: z.string(),
  status: z.enum(['pending', 'allowed', 'denied', 'expired', 'cancelled']),
  presentation: z.looseObject({
    kind: z.literal('exec'),
    commandText: z.string(),
    commandPreview: z.string().optional(),
    agentCommandText: z.string().optional(),
    host: z.string().nullable(),
    nodeId: z.string().nullable(),
    agentId: z.string().nullable(),
    allowedDecisions: z.array(decision),
  }),
  createdAtMs: int,
  expiresAtMs: int,
  resolvedAtMs: int.optional(),
  reason: z.string().nullable().optional(),
  decision: decision.nullable().optional(),
  source: z.looseObject({ agentId: z.string().optional(), sessionKey: z.string().optional() }).optional(),
  resolver: z.looseObject({}).optional(),
});
export type ApprovalView = z.input<typeof approvalView>;
export const approvalGetResult = z.strictObject({ approval: approvalView });
export const approvalResolveResult = z.strictObject({ applied: z.boolean(), approval: approvalView });
/** Plugin and OpenClaw-internal approvals never exist here: the lists are always empty. */
export const emptyApprovalListParams = hardenParams(z.looseObject({}));
export const emptyApprovalListResult = z.array(z.never());
