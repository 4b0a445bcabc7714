import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { connectGateway } from '../../gateway/client/gateway-client';
import { createEphemeralDeviceSigner } from '../../gateway/protocol/device-auth';
import { connectError, nextEvent, startTestGateway, type TestGateway } from '../helpers/gateway-fixture';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.dispose();
  gw = undefined;
});

/**
 * Headers that make a loopback connection look like it came through a proxy: never local (docs/protocol.md § Locality).
 */
const viaProxy = { 'x-forwarded-for': '203.0.113.7' };

describe('seed report (a): auth none on loopback', () => {
  it('a device-less local client asking for operator.approvals gets it and can use it', async () => {
    gw = await startTestGateway({ auth: { mode: 'none' } });
    const session = await connectGateway({
      url: gw.url,
      clientId: 'cli',
      clientMode: 'cli',
      scopes: ['operator.approvals', 'operator.pairing'],
    });
    expect(session.hello.auth).toMatchObject({
      method: 'none',
      role: 'operator',
      scopes: ['operator.approvals', 'operator.pairing'],
    });
    expect(await session.request('device.pair.list', {})).toEqual({ pending: [], paired: [] });
    await session.close();
  });

  it('a local client with a device is paired silently and gets a device token', async () => {
    gw = await startTestGateway({ auth: { mode: 'none' } });
    const device = createEphemeralDeviceSigner();
    const session = await connectGateway({
      url: gw.url,
      clientId: 'cli',
      clientMode: 'cli',
      scopes: ['operator.admin'],
      device,
    });
    expect(session.hello.auth).toMatchObject({ role: 'operator', deviceToken: expect.any(String) });
    expect(gw.pairing.getPaired(device.deviceId)).toMatchObject({
      roles: ['operator'],
      approvedScopes: expect.arrayContaining(['operator.admin']),
    });
    await session.close();
  });

  it('the same device-less client from a proxied (remote) connection is refused', async () => {
    gw = await startTestGateway({ auth: { mode: 'none' } });
    const error = await connectError({ url: gw.url, scopes: ['operator.approvals'], headers: viaProxy });
    expect(error.detailCode).toBe('DEVICE_IDENTITY_REQUIRED');
  });
});

describe('seed report (b): token auth, exec approval client on loopback', () => {
  it('registers with operator.approvals and exec-approvals caps with no manual pairing step', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const session = await connectGateway({
      url: gw.url,
      token: 'test-token',
      clientId: 'gateway-client',
      clientMode: 'backend',
      scopes: ['operator.approvals'],
      caps: ['exec-approvals'],
      device,
    });
    expect(session.hello.auth).toMatchObject({ role: 'operator', scopes: ['operator.approvals'] });
    expect(gw.pairing.listPending()).toEqual([]);
    await session.close();
  });
});

describe('seed report (c): a device paired as operator connecting as a node', () => {
  it('is upgraded silently on loopback and keeps its operator role', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const operator = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'], device });
    await operator.close();
    const node = await connectGateway({
      url: gw.url,
      token: 'test-token',
      clientId: 'node-host',
      clientMode: 'node',
      role: 'node',
      device,
    });
    expect(node.hello.auth).toMatchObject({ role: 'node', deviceToken: expect.any(String) });
    expect(gw.pairing.effectiveRoles(gw.pairing.getPaired(device.deviceId)!).sort()).toEqual(['node', 'operator']);
    await node.close();
  });

  it('from a remote address gets pairing required (role-upgrade) with a requestId and how to approve', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const operator = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'], device });
    await operator.close();
    const watcher = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.pairing'] });
    const requested = nextEvent(watcher, 'device.pair.requested');
    const error = await connectError({
      url: gw.url,
      token: 'test-token',
      clientId: 'node-host',
      clientMode: 'node',
      role: 'node',
      device,
      headers: viaProxy,
    });
    expect(error.error).toMatchObject({
      code: 'NOT_PAIRED',
      details: { code: 'PAIRING_REQUIRED', reason: 'role-upgrade', requestId: expect.any(String) },
    });
    expect(error.closeCode).toBe(1008);
    expect(error.closeReason).toBe('pairing required');
    const requestId = (error.error!.details as { requestId: string }).requestId;
    expect(error.error!.message).toContain(`clawdesk devices approve ${requestId}`);
    expect(await requested).toMatchObject({ requestId, deviceId: device.deviceId, role: 'node', isRepair: true });
    await watcher.close();
  });
});

