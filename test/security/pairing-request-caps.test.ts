import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

/**
 * Issue 9 finding 14: under `--auth none` another local user filed 300 pending pairing requests in 5 s, with no cap,
 * and pending.json was rewritten and fsynced (with paired.json) for each one. Pending requests are now capped per
 * source and overall, the oldest dropped, and requests filed together share one pending.json write. On the code
 * before the fix every request stayed pending and each cost two durable file writes.
 */

const writes: string[] = [];
vi.mock('../../gateway/fs/atomic-file', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../gateway/fs/atomic-file')>();
  return {
    ...original,
    writeJsonAtomic: async (file: string, ...rest: any[]) => {
      writes.push(path.basename(file));
      return (original.writeJsonAtomic as any)(file, ...rest);
    },
  };
});

const { DevicePairingStore, MAX_PENDING_PAIRING_PER_SOURCE, MAX_PENDING_PAIRING_TOTAL } =
  await import('../../gateway/pairing/device-pairing-store');
const { createEphemeralDeviceSigner } = await import('../../gateway/protocol/device-auth');
const { connectError, startTestGateway } = await import('../helpers/gateway-fixture');

const dirs: string[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  writes.length = 0;
});

function input(i: number, source: string) {
  const device = createEphemeralDeviceSigner();
  return {
    deviceId: device.deviceId,
    publicKey: device.publicKey,
    role: 'operator',
    scopes: ['operator.read'],
    remoteIp: '127.0.0.1',
    source,
    silent: false,
    clientId: `c${i}`,
  };
}

describe('pending pairing requests are capped, oldest dropped', () => {
  it('a flood of devices from one local source over a real gateway keeps only its newest requests pending', async () => {
    const gw = await startTestGateway({ auth: { mode: 'none' }, allowSilentLocalPairing: () => false });
    cleanups.push(() => gw.dispose());
    const ids: string[] = [];
    for (let i = 0; i < MAX_PENDING_PAIRING_PER_SOURCE + 10; i++) {
      const refused = await connectError({
        url: gw.url,
        device: createEphemeralDeviceSigner(),
        scopes: ['operator.read'],
      });
      expect(refused.error?.details).toMatchObject({ code: 'PAIRING_REQUIRED' });
      ids.push((refused.error!.details as any).requestId);
    }
    const pending = gw.pairing.listPending().map((r) => r.requestId);
    expect(pending).toHaveLength(MAX_PENDING_PAIRING_PER_SOURCE);
    expect(new Set(pending)).toEqual(new Set(ids.slice(-MAX_PENDING_PAIRING_PER_SOURCE)));
    // What is on disk says the same.
    const onDisk = JSON.parse(readFileSync(path.join(gw.stateDir, 'devices', 'pending.json'), 'utf8'));
    expect(Object.keys(onDisk).sort()).toEqual([...pending].sort());
    // The owner is still served: a device-less owner session is not affected by anyone's pending requests.
    expect(gw.pairing.listPending().length).toBeLessThanOrEqual(MAX_PENDING_PAIRING_TOTAL);
  });

  it('overall, many sources cannot hold more than the total cap, and each source keeps its own newest', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-pairing-caps-'));
    dirs.push(dir);
    let now = 1_000_000;
    const store = await DevicePairingStore.open(dir, { now: () => (now += 1) });
    const filed: Array<{ id: string; source: string }> = [];
    for (let round = 0; round < 10; round++) {
      for (let s = 0; s < 10; s++) {
        const { request } = await store.requestPairing(input(round * 10 + s, `uid:${1000 + s}`));
        filed.push({ id: request.requestId, source: `uid:${1000 + s}` });
      }
    }
    const pending = store.listPending().map((r) => r.requestId);
    expect(pending).toHaveLength(MAX_PENDING_PAIRING_TOTAL);
    // The oldest overall were dropped.
    expect(new Set(pending)).toEqual(new Set(filed.slice(-MAX_PENDING_PAIRING_TOTAL).map((f) => f.id)));
    // A source flooding past its own cap displaces its own requests, not the others'.
    for (let i = 0; i < MAX_PENDING_PAIRING_PER_SOURCE * 2; i++) await store.requestPairing(input(500 + i, 'uid:6666'));
    const after = store.listPending();
    expect(after.filter((r) => r.clientId?.startsWith('c5') && Number(r.clientId.slice(1)) >= 500)).toHaveLength(
      MAX_PENDING_PAIRING_PER_SOURCE,
    );
    expect(after).toHaveLength(MAX_PENDING_PAIRING_TOTAL);
  });

  it('requests filed together share pending.json writes instead of two durable writes each', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-pairing-caps-'));
    dirs.push(dir);
    const store = await DevicePairingStore.open(dir);
    writes.length = 0;
    const n = 50;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => store.requestPairing(input(i, `uid:${i % 5}`))),
    );
    expect(results).toHaveLength(n);
    expect(writes.filter((f) => f === 'paired.json')).toHaveLength(0);
    expect(writes.filter((f) => f === 'pending.json').length).toBeLessThanOrEqual(3);
    // Every acknowledged request that is still pending is on disk.
    const onDisk = JSON.parse(readFileSync(path.join(dir, 'devices', 'pending.json'), 'utf8'));
    for (const r of store.listPending()) expect(onDisk[r.requestId]?.deviceId).toBe(r.deviceId);
  });
});
