import tls, { type PeerCertificate } from 'node:tls';
import { normalizeTlsFingerprint, TlsFingerprintMismatchError } from './transport-policy';

/**
 * Certificate pinning for wss:// gateways (docs/remote-gateways.md § Transport security). With a pin, the pin is
 * the whole trust decision: a self-signed gateway certificate is the normal case, so the CA chain is not consulted.
 */

/** The client's `verifyServerCertificate` for a pinned gateway: anything but the pinned certificate is refused. */
export function pinnedCertificateVerifier(host: string, pinnedFingerprint: string) {
  const expected = normalizeTlsFingerprint(pinnedFingerprint);
  if (!expected) throw new TypeError(`not a SHA-256 fingerprint: ${pinnedFingerprint}`);
  return (certificate: PeerCertificate): Error | undefined => {
    const actual = normalizeTlsFingerprint(certificate?.fingerprint256) ?? '';
    return actual === expected ? undefined : new TlsFingerprintMismatchError(host, expected, actual);
  };
}

export interface ServerCertificateInfo {
  /** Lowercase hex SHA-256 of the DER certificate. */
  fingerprint: string;
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** Whether the system's CA store vouches for it (for the host name): shown, never required. */
  caTrusted: boolean;
  caError?: string;
}

/**
 * Opens a TLS connection only to read the server's certificate (for trust on first use: the person is shown the
 * fingerprint and confirms it). Sends nothing over it and closes at once.
 */
export function readServerCertificate(url: string, timeoutMs = 10_000): Promise<ServerCertificateInfo> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'wss:') return Promise.reject(new Error(`${url} is not a wss:// URL`));
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const port = Number(parsed.port || 443);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      ...(tlsServerName(host) ? { servername: tlsServerName(host) } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS handshake with ${parsed.host} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      const fingerprint = normalizeTlsFingerprint(cert?.fingerprint256);
      const info = fingerprint
        ? {
            fingerprint,
            subject: formatName(cert.subject),
            issuer: formatName(cert.issuer),
            validFrom: cert.valid_from,
            validTo: cert.valid_to,
            caTrusted: socket.authorized,
            ...(socket.authorizationError ? { caError: String(socket.authorizationError) } : {}),
          }
        : undefined;
      socket.destroy();
      if (info) resolve(info);
      else reject(new Error(`${parsed.host} presented no certificate`));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot read the TLS certificate of ${parsed.host}: ${error.message}`));
    });
  });
}

/** SNI takes host names only, never IP literals. */
function tlsServerName(host: string): string | undefined {
  return /^[\d.]+$/.test(host) || host.includes(':') ? undefined : host;
}

function formatName(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '';
  return Object.entries(name)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}
