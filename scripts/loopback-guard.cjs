// Loopback guard: a preload (`NODE_OPTIONS=--require <this file>`) for third-party Node processes the tests and the
// benchmark run (the real openclaw CLI, gateway and node host). It keeps them on this machine: DNS lookups of
// anything but a local name, TCP connects and UDP sends to anything but a loopback address, and multicast joins
// fail as if the network were unreachable. Every refused attempt is appended, with a short stack, to
// $PEER_EGRESS_LOG (default `<tmpdir>/egress-blocked.log`), which the interop tests assert stays empty.
// $PEER_GUARD_ALLOW_HOSTS (comma-separated IP addresses) adds exact addresses that are on this machine too: the
// host's end of a test's own veth link, for a "container" in a network namespace.
'use strict';

const dgram = require('node:dgram');
const dns = require('node:dns');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const logFile = process.env.PEER_EGRESS_LOG || path.join(os.tmpdir(), 'egress-blocked.log');
const localNames = new Set(['localhost', 'localhost.', 'ip6-localhost', 'ip6-loopback']);
const allowedHosts = new Set(
  (process.env.PEER_GUARD_ALLOW_HOSTS || '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => net.isIP(h) !== 0),
);

/** True for a host this process may reach: empty (Node's default is localhost), a local name or a loopback address. */
function isLocal(host) {
  if (host === undefined || host === null || host === '') return true;
  const h = String(host)
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  if (localNames.has(h) || h.endsWith('.localhost') || allowedHosts.has(h)) return true;
  if (net.isIPv4(h)) return h.split('.')[0] === '127';
  if (net.isIPv6(h)) return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.');
  return false;
}

function note(what, host) {
  const stack = (new Error().stack || '')
    .split('\n')
    .slice(3, 9)
    .map((line) => `  ${line.trim()}`)
    .join('\n');
  try {
    fs.appendFileSync(logFile, `${new Date().toISOString()} pid=${process.pid} BLOCKED ${what} ${host}\n${stack}\n`);
  } catch {
    // Logging must never take the guarded process down.
  }
}

function notFound(host, syscall) {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${host} (loopback guard)`), {
    code: 'ENOTFOUND',
    errno: -3008,
    syscall,
    hostname: host,
  });
}

// --- DNS: callback and promise APIs ---
const lookup = dns.lookup;
dns.lookup = function guardedLookup(host, options, callback) {
  if (isLocal(host)) return lookup.apply(this, arguments);
  note('dns.lookup', host);
  const cb = typeof options === 'function' ? options : callback;
  if (typeof cb === 'function') process.nextTick(cb, notFound(host, 'getaddrinfo'));
  return {};
};
const promiseLookup = dns.promises.lookup;
dns.promises.lookup = function guardedPromiseLookup(host, ...rest) {
  if (isLocal(host)) return promiseLookup.call(this, host, ...rest);
  note('dns.promises.lookup', host);
  return Promise.reject(notFound(host, 'getaddrinfo'));
};
const resolvers = [
  'resolve',
  'resolve4',
  'resolve6',
  'resolveAny',
  'resolveCname',
  'resolveMx',
  'resolveNs',
  'resolvePtr',
  'resolveSrv',
  'resolveTxt',
  'reverse',
];
for (const name of resolvers) {
  const original = dns[name];
  if (typeof original === 'function') {
    dns[name] = function guardedResolve(host, ...rest) {
      if (isLocal(host)) return original.call(this, host, ...rest);
      note(`dns.${name}`, host);
      const cb = rest[rest.length - 1];
      if (typeof cb === 'function') process.nextTick(cb, notFound(host, 'query'));
      return undefined;
    };
  }
  const originalPromise = dns.promises[name];
  if (typeof originalPromise === 'function') {
    dns.promises[name] = function guardedPromiseResolve(host, ...rest) {
      if (isLocal(host)) return originalPromise.call(this, host, ...rest);
      note(`dns.promises.${name}`, host);
      return Promise.reject(notFound(host, 'query'));
    };
  }
}

// --- TCP: every net/tls/http client ends in Socket#connect; IPC paths (Unix sockets, pipes) are local ---
/** The host a Socket#connect call aims at, or undefined for an IPC path or Node's default host. */
function connectTarget(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === 'object') return first.path ? undefined : first.host;
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    return typeof args[1] === 'string' ? args[1] : undefined;
  }
  return undefined; // a string that is not a port is an IPC path
}
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const host = connectTarget(args);
  if (isLocal(host)) return connect.apply(this, args);
  note('net.connect', host);
  const error = Object.assign(new Error(`connect ECONNREFUSED ${host} (loopback guard)`), {
    code: 'ECONNREFUSED',
    syscall: 'connect',
    address: host,
  });
  process.nextTick(() => this.destroy(error));
  return this;
};

// --- UDP ---
const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function guardedSend(message, ...rest) {
  const address = rest.find((arg) => typeof arg === 'string');
  if (address === undefined || isLocal(address)) return send.call(this, message, ...rest);
  note('dgram.send', address);
  const cb = rest.find((arg) => typeof arg === 'function');
  if (cb) process.nextTick(cb, Object.assign(new Error('send EPERM (loopback guard)'), { code: 'EPERM' }));
  return undefined;
};
dgram.Socket.prototype.addMembership = function guardedAddMembership(group) {
  note('dgram.addMembership', group);
  throw Object.assign(new Error('addMembership EPERM (loopback guard)'), { code: 'EPERM' });
};
