import type { ErrorShape } from '../protocol/frames';
import type { Locality } from './gateway-module';

/**
 * OpenClaw's runtime tokens (`auth.approvalRuntimeToken`, `auth.agentRuntimeIdentityToken`) carry authority on
 * OpenClaw's gateway, which issued them from secrets of its own state and verifies them (an HMAC-signed agent identity;
 * the approval runtime's shared token). Clawdesk issues neither and cannot verify one, so it never gives one any
 * meaning: a connection presenting them gets exactly what its other credentials get (for `openclaw agent --local`: a
 * shared-secret backend operator), no agent identity, no approval-runtime visibility.
 *
 * They are accepted at all only where OpenClaw's agent runtime sends them — a local (not remote) `gateway-client`/
 * `backend` operator, in every auth mode (`openclaw agent --local` sends them under auth "none" too) — and refused from
 * everything else, as OpenClaw's gateway refuses them ("only accepted from local backend gateway clients"). A caller that presents one where it cannot come
 * from OpenClaw's runtime is told so instead of being served as if it had been checked.
 */
export function refuseRuntimeTokens(input: {
  auth: { approvalRuntimeToken?: string; agentRuntimeIdentityToken?: string } | undefined;
  role: string;
  clientId: string;
  clientMode: string;
  locality: Locality;
  /** Not part of the rule (OpenClaw's is auth-agnostic); kept so a caller's log can say what authenticated. */
  authMethod: 'none' | 'token' | 'password' | 'device-token';
}): ErrorShape | null {
  const presented = [
    ...(input.auth?.approvalRuntimeToken !== undefined ? ['approvalRuntimeToken'] : []),
    ...(input.auth?.agentRuntimeIdentityToken !== undefined ? ['agentRuntimeIdentityToken'] : []),
  ];
  if (presented.length === 0) return null;
  const fromAgentRuntime =
    input.role === 'operator' &&
    input.clientId === 'gateway-client' &&
    input.clientMode === 'backend' &&
    input.locality !== 'remote';
  if (fromAgentRuntime) return null;
  return {
    code: 'INVALID_REQUEST',
    message: `${presented.join(' and ')} ${presented.length > 1 ? 'are' : 'is'} only accepted from local backend gateway clients (gateway-client/backend); Clawdesk issues no runtime tokens and gives them no authority`,
    details: { code: 'RUNTIME_TOKEN_UNTRUSTED_CLIENT', presented },
  };
}
