import { describe, expect, it } from 'vitest';
import { resolveLocality, type LocalityInput } from '../../gateway/server/locality';

const input = (
  over: Partial<LocalityInput> & { host?: string; origin?: string; forwarded?: string },
): LocalityInput => {
  const headers: LocalityInput['headers'] = {};
  if (over.host !== undefined) headers.host = over.host;
  if (over.origin !== undefined) headers.origin = over.origin;
  if (over.forwarded !== undefined) headers['x-forwarded-for'] = over.forwarded;
  return {
    remoteAddress: over.remoteAddress ?? '127.0.0.1',
    headers: over.headers ?? headers,
    clientId: over.clientId ?? 'cli',
    clientMode: over.clientMode ?? 'cli',
    sharedAuthOk: over.sharedAuthOk ?? true,
  };
};
const agent = { clientId: 'gateway-client', clientMode: 'backend' };

describe('where a connection comes from', () => {
  it('a loopback peer with a loopback or absent Host is direct-local, whatever it holds', () => {
    for (const host of [undefined, '127.0.0.1:18789', 'localhost:18789', '[::1]:18789', 'app.localhost'])
      expect(resolveLocality(input({ host, sharedAuthOk: false }))).toBe('direct_local');
  });

  it('a container through a forwarding proxy (loopback peer, private Host) with the shared secret is local-equivalent', () => {
    expect(resolveLocality(input({ host: '172.17.0.1:18789' }))).toBe('cli_container_local');
    // The agent runtime in the container (issue 10's replay): OpenClaw's shared_secret_loopback_local.
    expect(resolveLocality(input({ host: '10.232.7.1:18789', ...agent }))).toBe('shared_secret_loopback_local');
    expect(resolveLocality(input({ host: '[fd00::1]:18789', ...agent }))).toBe('shared_secret_loopback_local');
  });

  it('stays remote without the shared secret, with an Origin, with forwarding headers, or with a public or named Host', () => {
    expect(resolveLocality(input({ host: '172.17.0.1:18789', sharedAuthOk: false, ...agent }))).toBe('remote');
    expect(resolveLocality(input({ host: '172.17.0.1:18789', origin: 'http://172.17.0.1:18789', ...agent }))).toBe(
      'remote',
    );
    expect(resolveLocality(input({ host: '172.17.0.1:18789', forwarded: '203.0.113.7', ...agent }))).toBe('remote');
    expect(resolveLocality(input({ host: '127.0.0.1:18789', forwarded: '127.0.0.1' }))).toBe('remote');
    // Only IP literals are private: a name (host.docker.internal, or a tunnel's public name) is not.
    expect(resolveLocality(input({ host: 'host.docker.internal:18789', ...agent }))).toBe('remote');
    expect(resolveLocality(input({ host: 'gateway.example.com', ...agent }))).toBe('remote');
    expect(resolveLocality(input({ host: '203.0.113.9:18789', ...agent }))).toBe('remote');
  });

  it('a peer that is not loopback is remote even on a private network', () => {
    expect(resolveLocality(input({ remoteAddress: '10.231.5.2', host: '127.0.0.1:18789' }))).toBe('remote');
    expect(resolveLocality(input({ remoteAddress: '::ffff:192.168.1.4', host: '192.168.1.2:18789', ...agent }))).toBe(
      'remote',
    );
  });
});
