import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway, GatewayClientError } from '../../gateway/client/gateway-client';
import { pinnedCertificateVerifier, readServerCertificate } from '../../gateway/remote/tls-pin';
import { formatTlsFingerprint, TlsFingerprintMismatchError } from '../../gateway/remote/transport-policy';
import { startTestGateway, type TestGateway } from '../helpers/gateway-fixture';
import {
  disposeCertificate,
  makeSelfSignedCertificate,
  startTlsFront,
  type TestCertificate,
  type TlsFront,
} from './helpers/tls';

/** wss:// with a pinned self-signed certificate: a real TLS server in front of a real Clawdesk gateway. */
describe('certificate pinning', () => {
  let gateway: TestGateway;
  let cert: TestCertificate;
  let other: TestCertificate;
  let front: TlsFront;
  let url: string;

  beforeAll(async () => {
    gateway = await startTestGateway();
    cert = makeSelfSignedCertificate();
    other = makeSelfSignedCertificate();
    front = await startTlsFront(cert, gateway.port);
    url = `wss://127.0.0.1:${front.port}`;
  });
  afterAll(async () => {
    await front?.close();
    await gateway?.dispose();
    disposeCertificate(cert);
    disposeCertificate(other);
  });

  const connectPinned = (fingerprint: string) =>
    connectGateway({
      url,
      token: 'test-token',
      scopes: ['operator.read'],
      verifyServerCertificate: pinnedCertificateVerifier(`127.0.0.1:${front.port}`, fingerprint),
      connectTimeoutMs: 20_000,
    });

  it('without a pin the self-signed certificate fails the normal chain check', async () => {
    await expect(connectGateway({ url, token: 'test-token', connectTimeoutMs: 20_000 })).rejects.toThrow(
      /self[- ]signed/i,
    );
  });

  it('the right fingerprint connects and completes the handshake', async () => {
    const session = await connectPinned(cert.fingerprint);
    expect(session.hello.type).toBe('hello-ok');
    await session.close();
  });

  it('accepts the pin in the colon form openssl prints', async () => {
    const session = await connectPinned(formatTlsFingerprint(cert.fingerprint));
    await session.close();
  });

  it('a wrong fingerprint is refused with both fingerprints named, before anything is sent', async () => {
    const before = front.bytesForwarded();
    const connectionsBefore = front.connections();
    const error = await connectPinned(other.fingerprint).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TlsFingerprintMismatchError);
    expect(error).toBeInstanceOf(GatewayClientError);
    const mismatch = error as TlsFingerprintMismatchError;
    expect(mismatch.expected).toBe(other.fingerprint);
    expect(mismatch.actual).toBe(cert.fingerprint);
    expect(mismatch.message).toContain(formatTlsFingerprint(other.fingerprint));
    expect(mismatch.message).toContain(formatTlsFingerprint(cert.fingerprint));
    expect(front.connections()).toBe(connectionsBefore + 1);
    // The TLS handshake happened, but not one byte of the HTTP upgrade (with its headers) went through.
    expect(front.bytesForwarded()).toBe(before);
  });

  it('reads the certificate a server presents (for trust on first use) without sending anything', async () => {
    const before = front.bytesForwarded();
    const info = await readServerCertificate(url);
    expect(info.fingerprint).toBe(cert.fingerprint);
    expect(info.caTrusted).toBe(false);
    expect(info.subject).toContain('CN=127.0.0.1');
    expect(front.bytesForwarded()).toBe(before);
  });

  it('a plaintext server behind a wss:// URL is an error, not a downgrade', async () => {
    const error = await connectGateway({
      url: `wss://127.0.0.1:${gateway.port}`,
      verifyServerCertificate: pinnedCertificateVerifier('x', cert.fingerprint),
      connectTimeoutMs: 20_000,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(GatewayClientError);
    expect(error).not.toBeInstanceOf(TlsFingerprintMismatchError);
    expect((error as Error).message).toMatch(/cannot connect|SSL|TLS|wrong version/i);
  });
});
