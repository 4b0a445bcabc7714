/** Operator scopes (docs/protocol.md § Auth modes). */
export const OPERATOR_SCOPES = [
  'operator.read',
  'operator.write',
  'operator.admin',
  'operator.approvals',
  'operator.pairing',
  'operator.talk.secrets',
] as const;

export type OperatorScope = (typeof OPERATOR_SCOPES)[number];

const OPERATOR_SCOPE_SET: ReadonlySet<string> = new Set(OPERATOR_SCOPES);

export function isOperatorScope(scope: string): scope is OperatorScope {
  return OPERATOR_SCOPE_SET.has(scope);
}

/** admin implies read+write; write implies read (docs/protocol.md § Auth modes). Order kept, duplicates dropped. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  const out = [...new Set(scopes)];
  if (out.includes('operator.admin')) {
    for (const implied of ['operator.read', 'operator.write']) if (!out.includes(implied)) out.push(implied);
  }
  if (out.includes('operator.write') && !out.includes('operator.read')) out.push('operator.read');
  return out;
}

/** Does a session holding `held` satisfy `required`? admin satisfies all; write satisfies read. */
export function scopeSatisfied(held: readonly string[], required: string): boolean {
  if (held.includes('operator.admin')) return true;
  if (held.includes(required)) return true;
  return required === 'operator.read' && held.includes('operator.write');
}

/** True when every scope in `requested` is satisfied by `approved`. */
export function scopesCovered(approved: readonly string[], requested: readonly string[]): boolean {
  return requested.every((scope) => scopeSatisfied(approved, scope));
}

/** The scope bundle the real CLI asks for (docs/protocol.md § Auth modes; CLI_DEFAULT_OPERATOR_SCOPES). */
export const CLI_DEFAULT_OPERATOR_SCOPES: readonly OperatorScope[] = [
  'operator.admin',
  'operator.read',
  'operator.write',
  'operator.approvals',
  'operator.pairing',
  'operator.talk.secrets',
];
