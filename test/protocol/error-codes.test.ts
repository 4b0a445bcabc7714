import { describe, expect, it } from 'vitest';
import {
  APPROVAL_BINDING_CODES,
  APPROVAL_ERROR_REASONS,
  approvalBindingDetails,
  approvalReasonDetails,
  codeDetails,
  DETAIL_CODES,
  DEVICE_AUTH_FAILURE_REASONS,
  errorSubCode,
  relayedNodeErrorDetails,
} from '../../gateway/protocol/error-codes';

describe('error sub-codes (docs/protocol.md § Errors)', () => {
  it('puts an approval failure in details.reason only, where OpenClaw approval clients read it', () => {
    const details = approvalReasonDetails('APPROVAL_ALREADY_RESOLVED', { decision: 'deny' });
    expect(details).toEqual({ reason: 'APPROVAL_ALREADY_RESOLVED', decision: 'deny' });
    expect(details).not.toHaveProperty('code');
  });

  it('puts every other sub-code in details.code, context beside it', () => {
    expect(codeDetails('MISSING_SCOPE', { missingScope: 'operator.admin' })).toEqual({
      code: 'MISSING_SCOPE',
      missingScope: 'operator.admin',
    });
  });

  it('sends approved-run binding failures in both fields', () => {
    expect(approvalBindingDetails('APPROVAL_ARGV_MISMATCH')).toEqual({
      code: 'APPROVAL_ARGV_MISMATCH',
      reason: 'APPROVAL_ARGV_MISMATCH',
    });
  });

  it("relays a node's own code unchanged, with the whole error", () => {
    const nodeError = { code: 'SOMETHING_THE_NODE_SAID', message: 'no' };
    expect(relayedNodeErrorDetails(nodeError)).toEqual({ code: 'SOMETHING_THE_NODE_SAID', nodeError });
  });

  it('reads a received sub-code from details.code first, then details.reason', () => {
    expect(errorSubCode({ code: 'PAIRING_REQUIRED', reason: 'not-paired' })).toBe('PAIRING_REQUIRED');
    expect(errorSubCode({ reason: 'APPROVAL_NOT_FOUND' })).toBe('APPROVAL_NOT_FOUND');
    expect(errorSubCode({ code: 7, reason: 'startup-sidecars' })).toBe('startup-sidecars');
    expect(errorSubCode(undefined)).toBeUndefined();
    expect(errorSubCode('PAIRING_REQUIRED')).toBeUndefined();
  });

  it('declares each detail code once, and every device-auth code among them', () => {
    expect(new Set(DETAIL_CODES).size).toBe(DETAIL_CODES.length);
    expect(new Set(APPROVAL_ERROR_REASONS).size).toBe(APPROVAL_ERROR_REASONS.length);
    for (const code of Object.keys(DEVICE_AUTH_FAILURE_REASONS)) expect(DETAIL_CODES).toContain(code);
    for (const code of APPROVAL_BINDING_CODES) expect(DETAIL_CODES).toContain(code);
  });
});
