import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  buildConnectParams,
  connectGateway,
  GatewayClientError,
  type GatewayClientOptions,
  type GatewaySession,
} from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner, type DeviceSigner } from '../../gateway/protocol/device-auth';
import { CLI_DEFAULT_OPERATOR_SCOPES } from '../../gateway/protocol/scopes';
import { errorDetails } from '../helpers/gateway-fixture';
import { bundleScript, RawClient, startTestGateway, TOKEN, type TestGateway } from './helpers/harness';

const gateways: TestGateway[] = [];
const sessions: GatewaySession[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)));
  await Promise.all(gateways.splice(0).map((g) => g.cleanup()));
});

async function gateway(options: Parameters<typeof startTestGateway>[0] = {}): Promise<TestGateway> {
  const g = await startTestGateway(options);
  gateways.push(g);
  return g;
}

async function session(options: GatewayClientOptions): Promise<GatewaySession> {
  const s = await connectGateway({ connectTimeoutMs: 5_000, ...options });
  sessions.push(s);
  return s;
}

async function refusal(options: GatewayClientOptions): Promise<GatewayClientError> {
  const error = await connectGateway({ connectTimeoutMs: 5_000, ...options }).then(
    (s) => {
      sessions.push(s);
      throw new Error(
        `expected the connect to be refused, got hello-ok with scopes ${JSON.stringify(s.hello.auth?.scopes)}`,
      );
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GatewayClientError);
  return error as GatewayClientError;
}

const REMOTE = { 'x-forwarded-for': '203.0.113.7' };

/** The owner, as the real CLI connects with the shared token and no device. */
const admin = (g: TestGateway) =>
  session({ url: g.url, token: TOKEN, clientId: 'cli', clientMode: 'cli', scopes: [...CLI_DEFAULT_OPERATOR_SCOPES] });

/** Pairs `device` for `scopes` from a remote-looking connection and the owner's explicit approval. */
async function pairRemotely(
  g: TestGateway,
  owner: GatewaySession,
  device: DeviceSigner,
  scopes: string[],
  role: 'operator' | 'node' = 'operator',
): Promise<void> {
  const error = await refusal({
    url: g.url,
    token: TOKEN,
    device,
    scopes,
    role,
    clientMode: role === 'node' ? 'node' : 'backend',
    clientId: role === 'node' ? 'node-host' : 'gateway-client',
    headers: REMOTE,
  });
  expect(error.detailCode).toBe('PAIRING_REQUIRED');
  await owner.request('device.pair.approve', { requestId: errorDetails(error)!.requestId });
}

describe('replayed and forged device proofs', () => {
  it('a captured connect frame replayed on a new connection is refused (nonce bound to the old challenge)', async () => {
    const g = await gateway();
    const device = createEphemeralDeviceSigner();
    const first = await RawClient.open(g.url);
    const frame = {
      type: 'req',
      id: 'c1',
      method: 'connect',
      params: buildConnectParams({ url: g.url, token: TOKEN, device, scopes: ['operator.read'] }, first.challenge!),
    };
    first.send(frame);
    expect((await first.response('c1')).ok).toBe(true);

    for (let i = 0; i < 3; i++) {
      const replay = await RawClient.open(g.url);
      replay.send(frame);
      const answer = await replay.response('c1');
      expect(answer.ok).toBe(false);
      expect(answer.error?.details?.code).toBe('DEVICE_AUTH_NONCE_MISMATCH');
      expect((await replay.closedWithin()).code).toBe(1008);
      expect(replay.frames.some((f) => f.payload?.type === 'hello-ok')).toBe(false);
    }
    // And on the original connection a second connect is not a second handshake.
    const again = await first.request('c2', 'connect', frame.params);
    expect(again.error?.message).toBe('connect is only valid as the first request');
    expect((await first.request('h', 'health')).ok).toBe(true);
    first.ws.close();
  });

  it('a signature made by one key for another deviceId is refused either way', async () => {
    const g = await gateway();
    const attacker = createEphemeralDeviceSigner();
    const victim = createEphemeralDeviceSigner();
    const owner = await admin(g);
    await pairRemotely(g, owner, victim, ['operator.admin']);

    // Claim the victim's id with the attacker's key: the id does not hash from the key.
    const mixed = await RawClient.open(g.url);
    const params: any = buildConnectParams(
      { url: g.url, token: TOKEN, device: { ...attacker, deviceId: victim.deviceId }, scopes: ['operator.admin'] },
      mixed.challenge!,
    );
    mixed.send({ type: 'req', id: 'x', method: 'connect', params });
    expect((await mixed.response('x')).error?.details?.code).toBe('DEVICE_AUTH_DEVICE_ID_MISMATCH');

    // Claim the victim's id and key, signed by the attacker.
    const forged = await RawClient.open(g.url);
    const forgedParams: any = buildConnectParams(
      {
        url: g.url,
        token: TOKEN,
        device: { ...attacker, deviceId: victim.deviceId, publicKey: victim.publicKey },
        scopes: ['operator.admin'],
      },
      forged.challenge!,
    );
    forged.send({ type: 'req', id: 'y', method: 'connect', params: forgedParams });
    const answer = await forged.response('y');
    expect(answer.error?.details?.code).toBe('DEVICE_AUTH_SIGNATURE_INVALID');
    expect((await forged.closedWithin()).code).toBe(1008);

    // A valid signature over different claims (scopes swapped after signing) is refused too.
    const swapped = await RawClient.open(g.url);
    const swappedParams: any = buildConnectParams(
      { url: g.url, token: TOKEN, device: attacker, scopes: ['operator.read'] },
      swapped.challenge!,
    );
    swappedParams.scopes = ['operator.admin'];
    swapped.send({ type: 'req', id: 'z', method: 'connect', params: swappedParams });
    expect((await swapped.response('z')).error?.details?.code).toBe('DEVICE_AUTH_SIGNATURE_INVALID');
    expect(g.pairing.getPaired(attacker.deviceId)).toBeUndefined();
  });
});

describe('scope escalation by a paired non-admin device', () => {
  it('cannot approve its own scope upgrade, mint tokens beyond its scopes, or touch another device', async () => {
    const g = await gateway();
    const owner = await admin(g);
    const mallory = createEphemeralDeviceSigner();
    const bystander = createEphemeralDeviceSigner();
    await pairRemotely(g, owner, mallory, ['operator.pairing']);
    await pairRemotely(g, owner, bystander, ['operator.read', 'operator.write']);
    const bystanderToken = g.pairing.getPaired(bystander.deviceId)!.tokens!.operator.token;

    const m = await session({
      url: g.url,
      token: TOKEN,
      device: mallory,
      scopes: ['operator.pairing'],
      headers: REMOTE,
    });
    expect(m.hello.auth.scopes).toEqual(['operator.pairing']);

    // Ask for admin: that is a scope upgrade, which a remote connection must have approved.
    const upgrade = await refusal({
      url: g.url,
      token: TOKEN,
      device: mallory,
      scopes: ['operator.pairing', 'operator.admin'],
      headers: REMOTE,
    });
    expect(upgrade.detailCode).toBe('PAIRING_REQUIRED');
    expect(errorDetails(upgrade)!.reason).toBe('scope-upgrade');
    const selfApprove = await m
      .request('device.pair.approve', { requestId: errorDetails(upgrade)!.requestId })
      .catch((e) => e);
    expect(selfApprove).toBeInstanceOf(GatewayClientError);
    expect(selfApprove.message).toBe('missing scope: operator.admin');
    expect(g.pairing.getPaired(mallory.deviceId)!.approvedScopes).not.toContain('operator.admin');
    expect(g.pairing.getPending(errorDetails(upgrade)!.requestId!)).toBeDefined();

    // Rotating its own token beyond what it holds (or was approved for) is denied.
    for (const scopes of [['operator.admin'], ['operator.read'], ['operator.pairing', 'operator.write']]) {
      const rotate = await m
        .request('device.token.rotate', { deviceId: mallory.deviceId, role: 'operator', scopes })
        .catch((e) => e);
      expect(rotate.message, JSON.stringify(scopes)).toBe('device token rotation denied');
    }
    // Rotating into a role it never had is denied too.
    expect(
      (await m.request('device.token.rotate', { deviceId: mallory.deviceId, role: 'node' }).catch((e) => e)).message,
    ).toBe('device token rotation denied');

    // Another device is off limits to a non-admin.
    for (const [method, params] of [
      ['device.pair.remove', { deviceId: bystander.deviceId }],
      ['device.token.revoke', { deviceId: bystander.deviceId, role: 'operator' }],
      ['device.token.rotate', { deviceId: bystander.deviceId, role: 'operator', scopes: ['operator.read'] }],
    ] as const) {
      const denied = await m.request(method, params).catch((e) => e);
      expect(denied, method).toBeInstanceOf(GatewayClientError);
      expect(denied.error?.details?.code, method).toBe('CROSS_DEVICE_DENIED');
    }
    const after = g.pairing.getPaired(bystander.deviceId)!;
    expect(after.tokens!.operator.token).toBe(bystanderToken);
    expect(after.tokens!.operator.revokedAtMs).toBeUndefined();

    // Approving a node role for someone needs admin.
    const node = createEphemeralDeviceSigner();
    const nodeRequest = await refusal({
      url: g.url,
      token: TOKEN,
      device: node,
      role: 'node',
      clientId: 'node-host',
      clientMode: 'node',
      scopes: [],
      headers: REMOTE,
    });
    expect(
      (await m.request('device.pair.approve', { requestId: errorDetails(nodeRequest)!.requestId }).catch((e) => e))
        .message,
    ).toBe('missing scope: operator.admin');
    expect(g.pairing.getPaired(node.deviceId)).toBeUndefined();

    // Its own device it may manage: the guard is not simply "deny everything".
    const own = await m.request('device.token.rotate', {
      deviceId: mallory.deviceId,
      role: 'operator',
      scopes: ['operator.pairing'],
    });
    expect(own.token).toBeTypeOf('string');
  });

  it('a device-token login cannot carry scopes beyond the token', async () => {
    const g = await gateway();
    const owner = await admin(g);
    const device = createEphemeralDeviceSigner();
    await pairRemotely(g, owner, device, ['operator.read']);
    const deviceToken = g.pairing.getPaired(device.deviceId)!.tokens!.operator.token;
    const ok = await session({ url: g.url, deviceToken, device, scopes: ['operator.read'], headers: REMOTE });
    expect(ok.hello.auth.method).toBe('device-token');
    const escalate = await refusal({ url: g.url, deviceToken, device, scopes: ['operator.admin'], headers: REMOTE });
    expect(escalate.detailCode).toBe('PAIRING_REQUIRED');
    // A device token is bound to its device: another device presenting it is refused.
    const thief = createEphemeralDeviceSigner();
    const stolen = await refusal({ url: g.url, deviceToken, device: thief, scopes: ['operator.read'] });
    expect(stolen.detailCode).toBe('AUTH_DEVICE_TOKEN_MISMATCH');
  });
});

describe('locality cannot be faked from a loopback peer', () => {
  const FORWARDING = ['forwarded', 'x-forwarded-for', 'x-forwarded-proto', 'x-real-ip', 'x-forwarded-host'];

  it.each(FORWARDING)('%s from 127.0.0.1 makes the connection remote: pairing is never silent', async (header) => {
    const g = await gateway();
    const device = createEphemeralDeviceSigner();
    const value = header === 'forwarded' ? 'for=127.0.0.1' : '127.0.0.1';
    const error = await refusal({
      url: g.url,
      token: TOKEN,
      device,
      scopes: ['operator.read'],
      headers: { [header]: value },
    });
    expect(error.detailCode).toBe('PAIRING_REQUIRED');
    expect(error.closeCode).toBe(1008);
    expect(g.pairing.getPaired(device.deviceId)).toBeUndefined();
  });

  it('under auth none, forwarding headers also withdraw the device-less owner session', async () => {
    const g = await gateway({ auth: { mode: 'none' } });
    expect((await session({ url: g.url, scopes: ['operator.admin'] })).hello.auth.scopes).toContain('operator.admin');
    for (const header of FORWARDING) {
      const error = await refusal({ url: g.url, scopes: ['operator.admin'], headers: { [header]: '127.0.0.1' } });
      expect(error.detailCode, header).toBe('DEVICE_IDENTITY_REQUIRED');
    }
  });

  it.each([
    ['gateway.example.com', 'gateway-client', 'PAIRING_REQUIRED'],
    ['127.0.0.1.nip.io', 'gateway-client', 'PAIRING_REQUIRED'],
    ['localhost.evil.example:18789', 'gateway-client', 'PAIRING_REQUIRED'],
    ['2130706433', 'gateway-client', 'PAIRING_REQUIRED'],
    ['0x7f.0.0.1', 'gateway-client', 'PAIRING_REQUIRED'],
    // A private IP Host with the shared secret: a container behind a forwarding proxy, local-equivalent for every
    // client as in OpenClaw 2026.9.6 (shared_secret_loopback_local); names that merely look local stay remote above.
    ['192.168.1.20:18789', 'gateway-client', null],
    ['203.0.113.5', 'cli', 'PAIRING_REQUIRED'],
    ['[::1]:18789', 'gateway-client', null],
    ['localhost:18789', 'gateway-client', null],
    ['172.17.0.2:18789', 'cli', null],
  ])('Host %s (%s client) → %s', async (host, clientId, expected) => {
    const g = await gateway();
    const device = createEphemeralDeviceSigner();
    const options: GatewayClientOptions = {
      url: g.url,
      token: TOKEN,
      device,
      scopes: ['operator.read'],
      clientId,
      clientMode: clientId === 'cli' ? 'cli' : 'backend',
      headers: { host },
    };
    if (expected) expect((await refusal(options)).detailCode).toBe(expected);
    else expect((await session(options)).hello.auth.scopes).toEqual(['operator.read']);
  });

  it('a private Host makes a cli container-local only with the shared secret', async () => {
    const g = await gateway();
    const owner = await admin(g);
    const device = createEphemeralDeviceSigner();
    await pairRemotely(g, owner, device, ['operator.read']);
    const deviceToken = g.pairing.getPaired(device.deviceId)!.tokens!.operator.token;
    // Device-token auth is not shared auth: asking for more from a private Host is not silent.
    const error = await refusal({
      url: g.url,
      deviceToken,
      device,
      scopes: ['operator.write'],
      clientId: 'cli',
      clientMode: 'cli',
      headers: { host: '172.17.0.2:18789' },
    });
    expect(error.detailCode).toBe('PAIRING_REQUIRED');
  });
});

describe('floods and guessing', () => {
  it('more than 10 consecutive unauthorized calls close the connection; an authorized call resets the count', async () => {
    const g = await gateway();
    const weak = await session({ url: g.url, token: TOKEN, scopes: [] });
    const codes: string[] = [];
    for (let i = 0; i < 10; i++) codes.push((await weak.request('status').catch((e) => e)).error?.details?.code);
    expect(codes).toEqual(Array(10).fill('MISSING_SCOPE'));
    await weak.request('health');
    for (let i = 0; i < 10; i++) await weak.request('device.pair.list').catch(() => undefined);
    expect(weak.closed).toBe(false);
    const closed = new Promise<number>((resolve) => weak.once('close', (code: number) => resolve(code)));
    const eleventh = await weak.request('system-presence').catch((e) => e);
    expect(eleventh.error?.details?.code).toBe('MISSING_SCOPE');
    expect(await closed).toBe(1008);
    expect((await weak.request('health').catch((e) => e)).message).toBe('connection is closed');
  });

  it('a node calling operator methods is flooded out the same way', async () => {
    const g = await gateway({ auth: { mode: 'none' } });
    const node = await session({
      url: g.url,
      role: 'node',
      clientId: 'node-host',
      clientMode: 'node',
      device: createEphemeralDeviceSigner(),
    });
    const closed = new Promise<[number, string]>((resolve) =>
      node.once('close', (code: number, reason: string) => resolve([code, reason])),
    );
    for (let i = 0; i < 11; i++) await node.request('device.pair.list').catch(() => undefined);
    expect(await closed).toEqual([1008, 'repeated unauthorized calls']);
  });

  it('a client that stops reading is closed at the buffered-bytes limit and the gateway keeps serving others', async () => {
    const configPath = path.join(
      await import('node:os').then((os) => os.tmpdir()),
      `clawdesk-hardening-config-${process.pid}.json`,
    );
    // ~200 KiB per config.get answer: enough to fill loopback socket buffers, cheap enough to parse.
    await writeFile(configPath, JSON.stringify({ padding: 'x'.repeat(100 * 1024) }));
    const g = await gateway({ maxBufferedBytes: 1024 * 1024, configPath });
    const slow = await RawClient.open(g.url);
    slow.send({
      type: 'req',
      id: 'c',
      method: 'connect',
      params: buildConnectParams({ url: g.url, token: TOKEN, scopes: ['operator.read'] }, slow.challenge!),
    });
    expect((await slow.response('c')).ok).toBe(true);
    const socket = (slow.ws as unknown as { _socket: import('node:net').Socket })._socket;
    socket.pause();
    for (let i = 0; i < 150; i++) slow.send({ type: 'req', id: `big${i}`, method: 'config.get', params: {} });
    // The gateway must give up on this peer (socket and buffers) while it still is not reading.
    const healthy = await session({ url: g.url, token: TOKEN, scopes: ['operator.read'] });
    // 30 s: 150 answers of 200 KiB take seconds to build on a loaded 2-core machine (a run at load 8 missed 10 s).
    await expect.poll(() => [...g.gatewayHost.connections()].length, { timeout: 30_000 }).toBe(1);
    expect((await healthy.request('status')).ok).toBe(true);
    socket.resume();
    const closed = await slow.closedWithin(10_000);
    // It was sent 1008 "slow consumer"; a peer that never reads it sees the cut (1006).
    expect(
      closed.code === 1006 || (closed.code === 1008 && closed.reason === 'slow consumer'),
      JSON.stringify(closed),
    ).toBe(true);
    expect(slow.frames.filter((f) => f.id?.startsWith('big')).length).toBeLessThan(150);
  }, 60_000);

  /** Opens a socket; the upgrade's HTTP status when the gateway refuses it. */
  const tryOpen = async (url: string): Promise<RawClient | number> => {
    const client = new RawClient(new WebSocket(url));
    return client.opened.then(
      () => client,
      (error: Error) => Number(/HTTP (\d+)/.exec(error.message)?.[1] ?? -1),
    );
  };

  it('per-peer limits refuse connection floods (pending handshakes and open connections)', async () => {
    const g = await gateway({ maxConnectionsPerAddress: 4, maxPendingHandshakesPerAddress: 2 });
    const pending = [await tryOpen(g.url), await tryOpen(g.url)];
    expect(pending.every((p) => p instanceof RawClient)).toBe(true);
    expect(await tryOpen(g.url)).toBe(503);
    // Finishing those handshakes frees the pending budget, up to the per-address total.
    const raw = pending as RawClient[];
    for (const [i, client] of raw.entries()) {
      const challenge = await client.frame((f) => f.event === 'connect.challenge');
      client.send({
        type: 'req',
        id: `c${i}`,
        method: 'connect',
        params: buildConnectParams({ url: g.url, token: TOKEN }, challenge.payload),
      });
      expect((await client.response(`c${i}`)).ok).toBe(true);
    }
    const more = [await session({ url: g.url, token: TOKEN }), await session({ url: g.url, token: TOKEN })];
    expect(await tryOpen(g.url)).toBe(503);
    await more[0].close();
    await expect
      .poll(async () => {
        const client = await tryOpen(g.url);
        if (client instanceof RawClient) client.ws.terminate();
        return client instanceof RawClient;
      })
      .toBe(true);
    // Everyone already admitted is still served.
    expect((await more[1].request('health')).ok).toBe(true);
    expect((await raw[0].request('h', 'health')).ok).toBe(true);
    for (const client of raw) client.ws.close();
  });

  it('idle pre-handshake sockets time out and give their slots back', async () => {
    const g = await gateway({ maxPendingHandshakesPerAddress: 2, handshakeTimeoutMs: 300 });
    const idle = [await tryOpen(g.url), await tryOpen(g.url)];
    expect(await tryOpen(g.url)).toBe(503);
    const closes = await Promise.all(idle.map(async (client) => (await (client as RawClient).closed).code));
    expect(closes).toEqual([1000, 1000]);
    expect((await session({ url: g.url, token: TOKEN })).hello.type).toBe('hello-ok');
  });

  it('password guessing is rate limited per peer, and the right password does not help during lockout', async () => {
    const g = await gateway({
      auth: { mode: 'password', password: 'correct horse battery staple' },
      rateLimit: { maxFailures: 5, windowMs: 60_000, lockoutMs: 60_000, maxTrackedAddresses: 100 },
    });
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) codes.push((await refusal({ url: g.url, password: `guess-${i}` })).detailCode!);
    expect(codes).toEqual(Array(5).fill('AUTH_PASSWORD_MISMATCH'));
    const locked = await refusal({ url: g.url, password: 'correct horse battery staple' });
    expect(locked.detailCode).toBe('AUTH_RATE_LIMITED');
    expect(locked.error!.retryAfterMs).toBeGreaterThan(0);
    expect(locked.closeCode).toBe(1008);
    const lockedDevice = await refusal({
      url: g.url,
      password: 'correct horse battery staple',
      device: createEphemeralDeviceSigner(),
    });
    expect(lockedDevice.detailCode).toBe('AUTH_RATE_LIMITED');
  });

  it('parallel guesses cannot outrun the limiter', async () => {
    const g = await gateway({
      auth: { mode: 'password', password: 'correct horse battery staple' },
      rateLimit: { maxFailures: 5, windowMs: 60_000, lockoutMs: 60_000, maxTrackedAddresses: 100 },
    });
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => refusal({ url: g.url, password: `parallel-${i}` })),
    );
    const codes = outcomes.map((e) => e.detailCode);
    expect(codes.filter((c) => c === 'AUTH_PASSWORD_MISMATCH')).toHaveLength(5);
    expect(codes.filter((c) => c === 'AUTH_RATE_LIMITED')).toHaveLength(35);
  });

  it('a paired device cannot reset the password limiter by logging in with its device token in between', async () => {
    const password = 'correct horse battery staple';
    const g = await gateway({
      auth: { mode: 'password', password },
      rateLimit: { maxFailures: 5, windowMs: 60_000, lockoutMs: 60_000, maxTrackedAddresses: 100 },
    });
    const owner = await session({
      url: g.url,
      password,
      clientId: 'cli',
      clientMode: 'cli',
      scopes: [...CLI_DEFAULT_OPERATOR_SCOPES],
    });
    const device = createEphemeralDeviceSigner();
    const pending = await refusal({ url: g.url, password, device, scopes: ['operator.read'], headers: REMOTE });
    await owner.request('device.pair.approve', { requestId: errorDetails(pending)!.requestId });
    const deviceToken = g.pairing.getPaired(device.deviceId)!.tokens!.operator.token;
    const codes: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++)
        codes.push((await refusal({ url: g.url, password: `guess-${round}-${i}` })).detailCode!);
      // The device's own login (which needs no password) succeeds or is itself locked out; either way no reset.
      await connectGateway({ url: g.url, deviceToken, device, scopes: ['operator.read'], headers: REMOTE }).then(
        (s) => s.close(),
        () => undefined,
      );
    }
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('AUTH_PASSWORD_MISMATCH'));
    expect(codes.slice(5)).toEqual(Array(7).fill('AUTH_RATE_LIMITED'));
  });

  it('issue 9 finding 14: switching loopback source addresses (127.0.0.2, .3, …) dodges neither the lockout nor the pre-auth cap', async () => {
    const g = await gateway({
      maxPendingHandshakesPerAddress: 2,
      rateLimit: { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000, maxTrackedAddresses: 100 },
    });
    const from = async (localAddress: string): Promise<RawClient | number> => {
      const client = new RawClient(new WebSocket(g.url, { localAddress, perMessageDeflate: false }));
      return client.opened.then(
        async () => (await client.frame((f) => f.event === 'connect.challenge'), client),
        (error: Error) => Number(/HTTP (\d+)/.exec(error.message)?.[1] ?? -1),
      );
    };
    // One peer (this OS user, or on the address fallback all of loopback), whatever 127.x address it uses.
    const held = [await from('127.0.0.2'), await from('127.0.0.3')];
    expect(held.every((c) => c instanceof RawClient)).toBe(true);
    expect(await from('127.0.0.4')).toBe(503);
    for (const client of held as RawClient[]) {
      client.ws.close();
      await client.closed;
    }
    const guess = async (localAddress: string, token: string) => {
      const client = await from(localAddress);
      if (!(client instanceof RawClient)) throw new Error(`refused: HTTP ${client}`);
      client.send({
        type: 'req',
        id: 'c',
        method: 'connect',
        params: buildConnectParams({ url: g.url, token }, client.challenge!),
      });
      const response = await client.response('c');
      client.ws.close();
      return response.ok ? 'OK' : response.error!.details.code;
    };
    const codes = [];
    for (const [i, address] of ['127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8'].entries())
      codes.push(await guess(address, `wrong-${i}`));
    expect(codes).toEqual(['AUTH_TOKEN_MISMATCH', 'AUTH_TOKEN_MISMATCH', 'AUTH_TOKEN_MISMATCH', 'AUTH_RATE_LIMITED']);
    expect(await guess('127.0.0.9', TOKEN)).toBe('AUTH_RATE_LIMITED');
  });

  it('device-token guessing counts against the same limit', async () => {
    const g = await gateway({
      rateLimit: { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000, maxTrackedAddresses: 100 },
    });
    const owner = await admin(g);
    const device = createEphemeralDeviceSigner();
    await pairRemotely(g, owner, device, ['operator.read']);
    for (let i = 0; i < 3; i++)
      expect((await refusal({ url: g.url, deviceToken: `guess${i}`, device })).detailCode).toBe(
        'AUTH_DEVICE_TOKEN_MISMATCH',
      );
    const realToken = g.pairing.getPaired(device.deviceId)!.tokens!.operator.token;
    expect((await refusal({ url: g.url, deviceToken: realToken, device })).detailCode).toBe('AUTH_RATE_LIMITED');
  });
});

