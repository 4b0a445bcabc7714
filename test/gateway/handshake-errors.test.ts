import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGateway, type GatewayClientOptions } from '../../gateway/client/gateway-client';
import { buildDeviceAuthPayloadV2, createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import {
  connectError,
  connectFrame,
  operatorParams,
  rawExchange,
  startTestGateway,
  type TestGateway,
} from '../helpers/gateway-fixture';

describe('connect error catalogue (docs/protocol.md § Connect refusals)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ handshakeTimeoutMs: 400 });
  });
  afterAll(() => gw.dispose());

  it('the server speaks first with a uuid nonce and a timestamp', async () => {
    const ex = await rawExchange(gw.url, () => connectFrame(operatorParams()), { waitMs: 500 });
    expect(ex.challenge.nonce).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(ex.challenge.ts - Date.now())).toBeLessThan(5000);
    expect(ex.frames[0]).toMatchObject({ type: 'res', id: 'c1', ok: true, payload: { type: 'hello-ok', protocol: 4 } });
  });

  it('a first request that is not connect: INVALID_REQUEST, close 1008', async () => {
    const ex = await rawExchange(gw.url, () => JSON.stringify({ type: 'req', id: 'x1', method: 'health' }));
    expect(ex.frames).toEqual([
      {
        type: 'res',
        id: 'x1',
        ok: false,
        error: { code: 'INVALID_REQUEST', message: 'invalid handshake: first request must be connect' },
      },
    ]);
    expect(ex.closeCode).toBe(1008);
  });

  it('a first frame that is not JSON: no response, close 1000 with a reason', async () => {
    const ex = await rawExchange(gw.url, () => 'this is not json');
    expect(ex.frames).toEqual([]);
    expect(ex.closeCode).toBe(1000);
    expect(ex.closeReason).toContain('invalid handshake');
  });

  it('a binary first frame is refused like non-JSON', async () => {
    const ex = await rawExchange(gw.url, () => Buffer.from(connectFrame(operatorParams())), { binary: true });
    expect(ex.frames).toEqual([]);
    expect(ex.closeCode).toBe(1000);
  });

  it('an unknown client.id names the field', async () => {
    const ex = await rawExchange(gw.url, () =>
      connectFrame(operatorParams({ client: { id: 'evil', version: '1', platform: 'linux', mode: 'cli' } })),
    );
    expect(ex.frames[0].error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'invalid connect params: at /client/id: must be equal to one of the allowed values',
    });
    expect(ex.closeCode).toBe(1008);
  });

  it('an unknown top-level param is rejected (closed schema)', async () => {
    const ex = await rawExchange(gw.url, () => connectFrame(operatorParams({ bogus: 1 })));
    expect(ex.frames[0].error.message).toBe("invalid connect params: at root: unexpected property 'bogus'");
    expect(ex.closeCode).toBe(1008);
  });

  it('wrong types are rejected with the path', async () => {
    const ex = await rawExchange(gw.url, () => connectFrame(operatorParams({ minProtocol: 'four' })));
    expect(ex.frames[0].error.message).toMatch(/^invalid connect params: at \/minProtocol: /);
    expect(ex.closeCode).toBe(1008);
  });

  it('protocol mismatch: PROTOCOL_MISMATCH, close 1002', async () => {
    const ex = await rawExchange(gw.url, () => connectFrame(operatorParams({ minProtocol: 99, maxProtocol: 99 })));
    expect(ex.frames[0].error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'protocol mismatch',
      details: { code: 'PROTOCOL_MISMATCH', expectedProtocol: 4, minimumProbeProtocol: 3 },
    });
    expect(ex.closeCode).toBe(1002);
  });

  it('an operator that only speaks 3 is refused; probes and nodes on 3 are served', async () => {
    const operator = await rawExchange(gw.url, () => connectFrame(operatorParams({ minProtocol: 3, maxProtocol: 3 })));
    expect(operator.frames[0].error.details.code).toBe('PROTOCOL_MISMATCH');
    expect(operator.closeCode).toBe(1002);

    const probe = await connectGateway({
      url: gw.url,
      token: 'test-token',
      clientId: 'cli',
      clientMode: 'probe',
      minProtocol: 3,
      maxProtocol: 3,
    });
    expect(probe.hello.protocol).toBe(4);
    await probe.close();

    const node = await connectGateway({
      url: gw.url,
      token: 'test-token',
      clientId: 'node-host',
      clientMode: 'node',
      role: 'node',
      minProtocol: 3,
      maxProtocol: 3,
      device: createEphemeralDeviceSigner(),
    });
    expect(node.hello.auth.role).toBe('node');
    await node.close();
  });

  it('an invalid role: "invalid role", close 1008', async () => {
    const ex = await rawExchange(gw.url, () => connectFrame(operatorParams({ role: 'root' })));
    expect(ex.frames[0].error).toMatchObject({ code: 'INVALID_REQUEST', message: 'invalid role' });
    expect(ex.closeCode).toBe(1008);
  });

  it('wrong shared token: AUTH_TOKEN_MISMATCH with next-step advice, close 1008', async () => {
    const error = await connectError({ url: gw.url, token: 'wrong' });
    expect(error.error).toMatchObject({
      code: 'INVALID_REQUEST',
      details: {
        code: 'AUTH_TOKEN_MISMATCH',
        recommendedNextStep: 'update_auth_credentials',
        canRetryWithDeviceToken: false,
      },
    });
    expect(error.error!.message).toMatch(/^unauthorized: gateway token mismatch/);
    expect(error.closeCode).toBe(1008);
  });

  it('a device that sent the wrong shared token may retry with its device token', async () => {
    const error = await connectError({ url: gw.url, token: 'wrong', device: createEphemeralDeviceSigner() });
    expect(error.error!.details).toMatchObject({ code: 'AUTH_TOKEN_MISMATCH', canRetryWithDeviceToken: true });
  });

  it('no auth and no device: NOT_PAIRED / DEVICE_IDENTITY_REQUIRED, close 1008', async () => {
    const error = await connectError({ url: gw.url });
    expect(error.error).toMatchObject({
      code: 'NOT_PAIRED',
      message: 'device identity required',
      details: { code: 'DEVICE_IDENTITY_REQUIRED' },
    });
    expect(error.closeCode).toBe(1008);
  });

  it('a device without the shared token: AUTH_TOKEN_MISSING', async () => {
    const error = await connectError({ url: gw.url, device: createEphemeralDeviceSigner() });
    expect(error.error!.details).toMatchObject({
      code: 'AUTH_TOKEN_MISSING',
      recommendedNextStep: 'update_auth_configuration',
    });
    expect(error.closeCode).toBe(1008);
  });

  it('a node without a device: DEVICE_IDENTITY_REQUIRED even with the right token', async () => {
    const error = await connectError({
      url: gw.url,
      token: 'test-token',
      clientId: 'node-host',
      clientMode: 'node',
      role: 'node',
    });
    expect(error.error).toMatchObject({ code: 'NOT_PAIRED', details: { code: 'DEVICE_IDENTITY_REQUIRED' } });
    expect(error.closeCode).toBe(1008);
  });

  describe('device proofs', () => {
    const device = createEphemeralDeviceSigner();
    const expectProofError = async (
      options: Partial<GatewayClientOptions>,
      code: string,
      reason: string,
      message: string,
    ) => {
      const error = await connectError({ url: gw.url, token: 'test-token', device, ...options });
      expect(error.error).toMatchObject({ code: 'INVALID_REQUEST', message, details: { code, reason } });
      expect(error.closeCode).toBe(1008);
      expect(error.closeReason).toBe(message);
    };

    it('a signature by another key: DEVICE_AUTH_SIGNATURE_INVALID', async () => {
      const other = createEphemeralDeviceSigner();
      await expectProofError(
        { device: { ...device, sign: (p) => other.sign(p) } },
        'DEVICE_AUTH_SIGNATURE_INVALID',
        'device-signature',
        'device signature invalid',
      );
    });

    it('a signature over different scopes than the ones sent: DEVICE_AUTH_SIGNATURE_INVALID', async () => {
      const tampered = { ...device, sign: (p: string) => device.sign(p.replace('operator.read', 'operator.admin')) };
      await expectProofError(
        { device: tampered, scopes: ['operator.read'] },
        'DEVICE_AUTH_SIGNATURE_INVALID',
        'device-signature',
        'device signature invalid',
      );
    });

    it('a signedAt ten minutes old: DEVICE_AUTH_SIGNATURE_EXPIRED', async () => {
      await expectProofError(
        { signedAtMs: (ts) => ts - 10 * 60_000 },
        'DEVICE_AUTH_SIGNATURE_EXPIRED',
        'device-signature-stale',
        'device signature expired',
      );
    });

    it('an id that is not sha256(publicKey): DEVICE_AUTH_DEVICE_ID_MISMATCH', async () => {
      await expectProofError(
        { device: { ...device, deviceId: 'a'.repeat(64) } },
        'DEVICE_AUTH_DEVICE_ID_MISMATCH',
        'device-id-mismatch',
        'device identity mismatch',
      );
    });

    it('a public key that is not Ed25519: DEVICE_AUTH_PUBLIC_KEY_INVALID', async () => {
      await expectProofError(
        { device: { ...device, publicKey: 'AAAA' } },
        'DEVICE_AUTH_PUBLIC_KEY_INVALID',
        'device-public-key',
        'device public key invalid',
      );
    });

    it('a nonce from another challenge: DEVICE_AUTH_NONCE_MISMATCH; a blank nonce: DEVICE_AUTH_NONCE_REQUIRED', async () => {
      for (const [nonce, code, reason, message] of [
        [
          '00000000-0000-4000-8000-000000000000',
          'DEVICE_AUTH_NONCE_MISMATCH',
          'device-nonce-mismatch',
          'device nonce mismatch',
        ],
        ['   ', 'DEVICE_AUTH_NONCE_REQUIRED', 'device-nonce-missing', 'device nonce required'],
      ]) {
        const ex = await rawExchange(gw.url, (challenge) => {
          const signedAt = challenge.ts;
          const payload = [
            'v3',
            device.deviceId,
            'cli',
            'cli',
            'operator',
            'operator.read',
            signedAt,
            'test-token',
            nonce,
            'linux',
            '',
          ].join('|');
          return connectFrame(
            operatorParams({
              device: {
                id: device.deviceId,
                publicKey: device.publicKey,
                signature: device.sign(payload),
                signedAt,
                nonce,
              },
            }),
          );
        });
        expect(ex.frames[0].error).toMatchObject({ message, details: { code, reason } });
        expect(ex.closeCode).toBe(1008);
      }
    });

    it('a legacy v2 signature is still accepted', async () => {
      const v2 = createEphemeralDeviceSigner();
      const ex = await rawExchange(
        gw.url,
        (challenge) => {
          const payload = buildDeviceAuthPayloadV2({
            deviceId: v2.deviceId,
            clientId: 'cli',
            clientMode: 'cli',
            role: 'operator',
            scopes: ['operator.read'],
            signedAtMs: challenge.ts,
            token: 'test-token',
            nonce: challenge.nonce,
          });
          return connectFrame(
            operatorParams({
              device: {
                id: v2.deviceId,
                publicKey: v2.publicKey,
                signature: v2.sign(payload),
                signedAt: challenge.ts,
                nonce: challenge.nonce,
              },
            }),
          );
        },
        { waitMs: 500 },
      );
      expect(ex.frames[0]).toMatchObject({ ok: true, payload: { auth: { role: 'operator' } } });
    });

    it('a replayed connect frame (its nonce belongs to an earlier challenge) is refused', async () => {
      let captured = '';
      await rawExchange(
        gw.url,
        (challenge) => {
          const payload = [
            'v3',
            device.deviceId,
            'cli',
            'cli',
            'operator',
            'operator.read',
            challenge.ts,
            'test-token',
            challenge.nonce,
            'linux',
            '',
          ].join('|');
          captured = connectFrame(
            operatorParams({
              device: {
                id: device.deviceId,
                publicKey: device.publicKey,
                signature: device.sign(payload),
                signedAt: challenge.ts,
                nonce: challenge.nonce,
              },
            }),
          );
          return captured;
        },
        { waitMs: 300 },
      );
      const replay = await rawExchange(gw.url, () => captured);
      expect(replay.frames[0].error.details.code).toBe('DEVICE_AUTH_NONCE_MISMATCH');
      expect(replay.closeCode).toBe(1008);
    });
  });

  it('a client that sends nothing is closed when the handshake times out (1000)', async () => {
    const ex = await rawExchange(gw.url, () => null, { waitMs: 3000 });
    expect(ex.closeCode).toBe(1000);
    expect(ex.closeReason).toBe('handshake timeout');
  });

  it('a first frame over 64 KiB is closed with 1009', async () => {
    const ex = await rawExchange(gw.url, () => connectFrame(operatorParams({ userAgent: 'x'.repeat(70 * 1024) })));
    expect(ex.closeCode).toBe(1009);
  });

  it('after the handshake, frames up to the payload limit are accepted', async () => {
    const session = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    const result = await session.request('health', { probe: false, padding: 'x'.repeat(200 * 1024) });
    expect(result.ok).toBe(true);
    await session.close();
  });
});

