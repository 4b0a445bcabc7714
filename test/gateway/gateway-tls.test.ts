import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { connectGateway } from '../../gateway/client/gateway-client';
import {
  ConfigError,
  requireTlsBeyondLoopback,
  resolveGatewaySettings,
  type ConfigReadResult,
} from '../../gateway/config/gateway-config';
import { resolveGatewayTarget } from '../../gateway/node-host/gateway-target';
import { pinnedCertificateVerifier } from '../../gateway/remote/tls-pin';
import { TlsFingerprintMismatchError } from '../../gateway/remote/transport-policy';
import { startGatewayServer, type LogFn } from '../../gateway/server/gateway-server';
import {
  defaultTlsPaths,
  GatewayTlsError,
  loadGatewayTls,
  localGatewayTlsFingerprint,
  type GatewayTlsMaterial,
} from '../../gateway/server/gateway-tls';

const dirs: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-tls-'));
  dirs.push(dir);
  return dir;
}

/** An EC pair made by the system openssl, in `dir`. */
function makePair(dir: string, name: string): { certPath: string; keyPath: string } {
  const certPath = path.join(dir, `${name}-cert.pem`);
  const keyPath = path.join(dir, `${name}-key.pem`);
  execFileSync(
    'openssl',
    // prettier-ignore
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', `/CN=${name}`, '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  return { certPath, keyPath };
}

const fingerprintOf = (certPath: string) =>
  new X509Certificate(readFileSync(certPath)).fingerprint256.replaceAll(':', '').toLowerCase();

/** Every file below `dir` with its bytes, to prove a refusal changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, full)] = entry.isFile()
      ? readFileSync(full, 'base64')
      : entry.isDirectory()
        ? 'dir'
        : 'link';
  }
  return out;
}

async function startTlsGateway(material: GatewayTlsMaterial, log?: LogFn) {
  const gateway = await startGatewayServer({
    stateDir: tempDir(),
    auth: { mode: 'token', token: 'tls-token' },
    port: 0,
    authFailureDelayMs: 0,
    tls: material,
    log,
  });
  cleanups.push(() => gateway.close());
  return gateway;
}

describe('the gateway certificate (gateway-tls.ts)', () => {
  it('is generated once into the state dir (key 0600, self-signed RSA-2048) and reused with the same fingerprint', async () => {
    const stateDir = tempDir();
    const first = await loadGatewayTls(stateDir, { autoGenerate: true, source: '--tls' });
    const { certPath, keyPath } = defaultTlsPaths(stateDir);
    expect(first).toMatchObject({ certPath, keyPath, generated: true });
    expect(first.fingerprint).toBe(fingerprintOf(certPath));
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(keyPath)).mode & 0o777).toBe(0o700);
    const x509 = new X509Certificate(readFileSync(certPath));
    expect(x509.subject).toBe('CN=clawdesk-gateway');
    expect(x509.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    // Nothing staged is left behind beside the pair.
    expect(readdirSync(path.dirname(certPath)).sort()).toEqual(['gateway-cert.pem', 'gateway-key.pem']);

    const before = snapshot(stateDir);
    const second = await loadGatewayTls(stateDir, { autoGenerate: true, source: '--tls' });
    expect(second.generated).toBe(false);
    expect(second.fingerprint).toBe(first.fingerprint);
    expect(snapshot(stateDir)).toEqual(before);
    // A client on this machine finds the same pin (only when gateway.tls.enabled says the gateway serves TLS).
    expect(await localGatewayTlsFingerprint(stateDir, { enabled: true })).toBe(first.fingerprint);
    expect(await localGatewayTlsFingerprint(stateDir, { enabled: false })).toBeUndefined();
  });

  it('uses a given pair as it is, and refuses bad ones with the reason, changing nothing', async () => {
    const dir = tempDir();
    const a = makePair(dir, 'a');
    const b = makePair(dir, 'b');
    const stateDir = tempDir();
    const given = await loadGatewayTls(stateDir, { ...a, autoGenerate: false, source: '--tls-cert' });
    expect(given).toMatchObject({ generated: false, fingerprint: fingerprintOf(a.certPath) });
    const garbage = path.join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate at all\n');
    const brokenPem = path.join(dir, 'broken.pem');
    writeFileSync(brokenPem, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const before = snapshot(dir);
    const cases: Array<[Partial<{ certPath: string; keyPath: string }>, RegExp]> = [
      [{ certPath: a.certPath, keyPath: b.keyPath }, /does not belong to the certificate .*a-cert\.pem/],
      [{ certPath: garbage, keyPath: a.keyPath }, /garbage\.pem is not in PEM format/],
      [{ certPath: brokenPem, keyPath: a.keyPath }, /broken\.pem does not hold a valid certificate/],
      [{ certPath: a.certPath, keyPath: a.certPath }, /a-cert\.pem is not in PEM format/],
      [{ certPath: a.certPath, keyPath: dir }, /cannot read the key .*not a regular file/],
      [{ certPath: a.certPath, keyPath: path.join(dir, 'missing.pem') }, /missing\.pem does not/],
      [{ certPath: path.join(dir, 'none1'), keyPath: path.join(dir, 'none2') }, /generating one is off/],
    ];
    for (const [paths, message] of cases) {
      const attempt = loadGatewayTls(stateDir, { ...paths, autoGenerate: false, source: '--tls-cert' });
      await expect(attempt).rejects.toThrow(GatewayTlsError);
      await expect(attempt).rejects.toThrow(message);
    }
    expect(snapshot(dir)).toEqual(before);
    expect(existsSync(path.join(stateDir, 'gateway'))).toBe(false);
  });

  it('a lone certificate or key is reported, never completed or replaced by a generated pair', async () => {
    const stateDir = tempDir();
    const { certPath, keyPath } = defaultTlsPaths(stateDir);
    const made = makePair(tempDir(), 'lone');
    mkdirSync(path.dirname(certPath), { recursive: true, mode: 0o700 });
    writeFileSync(certPath, readFileSync(made.certPath));
    const before = snapshot(stateDir);
    await expect(loadGatewayTls(stateDir, { autoGenerate: true, source: '--tls' })).rejects.toThrow(
      /gateway-cert\.pem exists but .*gateway-key\.pem does not/,
    );
    expect(snapshot(stateDir)).toEqual(before);
    rmSync(certPath);
    writeFileSync(keyPath, readFileSync(made.keyPath), { mode: 0o600 });
    await expect(loadGatewayTls(stateDir, { autoGenerate: true, source: '--tls' })).rejects.toThrow(
      /gateway-key\.pem exists but .*gateway-cert\.pem does not/,
    );
    expect(readFileSync(keyPath)).toEqual(readFileSync(made.keyPath));
  });

  it('never generates through a link inside the state dir', async () => {
    const stateDir = tempDir();
    const elsewhere = tempDir();
    symlinkSync(elsewhere, path.join(stateDir, 'gateway'));
    await expect(loadGatewayTls(stateDir, { autoGenerate: true, source: '--tls' })).rejects.toThrow(/symbolic link/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe('the gateway on wss://', () => {
  it('a client pinning its certificate connects; a wrong pin is refused before any upgrade request is sent', async () => {
    const material = await loadGatewayTls(tempDir(), { autoGenerate: true, source: '--tls' });
    const upgrades: unknown[] = [];
    const gateway = await startTlsGateway(material, (level, message, fields) => {
      if (message === 'websocket upgrade request') upgrades.push(fields);
    });
    expect(gateway.url).toBe(`wss://127.0.0.1:${gateway.port}`);
    expect(gateway.tlsFingerprint).toBe(material.fingerprint);

    const session = await connectGateway({
      url: gateway.url,
      token: 'tls-token',
      scopes: ['operator.read'],
      verifyServerCertificate: pinnedCertificateVerifier('127.0.0.1', material.fingerprint),
    });
    const health = await session.request('health', {});
    expect(health).toBeDefined();
    await session.close();
    expect(upgrades).toHaveLength(1);

    const wrongPin = 'ab'.repeat(32);
    await expect(
      connectGateway({
        url: gateway.url,
        token: 'tls-token',
        verifyServerCertificate: pinnedCertificateVerifier('127.0.0.1', wrongPin),
      }),
    ).rejects.toBeInstanceOf(TlsFingerprintMismatchError);
    // Without a pin the system CA store decides, and it does not vouch for a self-signed certificate.
    await expect(connectGateway({ url: gateway.url, token: 'tls-token' })).rejects.toThrow(/self[- ]signed/i);
    expect(upgrades).toHaveLength(1);
  });

  it('refuses a TLS 1.2 client and plaintext on the same port; the health endpoints answer over https', async () => {
    const material = await loadGatewayTls(tempDir(), { autoGenerate: true, source: '--tls' });
    const gateway = await startTlsGateway(material);
    const tls12 = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: gateway.port,
        rejectUnauthorized: false,
        maxVersion: 'TLSv1.2',
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error) => resolve(error.message));
    });
    expect(tls12).toMatch(/protocol version|alert/i);

    const plain = await new Promise<string>((resolve) => {
      const socket = net.connect(gateway.port, '127.0.0.1', () =>
        socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
      );
      let got = '';
      socket.on('data', (d) => (got += d.toString('latin1')));
      socket.on('close', () => resolve(got));
      socket.on('error', () => undefined);
    });
    expect(plain).not.toContain('"ok":true');

    const health = await new Promise<{ status?: number; body: string; fingerprint?: string }>((resolve, reject) => {
      const request = https.get(
        { host: '127.0.0.1', port: gateway.port, path: '/healthz', rejectUnauthorized: false, agent: false },
        (res) => {
          const fingerprint = (res.socket as tls.TLSSocket).getPeerCertificate().fingerprint256;
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () =>
            resolve({
              status: res.statusCode,
              body,
              fingerprint,
            }),
          );
        },
      );
      request.on('error', reject);
    });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true });
    expect(health.fingerprint?.replaceAll(':', '').toLowerCase()).toBe(material.fingerprint);
  });

  it('refuses to listen beyond loopback without TLS', async () => {
    await expect(
      startGatewayServer({ stateDir: tempDir(), auth: { mode: 'token', token: 't' }, host: '0.0.0.0', port: 0 }),
    ).rejects.toThrow(/without TLS/);
  });
});

describe('TLS settings (flags and gateway.tls)', () => {
  const noConfig: ConfigReadResult = { exists: false };
  const withTls = (tlsConfig: unknown): ConfigReadResult => ({
    exists: true,
    config: {},
    gateway: { tls: tlsConfig as never },
  });

  it('--bind lan without TLS is refused, naming --tls and gateway.tls.enabled', () => {
    const settings = resolveGatewaySettings({ bind: 'lan', token: 't' }, {}, noConfig);
    expect(() => requireTlsBeyondLoopback(settings)).toThrow(ConfigError);
    expect(() => requireTlsBeyondLoopback(settings)).toThrow(
      /--bind lan requires TLS: add --tls .*gateway\.tls\.enabled/,
    );
    expect(() =>
      requireTlsBeyondLoopback(resolveGatewaySettings({ bind: 'lan', token: 't', tls: true }, {}, noConfig)),
    ).not.toThrow();
    expect(() =>
      requireTlsBeyondLoopback(resolveGatewaySettings({ bind: 'lan', token: 't' }, {}, withTls({ enabled: true }))),
    ).not.toThrow();
  });

  it('reads gateway.tls as OpenClaw does, and the flags win', () => {
    expect(resolveGatewaySettings({}, {}, withTls({ enabled: false, certPath: '/c' })).tls).toBeUndefined();
    expect(resolveGatewaySettings({}, {}, withTls({ enabled: true })).tls).toEqual({
      autoGenerate: true,
      source: 'config gateway.tls',
    });
    expect(
      resolveGatewaySettings(
        {},
        {},
        withTls({ enabled: true, autoGenerate: false, certPath: '/c.pem', keyPath: '/k.pem', caPath: '/ca.pem' }),
      ).tls,
    ).toEqual({
      certPath: '/c.pem',
      keyPath: '/k.pem',
      caPath: '/ca.pem',
      autoGenerate: false,
      source: 'config gateway.tls',
    });
    expect(
      resolveGatewaySettings({ 'tls-cert': '/f.pem', 'tls-key': '/g.pem' }, {}, withTls({ enabled: true })).tls,
    ).toEqual({ certPath: '/f.pem', keyPath: '/g.pem', autoGenerate: false, source: '--tls-cert' });
  });

  it('bad TLS settings are configuration errors', () => {
    expect(() => resolveGatewaySettings({ 'tls-cert': '/c.pem' }, {}, noConfig)).toThrow(/go together/);
    expect(() => resolveGatewaySettings({}, {}, withTls({ enabled: 'yes' }))).toThrow(/gateway\.tls\.enabled must be/);
    expect(() => resolveGatewaySettings({}, {}, withTls(true))).toThrow(/gateway\.tls must be an object/);
    expect(() => resolveGatewaySettings({}, {}, withTls({ enabled: true, keyPath: 3 }))).toThrow(
      /gateway\.tls\.keyPath must be a file path/,
    );
  });
});

describe('clients on the gateway machine (node run, approvals: resolveGatewayTarget)', () => {
  it('find the local wss:// URL and its pin from gateway.tls; an explicit wss:// URL takes --tls-fingerprint', async () => {
    const stateDir = tempDir();
    const material = await loadGatewayTls(stateDir, { autoGenerate: true, source: '--tls' });
    writeFileSync(
      path.join(stateDir, 'openclaw.json'),
      JSON.stringify({ gateway: { port: 18999, auth: { token: 't' }, tls: { enabled: true } } }),
    );
    const env = { HOME: stateDir } as NodeJS.ProcessEnv;
    expect(await resolveGatewayTarget({ 'state-dir': stateDir }, env)).toMatchObject({
      url: 'wss://127.0.0.1:18999',
      tlsFingerprint: material.fingerprint,
      token: 't',
    });
    const pin = material.fingerprint.toUpperCase().match(/../g)!.join(':');
    expect(
      await resolveGatewayTarget({ 'state-dir': stateDir, url: 'wss://10.0.0.2:18789', 'tls-fingerprint': pin }, env),
    ).toMatchObject({ url: 'wss://10.0.0.2:18789', tlsFingerprint: material.fingerprint });
    await expect(
      resolveGatewayTarget({ 'state-dir': stateDir, url: 'ws://10.0.0.2:18789', 'tls-fingerprint': pin }, env),
    ).rejects.toThrow(/--tls-fingerprint takes a SHA-256 fingerprint, and a wss:\/\/ URL/);
    await expect(resolveGatewayTarget({ 'state-dir': stateDir, 'tls-fingerprint': pin }, env)).rejects.toThrow(
      /goes with a wss:\/\/ --url/,
    );
  });
});
