import type { ApprovalHistoryEntry } from '../common/ipc-contract';

/** How an approval ended, as the activity charts group it. */
export type Outcome = 'allow-once' | 'allow-always' | 'deny' | 'fallback' | 'expired';
export const OUTCOMES: readonly Outcome[] = ['allow-once', 'allow-always', 'deny', 'fallback', 'expired'];

/** A fallback decided it (askFallback when nobody answered) whatever the decision; otherwise the person's decision. */
export function outcomeOf(entry: ApprovalHistoryEntry): Outcome {
  if (entry.decidedBy.startsWith('fallback')) return 'fallback';
  if (entry.decision === 'allow-once' || entry.decision === 'allow-always' || entry.decision === 'deny') {
    return entry.decision;
  }
  return 'expired';
}

export interface Bucket {
  startMs: number;
  counts: Record<Outcome, number>;
  total: number;
}

const emptyCounts = (): Record<Outcome, number> => ({
  'allow-once': 0,
  'allow-always': 0,
  deny: 0,
  fallback: 0,
  expired: 0,
});

/**
 * `count` consecutive buckets of `sizeMs` ending with the one holding `nowMs`, each counting the approvals resolved
 * in it by outcome. Day buckets start at local midnight so a bar is a calendar day.
 */
export function buckets(
  entries: readonly ApprovalHistoryEntry[],
  nowMs: number,
  unit: 'hour' | 'day',
  count: number,
): Bucket[] {
  const start = new Date(nowMs);
  if (unit === 'hour') start.setMinutes(0, 0, 0);
  else start.setHours(0, 0, 0, 0);
  const starts: number[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const d = new Date(start);
    if (unit === 'hour') d.setHours(d.getHours() - i);
    else d.setDate(d.getDate() - i);
    starts.push(d.getTime());
  }
  const end = (() => {
    const d = new Date(start);
    if (unit === 'hour') d.setHours(d.getHours() + 1);
    else d.setDate(d.getDate() + 1);
    return d.getTime();
  })();
  const result: Bucket[] = starts.map((startMs) => ({ startMs, counts: emptyCounts(), total: 0 }));
  for (const entry of entries) {
    const at = entry.resolvedAtMs;
    if (at < starts[0] || at >= end) continue;
    let index = starts.length - 1;
    while (index > 0 && at < starts[index]) index--;
    result[index].counts[outcomeOf(entry)]++;
    result[index].total++;
  }
  return result;
}

/** The `limit` most frequent values of `key` (ties by name), with counts; entries without one are left out. */
export function top(
  entries: readonly ApprovalHistoryEntry[],
  key: (entry: ApprovalHistoryEntry) => string | undefined,
  limit: number,
): Array<{ name: string; count: number }> {
  const counts = new Map<string, number>();
  for (const entry of entries) {
    const name = key(entry);
    if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts]
    .map(([name, count]) => ({ name, count }))
    .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name))
    .slice(0, limit);
}

/** The program a command runs: its first word, without a directory when it is a path ("/usr/bin/git" → "git"). */
export function programOf(entry: ApprovalHistoryEntry): string | undefined {
  const first = entry.command.trim().split(/\s+/)[0];
  if (!first) return undefined;
  return /^[\w.~/-]*\/[\w.-]+$/.test(first) ? first.slice(first.lastIndexOf('/') + 1) : first;
}

export const RESPONSE_BUCKETS = [
  { id: 'under-5s', maxMs: 5_000 },
  { id: '5-30s', maxMs: 30_000 },
  { id: '30s-2min', maxMs: 120_000 },
  { id: 'over-2min', maxMs: Number.POSITIVE_INFINITY },
] as const;
export type ResponseBucketId = (typeof RESPONSE_BUCKETS)[number]['id'];

/** How long people took to answer: only decisions a person made count (not fallbacks, not expiries). */
export function responseTimes(entries: readonly ApprovalHistoryEntry[]): {
  buckets: Array<{ id: ResponseBucketId; count: number }>;
  medianMs: number | null;
} {
  const answered = entries
    .filter((e) => {
      const outcome = outcomeOf(e);
      return outcome !== 'fallback' && outcome !== 'expired';
    })
    .map((e) => Math.max(0, e.resolvedAtMs - e.requestedAtMs))
    .sort((a, b) => a - b);
  const counts = RESPONSE_BUCKETS.map((b) => ({ id: b.id, count: 0 }));
  for (const ms of answered) counts[RESPONSE_BUCKETS.findIndex((b) => ms < b.maxMs)].count++;
  const mid = answered.length >> 1;
  const medianMs =
    answered.length === 0 ? null : answered.length % 2 ? answered[mid] : (answered[mid - 1] + answered[mid]) / 2;
  return { buckets: counts, medianMs };
}
