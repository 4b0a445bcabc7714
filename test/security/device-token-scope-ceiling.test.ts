import { afterEach, describe, expect, it } from 'vitest';
import { connectGateway, type GatewaySession } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner, type DeviceSigner } from '../../gateway/protocol/device-auth';
import { connectError, startTestGateway, type TestGateway } from '../helpers/gateway-fixture';

/**
 * Issue 9 finding 12: a device that signed in with an `operator.read` device token and asked for `operator.admin`
 * got it, silently, without any pairing decision (the paired record's approved baseline covered admin, so the token
 * was simply re-minted wider). A device token grants at most the scopes it was issued with; more goes through
 * pairing: silent for the owner on direct loopback (same OS user), a prompt otherwise. Real WebSocket clients.
 * On the code before the fix each "needs pairing" case below got hello-ok with operator.admin.
 */

let gw: TestGateway | undefined;
const sessions: GatewaySession[] = [];
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close().catch(() => undefined);
  await gw?.dispose();
  gw = undefined;
});

let silentAllowed = true;

async function gateway(): Promise<TestGateway> {
  silentAllowed = true;
  gw = await startTestGateway({ allowSilentLocalPairing: () => silentAllowed });
  return gw;
}

async function open(options: Parameters<typeof connectGateway>[0]): Promise<GatewaySession> {
  const session = await connectGateway(options);
  sessions.push(session);
  return session;
}

/** Pairs `device` with operator.admin over the shared token, then narrows its token to operator.read (an owner's rotate). */
async function pairedThenNarrowed(g: TestGateway, device: DeviceSigner): Promise<string> {
  const first = await open({ url: g.url, token: 'test-token', device, scopes: ['operator.admin'] });
  expect((first as any).hello.auth.scopes).toContain('operator.admin');
  const owner = await open({ url: g.url, token: 'test-token', scopes: ['operator.admin'] });
  const rotated = await owner.request('device.token.rotate', {
    deviceId: device.deviceId,
    role: 'operator',
    scopes: ['operator.read'],
  });
  expect(rotated.scopes).toEqual(['operator.read']);
  return rotated.token as string;
}

describe('a device token grants at most the scopes it was issued with', () => {
  it('asking a read token for admin from another OS user (or with --always-prompt-pairing) needs an explicit pairing approval', async () => {
    const g = await gateway();
    const device = createEphemeralDeviceSigner();
    const readToken = await pairedThenNarrowed(g, device);
    silentAllowed = false;
    const before = g.pairing.getPaired(device.deviceId)!.approvedAtMs;
    const refused = await connectError({ url: g.url, device, deviceToken: readToken, scopes: ['operator.admin'] });
    expect(refused.error).toMatchObject({
      code: 'NOT_PAIRED',
      details: { code: 'PAIRING_REQUIRED', reason: 'scope-upgrade' },
    });
    expect(refused.error!.message).toContain('clawdesk devices approve');
    const pending = g.pairing.listPending().find((r) => r.deviceId === device.deviceId);
    expect(pending?.scopes).toContain('operator.admin');
    expect(g.pairing.getPaired(device.deviceId)!.approvedAtMs).toBe(before);
    expect(g.pairing.getPaired(device.deviceId)!.tokens!.operator.scopes).toEqual(['operator.read']);

    // Within the token, nothing changes and no pairing is needed.
    const reader = await open({ url: g.url, device, deviceToken: readToken, scopes: ['operator.read'] });
    expect((reader as any).hello.auth).toMatchObject({ method: 'device-token', scopes: ['operator.read'] });
    const denied = await reader.request('device.pair.list', {}).catch((e) => e);
    expect(denied.error?.details?.code).toBe('MISSING_SCOPE');
  });

  it('from a forwarded (remote) connection it needs pairing even when silent pairing would be allowed locally', async () => {
    const g = await gateway();
    const device = createEphemeralDeviceSigner();
    const readToken = await pairedThenNarrowed(g, device);
    const refused = await connectError({
      url: g.url,
      device,
      deviceToken: readToken,
      scopes: ['operator.admin'],
      headers: { 'x-forwarded-for': '203.0.113.9' },
    });
    expect(refused.error).toMatchObject({
      code: 'NOT_PAIRED',
      details: { code: 'PAIRING_REQUIRED', reason: 'scope-upgrade' },
    });
    expect(g.pairing.getPaired(device.deviceId)!.tokens!.operator.scopes).toEqual(['operator.read']);
  });

  it('for the owner on direct loopback the widening is a silent pairing (recorded and announced), not a silent re-mint', async () => {
    const g = await gateway();
    const device = createEphemeralDeviceSigner();
    const readToken = await pairedThenNarrowed(g, device);
    const watcher = await open({ url: g.url, token: 'test-token', scopes: ['operator.pairing'] });
    const resolved: any[] = [];
    watcher.on('event', (name: string, payload: any) => name === 'device.pair.resolved' && resolved.push(payload));
    const before = g.pairing.getPaired(device.deviceId)!.approvedAtMs;
    await new Promise((r) => setTimeout(r, 5));
    const admin = await open({ url: g.url, device, deviceToken: readToken, scopes: ['operator.admin'] });
    expect((admin as any).hello.auth).toMatchObject({
      method: 'device-token',
      scopes: expect.arrayContaining(['operator.admin']),
    });
    expect((admin as any).hello.auth.deviceToken).not.toBe(readToken);
    expect(g.pairing.getPaired(device.deviceId)!.approvedAtMs).toBeGreaterThan(before);
    await expect.poll(() => resolved.map((e) => [e.deviceId, e.decision])).toEqual([[device.deviceId, 'approved']]);
    // The narrowed token is replaced by the pairing; it no longer signs in.
    const stale = await connectError({ url: g.url, device, deviceToken: readToken, scopes: ['operator.read'] });
    expect(stale.error?.details).toMatchObject({ code: 'AUTH_DEVICE_TOKEN_MISMATCH' });
  });
});
