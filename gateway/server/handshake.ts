import type { IncomingHttpHeaders } from 'node:http';
import {
  connectParamsSchema,
  describeZodError,
  MIN_NODE_PROTOCOL_VERSION,
  MIN_PROBE_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type ConnectParams,
  type ErrorShape,
} from '../protocol/frames';
import { DEVICE_AUTH_FAILURE_MESSAGES, normalizeDeviceMetadata, verifyDeviceProof } from '../protocol/device-auth';
import { codeDetails, DEVICE_AUTH_FAILURE_REASONS, type DetailCode } from '../protocol/error-codes';
import { normalizeScopes, scopesCovered } from '../protocol/scopes';
import type { DevicePairingStore, PairingReason, PendingPairingRequest } from '../pairing/device-pairing-store';
import {
  registerConnectionCredential,
  type ClientInfo,
  type ConnectionCredential,
  type ConnectionRole,
  type Locality,
} from './gateway-module';
import { isOriginAllowed, resolveLocality } from './locality';
import { refuseRuntimeTokens } from './runtime-tokens';
import { AuthRateLimiter, checkSharedSecret, type GatewayAuthConfig } from './shared-auth';

/** How soon a client whose pairing awaits the person may try again (each try finds the same pending request). */
const PAIRING_RETRY_AFTER_MS = 5_000;

export interface HandshakeContext {
  params: unknown;
  challengeNonce: string;
  remoteAddress: string;
  headers: IncomingHttpHeaders;
  auth: GatewayAuthConfig;
  allowedOrigins: ReadonlySet<string>;
  pairing: DevicePairingStore;
  rateLimiter: AuthRateLimiter;
  /** Who the failed-auth limit is kept for: the peer's OS user where the OS tells, else its address (peer-user.ts). */
  rateLimitKey: string;
  nowMs: number;
  /** Extra veto on silent local pairing (e.g. the peer belongs to another local user). */
  allowSilentLocalPairing: (input: {
    remoteAddress: string;
    deviceId?: string;
    reason: PairingReason;
  }) => boolean | Promise<boolean>;
  onPairingRequested: (request: PendingPairingRequest) => void;
  onPairingResolved: (event: {
    requestId: string;
    deviceId: string;
    decision: 'approved' | 'rejected';
    ts: number;
  }) => void;
}

export interface AcceptedConnection {
  role: ConnectionRole;
  scopes: string[];
  client: ClientInfo;
  deviceId?: string;
  caps: string[];
  commands: string[];
  permissions: Record<string, boolean>;
  pathEnv?: string;
  locality: Locality;
  authMethod: 'none' | 'token' | 'password' | 'device-token';
  /** What it authenticated with, as an identity (modules compare it; see gateway-module credentialOf). */
  credential: ConnectionCredential;
  deviceToken?: { token: string; scopes: string[]; issuedAtMs: number };
  minProtocol: number;
}

export type HandshakeResult =
  | { ok: true; connection: AcceptedConnection }
  | { ok: false; error: ErrorShape; closeCode: number; closeReason: string; slow?: boolean };

function fail(error: ErrorShape, closeCode = 1008, closeReason?: string): HandshakeResult {
  return { ok: false, error, closeCode, closeReason: closeReason ?? error.message };
}

function authFailure(detailCode: DetailCode, message: string, extra: Record<string, unknown>): HandshakeResult {
  return fail({ code: 'INVALID_REQUEST', message, details: codeDetails(detailCode, extra) });
}

const AUTH_MESSAGES: Record<string, string> = {
  AUTH_TOKEN_MISSING: 'unauthorized: gateway token missing (pass the gateway token: --token or OPENCLAW_GATEWAY_TOKEN)',
  AUTH_TOKEN_MISMATCH:
    'unauthorized: gateway token mismatch (check --token / OPENCLAW_GATEWAY_TOKEN / gateway.auth.token)',
  AUTH_PASSWORD_MISSING: 'unauthorized: gateway password missing (pass --password or OPENCLAW_GATEWAY_PASSWORD)',
  AUTH_PASSWORD_MISMATCH: 'unauthorized: gateway password mismatch',
};

/** How to approve a pending request, in words a person can act on. */
export function pairingApprovalHint(requestId: string): string {
  return `pairing required: approve this device with \`clawdesk devices approve ${requestId}\` (or \`openclaw devices approve ${requestId}\`), or from the Clawdesk tray`;
}