describe('object-prototype names as ids (found by the fuzzer)', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

  it('approve/reject/remove/rotate/revoke with prototype names answer "unknown" and change nothing', async () => {
    const g = await gateway();
    const owner = await admin(g);
    for (const name of NAMES) {
      for (const [method, params, message] of [
        ['device.pair.approve', { requestId: name }, 'unknown requestId'],
        ['device.pair.reject', { requestId: name }, 'unknown requestId'],
        ['device.pair.remove', { deviceId: name }, 'unknown deviceId'],
        ['device.token.rotate', { deviceId: name, role: 'operator' }, 'device token rotation denied'],
        ['device.token.revoke', { deviceId: name, role: 'operator' }, 'unknown device token'],
      ] as const) {
        const error = await owner.request(method, params).catch((e) => e);
        expect(error, `${method} ${name}`).toBeInstanceOf(GatewayClientError);
        // Reserved keys are refused by the schemas now (issue 9 finding 5); other prototype names are just unknown.
        if (name === '__proto__' || name === 'constructor')
          expect(error.message, `${method} ${name}`).toMatch(
            new RegExp(`^invalid ${method.replace(/\./g, '\\.')} params: .*reserved`),
          );
        else expect(error.message, `${method} ${name}`).toBe(message);
      }
    }
    const list = await owner.request('device.pair.list');
    expect(list).toEqual({ pending: [], paired: [] });
    expect(g.pairing.listPaired()).toEqual([]);
  });

  it('a state file with prototype-named keys loads as plain entries', async () => {
    const os = await import('node:os');
    const { mkdtemp, mkdir } = await import('node:fs/promises');
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'clawdesk-hardening-proto-'));
    await mkdir(path.join(stateDir, 'devices'), { recursive: true });
    // deviceId values that are prototype names: the map must not turn them into prototypes.
    const record = (deviceId: string) => ({ deviceId, publicKey: 'k', createdAtMs: 1, approvedAtMs: 1, tokens: {} });
    await writeFile(
      path.join(stateDir, 'devices', 'paired.json'),
      `{"a":${JSON.stringify(record('__proto__'))},"b":${JSON.stringify(record('constructor'))}}`,
    );
    const g = await gateway({ stateDir });
    expect(
      g.pairing
        .listPaired()
        .map((d) => d.deviceId)
        .sort(),
    ).toEqual(['__proto__', 'constructor']);
    expect(g.pairing.getPaired('toString')).toBeUndefined();
    expect(g.pairing.getPending('constructor')).toBeUndefined();
  });
});