describe('seed report (d): a cli client from a container on this machine', () => {
  const cli = { token: 'test-token', clientId: 'cli', clientMode: 'cli', scopes: ['operator.read'] } as const;

  it('with a private Host on a loopback peer is served (silently paired)', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const session = await connectGateway({
      url: gw.url,
      ...cli,
      scopes: [...cli.scopes],
      device,
      headers: { host: '172.17.0.2:18789' },
    });
    expect(session.hello.auth.deviceToken).toEqual(expect.any(String));
    await session.close();
  });

  it('with a public Host gets pairing required', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const error = await connectError({
      url: gw.url,
      ...cli,
      scopes: [...cli.scopes],
      device,
      headers: { host: 'gateway.example:18789' },
    });
    expect(error.error!.details).toMatchObject({ code: 'PAIRING_REQUIRED', reason: 'not-paired' });
    // A waiting client (OpenClaw's node host) keeps retrying and connects once approved, instead of pausing for good.
    expect(error.error!.details).toMatchObject({ recommendedNextStep: 'wait_then_retry', pauseReconnect: false });
    expect(error.error).toMatchObject({ retryable: true, retryAfterMs: 5_000 });
  });

  it('a non-cli client with the shared token and a private Host is local-equivalent too (OpenClaw 2026.9.6)', async () => {
    // The agent runtime or a node host in the container (issue 10's replay, test/remote/netns/agent-replays.test.ts):
    // OpenClaw's gateway calls this shared_secret_loopback_local and pairs it silently; so does this one.
    gw = await startTestGateway();
    const session = await connectGateway({
      url: gw.url,
      token: 'test-token',
      clientId: 'gateway-client',
      clientMode: 'backend',
      device: createEphemeralDeviceSigner(),
      headers: { host: '172.17.0.2:18789' },
    });
    expect(session.hello.auth.deviceToken).toEqual(expect.any(String));
    await session.close();
  });

  it('a node behind such a forwarder is not paired silently: a TLS front on this machine looks the same', async () => {
    gw = await startTestGateway();
    const error = await connectError({
      url: gw.url,
      token: 'test-token',
      clientId: 'node-host',
      clientMode: 'node',
      role: 'node',
      device: createEphemeralDeviceSigner(),
      headers: { host: '172.17.0.2:18789' },
    });
    expect(error.detailCode).toBe('PAIRING_REQUIRED');
  });

  it('a Host that is a name, not a private address, is not local for any client', async () => {
    gw = await startTestGateway();
    const error = await connectError({
      url: gw.url,
      token: 'test-token',
      clientId: 'gateway-client',
      clientMode: 'backend',
      device: createEphemeralDeviceSigner(),
      headers: { host: 'host.docker.internal:18789' },
    });
    expect(error.detailCode).toBe('PAIRING_REQUIRED');
  });
});

