import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NodePairingStore, type NodeMeta } from '../../gateway/nodes/node-pairing-store';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-nodes-'));
  dirs.push(dir);
  return dir;
}

const meta = (commands: string[], displayName = 'Build box'): NodeMeta => ({
  nodeId: 'node-1',
  displayName,
  platform: 'linux',
  commands,
});

async function reopened(dir: string): Promise<NodePairingStore> {
  const store = new NodePairingStore();
  await store.load(dir, () => {
    throw new Error('unexpected warning');
  });
  return store;
}

describe('node pairing store', () => {
  it('files one request per node, approves it into the paired surface, and keeps both across a reload', async () => {
    const dir = stateDir();
    const store = await reopened(dir);
    const first = await store.fileRequest(meta(['system.which']), 1000);
    const second = await store.fileRequest(meta(['system.which', 'system.run']), 2000);
    expect(store.pendingRequests().map((r) => r.requestId)).toEqual([second.requestId]);
    expect(store.getPending(first.requestId)).toBeUndefined();
    expect(second).toMatchObject({ isRepair: false, silent: false, ts: 2000 });

    await store.approve(second, true, 3000);
    const again = await reopened(dir);
    expect(again.pendingRequests()).toEqual([]);
    expect(again.getPaired('node-1')).toMatchObject({
      commands: ['system.which', 'system.run'],
      createdAtMs: 3000,
      approvedAtMs: 3000,
      lastConnectedAtMs: 3000,
    });
    expect(again.getPaired('node-1')).not.toHaveProperty('requestId');
    const mode = lstatSync(path.join(dir, 'nodes', 'paired.json')).mode & 0o777;
    expect(mode & 0o077).toBe(0);
  });

  it('adds a later approval to the surface a node had, keeping its name and creation time', async () => {
    const dir = stateDir();
    const store = await reopened(dir);
    await store.approve(await store.fileRequest(meta(['system.which']), 1), false, 10);
    expect(await store.rename('node-1', 'Renamed')).toBe(true);
    const repair = await store.fileRequest(meta(['system.run'], 'Other name'), 20);
    expect(repair.isRepair).toBe(true);
    await store.approve(repair, false, 30);
    expect(store.getPaired('node-1')).toMatchObject({
      displayName: 'Renamed',
      commands: ['system.which', 'system.run'],
      createdAtMs: 10,
      approvedAtMs: 30,
    });
    expect(store.getPaired('node-1')?.lastConnectedAtMs).toBeUndefined();
  });

  it('pairs silently by merging the surface and dropping what the node had waiting', async () => {
    const store = await reopened(stateDir());
    await store.fileRequest(meta(['system.run']), 1);
    await store.pairSilently(meta(['system.run', 'system.which']), 5);
    expect(store.pendingFor('node-1')).toBeUndefined();
    expect(store.getPaired('node-1')).toMatchObject({ commands: ['system.run', 'system.which'], lastConnectedAtMs: 5 });
  });

  it('rejects, renames and forgets only what exists', async () => {
    const dir = stateDir();
    const store = await reopened(dir);
    expect(await store.reject('no-such-request')).toBeUndefined();
    expect(await store.rename('node-1', 'x')).toBe(false);
    expect(await store.forget('node-1')).toBe(false);
    const request = await store.fileRequest(meta([]), 1);
    expect((await store.reject(request.requestId))?.nodeId).toBe('node-1');
    await store.pairSilently(meta(['system.which']), 2);
    expect(await store.forget('node-1')).toBe(true);
    expect((await reopened(dir)).pairedNodes()).toEqual([]);
  });

  it('moves a corrupt file aside, says so, and starts from nothing rather than trusting it', async () => {
    const dir = stateDir();
    mkdirSync(path.join(dir, 'nodes'));
    writeFileSync(path.join(dir, 'nodes', 'paired.json'), '{"version":1,"nodes":{"n":{"nodeId":5}}}');
    const warnings: string[] = [];
    const store = new NodePairingStore();
    await store.load(dir, (message) => warnings.push(message));
    expect(store.pairedNodes()).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('node pairing file was corrupt and was moved aside')]);
    const left = readdirSync(path.join(dir, 'nodes'));
    expect(left.some((name) => name !== 'paired.json' && name.startsWith('paired.json'))).toBe(true);
    await store.pairSilently(meta(['system.which']), 1);
    expect(JSON.parse(readFileSync(path.join(dir, 'nodes', 'paired.json'), 'utf8')).nodes['node-1']).toBeTruthy();
  });
});
