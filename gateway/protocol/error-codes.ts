/**
 * Every error code and sub-code the gateway sends, in one place (docs/protocol.md § Errors). The wire follows
 * OpenClaw 2026.9.6 exactly: its clients switch on `error.code`, on `details.code` for most failures (pairing,
 * auth, scopes, node invoke) and on `details.reason` for approval failures, so the field a sub-code travels in is
 * part of the contract and is chosen here, not at each call site.
 */

/**
 * `error.code`: OpenClaw's closed `ErrorCodes` enum, minus `FORBIDDEN`, which Clawdesk never sends (a missing scope
 * is `INVALID_REQUEST` + `details.code: "MISSING_SCOPE"`, as in the reference).
 */
export const ERROR_CODES = [
  'NOT_LINKED',
  'NOT_PAIRED',
  'AGENT_TIMEOUT',
  'INVALID_REQUEST',
  'APPROVAL_NOT_FOUND',
  'UNAVAILABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Device-proof failures (`details.code`), each with the `details.reason` the reference sends beside it. */
export const DEVICE_AUTH_FAILURE_REASONS = {
  DEVICE_AUTH_DEVICE_ID_MISMATCH: 'device-id-mismatch',
  DEVICE_AUTH_SIGNATURE_EXPIRED: 'device-signature-stale',
  DEVICE_AUTH_NONCE_REQUIRED: 'device-nonce-missing',
  DEVICE_AUTH_NONCE_MISMATCH: 'device-nonce-mismatch',
  DEVICE_AUTH_SIGNATURE_INVALID: 'device-signature',
  DEVICE_AUTH_PUBLIC_KEY_INVALID: 'device-public-key',
} as const;
export type DeviceAuthFailureCode = keyof typeof DEVICE_AUTH_FAILURE_REASONS;

/** Why a connect needs pairing: `details.reason` beside `details.code: "PAIRING_REQUIRED"`. */
export const PAIRING_REASONS = ['not-paired', 'role-upgrade', 'scope-upgrade', 'metadata-upgrade'] as const;
export type PairingReason = (typeof PAIRING_REASONS)[number];

/** Shared-secret failures of `connect` (`details.code`). */
export const SHARED_AUTH_FAILURE_CODES = [
  'AUTH_TOKEN_MISSING',
  'AUTH_PASSWORD_MISSING',
  'AUTH_TOKEN_MISMATCH',
  'AUTH_PASSWORD_MISMATCH',
] as const;
export type SharedAuthFailureCode = (typeof SHARED_AUTH_FAILURE_CODES)[number];

/**
 * Checks that bind an approved `system.run` to its approval. They travel in both fields: `details.code` for the
 * node-invoke clients, `details.reason` for the approval clients.
 */
export const APPROVAL_BINDING_CODES = [
  'MISSING_RUN_ID',
  'UNKNOWN_APPROVAL_ID',
  'APPROVAL_EXPIRED',
  'APPROVAL_NODE_MISMATCH',
  'APPROVAL_DEVICE_MISMATCH',
  'APPROVAL_REQUIRED',
  'APPROVAL_ARGV_MISMATCH',
  'APPROVAL_CWD_MISMATCH',
  'APPROVAL_AGENT_MISMATCH',
  'APPROVAL_SESSION_MISMATCH',
  'APPROVAL_ENV_MISMATCH',
  'APPROVAL_CONSUMED',
  'INVALID_APPROVAL_SOURCE',
  'APPROVAL_SOURCE_MISMATCH',
] as const;
export type ApprovalBindingCode = (typeof APPROVAL_BINDING_CODES)[number];

/** Exec-approvals file failures (`details.code` of `exec.approvals.*`). */
export const EXEC_APPROVALS_FILE_CODES = [
  'BASE_HASH_REQUIRED',
  'BASE_HASH_MISMATCH',
  'INVALID_FILE',
  'SYMLINK_REFUSED',
  'NOT_A_FILE',
] as const;
export type ExecApprovalsFileCode = (typeof EXEC_APPROVALS_FILE_CODES)[number];

/** `details.code`: the sub-codes Clawdesk itself produces (the gateway, and its client for local failures). */
export const DETAIL_CODES = [
  // connect
  'PROTOCOL_MISMATCH',
  'INVALID_ROLE',
  'CONTROL_UI_ORIGIN_NOT_ALLOWED',
  'AUTH_RATE_LIMITED',
  'AUTH_DEVICE_TOKEN_MISMATCH',
  ...SHARED_AUTH_FAILURE_CODES,
  ...(Object.keys(DEVICE_AUTH_FAILURE_REASONS) as DeviceAuthFailureCode[]),
  'DEVICE_IDENTITY_REQUIRED',
  'PAIRING_REQUIRED',
  'RUNTIME_TOKEN_UNTRUSTED_CLIENT',
  // any method
  'UNKNOWN_METHOD',
  'UNAUTHORIZED_ROLE',
  'MISSING_SCOPE',
  'AGENT_RUNTIME_UNAVAILABLE',
  // device pairing
  'CROSS_DEVICE_DENIED',
  // nodes
  'NOT_CONNECTED',
  'REQUESTER_GONE',
  'COMMAND_RESERVED',
  'NODE_APPROVAL_REQUIRED',
  'COMMAND_NOT_ALLOWED',
  'TIMEOUT',
  'UNKNOWN_INVOKE_ID',
  'NODE_MISMATCH',
  'BAD_NODE_PAYLOAD',
  'UNKNOWN_REQUEST_ID',
  'UNKNOWN_NODE',
  // exec approvals
  ...APPROVAL_BINDING_CODES,
  ...EXEC_APPROVALS_FILE_CODES,
  // made by Clawdesk's client, never sent: a pinned wss:// certificate that changed (gateway/remote)
  'TLS_FINGERPRINT_MISMATCH',
] as const;
export type DetailCode = (typeof DETAIL_CODES)[number];

/**
 * `details.reason` of approval failures: OpenClaw's approval clients read this field (`APPROVAL_NOT_FOUND` and
 * `APPROVAL_ALREADY_RESOLVED` mark a prompt stale), never `details.code`.
 */
export const APPROVAL_ERROR_REASONS = [
  'APPROVAL_NOT_FOUND',
  'APPROVAL_ALREADY_RESOLVED',
  'APPROVAL_AMBIGUOUS',
  'APPROVAL_DUPLICATE',
  'APPROVAL_LIMIT',
  'APPROVAL_TOO_LARGE',
  'APPROVAL_EXPIRED',
  'APPROVAL_SELF_RESOLVE',
  'APPROVAL_ALLOW_ALWAYS_UNAVAILABLE',
  'APPROVAL_DECISION_NOT_ALLOWED',
  'APPROVAL_KIND_UNKNOWN',
] as const;
export type ApprovalErrorReason = (typeof APPROVAL_ERROR_REASONS)[number];

/** Every `details.reason` Clawdesk sends. */
export type DetailReason =
  | ApprovalErrorReason
  | ApprovalBindingCode
  | PairingReason
  | (typeof DEVICE_AUTH_FAILURE_REASONS)[DeviceAuthFailureCode]
  | 'origin-not-allowed';

/**
 * An error's `details`: a sub-code in the field its clients read, plus context. `code` may also be a code a node
 * answered with, relayed as is (see relayedNodeErrorDetails).
 */
export interface ErrorDetails {
  code?: DetailCode | RelayedNodeErrorCode;
  reason?: DetailReason;
  [context: string]: unknown;
}

/** A node's own error code relayed to the `node.invoke` caller unchanged: the node chooses it, not the gateway. */
export type RelayedNodeErrorCode = string & { readonly relayedFromNode: unique symbol };

/** `details` with a sub-code in `details.code`. */
export function codeDetails(code: DetailCode, context: Record<string, unknown> = {}): ErrorDetails {
  return { code, ...context };
}

/** `details` of an approval failure: the sub-code in `details.reason`, where OpenClaw's approval clients look. */
export function approvalReasonDetails(
  reason: ApprovalErrorReason,
  context: Record<string, unknown> = {},
): ErrorDetails {
  return { reason, ...context };
}

/** `details` of an approved-run binding failure: the sub-code in both fields (see APPROVAL_BINDING_CODES). */
export function approvalBindingDetails(code: ApprovalBindingCode): ErrorDetails {
  return { code, reason: code };
}

/** `details` of a node's `node.invoke.result` error, relayed: its code as it sent it, and the whole error. */
export function relayedNodeErrorDetails(nodeError: { code: string; message: string }): ErrorDetails {
  return { code: nodeError.code as RelayedNodeErrorCode, nodeError };
}

/** A received error's sub-code, wherever the sender put it (`details.code` first, then `details.reason`). */
export function errorSubCode(details: unknown): string | undefined {
  if (!details || typeof details !== 'object') return undefined;
  const { code, reason } = details as { code?: unknown; reason?: unknown };
  if (typeof code === 'string') return code;
  return typeof reason === 'string' ? reason : undefined;
}
