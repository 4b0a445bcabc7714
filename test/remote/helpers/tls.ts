import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export interface TestCertificate {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
  /** Lowercase hex SHA-256, as gateway/remote/transport-policy.ts normalizes it. */
  fingerprint: string;
}

/** A fresh self-signed certificate for `hosts` (IP addresses or names), made by the system's openssl. */
export function makeSelfSignedCertificate(hosts: string[] = ['127.0.0.1', 'localhost']): TestCertificate {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-cert-'));
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  const san = hosts.map((h) => (net.isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2'].concat([
      '-subj',
      `/CN=${hosts[0]}`,
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]),
    { stdio: 'ignore' },
  );
  const cert = readFileSync(certPath, 'utf8');
  const key = readFileSync(keyPath, 'utf8');
  const fingerprint = new X509Certificate(cert).fingerprint256.replaceAll(':', '').toLowerCase();
  return { cert, key, certPath, keyPath, fingerprint };
}

export function disposeCertificate(c: TestCertificate): void {
  rmSync(path.dirname(c.certPath), { recursive: true, force: true });
}

export interface TlsFront {
  port: number;
  /** Bytes each accepted connection sent after the TLS handshake (what reached the gateway behind). */
  bytesForwarded(): number;
  /** TCP connections accepted (a handshake began), whether or not TLS completed. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * TLS termination in front of a plaintext gateway: a real TLS server whose connections are piped to
 * `127.0.0.1:<targetPort>`. Counts what the client sent through it, to prove a refused pin sends nothing.
 */
export function startTlsFront(
  certificate: TestCertificate,
  targetPort: number,
  where: { host?: string; port?: number } = {},
): Promise<TlsFront> {
  let forwarded = 0;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ cert: certificate.cert, key: certificate.key }, (clear) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(clear);
    sockets.add(upstream);
    clear.on('data', (chunk: Buffer) => {
      forwarded += chunk.length;
    });
    clear.pipe(upstream).pipe(clear);
    const end = () => {
      clear.destroy();
      upstream.destroy();
      sockets.delete(clear);
      sockets.delete(upstream);
    };
    clear.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  server.on('connection', () => accepted++);
  server.on('tlsClientError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(where.port ?? 0, where.host ?? '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        bytesForwarded: () => forwarded,
        connections: () => accepted,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