describe('browser origins', () => {
  for (const auth of [
    { mode: 'none' as const },
    { mode: 'token' as const, token: 't' },
    { mode: 'password' as const, password: 'p' },
  ]) {
    it(`a browser Origin not on the allowlist is refused under auth ${auth.mode}`, async () => {
      const gw = await startTestGateway({ auth, allowedOrigins: ['app://clawdesk'] });
      try {
        const error = await connectError({
          url: gw.url,
          token: auth.token,
          password: auth.password,
          headers: { origin: 'http://127.0.0.1:8080' },
          device: createEphemeralDeviceSigner(),
        });
        expect(error.error).toMatchObject({
          code: 'INVALID_REQUEST',
          details: { code: 'CONTROL_UI_ORIGIN_NOT_ALLOWED' },
        });
        expect(error.closeCode).toBe(1008);
        expect(gw.pairing.listPaired()).toEqual([]);
        expect(gw.pairing.listPending()).toEqual([]);
        // The allowlisted origin (the dashboard's) still connects.
        const ok = await connectGateway({
          url: gw.url,
          token: auth.token,
          password: auth.password,
          headers: { origin: 'app://clawdesk' },
          scopes: [],
        });
        expect(ok.hello.type).toBe('hello-ok');
        await ok.close();
      } finally {
        await gw.dispose();
      }
    });
  }
});

describe('auth rate limiting', () => {
  it('locks an address out after repeated wrong secrets, even on loopback', async () => {
    const gw = await startTestGateway({
      auth: { mode: 'password', password: 'right' },
      rateLimit: { maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000, maxTrackedAddresses: 100 },
    });
    try {
      for (let i = 0; i < 3; i++)
        expect((await connectError({ url: gw.url, password: `guess-${i}` })).detailCode).toBe('AUTH_PASSWORD_MISMATCH');
      const locked = await connectError({ url: gw.url, password: 'right' });
      expect(locked.error).toMatchObject({ details: { code: 'AUTH_RATE_LIMITED' }, retryable: true });
      expect(locked.error!.retryAfterMs).toBeGreaterThan(0);
    } finally {
      await gw.dispose();
    }
  });
});
