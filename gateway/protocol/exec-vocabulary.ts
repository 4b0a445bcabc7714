/**
 * The exec-approval words the protocol carries (docs/exec-policy.md): a policy's `security` and `ask`, askFallback
 * (which uses the security words) and a person's decision. The policy engine (gateway/exec) and the wire schemas
 * (gateway/protocol) both take them from here.
 */

export const EXEC_SECURITY = ['deny', 'allowlist', 'full'] as const;
export const EXEC_ASK = ['off', 'on-miss', 'always'] as const;
export type ExecSecurity = (typeof EXEC_SECURITY)[number];
export type ExecAsk = (typeof EXEC_ASK)[number];
/** askFallback uses the security vocabulary: what happens when a prompt was needed and nobody answered. */
export type ExecAskFallback = ExecSecurity;

export const APPROVAL_DECISIONS = ['allow-once', 'allow-always', 'deny'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];