describe('seed report (e): revoked tokens stay revoked; tokens:{} grants nothing', () => {
  it('a revoked device token no longer authenticates, and the role is not silently re-granted on loopback', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const first = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'], device });
    const deviceToken = first.deviceToken!;
    await first.close();
    // The device token works on its own (no shared secret).
    const byToken = await connectGateway({ url: gw.url, deviceToken, scopes: ['operator.read'], device });
    expect(byToken.hello.auth.method).toBe('device-token');
    await byToken.close();

    const admin = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.pairing'] });
    await admin.request('device.token.revoke', { deviceId: device.deviceId, role: 'operator' });
    const revoked = await connectError({ url: gw.url, deviceToken, scopes: ['operator.read'], device });
    expect(revoked.detailCode).toBe('AUTH_DEVICE_TOKEN_MISMATCH');
    const again = await connectError({ url: gw.url, token: 'test-token', scopes: ['operator.read'], device });
    expect(again.error!.details).toMatchObject({ code: 'PAIRING_REQUIRED', reason: 'role-upgrade' });
    // After a restart too: revocation is on disk.
    const onDisk = JSON.parse(readFileSync(path.join(gw.stateDir, 'devices', 'paired.json'), 'utf8'));
    expect(onDisk[device.deviceId].tokens.operator.revokedAtMs).toEqual(expect.any(Number));
    await admin.close();
  });

  it('a legacy record with tokens: {} has no roles: a remote connect must be approved', async () => {
    const device = createEphemeralDeviceSigner();
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-legacy-'));
    mkdirSync(path.join(stateDir, 'devices'));
    const now = Date.now();
    writeFileSync(
      path.join(stateDir, 'devices', 'paired.json'),
      JSON.stringify({
        [device.deviceId]: {
          deviceId: device.deviceId,
          publicKey: device.publicKey,
          role: 'operator',
          roles: ['operator'],
          scopes: ['operator.read'],
          tokens: {},
          createdAtMs: now,
          approvedAtMs: now,
        },
      }),
    );
    gw = await startTestGateway({ stateDir });
    const error = await connectError({
      url: gw.url,
      token: 'test-token',
      scopes: ['operator.read'],
      device,
      headers: viaProxy,
    });
    expect(error.error!.details).toMatchObject({ code: 'PAIRING_REQUIRED', reason: 'role-upgrade' });
  });
});