describe('close reasons built from client input (found by probing the fuzzer’s blind spot)', () => {
  it('a non-ASCII unknown key or Origin gets its error and a 1008 close, and the gateway process survives', async () => {
    const { fork } = await import('node:child_process');
    const os = await import('node:os');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'clawdesk-hardening-reason-'));
    const child = fork(
      bundleScript(path.join(__dirname, 'fixtures', 'gateway-child.ts')),
      [JSON.stringify({ stateDir, auth: { mode: 'token', token: TOKEN }, port: 0 })],
      { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    try {
      const ready = await new Promise<{ url: string }>((resolve) =>
        child.once('message', resolve as (m: unknown) => void),
      );
      const connect = (extra: Record<string, unknown> = {}) => ({
        type: 'req',
        id: 'c',
        method: 'connect',
        params: {
          minProtocol: 3,
          maxProtocol: 4,
          client: { id: 'cli', version: '1', platform: 'linux', mode: 'cli' },
          auth: { token: TOKEN },
          ...extra,
        },
      });
      const cases: Array<[Record<string, string> | undefined, object, string]> = [
        [undefined, connect({ ['é'.repeat(100)]: 1 }), 'INVALID_REQUEST'],
        [undefined, connect({ ['🦀'.repeat(60)]: 1 }), 'INVALID_REQUEST'],
        [{ origin: `http://${'\u00ff'.repeat(100)}` }, connect(), 'CONTROL_UI_ORIGIN_NOT_ALLOWED'],
      ];
      for (const [headers, frame, expected] of cases) {
        const client = await RawClient.open(ready.url, headers);
        client.send(frame);
        const answer = await client.response('c');
        expect(answer.ok).toBe(false);
        expect(answer.error?.details?.code ?? answer.error?.code).toBe(expected);
        const closed = await client.closedWithin(3_000);
        expect(closed.code).toBe(1008);
        expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
      }
      expect(child.exitCode, stderr).toBeNull();
      // And it still serves.
      const healthy = await session({ url: ready.url, token: TOKEN });
      expect((await healthy.request('health')).ok).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});

describe('unauthenticated memory amplification', () => {
  it('frames piled up before hello-ok are bounded in bytes, not only in count', async () => {
    const { fork } = await import('node:child_process');
    const os = await import('node:os');
    const { mkdtemp, rm } = await import('node:fs/promises');
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'clawdesk-hardening-amplify-'));
    const options = {
      stateDir,
      auth: { mode: 'token', token: TOKEN },
      port: 0,
      authFailureDelayMs: 1_500,
      rateLimit: { maxFailures: 1e9, windowMs: 1_000, lockoutMs: 1, maxTrackedAddresses: 10 },
      // The frame bound is the subject: under load (a run at load 8) the 10 s handshake timer closed 81 clients first.
      handshakeTimeoutMs: 120_000,
    };
    const child = fork(bundleScript(path.join(__dirname, 'fixtures', 'gateway-child.ts')), [JSON.stringify(options)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    try {
      const ready = await new Promise<{ url: string }>((resolve) =>
        child.once('message', resolve as (m: unknown) => void),
      );
      const rss = () =>
        new Promise<number>((resolve) => {
          child.once('message', (m: any) => resolve(m.rss));
          child.send({ cmd: 'mem' });
        });
      const before = await rss();
      // 200 clients each send a wrong token (answered slowly) and then 32 frames of ~63 KiB before any hello-ok.
      const big = JSON.stringify({ type: 'req', id: 'x', method: 'health', params: { pad: 'x'.repeat(63_000) } });
      const clients = await Promise.all(Array.from({ length: 200 }, () => RawClient.open(ready.url)));
      for (const client of clients) {
        client.send({
          type: 'req',
          id: 'c',
          method: 'connect',
          params: {
            minProtocol: 3,
            maxProtocol: 4,
            client: { id: 'cli', version: '1', platform: 'linux', mode: 'cli' },
            auth: { token: 'wrong' },
          },
        });
        for (let i = 0; i < 32; i++) client.send(big);
      }
      await new Promise((resolve) => setTimeout(resolve, 800));
      const during = await rss();
      const closes = await Promise.all(clients.map((c) => c.closedWithin(5_000)));
      // Listed, not just counted: a plain-clone CI run at load 11 saw one close that was not 1008, once.
      expect(closes.filter((c) => c.code !== 1008)).toEqual([]);
      expect(closes.some((c) => c.reason === 'too many frames before hello-ok')).toBe(true);
      // ~400 MB was sent; the gateway may hold a bounded slice of it, not all of it.
      expect(
        Math.round((during - before) / 1048576),
        'gateway RSS growth (MiB) while the frames were pending',
      ).toBeLessThan(150);
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGKILL');
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
