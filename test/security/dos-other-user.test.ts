import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway, GatewayClientError } from '../../gateway/client/gateway-client';
import {
  bundleScript,
  lastJsonLine,
  runChild,
  startTestGateway,
  TOKEN,
  type TestGateway,
} from '../hardening/helpers/harness';
import { asOtherUser, canSwitchUser, ensureOtherUser, spawnAsOtherUser } from '../hardening/helpers/other-user';

/**
 * Issue 9 finding 14 (denial of service), with a real second local OS user: whatever another user does before
 * authenticating, the owner (the gateway's own OS user; these tests run as root, and so does the gateway) is
 * still served. On the code before the fix both tests fail: the limits were per address, and every local
 * user is 127.0.0.1.
 */

const CLIENT = path.join(__dirname, 'fixtures', 'dos-client.ts');

const ownerConnects = async (url: string) => {
  const session = await connectGateway({
    url,
    clientId: 'cli',
    clientMode: 'cli',
    platform: 'linux',
    token: TOKEN,
    scopes: ['operator.read'],
    connectTimeoutMs: 8_000,
  });
  try {
    return { hello: session.hello.type, health: Boolean(await session.request('health', {}, { timeoutMs: 5_000 })) };
  } finally {
    await session.close();
  }
};

describe.runIf(canSwitchUser)('issue 9 finding 14: another local user cannot deny the owner service', () => {
  let user = { uid: 0, gid: 0 };
  let script = '';
  const gateways: TestGateway[] = [];

  beforeAll(() => {
    user = ensureOtherUser();
    expect(user.uid).not.toBe(0);
    script = bundleScript(CLIENT);
  });

  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.cleanup()));
  });

  it('issue 9 finding 14: 12 wrong tokens from another user lock out that user, not the owner', async () => {
    const gateway = await startTestGateway({});
    gateways.push(gateway);
    const other = async (count: number, token: string) => {
      const [cmd, args] = asOtherUser(user, process.execPath, [
        script,
        'wrong-tokens',
        gateway.url,
        String(count),
        token,
      ]);
      return lastJsonLine(
        (await runChild(cmd, args, { env: { PATH: process.env.PATH, HOME: '/tmp' }, timeoutMs: 60_000 })).stdout,
      );
    };
    const guesses = await other(12, 'wrong-token');
    expect(guesses.uid).toBe(user.uid);
    expect(guesses.codes).toEqual([...Array(10).fill('AUTH_TOKEN_MISMATCH'), 'AUTH_RATE_LIMITED', 'AUTH_RATE_LIMITED']);

    // The owner is not locked out…
    expect(await ownerConnects(gateway.url)).toEqual({ hello: 'hello-ok', health: true });
    // …while the guessing user stays locked out, even with the right token.
    expect((await other(1, TOKEN)).codes).toEqual(['AUTH_RATE_LIMITED']);
    // And a failed owner login still counts for the owner only (the limiter is not switched off).
    const wrong = await connectGateway({
      url: gateway.url,
      clientId: 'cli',
      clientMode: 'cli',
      platform: 'linux',
      token: 'nope',
      connectTimeoutMs: 8_000,
    }).catch((e) => e as GatewayClientError);
    expect((wrong as GatewayClientError).detailCode).toBe('AUTH_TOKEN_MISMATCH');
  });

  it('issue 9 finding 14: 512 idle pre-auth sockets from another user do not make the owner get HTTP 503', async () => {
    const gateway = await startTestGateway({ handshakeTimeoutMs: 60_000 });
    gateways.push(gateway);
    const { child, first } = await spawnAsOtherUser(
      user,
      process.execPath,
      [script, 'idle-sockets', gateway.url, '520'],
      60_000,
    );
    try {
      expect(first.uid).toBe(user.uid);
      // The other user gets its own budget of 512 pre-auth sockets and no more.
      expect(first.held).toBe(512);
      expect(first.refused).toEqual(Array(8).fill('HTTP 503'));
      // The owner is served, repeatedly, while those sockets are held.
      for (let i = 0; i < 3; i++) expect(await ownerConnects(gateway.url)).toEqual({ hello: 'hello-ok', health: true });
    } finally {
      child.stdin.end();
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    }
  }, 90_000);
});