describe('pairing state', () => {
  it('metadata is pinned at approval: a changed platform is a metadata-upgrade that needs approval', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const first = await connectGateway({
      url: gw.url,
      token: 'test-token',
      scopes: ['operator.read'],
      device,
      platform: 'linux',
      deviceFamily: 'Linux',
    });
    await first.close();
    const same = await connectGateway({
      url: gw.url,
      token: 'test-token',
      scopes: ['operator.read'],
      device,
      platform: ' LINUX ',
      deviceFamily: 'linux',
    });
    await same.close();
    const moved = await connectError({
      url: gw.url,
      token: 'test-token',
      scopes: ['operator.read'],
      device,
      platform: 'windows',
      deviceFamily: 'Linux',
    });
    expect(moved.error!.details).toMatchObject({ code: 'PAIRING_REQUIRED', reason: 'metadata-upgrade' });
  });

  it('an identical retry refreshes the pending request; a different one supersedes it and merges scopes', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const remote = { url: gw.url, token: 'test-token', device, headers: viaProxy };
    const watcher = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.pairing'] });
    const announced: string[] = [];
    watcher.on('event', (name: string, payload: any) => {
      if (name === 'device.pair.requested') announced.push(payload.requestId);
    });
    const a = await connectError({ ...remote, scopes: ['operator.read'] });
    // Told to wait and retry (wait_then_retry), a client comes back again and again: one request, announced once.
    for (let i = 0; i < 5; i++) {
      const again = await connectError({ ...remote, scopes: ['operator.read'] });
      expect((again.error!.details as any).requestId).toBe((a.error!.details as any).requestId);
    }
    const idA = (a.error!.details as any).requestId;
    const c = await connectError({ ...remote, scopes: ['operator.approvals'] });
    const idC = (c.error!.details as any).requestId;
    expect(idC).not.toBe(idA);
    const pending = gw.pairing.listPending();
    expect(pending).toHaveLength(1);
    expect(pending[0].scopes!.sort()).toEqual(['operator.approvals', 'operator.read']);
    // The superseding request is news; the identical retries were not. (An RPC round trip flushes the events.)
    await watcher.request('device.pair.list', {});
    expect(announced).toEqual([idA, idC]);
    await watcher.close();
  });

  it('approval requires the approver to hold the scopes it grants; events reach only pairing operators', async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    const pairingOnly = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.pairing'] });
    const reader = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    const readerEvents: string[] = [];
    reader.on('event', (name: string) => readerEvents.push(name));
    const requested = nextEvent(pairingOnly, 'device.pair.requested');
    const error = await connectError({
      url: gw.url,
      token: 'test-token',
      device,
      scopes: ['operator.admin'],
      headers: viaProxy,
    });
    const requestId = (error.error!.details as any).requestId;
    await requested;
    await expect(pairingOnly.request('device.pair.approve', { requestId })).rejects.toThrow(
      'missing scope: operator.admin',
    );

    const admin = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.admin'] });
    const resolved = nextEvent(pairingOnly, 'device.pair.resolved');
    const result = await admin.request('device.pair.approve', { requestId });
    expect(result).toMatchObject({ requestId, device: { deviceId: device.deviceId } });
    expect(JSON.stringify(result)).not.toContain(gw.pairing.getPaired(device.deviceId)!.tokens!.operator.token);
    expect(await resolved).toMatchObject({ requestId, deviceId: device.deviceId, decision: 'approved' });
    expect(readerEvents.filter((e) => e.startsWith('device.pair'))).toEqual([]);

    // Now approved: the device connects from the remote address without a prompt.
    const approved = await connectGateway({
      url: gw.url,
      token: 'test-token',
      device,
      scopes: ['operator.admin'],
      headers: viaProxy,
    });
    expect(approved.hello.auth.scopes).toContain('operator.admin');
    for (const s of [approved, admin, reader, pairingOnly]) await s.close();
  });

  it("remove, rotate and revoke close the device's sockets with 4001", async () => {
    gw = await startTestGateway();
    const admin = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.admin'] });
    for (const action of ['device.token.rotate', 'device.token.revoke', 'device.pair.remove'] as const) {
      const device = createEphemeralDeviceSigner();
      const victim = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'], device });
      const closed = new Promise<[number, string]>((resolve) =>
        victim.once('close', (code: number, reason: string) => resolve([code, reason])),
      );
      const params =
        action === 'device.pair.remove'
          ? { deviceId: device.deviceId }
          : { deviceId: device.deviceId, role: 'operator' };
      await admin.request(action, params);
      expect(await closed).toEqual([4001, 'device removed']);
    }
    await admin.close();
  });

  it('a non-admin paired device may manage only itself', async () => {
    gw = await startTestGateway();
    const mine = createEphemeralDeviceSigner();
    const other = createEphemeralDeviceSigner();
    for (const d of [mine, other])
      await (await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'], device: d })).close();
    const session = await connectGateway({
      url: gw.url,
      token: 'test-token',
      scopes: ['operator.pairing'],
      device: mine,
    });
    await expect(
      session.request('device.token.revoke', { deviceId: other.deviceId, role: 'operator' }),
    ).rejects.toThrow(/only on their own device/);
    await expect(session.request('device.pair.remove', { deviceId: other.deviceId })).rejects.toThrow(
      /only on their own device/,
    );
    expect(gw.pairing.getPaired(other.deviceId)).toBeDefined();
    await session.close();
  });

  it("rotation cannot exceed the caller's own scopes", async () => {
    gw = await startTestGateway();
    const device = createEphemeralDeviceSigner();
    await (await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.admin'], device })).close();
    const pairingOnly = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.pairing'] });
    await expect(
      pairingOnly.request('device.token.rotate', {
        deviceId: device.deviceId,
        role: 'operator',
        scopes: ['operator.admin'],
      }),
    ).rejects.toThrow('device token rotation denied');
    await pairingOnly.close();
  });

  it('state files are written with mode 0600', async () => {
    gw = await startTestGateway();
    await (
      await connectGateway({
        url: gw.url,
        token: 'test-token',
        scopes: ['operator.read'],
        device: createEphemeralDeviceSigner(),
      })
    ).close();
    for (const file of ['paired.json', 'pending.json'])
      expect(statSync(path.join(gw.stateDir, 'devices', file)).mode & 0o777).toBe(0o600);
  });

  it('a corrupted paired.json is quarantined and reported, never silently emptied', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-corrupt-'));
    mkdirSync(path.join(stateDir, 'devices'));
    const file = path.join(stateDir, 'devices', 'paired.json');
    writeFileSync(file, '{"truncated": ');
    const warnings: string[] = [];
    gw = await startTestGateway({ stateDir, log: (level, message) => level === 'warn' && warnings.push(message) });
    expect(gw.pairing.corruptFiles).toHaveLength(1);
    expect(readFileSync(gw.pairing.corruptFiles[0].quarantinedTo, 'utf8')).toBe('{"truncated": ');
    expect(warnings.join('\n')).toContain('not valid JSON');
    // The gateway still serves clients.
    const s = await connectGateway({ url: gw.url, token: 'test-token', scopes: ['operator.read'] });
    await s.close();
  });
});
