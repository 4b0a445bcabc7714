import { createHash, timingSafeEqual } from 'node:crypto';

const expectedDigests = new Map<string, Buffer>();
const EXPECTED_DIGEST_CACHE_LIMIT = 1024;

/** The configured side is compared on every connect: hash it once. */
function expectedDigest(expected: string): Buffer {
  let digest = expectedDigests.get(expected);
  if (!digest) {
    digest = createHash('sha256').update(expected, 'utf8').digest();
    if (expectedDigests.size >= EXPECTED_DIGEST_CACHE_LIMIT) expectedDigests.clear();
    expectedDigests.set(expected, digest);
  }
  return digest;
}

/**
 * Constant-time comparison of a presented secret (shared token or password, device token) with the expected one,
 * without leaking the secret's length (both sides are hashed first). An empty or missing expected secret never
 * matches.
 */
export function safeEqualSecret(provided: string | undefined, expected: string | undefined): boolean {
  if (typeof provided !== 'string' || typeof expected !== 'string' || expected.length === 0) return false;
  const a = createHash('sha256').update(provided, 'utf8').digest();
  return timingSafeEqual(a, expectedDigest(expected));
}
