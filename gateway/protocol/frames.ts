import { z } from 'zod';
import type { ErrorCode, ErrorDetails } from './error-codes';

/** Protocol version served; node and probe clients may still speak the previous one (docs/protocol.md § Handshake). */
export const PROTOCOL_VERSION = 4;
export const MIN_NODE_PROTOCOL_VERSION = 3;
export const MIN_PROBE_PROTOCOL_VERSION = 3;

/** The port an OpenClaw gateway listens on unless configured otherwise (docs/protocol.md § Transport). */
export const DEFAULT_GATEWAY_PORT = 18789;

/** Transport limits (docs/protocol.md § Transport). */
export const MAX_PREAUTH_PAYLOAD_BYTES = 64 * 1024;
export const MAX_PAYLOAD_BYTES = 25 * 1024 * 1024;
export const MAX_BUFFERED_BYTES = 50 * 1024 * 1024;
export const TICK_INTERVAL_MS = 30_000;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEVICE_SIGNATURE_SKEW_MS = 120_000;

export { ERROR_CODES, type ErrorCode } from './error-codes';

/** The closed enum of client ids the real 2026.9.6 accepts (docs/protocol.md § Handshake). */
export const CLIENT_IDS = [
  'webchat-ui',
  'openclaw-control-ui',
  'openclaw-browser-copilot',
  'openclaw-tui',
  'webchat',
  'cli',
  'gateway-client',
  'openclaw-macos',
  'openclaw-linux',
  'openclaw-ios',
  'openclaw-watchos',
  'openclaw-android',
  'node-host',
  'openclaw-worker',
  'test',
  'fingerprint',
  'openclaw-probe',
] as const;
export const CLIENT_MODES = ['webchat', 'cli', 'ui', 'backend', 'node', 'worker', 'probe', 'test'] as const;

export type ClientId = (typeof CLIENT_IDS)[number];
export type ClientMode = (typeof CLIENT_MODES)[number];

const nonEmpty = z.string().min(1);

export const requestFrameSchema = z.strictObject({
  type: z.literal('req'),
  id: nonEmpty,
  method: nonEmpty,
  params: z.unknown().optional(),
});
export type RequestFrame = z.infer<typeof requestFrameSchema>;

const REQUEST_FRAME_KEYS = new Set(['type', 'id', 'method', 'params']);

/**
 * Hot-path check for a request envelope, equivalent to `requestFrameSchema` for valid frames; anything it
 * rejects is re-checked with the schema for a precise message.
 */
export function isRequestFrame(frame: unknown): frame is RequestFrame {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return false;
  const f = frame as Record<string, unknown>;
  if (f.type !== 'req' || typeof f.id !== 'string' || f.id === '' || typeof f.method !== 'string' || f.method === '')
    return false;
  for (const key in f) if (!REQUEST_FRAME_KEYS.has(key)) return false;
  return true;
}

export interface ErrorShape {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
  retryable?: boolean;
  retryAfterMs?: number;
}

export interface ResponseFrame {
  type: 'res';
  id: string;
  ok: boolean;
  payload?: unknown;
  error?: ErrorShape;
}

export const clientInfoSchema = z.strictObject({
  id: z.enum(CLIENT_IDS),
  mode: z.enum(CLIENT_MODES),
  version: nonEmpty,
  platform: nonEmpty,
  displayName: z.string().optional(),
  deviceFamily: z.string().optional(),
  modelIdentifier: z.string().optional(),
  instanceId: z.string().optional(),
});

export const deviceProofSchema = z.strictObject({
  id: nonEmpty,
  publicKey: nonEmpty,
  signature: nonEmpty,
  signedAt: z.number().int().min(0),
  nonce: nonEmpty,
});
export type DeviceProof = z.infer<typeof deviceProofSchema>;

export const connectAuthSchema = z.strictObject({
  token: z.string().optional(),
  bootstrapToken: z.string().optional(),
  deviceToken: z.string().optional(),
  password: z.string().optional(),
  approvalRuntimeToken: z.string().optional(),
  agentRuntimeIdentityToken: z.string().optional(),
});

/** `connect` params: a closed schema, like the reference (docs/protocol.md § Handshake). */
export const connectParamsSchema = z.strictObject({
  minProtocol: z.number().int().min(1),
  maxProtocol: z.number().int().min(1),
  client: clientInfoSchema,
  // Role is validated separately so a bad role gets its own "invalid role" answer (docs/protocol.md § Handshake).
  role: z.string().optional(),
  scopes: z.array(z.string()).max(64).optional(),
  caps: z.array(z.string()).max(256).optional(),
  commands: z.array(z.string()).max(1024).optional(),
  permissions: z.record(z.string(), z.boolean()).optional(),
  pathEnv: z.string().optional(),
  auth: connectAuthSchema.optional(),
  device: deviceProofSchema.optional(),
  locale: z.string().optional(),
  userAgent: z.string().optional(),
  transports: z.array(z.enum(['json-ws', 'protobuf-ws'])).optional(),
});
export type ConnectParams = z.infer<typeof connectParamsSchema>;

/** "at /client/id: <message>" — the same shape of message the reference gives. */
export function describeZodError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid value';
  const where = issue.path.length ? `/${issue.path.map(String).join('/')}` : 'root';
  if (issue.code === 'unrecognized_keys') {
    return `at ${where}: unexpected property '${issue.keys[0]}'`;
  }
  if (issue.code === 'invalid_value') {
    return `at ${where}: must be equal to one of the allowed values`;
  }
  return `at ${where}: ${issue.message}`;
}

export function errorResponse(id: string, error: ErrorShape): ResponseFrame {
  return { type: 'res', id, ok: false, error };
}

export function okResponse(id: string, payload: unknown): ResponseFrame {
  return { type: 'res', id, ok: true, payload };
}
