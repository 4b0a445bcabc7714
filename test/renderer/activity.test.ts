import { describe, expect, it } from 'vitest';
import type { ApprovalHistoryEntry } from '../../common/ipc-contract';
import { buckets, outcomeOf, programOf, responseTimes, top } from '../../renderer/activity';

const HOUR = 3_600_000;
let next = 0;
function entry(over: Partial<ApprovalHistoryEntry> & { resolvedAtMs: number }): ApprovalHistoryEntry {
  return {
    id: `e${next++}`,
    command: 'ls',
    decision: 'allow-once',
    decidedBy: 'you',
    requestedAtMs: over.resolvedAtMs - 1_000,
    ...over,
  };
}

describe('activity figures from the approval history', () => {
  it('a fallback is its own outcome whatever it decided; expiries and no-decisions group together', () => {
    expect(outcomeOf(entry({ resolvedAtMs: 1, decision: 'deny', decidedBy: 'fallback (askFallback=deny)' }))).toBe(
      'fallback',
    );
    expect(outcomeOf(entry({ resolvedAtMs: 1, decision: 'expired', decidedBy: 'fallback (askFallback=deny)' }))).toBe(
      'fallback',
    );
    expect(outcomeOf(entry({ resolvedAtMs: 1, decision: 'allow-always' }))).toBe('allow-always');
    expect(outcomeOf(entry({ resolvedAtMs: 1, decision: 'deny', decidedBy: 'Clawdesk on laptop' }))).toBe('deny');
    expect(outcomeOf(entry({ resolvedAtMs: 1, decision: 'no-decision', decidedBy: 'gateway' }))).toBe('expired');
  });

  it('hour buckets: 24, oldest first, the last holding now; older and future entries are left out', () => {
    const now = new Date(2026, 11, 1, 14, 30).getTime();
    const list = buckets(
      [
        entry({ resolvedAtMs: now - 5 * 60_000 }),
        entry({ resolvedAtMs: now - 5 * 60_000, decision: 'deny' }),
        entry({ resolvedAtMs: now - 2 * HOUR }),
        entry({ resolvedAtMs: now - 23 * HOUR - 29 * 60_000 }),
        entry({ resolvedAtMs: now - 25 * HOUR }),
        entry({ resolvedAtMs: now + 2 * HOUR }),
      ],
      now,
      'hour',
      24,
    );
    expect(list).toHaveLength(24);
    expect(list[23].startMs).toBe(new Date(2026, 11, 1, 14, 0).getTime());
    expect(list[23].counts).toMatchObject({ 'allow-once': 1, deny: 1 });
    expect(list[23].total).toBe(2);
    expect(list[21].total).toBe(1);
    expect(list[0].startMs).toBe(new Date(2026, 10, 30, 15, 0).getTime());
    expect(list[0].total).toBe(1);
    expect(list.reduce((sum, b) => sum + b.total, 0)).toBe(4);
  });

  it('day buckets start at local midnight', () => {
    const now = new Date(2026, 11, 1, 0, 10).getTime();
    const list = buckets(
      [entry({ resolvedAtMs: new Date(2026, 10, 30, 23, 59).getTime() }), entry({ resolvedAtMs: now })],
      now,
      'day',
      7,
    );
    expect(list[6].startMs).toBe(new Date(2026, 11, 1).getTime());
    expect(list[6].total).toBe(1);
    expect(list[5].total).toBe(1);
    expect(list[0].startMs).toBe(new Date(2026, 10, 25).getTime());
  });

  it('top programs: the program a path names, not a word inside a formula; ties by name', () => {
    const list = [
      entry({ resolvedAtMs: 1, command: '/usr/bin/git push' }),
      entry({ resolvedAtMs: 1, command: 'git status' }),
      entry({ resolvedAtMs: 1, command: './build.sh --fast' }),
      entry({ resolvedAtMs: 1, command: '=HYPERLINK("http://evil")' }),
      entry({ resolvedAtMs: 1, command: 'curl https://x/y' }),
    ];
    expect(list.map(programOf)).toEqual(['git', 'git', 'build.sh', '=HYPERLINK("http://evil")', 'curl']);
    expect(top(list, programOf, 3)).toEqual([
      { name: 'git', count: 2 },
      { name: '=HYPERLINK("http://evil")', count: 1 },
      { name: 'build.sh', count: 1 },
    ]);
    expect(top(list, (e) => e.agentId, 3)).toEqual([]);
  });

  it('response time counts only what a person decided', () => {
    const r = responseTimes([
      entry({ requestedAtMs: 0, resolvedAtMs: 2_000 }),
      entry({ requestedAtMs: 0, resolvedAtMs: 10_000, decision: 'deny' }),
      entry({ requestedAtMs: 0, resolvedAtMs: 600_000, decision: 'allow-always' }),
      entry({ requestedAtMs: 0, resolvedAtMs: 120_000, decision: 'deny', decidedBy: 'fallback (askFallback=deny)' }),
      entry({ requestedAtMs: 0, resolvedAtMs: 120_000, decision: 'expired', decidedBy: 'gateway' }),
    ]);
    expect(r.buckets).toEqual([
      { id: 'under-5s', count: 1 },
      { id: '5-30s', count: 1 },
      { id: '30s-2min', count: 0 },
      { id: 'over-2min', count: 1 },
    ]);
    expect(r.medianMs).toBe(10_000);
    expect(responseTimes([]).medianMs).toBeNull();
  });
});
