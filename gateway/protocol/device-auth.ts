import { KeyObject, verify } from 'node:crypto';
import {
  deviceIdFromPublicKey,
  ED25519_RAW_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  fromB64,
  generateEd25519KeyPair,
  publicKeyFromPem,
  publicKeyFromRaw,
  rawPublicKey,
  signPayload,
} from './ed25519';
import { DEVICE_SIGNATURE_SKEW_MS, type DeviceProof } from './frames';
import type { DeviceAuthFailureCode } from './error-codes';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; a 44-byte key sent in that form carries the raw key after it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Accepts base64url or standard base64, padded or not. Returns null on anything else. */
function decodeBase64Flexible(text: string): Buffer | null {
  try {
    return fromB64(text);
  } catch {
    return null;
  }
}

/** ASCII-only lowercase after trim (OpenClaw's normalizeDeviceMetadataForAuth; docs/protocol.md § Handshake). */
export function normalizeDeviceMetadata(value: string | undefined): string {
  if (!value) return '';
  return value.trim().replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

export function deriveDeviceId(raw: Uint8Array): string {
  return deviceIdFromPublicKey(raw);
}

/** The raw 32-byte key from a b64url/base64 raw key or a PEM SPKI; null when it is not an Ed25519 key. */
export function parsePublicKey(publicKey: string): Buffer | null {
  const text = publicKey.trim();
  if (text.startsWith('-----BEGIN')) {
    try {
      return rawPublicKey(publicKeyFromPem(text));
    } catch {
      return null;
    }
  }
  const bytes = decodeBase64Flexible(text);
  if (!bytes) return null;
  if (bytes.length === ED25519_RAW_KEY_BYTES) return bytes;
  if (bytes.length === 44 && bytes.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) return bytes.subarray(12);
  return null;
}

const keyObjectCache = new Map<string, KeyObject>();
const KEY_CACHE_LIMIT = 4096;

export function publicKeyObjectFromRaw(raw: Uint8Array): KeyObject {
  const cacheKey = Buffer.from(raw).toString('hex');
  let key = keyObjectCache.get(cacheKey);
  if (!key) {
    key = publicKeyFromRaw(raw);
    if (keyObjectCache.size >= KEY_CACHE_LIMIT) keyObjectCache.delete(keyObjectCache.keys().next().value as string);
    keyObjectCache.set(cacheKey, key);
  }
  return key;
}

export interface DeviceAuthPayloadFields {
  deviceId: string;
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  signedAtMs: number;
  /** `auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? ""` (docs/protocol.md § Handshake). */
  token: string;
  nonce: string;
  platform?: string;
  deviceFamily?: string;
}

export function buildDeviceAuthPayloadV3(f: DeviceAuthPayloadFields): string {
  return [
    'v3',
    f.deviceId,
    f.clientId,
    f.clientMode,
    f.role,
    f.scopes.join(','),
    String(f.signedAtMs),
    f.token,
    f.nonce,
    normalizeDeviceMetadata(f.platform),
    normalizeDeviceMetadata(f.deviceFamily),
  ].join('|');
}

export function buildDeviceAuthPayloadV2(f: DeviceAuthPayloadFields): string {
  return [
    'v2',
    f.deviceId,
    f.clientId,
    f.clientMode,
    f.role,
    f.scopes.join(','),
    String(f.signedAtMs),
    f.token,
    f.nonce,
  ].join('|');
}

/** The message of each device-proof failure; its `details.reason` is in error-codes.ts. */
export const DEVICE_AUTH_FAILURE_MESSAGES: Record<DeviceAuthFailureCode, string> = {
  DEVICE_AUTH_DEVICE_ID_MISMATCH: 'device identity mismatch',
  DEVICE_AUTH_SIGNATURE_EXPIRED: 'device signature expired',
  DEVICE_AUTH_NONCE_REQUIRED: 'device nonce required',
  DEVICE_AUTH_NONCE_MISMATCH: 'device nonce mismatch',
  DEVICE_AUTH_SIGNATURE_INVALID: 'device signature invalid',
  DEVICE_AUTH_PUBLIC_KEY_INVALID: 'device public key invalid',
};

export type DeviceProofResult =
  { ok: true; publicKeyRaw: Buffer; payloadVersion: 'v3' | 'v2' } | { ok: false; code: DeviceAuthFailureCode };

export interface DeviceProofContext {
  clientId: string;
  clientMode: string;
  role: string;
  scopes: readonly string[];
  token: string;
  /** The nonce this connection's challenge carried. */
  challengeNonce: string;
  platform?: string;
  deviceFamily?: string;
  nowMs: number;
  skewMs?: number;
}

/** Verifies a device proof in the reference's order (docs/protocol.md § Handshake). */
export function verifyDeviceProof(proof: DeviceProof, ctx: DeviceProofContext): DeviceProofResult {
  const raw = parsePublicKey(proof.publicKey);
  if (!raw) return { ok: false, code: 'DEVICE_AUTH_PUBLIC_KEY_INVALID' };
  if (deriveDeviceId(raw) !== proof.id) return { ok: false, code: 'DEVICE_AUTH_DEVICE_ID_MISMATCH' };
  if (Math.abs(ctx.nowMs - proof.signedAt) > (ctx.skewMs ?? DEVICE_SIGNATURE_SKEW_MS)) {
    return { ok: false, code: 'DEVICE_AUTH_SIGNATURE_EXPIRED' };
  }
  const nonce = proof.nonce.trim();
  if (!nonce) return { ok: false, code: 'DEVICE_AUTH_NONCE_REQUIRED' };
  if (nonce !== ctx.challengeNonce) return { ok: false, code: 'DEVICE_AUTH_NONCE_MISMATCH' };
  const signature = decodeBase64Flexible(proof.signature);
  if (!signature || signature.length !== ED25519_SIGNATURE_BYTES)
    return { ok: false, code: 'DEVICE_AUTH_SIGNATURE_INVALID' };
  let key: KeyObject;
  try {
    key = publicKeyObjectFromRaw(raw);
  } catch {
    return { ok: false, code: 'DEVICE_AUTH_PUBLIC_KEY_INVALID' };
  }
  const fields: DeviceAuthPayloadFields = {
    deviceId: proof.id,
    clientId: ctx.clientId,
    clientMode: ctx.clientMode,
    role: ctx.role,
    scopes: ctx.scopes,
    signedAtMs: proof.signedAt,
    token: ctx.token,
    nonce,
    platform: ctx.platform,
    deviceFamily: ctx.deviceFamily,
  };
  if (verify(null, Buffer.from(buildDeviceAuthPayloadV3(fields), 'utf8'), key, signature)) {
    return { ok: true, publicKeyRaw: raw, payloadVersion: 'v3' };
  }
  if (verify(null, Buffer.from(buildDeviceAuthPayloadV2(fields), 'utf8'), key, signature)) {
    return { ok: true, publicKeyRaw: raw, payloadVersion: 'v2' };
  }
  return { ok: false, code: 'DEVICE_AUTH_SIGNATURE_INVALID' };
}

/** A device identity able to prove itself in `connect`; the keychain-backed store provides one too. */
export interface DeviceSigner {
  readonly deviceId: string;
  /** Raw 32-byte public key, b64url. */
  readonly publicKey: string;
  sign(payload: string): string;
}

/** An in-memory Ed25519 identity (tests, benchmarks, ephemeral clients). */
export function createEphemeralDeviceSigner(): DeviceSigner {
  const { publicKey, privateKey } = generateEd25519KeyPair();
  return deviceSignerFromKeys(publicKey, privateKey);
}

export function deviceSignerFromKeys(publicKey: KeyObject, privateKey: KeyObject): DeviceSigner {
  const raw = rawPublicKey(publicKey);
  return {
    deviceId: deviceIdFromPublicKey(raw),
    publicKey: raw.toString('base64url'),
    sign: (payload) => signPayload(privateKey, payload),
  };
}
