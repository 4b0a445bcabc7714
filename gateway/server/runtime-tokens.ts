import type { ErrorShape } from '../protocol/frames';
import type { Locality } from './gateway-module';

/**
 * OpenClaw's runtime tokens (`auth.approvalRuntimeToken`, `auth.agentRuntimeIdentityToken`) carry authority on
 * OpenClaw's gateway, which issued them from secrets of its own state and verifies them (an HMAC-signed agent identity;
 * the approval runtime's shared token). Clawdesk issues neither and cannot verify one, so it never gives one any
 * meaning: a connection presenting them gets exactly what its other credentials get (for `openclaw agent --local`: a
 * shared-secret backend operator), no agent identity, no approval-runtime visibility.
 *
 * They are accepted at all only where OpenClaw's agent runtime sends them — a local `gateway-client`/`backend` operator
 * that authenticated with the shared token or password — and refused from everything else, as OpenClaw's gateway
 * refuses them ("only accepted from local backend gateway clients"). A caller that presents one where it cannot come
 * from OpenClaw's runtime is told so instead of being served as if it had been checked.
 */
export function refuseRuntimeTokens(input: {
  auth: { approvalRuntimeToken?: string; agentRuntimeIdentityToken?: string } | undefined;
  role: string;
  clientId: string;
  clientMode: string;
  locality: Locality;
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
    input.locality !== 'remote' &&
    (input.authMethod === 'token' || input.authMethod === 'password');
  if (fromAgentRuntime) return null;
  return {
    code: 'INVALID_REQUEST',
    message: `${presented.join(' and ')} ${presented.length > 1 ? 'are' : 'is'} only accepted from local backend gateway clients authenticated with the gateway's token or password; Clawdesk issues no runtime tokens and gives them no authority`,
    details: { code: 'RUNTIME_TOKEN_UNTRUSTED_CLIENT', presented },
  };
}