/**
 * Decides a `connect` request: validation, protocol, origin, device proof, auth, device-identity rules,
 * pairing (silent for the owner on this machine, explicit otherwise) and device-token issuance.
 */
export async function evaluateConnect(ctx: HandshakeContext): Promise<HandshakeResult> {
  const parsed = connectParamsSchema.safeParse(ctx.params);
  if (!parsed.success) {
    return fail({ code: 'INVALID_REQUEST', message: `invalid connect params: ${describeZodError(parsed.error)}` });
  }
  const params: ConnectParams = parsed.data;
  const role = params.role ?? 'operator';
  const isNodeClient = role === 'node' && params.client.mode === 'node';
  const isProbeClient = params.client.mode === 'probe';
  const floor = isNodeClient
    ? MIN_NODE_PROTOCOL_VERSION
    : isProbeClient
      ? MIN_PROBE_PROTOCOL_VERSION
      : PROTOCOL_VERSION;
  const negotiable =
    params.minProtocol <= PROTOCOL_VERSION && params.maxProtocol >= floor && params.minProtocol <= params.maxProtocol;
  if (!negotiable) {
    return fail(
      {
        code: 'INVALID_REQUEST',
        message: 'protocol mismatch',
        details: {
          code: 'PROTOCOL_MISMATCH',
          expectedProtocol: PROTOCOL_VERSION,
          minimumProbeProtocol: MIN_PROBE_PROTOCOL_VERSION,
          minimumNodeProtocol: MIN_NODE_PROTOCOL_VERSION,
        },
      },
      1002,
    );
  }
  if (role !== 'operator' && role !== 'node') {
    return fail({ code: 'INVALID_REQUEST', message: 'invalid role', details: { code: 'INVALID_ROLE', role } });
  }
  const origin = typeof ctx.headers.origin === 'string' ? ctx.headers.origin : undefined;
  if (!isOriginAllowed(origin, ctx.allowedOrigins)) {
    return fail({
      code: 'INVALID_REQUEST',
      message: `origin not allowed (${origin}): browser pages may not connect to this gateway`,
      details: { code: 'CONTROL_UI_ORIGIN_NOT_ALLOWED', reason: 'origin-not-allowed' },
    });
  }
  const lockedFor = ctx.rateLimiter.retryAfter(ctx.rateLimitKey);
  if (lockedFor > 0) {
    return fail({
      code: 'INVALID_REQUEST',
      message: `unauthorized: too many failed authentication attempts; retry in ${Math.ceil(lockedFor / 1000)} s`,
      details: { code: 'AUTH_RATE_LIMITED', authReason: 'rate_limited', recommendedNextStep: 'wait_then_retry' },
      retryable: true,
      retryAfterMs: lockedFor,
    });
  }

  const requestedScopes =
    role === 'node' ? (params.scopes ?? []).filter((s) => s.startsWith('node.')) : (params.scopes ?? []);
  const signedToken = params.auth?.token ?? params.auth?.deviceToken ?? params.auth?.bootstrapToken ?? '';
  const device = params.device;
  if (device) {
    const proof = verifyDeviceProof(device, {
      clientId: params.client.id,
      clientMode: params.client.mode,
      role,
      scopes: params.scopes ?? [],
      token: signedToken,
      challengeNonce: ctx.challengeNonce,
      platform: params.client.platform,
      deviceFamily: params.client.deviceFamily,
      nowMs: ctx.nowMs,
    });
    if (!proof.ok) {
      return fail({
        code: 'INVALID_REQUEST',
        message: DEVICE_AUTH_FAILURE_MESSAGES[proof.code],
        details: codeDetails(proof.code, { reason: DEVICE_AUTH_FAILURE_REASONS[proof.code] }),
      });
    }
  }

  // Shared secret first; a paired device may instead present its device token.
  let authMethod: AcceptedConnection['authMethod'];
  /** The scopes of the device token presented, when that token is what authenticated the connection. */
  let tokenCeiling: readonly string[] | null = null;
  const shared = checkSharedSecret(ctx.auth, params.auth);
  if (shared.kind === 'ok') {
    authMethod = shared.method;
  } else {
    if (shared.kind === 'absent' && !device) {
      // No secret and no identity at all: the reference answers with the identity requirement
      // (docs/protocol.md § Connect refusals).
      return fail({
        code: 'NOT_PAIRED',
        message: 'device identity required',
        details: { code: 'DEVICE_IDENTITY_REQUIRED' },
      });
    }
    const candidate = params.auth?.deviceToken ?? params.auth?.token;
    const viaDeviceToken = device && candidate ? ctx.pairing.verifyDeviceToken(device.id, role, candidate) : null;
    if (viaDeviceToken) {
      authMethod = 'device-token';
      tokenCeiling = viaDeviceToken.scopes;
    } else {
      ctx.rateLimiter.recordFailure(ctx.rateLimitKey);
      const usedDeviceToken = Boolean(device && params.auth?.deviceToken);
      const detailCode = usedDeviceToken ? 'AUTH_DEVICE_TOKEN_MISMATCH' : shared.detailCode;
      const message = usedDeviceToken
        ? 'unauthorized: device token mismatch (rotate/reissue device token)'
        : AUTH_MESSAGES[shared.detailCode];
      const result = authFailure(detailCode, message, {
        authReason: shared.kind === 'absent' && !usedDeviceToken ? 'token_missing' : 'token_mismatch',
        canRetryWithDeviceToken:
          shared.kind === 'mismatch' && Boolean(device) && Boolean(params.auth?.token) && !params.auth?.deviceToken,
        recommendedNextStep:
          shared.kind === 'absent' && !usedDeviceToken ? 'update_auth_configuration' : 'update_auth_credentials',
      });
      // Wrong guesses are answered slowly; a missing secret (a configuration mistake) is answered at once.
      return shared.kind === 'mismatch' || usedDeviceToken
        ? { ...(result as Extract<HandshakeResult, { ok: false }>), slow: true }
        : result;
    }
  }
  // Only the shared secret itself clears its failures: a device-token login in between must not reset the count.
  if (authMethod !== 'device-token') ctx.rateLimiter.recordSuccess(ctx.rateLimitKey);
  const sharedAuthOk = authMethod === 'token' || authMethod === 'password';
  const locality = resolveLocality({
    remoteAddress: ctx.remoteAddress,
    headers: ctx.headers,
    clientId: params.client.id,
    clientMode: params.client.mode,
    sharedAuthOk,
  });
  const runtimeTokens = refuseRuntimeTokens({
    auth: params.auth,
    role,
    clientId: params.client.id,
    clientMode: params.client.mode,
    locality,
    authMethod,
  });
  if (runtimeTokens) return fail(runtimeTokens);
  const client: ClientInfo = { ...params.client };
  const credential: ConnectionCredential =
    authMethod === 'device-token' && device
      ? { kind: 'device-token', deviceId: device.id }
      : authMethod === 'token' || authMethod === 'password'
        ? { kind: 'shared', method: authMethod }
        : { kind: 'none-local' };
  const accept = (connection: AcceptedConnection): HandshakeResult => {
    registerConnectionCredential(connection.client, connection.credential);
    return { ok: true, connection };
  };
  const base = {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- without it `base.role` widens to string (tsc fails)
    role: role as ConnectionRole,
    client,
    caps: params.caps ?? [],
    commands: role === 'node' ? (params.commands ?? []) : [],
    permissions: params.permissions ?? {},
    pathEnv: params.pathEnv,
    locality,
    authMethod,
    credential,
    minProtocol: params.minProtocol,
  };

  if (!device) {
    // The owner's own machine: shared secret holders, and under auth "none" direct-local clients without a
    // browser Origin, are served with the scopes they ask for (docs/protocol.md § Auth modes). Nodes always need
    // a device. A foreign Origin never gets this far, so any Origin here is one the owner allowlisted (the dashboard).
    const ownerLocal =
      ctx.auth.mode === 'none' &&
      locality === 'direct_local' &&
      role === 'operator' &&
      // Loopback is not the owner on a multi-user machine: the silent-pairing veto (same user) applies here too.
      (await ctx.allowSilentLocalPairing({ remoteAddress: ctx.remoteAddress, reason: 'not-paired' }));
    if (role === 'operator' && (sharedAuthOk || ownerLocal)) {
      return accept({ ...base, scopes: normalizeScopes(requestedScopes) });
    }
    return fail({
      code: 'NOT_PAIRED',
      message:
        role === 'node' ? 'device identity required: nodes must present a device identity' : 'device identity required',
      details: { code: 'DEVICE_IDENTITY_REQUIRED' },
    });
  }

  const publicKey = device.publicKey;
  let reason = ctx.pairing.pairingReason(
    {
      deviceId: device.id,
      publicKey,
      role,
      scopes: requestedScopes,
      platform: params.client.platform,
      deviceFamily: params.client.deviceFamily,
    },
    normalizeDeviceMetadata,
  );
  // A device token grants at most the scopes it was issued with (issue 9 finding 12). Asking it for more is a scope
  // upgrade decided by pairing, even when the paired record's approved baseline would cover it (a token the owner
  // rotated down stays down unless pairing says otherwise): silent only for the owner on this machine, a prompt else.
  if (!reason && tokenCeiling !== null && !scopesCovered(tokenCeiling, requestedScopes)) reason = 'scope-upgrade';
  if (reason) {
    const existing = ctx.pairing.getPaired(device.id);
    const revokedRole = existing?.tokens?.[role]?.revokedAtMs !== undefined;
    let silent =
      // Behind a forwarder on this machine (a private-IP Host) only an operator is paired silently: it gains nothing
      // its shared secret does not already give. A node runs agents' commands, and a TLS front or tunnel on this
      // machine cannot be told from a container's proxy, so the person approves a node there (stricter than OpenClaw).
      (locality === 'direct_local' || (locality !== 'remote' && role === 'operator')) &&
      (reason === 'not-paired' || reason === 'role-upgrade' || reason === 'scope-upgrade') &&
      // An owner's revocation stands: a revoked role is re-granted only by an explicit approval.
      !revokedRole;
    if (silent)
      silent = await ctx.allowSilentLocalPairing({ remoteAddress: ctx.remoteAddress, deviceId: device.id, reason });
    const pairingInput = {
      deviceId: device.id,
      publicKey,
      role,
      scopes: requestedScopes,
      displayName: params.client.displayName,
      platform: params.client.platform,
      deviceFamily: params.client.deviceFamily,
      clientId: params.client.id,
      clientMode: params.client.mode,
      remoteIp: ctx.remoteAddress,
      // Per-source caps on pending requests: the peer's OS user where the OS tells (the limiter's key), else its address.
      source: ctx.rateLimitKey || ctx.remoteAddress,
      silent,
    };
    const { request, created } = silent
      ? { ...(await ctx.pairing.pairSilently(pairingInput)), created: true }
      : await ctx.pairing.requestPairing(pairingInput);
    if (!silent) {
      // Announced once: a waiting client retries every few seconds, and each retry refreshes the same request.
      if (created) ctx.onPairingRequested(request);
      return fail(
        {
          code: 'NOT_PAIRED',
          message: pairingApprovalHint(request.requestId),
          // A client that can wait (a node host) keeps retrying and connects once the person approves, instead of
          // pausing until it is restarted: OpenClaw's client pauses on PAIRING_REQUIRED unless told this.
          details: {
            code: 'PAIRING_REQUIRED',
            requestId: request.requestId,
            reason,
            recommendedNextStep: 'wait_then_retry',
            pauseReconnect: false,
          },
          retryable: true,
          retryAfterMs: PAIRING_RETRY_AFTER_MS,
        },
        1008,
        'pairing required',
      );
    }
    ctx.onPairingResolved({ requestId: request.requestId, deviceId: device.id, decision: 'approved', ts: ctx.nowMs });
  }

  const paired = ctx.pairing.getPaired(device.id)!;
  // Pinned metadata replaces what the client claims (docs/protocol.md § Pairing).
  if (paired.platform) client.platform = paired.platform;
  if (paired.deviceFamily) client.deviceFamily = paired.deviceFamily;
  const token = await ctx.pairing.ensureDeviceToken(device.id, role, requestedScopes);
  if (authMethod === 'device-token' && (!token || !scopesCovered(token.scopes, requestedScopes))) {
    // Fail closed: whatever happened above, a device-token session never holds more than its token grants.
    const missing = requestedScopes.filter((s) => !token || !scopesCovered(token.scopes, [s]));
    return fail({
      code: 'NOT_PAIRED',
      message: `device token does not grant ${missing.join(', ') || 'the requested scopes'}; pair this device for them (scope upgrade)`,
      details: { code: 'PAIRING_REQUIRED', reason: 'scope-upgrade', missingScopes: missing },
    });
  }
  await ctx.pairing.touchMetadata(device.id, {
    displayName: params.client.displayName,
    clientId: params.client.id,
    clientMode: params.client.mode,
    remoteIp: ctx.remoteAddress,
  });
  return accept({
    ...base,
    client,
    deviceId: device.id,
    scopes: role === 'node' ? requestedScopes : normalizeScopes(requestedScopes),
    deviceToken: token
      ? { token: token.token, scopes: token.scopes, issuedAtMs: token.rotatedAtMs ?? token.createdAtMs }
      : undefined,
  });
}
