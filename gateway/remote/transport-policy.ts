import net from 'node:net';
import { GatewayClientError } from '../client/gateway-client';

/**
 * What Clawdesk accepts as a way to reach a gateway on another machine
 * (docs/remote-gateways.md § Transport security): wss:// (pinned or CA-trusted), plaintext ws:// only to loopback unless the person opts in, and
 * certificate fingerprints in the format OpenClaw's `gateway.remote.tlsFingerprint` takes.
 */

/** OpenClaw's break-glass switch for plaintext ws:// on trusted private networks. */
export const ALLOW_INSECURE_PRIVATE_WS_ENV = 'OPENCLAW_ALLOW_INSECURE_PRIVATE_WS';

const SHA256_HEX = /^[a-f0-9]{64}$/i;
const SHA256_COLONS = /^(?:[a-f0-9]{2}:){31}[a-f0-9]{2}$/i;

/**
 * A SHA-256 certificate fingerprint as lowercase hex, from the forms OpenClaw accepts (64 hex digits, or 32
 * colon-separated pairs as Node and openssl print them, optionally prefixed `sha256:`); undefined for anything else.
 */
export function normalizeTlsFingerprint(value: string | undefined | null): string | undefined {
  const text = (value ?? '').trim().replace(/^sha256:/i, '');
  if (SHA256_HEX.test(text)) return text.toLowerCase();
  if (SHA256_COLONS.test(text)) return text.replaceAll(':', '').toLowerCase();
  return undefined;
}

/** The way people compare fingerprints by eye: `AB:CD:…`, as `openssl x509 -fingerprint -sha256` prints them. */
export function formatTlsFingerprint(normalized: string): string {
  return (normalized.toUpperCase().match(/../g) ?? []).join(':');
}

export class TransportPolicyError extends Error {}

/** A pinned certificate that changed: a hard stop, never a silent re-pin. */
export class TlsFingerprintMismatchError extends GatewayClientError {
  constructor(
    readonly host: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      `the TLS certificate of ${host} does not match the pinned one: pinned SHA-256 ${formatTlsFingerprint(expected)}, ` +
        `the server presented ${actual ? formatTlsFingerprint(actual) : 'no certificate'}. Clawdesk did not connect and ` +
        'sent nothing. If the gateway got a new certificate on purpose, read its fingerprint on that machine and pin it ' +
        'again (clawdesk gateways pin); otherwise someone may be intercepting the connection.',
      { code: 'UNAVAILABLE', message: 'tls fingerprint mismatch', details: { code: 'TLS_FINGERPRINT_MISMATCH' } },
    );
  }
}

function bareHost(hostname: string): string {
  return hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.+$/, '');
}

const PRIVATE_V4 = new net.BlockList();
for (const [prefix, bits] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['169.254.0.0', 16],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
] as const)
  PRIVATE_V4.addSubnet(prefix, bits, 'ipv4');
const PRIVATE_V6 = new net.BlockList();
for (const [prefix, bits] of [
  ['::1', 128],
  ['fe80::', 10],
  ['fc00::', 7],
  ['fec0::', 10],
] as const)
  PRIVATE_V6.addSubnet(prefix, bits, 'ipv6');

export function isLoopbackHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const v4 = mappedV4(host);
  if (v4) return v4.startsWith('127.');
  return host === '::1';
}

/** `::ffff:10.0.0.1` (which URL writes as `::ffff:a00:1`) is 10.0.0.1 for every purpose here. */
function mappedV4(host: string): string | undefined {
  if (net.isIPv4(host)) return host;
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (dotted) return net.isIPv4(dotted[1]) ? dotted[1] : undefined;
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!hex) return undefined;
  const [hi, lo] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** RFC 1918, link-local, CGNAT, IPv6 ULA/link-local/site-local and loopback: OpenClaw's "private" set. */
export function isPrivateOrLoopbackHost(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === 'localhost') return true;
  const v4 = mappedV4(host);
  if (v4) return PRIVATE_V4.check(v4, 'ipv4');
  if (net.isIPv6(host)) return PRIVATE_V6.check(host, 'ipv6');
  return false;
}

export interface PlaintextPolicy {
  /** The person opted in for this gateway (`clawdesk gateways add --allow-insecure-private-ws`). */
  allowInsecurePrivateWs?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * Throws a TransportPolicyError unless `url` is a gateway URL Clawdesk may connect to. wss:// always passes (its
 * certificate is checked at connect). Plaintext ws:// passes for loopback only, unless the person opted in: then
 * also for OpenClaw's trusted-plaintext hosts (private addresses, `.local`, `.ts.net`) and host names, but never a
 * public IP literal. Stricter than OpenClaw's CLI, which takes private addresses without the opt-in: Clawdesk runs
 * the commands these connections carry, and anyone on the LAN could inject them into plaintext.
 */
export function assertGatewayUrlAllowed(url: string, policy: PlaintextPolicy = {}): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TransportPolicyError(`"${url}" is not a URL; a gateway URL looks like wss://host:18789`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:')
    throw new TransportPolicyError(`a gateway URL must start with wss:// or ws:// (got "${parsed.protocol}")`);
  if (!parsed.hostname) throw new TransportPolicyError(`"${url}" names no host`);
  if (parsed.username || parsed.password)
    throw new TransportPolicyError('a gateway URL must not carry credentials; use --token or --password');
  if (parsed.protocol === 'wss:' || isLoopbackHost(parsed.hostname)) return parsed;
  const optedIn =
    policy.allowInsecurePrivateWs === true || (policy.env ?? process.env)[ALLOW_INSECURE_PRIVATE_WS_ENV] === '1';
  const host = bareHost(parsed.hostname);
  const trusted =
    isPrivateOrLoopbackHost(host) || host.endsWith('.local') || host.endsWith('.ts.net') || net.isIP(host) === 0;
  if (optedIn && trusted) return parsed;
  throw new TransportPolicyError(
    `refusing plaintext ws:// to ${parsed.host}: the gateway token and every command would cross the network ` +
      'unencrypted. Use wss:// (with a pinned certificate) or an SSH tunnel. ' +
      (trusted
        ? `On a trusted private network only, opt in with --allow-insecure-private-ws or ${ALLOW_INSECURE_PRIVATE_WS_ENV}=1.`
        : 'A public address is never allowed over plaintext.'),
  );
}
