import { isIP } from 'node:net';
import type { IncomingHttpHeaders } from 'node:http';
import type { Locality } from './gateway-module';

const FORWARDING_HEADERS = ['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-real-ip', 'x-forwarded-host'];

export function stripIpv6Brackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const ip = stripIpv6Brackets(address).toLowerCase();
  if (ip === '::1' || ip === '0:0:0:0:0:0:0:1') return true;
  const v4 = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

function ipv4Octets(ip: string): number[] | null {
  if (isIP(ip) !== 4) return null;
  return ip.split('.').map(Number);
}

/** RFC 1918, link-local, CGNAT (container and tailnet ranges), and IPv6 ULA/link-local. */
export function isPrivateAddress(address: string): boolean {
  const ip = stripIpv6Brackets(address).toLowerCase();
  const v4 = ipv4Octets(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
  if (v4) {
    const [a, b] = v4 as [number, number];
    return (
      a === 10 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (isIP(ip) === 6) return /^f[cd]/.test(ip) || /^fe[89ab]/.test(ip);
  return false;
}

/** The hostname part of a Host header ("[::1]:18789" → "::1"). */
export function hostHeaderName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const trimmed = host.trim().toLowerCase();
  if (trimmed.startsWith('[')) {
    const end = trimmed.indexOf(']');
    return end > 0 ? trimmed.slice(1, end) : trimmed;
  }
  const colon = trimmed.lastIndexOf(':');
  return colon > 0 && trimmed.indexOf(':') === colon ? trimmed.slice(0, colon) : trimmed;
}

export function isLoopbackHostName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name);
}

export function hasForwardingHeaders(headers: IncomingHttpHeaders): boolean {
  return FORWARDING_HEADERS.some((name) => headers[name] !== undefined);
}

export interface LocalityInput {
  remoteAddress: string | undefined;
  headers: IncomingHttpHeaders;
  clientId: string;
  clientMode: string;
  sharedAuthOk: boolean;
}

/**
 * direct_local: loopback peer, no forwarding headers, and a loopback (or absent) Host.
 * cli_container_local / shared_secret_loopback_local: a loopback peer whose Host is a private IP literal, holding
 *   the shared token or password, with no Origin and no forwarding headers: a container on this machine reached
 *   through a forwarding proxy (host.docker.internal). The first for the `cli` client, the second for every other
 *   client (the agent runtime's `gateway-client`/`backend` among them). OpenClaw 2026.9.6 draws the same lines
 *   (docs/protocol.md § Locality).
 * remote: everything else — forwarding headers from any peer make a connection remote.
 */
export function resolveLocality(input: LocalityInput): Locality {
  if (!isLoopbackAddress(input.remoteAddress) || hasForwardingHeaders(input.headers)) return 'remote';
  const host = hostHeaderName(input.headers.host);
  if (host === undefined || isLoopbackHostName(host)) return 'direct_local';
  if (input.sharedAuthOk && input.headers.origin === undefined && isPrivateAddress(host)) {
    return input.clientId === 'cli' && input.clientMode === 'cli'
      ? 'cli_container_local'
      : 'shared_secret_loopback_local';
  }
  return 'remote';
}

/** Origins are compared as serialized by the browser: scheme://host[:port], lowercase. */
export function normalizeOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}

export function isOriginAllowed(origin: string | undefined, allowedOrigins: ReadonlySet<string>): boolean {
  if (origin === undefined) return true;
  return allowedOrigins.has(normalizeOrigin(origin));
}
