import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import * as schemas from '../../gateway/protocol/method-schemas';
import { connectError, nextEvent, startTestGateway, type TestGateway } from '../helpers/gateway-fixture';

/** Parses with the contract, failing with zod's explanation. */
function conforms(schema: ZodType, value: unknown, what: string): void {
  const result = schema.safeParse(value);
  expect(result.success, `${what}: ${result.success ? '' : JSON.stringify(result.error.issues)}`).toBe(true);
}

describe('method results follow their published schemas (a live gateway)', () => {
  let gw: TestGateway;
  let admin: GatewaySession;
  const proxied = { 'x-forwarded-for': '198.51.100.4' };

  beforeAll(async () => {
    gw = await startTestGateway();
    admin = await connectGateway({
      url: gw.url,
      token: 'test-token',
      scopes: ['operator.admin'],
      device: createEphemeralDeviceSigner(),
    });
  });
  afterAll(async () => {
    await admin.close();
    await gw.dispose();
  });

  it('hello-ok, health, status, system-presence and config.get', async () => {
    conforms(schemas.helloOk, admin.hello, 'hello-ok');
    conforms(schemas.healthResult, await admin.request('health'), 'health');
    conforms(schemas.statusResult, await admin.request('status', {}), 'status');
    conforms(schemas.systemPresenceResult, await admin.request('system-presence', {}), 'system-presence');
    conforms(schemas.configGetResult, await admin.request('config.get', {}), 'config.get');
  });

  it('the device pairing lifecycle: list, approve, reject, rotate, revoke, remove, and the resolved event', async () => {
    const pendingIds: string[] = [];
    const devices = [createEphemeralDeviceSigner(), createEphemeralDeviceSigner()];
    for (const device of devices) {
      const refusal = await connectError({
        url: gw.url,
        token: 'test-token',
        scopes: ['operator.read'],
        device,
        headers: proxied,
      });
      pendingIds.push((refusal.error!.details as { requestId: string }).requestId);
    }
    const list = await admin.request('device.pair.list', {});
    conforms(schemas.devicePairListResult, list, 'device.pair.list');
    expect(list.pending.map((p: { requestId: string }) => p.requestId).sort()).toEqual([...pendingIds].sort());

    const resolved = nextEvent(admin, 'device.pair.resolved');
    conforms(
      schemas.devicePairApproveResult,
      await admin.request('device.pair.approve', { requestId: pendingIds[0] }),
      'device.pair.approve',
    );
    conforms(schemas.devicePairResolvedEvent, await resolved, 'device.pair.resolved');
    conforms(
      schemas.devicePairRejectResult,
      await admin.request('device.pair.reject', { requestId: pendingIds[1] }),
      'device.pair.reject',
    );

    const deviceId = devices[0].deviceId;
    conforms(
      schemas.deviceTokenRotateResult,
      await admin.request('device.token.rotate', { deviceId, role: 'operator' }),
      'device.token.rotate',
    );
    conforms(
      schemas.deviceTokenRevokeResult,
      await admin.request('device.token.revoke', { deviceId, role: 'operator' }),
      'device.token.revoke',
    );
    conforms(
      schemas.devicePairListResult,
      await admin.request('device.pair.list', {}),
      'device.pair.list after changes',
    );
    conforms(
      schemas.devicePairRemoveResult,
      await admin.request('device.pair.remove', { deviceId }),
      'device.pair.remove',
    );
  });

  it('the schemas reject what clients must never see', () => {
    const leaked = {
      deviceId: 'd',
      publicKey: 'k',
      tokens: [{ role: 'operator', scopes: [], createdAtMs: 1, token: 'secret' }],
      createdAtMs: 1,
      approvedAtMs: 1,
    };
    expect(schemas.redactedPairedDevice.safeParse(leaked).success).toBe(false);
    expect(
      schemas.redactedPairedDevice.safeParse({ ...leaked, tokens: [], approvedScopes: ['operator.admin'] }).success,
    ).toBe(false);
  });
});
