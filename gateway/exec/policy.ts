import {
  APPROVAL_DECISIONS,
  EXEC_ASK,
  EXEC_SECURITY,
  type ApprovalDecision,
  type ExecAsk,
  type ExecAskFallback,
  type ExecSecurity,
} from '../protocol/exec-vocabulary';
import type { AllowlistEntry, ExecApprovalsFile, ExecPolicyFields } from './approvals-file';

/** The resolved policy for one agent (docs/exec-policy.md § The policy fields). */
export interface ExecPolicy {
  security: ExecSecurity;
  ask: ExecAsk;
  askFallback: ExecAskFallback;
  autoAllowSkills: boolean;
}

export { APPROVAL_DECISIONS, type ApprovalDecision } from '../protocol/exec-vocabulary';

/** Clawdesk's built-in defaults when no file (or no field) says otherwise: the strict end, like macOS and [win]. */
export const CLAWDESK_EXEC_DEFAULTS: ExecPolicy = {
  security: 'allowlist',
  ask: 'on-miss',
  askFallback: 'deny',
  autoAllowSkills: false,
};

export const WILDCARD_AGENT = '*';

/** Scalars resolve agent → "*" → defaults → fallback (docs/exec-policy.md § The policy fields). */
export function resolveExecPolicy(
  file: ExecApprovalsFile,
  agentId: string | null | undefined,
  fallback: ExecPolicy = CLAWDESK_EXEC_DEFAULTS,
): ExecPolicy {
  const layers: ExecPolicyFields[] = [];
  const own = agentApprovals(file, agentId);
  if (agentId && agentId !== WILDCARD_AGENT && own) layers.push(own);
  const wildcard = agentApprovals(file, WILDCARD_AGENT);
  if (wildcard) layers.push(wildcard);
  if (file.defaults) layers.push(file.defaults);
  const pick = <K extends keyof ExecPolicyFields>(key: K): ExecPolicyFields[K] => {
    for (const layer of layers) if (layer[key] !== undefined) return layer[key];
    return undefined;
  };
  return {
    security: pick('security') ?? fallback.security,
    ask: pick('ask') ?? fallback.ask,
    askFallback: pick('askFallback') ?? fallback.askFallback,
    autoAllowSkills: pick('autoAllowSkills') ?? fallback.autoAllowSkills,
  };
}

/** An agent's own section, never an inherited member ("__proto__" is no agent). */
export function agentApprovals(
  file: ExecApprovalsFile,
  agentId: string | null | undefined,
): ExecApprovalsFile['agents'][string] | undefined {
  if (!agentId || !Object.hasOwn(file.agents, agentId)) return undefined;
  return file.agents[agentId];
}

/** Wildcard entries first, then the agent's own: additive (docs/exec-policy.md § The policy fields). */
export function resolveAllowlist(file: ExecApprovalsFile, agentId: string | null | undefined): AllowlistEntry[] {
  const out = [...(agentApprovals(file, WILDCARD_AGENT)?.allowlist ?? [])];
  if (agentId && agentId !== WILDCARD_AGENT) out.push(...(agentApprovals(file, agentId)?.allowlist ?? []));
  return out;
}

export function stricterSecurity(a: ExecSecurity, b: ExecSecurity): ExecSecurity {
  return EXEC_SECURITY.indexOf(a) <= EXEC_SECURITY.indexOf(b) ? a : b;
}

export function stricterAsk(a: ExecAsk, b: ExecAsk): ExecAsk {
  return EXEC_ASK.indexOf(a) >= EXEC_ASK.indexOf(b) ? a : b;
}

/**
 * The stricter of two layers (gateway config and host file): minimum security, maximum ask, minimum fallback.
 * Either side may be partial; a missing field defers to the other side.
 */
export function combineStricter(base: ExecPolicy, other: Partial<ExecPolicy> | undefined): ExecPolicy {
  if (!other) return base;
  return {
    security: other.security ? stricterSecurity(base.security, other.security) : base.security,
    ask: other.ask ? stricterAsk(base.ask, other.ask) : base.ask,
    askFallback: other.askFallback ? stricterSecurity(base.askFallback, other.askFallback) : base.askFallback,
    autoAllowSkills: base.autoAllowSkills && (other.autoAllowSkills ?? true),
  };
}

export interface ApprovalNeedInput {
  policy: ExecPolicy;
  /** The command could be analysed (no redirections, substitutions, unknown shells...). */
  analysisOk: boolean;
  /** Every segment matched the allowlist. */
  allowlistSatisfied: boolean;
  /** A durable allow-always entry (not a user-written pattern) covered the command. */
  durableAllowAlways?: boolean;
}

/** OpenClaw's requiresExecApproval (docs/exec-policy.md § When a decision is needed). */
export function requiresApproval(input: ApprovalNeedInput): boolean {
  const { policy } = input;
  if (policy.security === 'deny') return false; // nothing to approve: it is refused outright
  if (policy.ask === 'always') return true;
  if (input.durableAllowAlways) return false;
  return (
    policy.ask === 'on-miss' && policy.security === 'allowlist' && (!input.analysisOk || !input.allowlistSatisfied)
  );
}

/**
 * While ask=always, allow-always is not offered: it could never suppress a prompt
 * (docs/exec-policy.md § When a decision is needed).
 */
export function allowedDecisions(ask: ExecAsk): ApprovalDecision[] {
  return ask === 'always' ? ['allow-once', 'deny'] : ['allow-once', 'allow-always', 'deny'];
}

/**
 * What askFallback decides when a prompt was needed but no approver answered
 * (docs/exec-policy.md § When a decision is needed): deny → deny; allowlist → allow only on a match; full → allow once.
 */
export function askFallbackDecision(fallback: ExecAskFallback, allowlistSatisfied: boolean): 'allow-once' | 'deny' {
  if (fallback === 'full') return 'allow-once';
  if (fallback === 'allowlist' && allowlistSatisfied) return 'allow-once';
  return 'deny';
}

export function isApprovalDecision(value: unknown): value is ApprovalDecision {
  return typeof value === 'string' && (APPROVAL_DECISIONS as readonly string[]).includes(value);
}
