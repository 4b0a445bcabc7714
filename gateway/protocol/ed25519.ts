import {
  KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';

/**
 * Ed25519 primitives for owning and using a device identity (docs/protocol.md § Handshake): deviceId is the lowercase hex SHA-256 of
 * the raw 32-byte public key; public keys travel as b64url of the raw key; signatures are b64url.
 */

export const ED25519_RAW_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

// DER prefixes that wrap a raw 32-byte key into SPKI (public) and PKCS#8 (private) for Ed25519 (RFC 8410).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export class InvalidKeyError extends Error {
  readonly code = 'INVALID_KEY';
}

export function toB64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Accepts b64url and standard base64 (with or without padding), rejecting anything else. */
export function fromB64(text: string): Buffer {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(trimmed)) throw new InvalidKeyError('not base64');
  return Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export interface Ed25519KeyPair {
  publicKey: KeyObject;
  privateKey: KeyObject;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  return generateKeyPairSync('ed25519');
}

export function rawPublicKey(key: KeyObject): Buffer {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  assertEd25519(publicKey);
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.from(der.subarray(der.length - ED25519_RAW_KEY_BYTES));
}

/** The 32-byte private seed. */
export function rawPrivateKey(key: KeyObject): Buffer {
  if (key.type !== 'private') throw new InvalidKeyError('not a private key');
  assertEd25519(key);
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(der.subarray(der.length - ED25519_RAW_KEY_BYTES));
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== ED25519_RAW_KEY_BYTES)
    throw new InvalidKeyError(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function privateKeyFromRaw(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_RAW_KEY_BYTES)
    throw new InvalidKeyError(`an Ed25519 private key is 32 bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new InvalidKeyError(`unreadable public key PEM: ${(error as Error).message}`);
  }
  assertEd25519(key);
  return key;
}

export function privateKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new InvalidKeyError(`unreadable private key PEM: ${(error as Error).message}`);
  }
  assertEd25519(key);
  return key;
}

/** Lowercase hex SHA-256 of the raw public key. */
export function deviceIdFromPublicKey(key: KeyObject | Uint8Array): string {
  const raw = key instanceof KeyObject ? rawPublicKey(key) : key;
  if (raw.length !== ED25519_RAW_KEY_BYTES)
    throw new InvalidKeyError(`an Ed25519 public key is 32 bytes, got ${raw.length}`);
  return createHash('sha256').update(raw).digest('hex');
}

/** Signs the UTF-8 bytes of `payload`; returns b64url. */
export function signPayload(privateKey: KeyObject, payload: string): string {
  return toB64Url(sign(null, Buffer.from(payload, 'utf8'), privateKey));
}

/** Verifies a b64url (or standard base64) signature over the UTF-8 bytes of `payload`. Never throws on bad input. */
export function verifyPayload(publicKey: KeyObject | Uint8Array, payload: string, signature: string): boolean {
  try {
    const key = publicKey instanceof KeyObject ? publicKey : publicKeyFromRaw(publicKey);
    const sig = fromB64(signature);
    if (sig.length !== ED25519_SIGNATURE_BYTES) return false;
    return verify(null, Buffer.from(payload, 'utf8'), key, sig);
  } catch {
    return false;
  }
}

/** True when the private key's public half is `publicKey`. */
export function keyPairMatches(privateKey: KeyObject, publicKey: KeyObject | Uint8Array): boolean {
  const expected = publicKey instanceof KeyObject ? rawPublicKey(publicKey) : Buffer.from(publicKey);
  return rawPublicKey(privateKey).equals(expected);
}

function assertEd25519(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InvalidKeyError(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'a symmetric key'}`);
  }
}
