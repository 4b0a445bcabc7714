import { describe, expect, it } from 'vitest';
import type { ApprovalHistoryEntry, Topic } from '../../common/ipc-contract';
import { OperatorEventRouter, pairingSeeds } from '../../main/operator-events';
import type { PairingRequest } from '../../main/pairing-prompts';

function setup(now = 5_000) {
  const seen = { requested: [] as PairingRequest[], resolved: [] as string[], history: [] as ApprovalHistoryEntry[] };
  const topics: Topic[][] = [];
  const router = new OperatorEventRouter(
    {
      pairingRequested: (r) => seen.requested.push(r),
      pairingResolved: (id) => seen.resolved.push(id),
      recordHistory: (e) => seen.history.push(e),
      changed: (t) => topics.push(t),
    },
    () => now,
  );
  return { router, seen, topics };
}

describe('OperatorEventRouter', () => {
  it('records a resolved approval with what was asked, when, and who decided', () => {
    const { router, seen, topics } = setup();
    router.handle('exec.approval.requested', {
      id: 'a1',
      createdAtMs: 1_000,
      request: { command: 'git push', cwd: '/repo', agentId: 'main', host: 'node', nodeId: 'n1' },
    });
    expect(router.pendingApprovals()).toBe(1);
    router.handle('exec.approval.resolved', { id: 'a1', decision: 'allow-once', resolvedBy: 'Clawdesk', ts: 2_000 });
    expect(seen.history).toEqual([
      {
        id: 'a1',
        command: 'git push',
        cwd: '/repo',
        agentId: 'main',
        host: 'node',
        nodeId: 'n1',
        decision: 'allow-once',
        decidedBy: 'you',
        requestedAtMs: 1_000,
        resolvedAtMs: 2_000,
      },
    ]);
    expect(router.pendingApprovals()).toBe(0);
    // Approval events change no pairing or node topic.
    expect(topics).toEqual([]);
  });

  it("names askFallback, other clients, and takes a plan's command text when the request has no command", () => {
    const { router, seen } = setup();
    router.handle('exec.approval.requested', { id: 'f', request: { systemRunPlan: { commandText: 'make' } } });
    router.noteFallback('f');
    router.handle('exec.approval.resolved', { id: 'f', decision: 'deny', resolvedBy: 'Clawdesk', ts: 9 });
    router.handle('exec.approval.resolved', { id: 'o', decision: 'deny', resolvedBy: 'phone', ts: 9 });
    router.handle('exec.approval.resolved', { id: 'x', ts: 9 });
    expect(seen.history.map((e) => [e.id, e.command, e.decidedBy, e.decision])).toEqual([
      ['f', 'make', 'fallback (askFallback)', 'deny'],
      ['o', '', 'phone', 'deny'],
      ['x', '', 'another client', 'no-decision'],
    ]);
    // Named by the askFallback that answered; allowlist leaves the run to the node's allowlist.
    router.handle('exec.approval.requested', { id: 'd', request: { command: 'rm x' } });
    router.noteFallback('d', 'deny');
    router.handle('exec.approval.resolved', { id: 'd', decision: 'deny', resolvedBy: 'Clawdesk', ts: 9 });
    router.noteFallback('a', 'allowlist');
    router.handle('exec.approval.resolved', { id: 'a', ts: 9 });
    expect(seen.history.slice(-2).map((e) => [e.id, e.decidedBy, e.decision])).toEqual([
      ['d', 'fallback (askFallback=deny)', 'deny'],
      ['a', "fallback (askFallback=allowlist: the node's allowlist decided)", 'no-decision'],
    ]);
    // The fallback mark is used once: a later approval with the same id is not mis-attributed.
    router.handle('exec.approval.resolved', { id: 'f', decision: 'deny', resolvedBy: 'Clawdesk', ts: 9 });
    expect(seen.history.at(-1)?.decidedBy).toBe('you');
  });

  it('turns pairing events into prompts and dashboard changes, presence into node changes', () => {
    const { router, seen, topics } = setup();
    router.handle('device.pair.requested', { requestId: 'r1', deviceId: 'd1', ts: 1 });
    router.handle('node.pair.requested', { requestId: 'r2', nodeId: 'n1', ts: 1 });
    router.handle('node.pair.resolved', { requestId: 'r2' });
    router.handle('presence', {});
    expect(seen.requested).toEqual([
      { kind: 'device', requestId: 'r1', deviceId: 'd1', ts: 1 },
      { kind: 'node', requestId: 'r2', nodeId: 'n1', ts: 1 },
    ]);
    expect(seen.resolved).toEqual(['r2']);
    expect(topics).toEqual([
      ['devices', 'nodes', 'status'],
      ['devices', 'nodes', 'status'],
      ['devices', 'nodes', 'status'],
      ['nodes', 'status'],
    ]);
  });

  it('bad payloads neither throw nor record: an approval event without an id, a null payload, a hostile kind', () => {
    const { router, seen } = setup();
    router.handle('exec.approval.requested', null);
    router.handle('exec.approval.resolved', { id: 42 });
    router.handle('device.pair.requested', { kind: 'node', requestId: 'r', deviceId: 'd', ts: 1 });
    expect(seen.history).toEqual([]);
    expect(router.pendingApprovals()).toBe(0);
    // The event name decides the kind, never the payload.
    expect(seen.requested[0].kind).toBe('device');
  });
});

describe('pairingSeeds', () => {
  it("maps a list's pending requests to prompts of that kind and ignores anything else", () => {
    expect(pairingSeeds('node', { pending: [{ requestId: 'a', nodeId: 'n', ts: 1 }, 'junk', null] })).toEqual([
      { kind: 'node', requestId: 'a', nodeId: 'n', ts: 1 },
    ]);
    expect(pairingSeeds('device', {})).toEqual([]);
    expect(pairingSeeds('device', null)).toEqual([]);
  });
});
