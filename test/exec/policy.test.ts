import { describe, expect, it } from 'vitest';
import { normalizeExecApprovals } from '../../gateway/exec/approvals-file';
import {
  CLAWDESK_EXEC_DEFAULTS,
  allowedDecisions,
  askFallbackDecision,
  combineStricter,
  requiresApproval,
  resolveAllowlist,
  resolveExecPolicy,
} from '../../gateway/exec/policy';

describe('resolveExecPolicy', () => {
  it('uses Clawdesk defaults (allowlist / on-miss / deny) when nothing is set', () => {
    expect(resolveExecPolicy(normalizeExecApprovals(undefined), 'main')).toEqual(CLAWDESK_EXEC_DEFAULTS);
    expect(CLAWDESK_EXEC_DEFAULTS).toMatchObject({ security: 'allowlist', ask: 'on-miss', askFallback: 'deny' });
  });

  it('resolves agent → "*" → defaults → fallback field by field', () => {
    const file = normalizeExecApprovals({
      version: 1,
      defaults: { security: 'full', ask: 'off', askFallback: 'allowlist' },
      agents: { '*': { ask: 'always' }, main: { security: 'deny' } },
    });
    expect(resolveExecPolicy(file, 'main')).toMatchObject({
      security: 'deny',
      ask: 'always',
      askFallback: 'allowlist',
    });
    expect(resolveExecPolicy(file, 'other')).toMatchObject({ security: 'full', ask: 'always' });
    expect(resolveExecPolicy(file, null)).toMatchObject({ security: 'full', ask: 'always' });
  });

  it('adds wildcard entries before the agent entries', () => {
    const file = normalizeExecApprovals({
      version: 1,
      agents: { '*': { allowlist: ['/a'] }, main: { allowlist: ['/b'] } },
    });
    expect(resolveAllowlist(file, 'main').map((e) => e.pattern)).toEqual(['/a', '/b']);
    expect(resolveAllowlist(file, 'x').map((e) => e.pattern)).toEqual(['/a']);
  });
});

describe('combineStricter', () => {
  it('takes the lower security and the higher ask', () => {
    const host = { security: 'full', ask: 'off', askFallback: 'full', autoAllowSkills: false } as const;
    expect(combineStricter(host, { security: 'allowlist', ask: 'always' })).toMatchObject({
      security: 'allowlist',
      ask: 'always',
    });
    expect(combineStricter({ ...host, security: 'deny' }, { security: 'full' }).security).toBe('deny');
    expect(combineStricter({ ...host, ask: 'on-miss' }, { ask: 'off' }).ask).toBe('on-miss');
    expect(combineStricter(host, { askFallback: 'deny' }).askFallback).toBe('deny');
    expect(combineStricter(host, undefined)).toEqual(host);
  });
});

describe('requiresApproval / allowedDecisions / askFallback', () => {
  const p = (security: any, ask: any) => ({ security, ask, askFallback: 'deny' as const, autoAllowSkills: false });
  it('follows requiresExecApproval', () => {
    expect(
      requiresApproval({
        policy: p('full', 'always'),
        analysisOk: true,
        allowlistSatisfied: true,
        durableAllowAlways: true,
      }),
    ).toBe(true);
    expect(requiresApproval({ policy: p('allowlist', 'on-miss'), analysisOk: true, allowlistSatisfied: false })).toBe(
      true,
    );
    expect(requiresApproval({ policy: p('allowlist', 'on-miss'), analysisOk: false, allowlistSatisfied: true })).toBe(
      true,
    );
    expect(requiresApproval({ policy: p('allowlist', 'on-miss'), analysisOk: true, allowlistSatisfied: true })).toBe(
      false,
    );
    expect(
      requiresApproval({
        policy: p('allowlist', 'on-miss'),
        analysisOk: false,
        allowlistSatisfied: false,
        durableAllowAlways: true,
      }),
    ).toBe(false);
    expect(requiresApproval({ policy: p('full', 'on-miss'), analysisOk: false, allowlistSatisfied: false })).toBe(
      false,
    );
    expect(requiresApproval({ policy: p('allowlist', 'off'), analysisOk: true, allowlistSatisfied: false })).toBe(
      false,
    );
  });
  it('offers no allow-always while ask=always', () => {
    expect(allowedDecisions('always')).toEqual(['allow-once', 'deny']);
    expect(allowedDecisions('on-miss')).toEqual(['allow-once', 'allow-always', 'deny']);
  });
  it('askFallback: deny denies, allowlist needs a match, full allows once', () => {
    expect(askFallbackDecision('deny', true)).toBe('deny');
    expect(askFallbackDecision('allowlist', false)).toBe('deny');
    expect(askFallbackDecision('allowlist', true)).toBe('allow-once');
    expect(askFallbackDecision('full', false)).toBe('allow-once');
  });
});
