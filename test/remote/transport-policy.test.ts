import { describe, expect, it } from 'vitest';
import {
  assertGatewayUrlAllowed,
  formatTlsFingerprint,
  normalizeTlsFingerprint,
  TlsFingerprintMismatchError,
  TransportPolicyError,
} from '../../gateway/remote/transport-policy';
import { formatSshTarget, parseSshTarget } from '../../gateway/remote/ssh-target';

const HEX = 'ab'.repeat(32);

describe('TLS fingerprints (the forms OpenClaw takes for gateway.remote.tlsFingerprint)', () => {
  it('accepts 64 hex digits, 32 colon-separated pairs and a sha256: prefix, in any case', () => {
    expect(normalizeTlsFingerprint(HEX.toUpperCase())).toBe(HEX);
    expect(normalizeTlsFingerprint(formatTlsFingerprint(HEX))).toBe(HEX);
    expect(normalizeTlsFingerprint(`sha256:${HEX}`)).toBe(HEX);
    expect(normalizeTlsFingerprint(`  SHA256:${formatTlsFingerprint(HEX)}  `)).toBe(HEX);
  });

  it('refuses anything else: SHA-1 length, stray characters, mixed separators', () => {
    for (const bad of ['', 'ab'.repeat(20), `${HEX}0`, `${HEX.slice(0, 62)}zz`, `ab-${HEX.slice(3)}`, 'AB:CD'])
      expect(normalizeTlsFingerprint(bad), bad).toBeUndefined();
  });

  it('a mismatch names both fingerprints and carries a terminal detail code', () => {
    const error = new TlsFingerprintMismatchError('gw.example:18789', HEX, 'cd'.repeat(32));
    expect(error.message).toContain(formatTlsFingerprint(HEX));
    expect(error.message).toContain(formatTlsFingerprint('cd'.repeat(32)));
    expect(error.detailCode).toBe('TLS_FINGERPRINT_MISMATCH');
  });
});

describe('plaintext ws:// is refused beyond loopback unless the person opts in', () => {
  const env = {};
  it('passes wss:// anywhere and ws:// to loopback', () => {
    for (const url of [
      'wss://203.0.113.9:443',
      'ws://127.0.0.1:18789',
      'ws://localhost:1',
      'ws://[::1]:18789',
      'ws://[::ffff:127.0.0.1]:1',
    ])
      expect(() => assertGatewayUrlAllowed(url, { env })).not.toThrow();
  });

  it('refuses ws:// to private, link-local, CGNAT, .local and plain host names without the opt-in', () => {
    for (const url of [
      'ws://10.0.0.2:18789',
      'ws://192.168.1.5:18789',
      'ws://169.254.1.1:1',
      'ws://100.100.1.1:1',
      'ws://[fd00::1]:1',
      'ws://[::ffff:10.0.0.2]:1',
      'ws://nas.local:18789',
      'ws://box.tail1.ts.net:18789',
      'ws://homeserver:18789',
    ])
      expect(() => assertGatewayUrlAllowed(url, { env }), url).toThrow(/refusing plaintext ws:\/\/.*opt in/);
  });

  it('allows those with --allow-insecure-private-ws or OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1', () => {
    expect(() => assertGatewayUrlAllowed('ws://10.0.0.2:18789', { allowInsecurePrivateWs: true, env })).not.toThrow();
    expect(() =>
      assertGatewayUrlAllowed('ws://nas.local:18789', { env: { OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: '1' } }),
    ).not.toThrow();
    // Only the exact value "1" is the switch, as in OpenClaw.
    expect(() =>
      assertGatewayUrlAllowed('ws://10.0.0.2:1', { env: { OPENCLAW_ALLOW_INSECURE_PRIVATE_WS: 'true' } }),
    ).toThrow(TransportPolicyError);
  });

  it('never allows a public IP literal over plaintext, opt-in or not', () => {
    for (const url of ['ws://8.8.8.8:18789', 'ws://203.0.113.9:1', 'ws://[2001:db8::1]:1'])
      expect(() => assertGatewayUrlAllowed(url, { allowInsecurePrivateWs: true, env }), url).toThrow(
        /public address is never allowed/,
      );
  });

  it('refuses what is not a gateway URL, and credentials inside one', () => {
    expect(() => assertGatewayUrlAllowed('http://127.0.0.1:1')).toThrow(/must start with wss:\/\/ or ws:\/\//);
    expect(() => assertGatewayUrlAllowed('not a url')).toThrow(/not a URL/);
    expect(() => assertGatewayUrlAllowed('wss://me:secret@gw.example')).toThrow(/must not carry credentials/);
  });
});

describe('SSH targets', () => {
  it('parses user@host[:port] and IPv6 in brackets', () => {
    expect(parseSshTarget('me@gw.example')).toEqual({ user: 'me', host: 'gw.example', port: 22 });
    expect(parseSshTarget('gw.example:2222')).toEqual({ host: 'gw.example', port: 2222 });
    expect(parseSshTarget('me@[fd00::2]:2200')).toEqual({ user: 'me', host: 'fd00::2', port: 2200 });
    expect(formatSshTarget({ user: 'me', host: 'fd00::2', port: 2200 })).toBe('me@[fd00::2]:2200');
  });

  it('refuses what ssh could read as an option or a second argument', () => {
    for (const bad of [
      '-oProxyCommand=x',
      'me@-oProxyCommand=x',
      'me@host name',
      'me@host\nx',
      '@host',
      'h:0',
      'h:99999',
      'h:x',
    ])
      expect(parseSshTarget(bad), JSON.stringify(bad)).toBeUndefined();
  });
});
