// What the app does with the operator session's events (docs/protocol.md § Methods): pairing prompts,
// the approval history, and which dashboard topics change. Pure: no Electron, no I/O; the effects go to sinks.
import type { ApprovalHistoryEntry, HistoryDecision, Topic } from '../common/ipc-contract';
import type { PairingRequest } from './pairing-prompts';

export interface OperatorEventSinks {
  pairingRequested(request: PairingRequest): void;
  pairingResolved(requestId: string): void;
  /** An approval was resolved: the entry to append to the history. */
  recordHistory(entry: ApprovalHistoryEntry): void;
  /** Dashboard topics that changed. */
  changed(topics: Topic[]): void;
}

interface RequestedApproval {
  command: string;
  cwd?: string;
  agentId?: string;
  host?: string;
  nodeId?: string;
  createdAtMs: number;
}

type Payload = Record<string, unknown>;
const isObject = (value: unknown): value is Payload => typeof value === 'object' && value !== null;
const optionalString = (value: unknown): string | undefined =>
  value === undefined || value === null ? undefined : String(value);
const numberOr = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);

/** Who decided, in the history's words: this app's prompt is "you", askFallback says so, others by name. */
/** Who decided, for the history: `fallback` is the askFallback that answered when nobody did (if this app's). */
export function decidedBy(resolvedBy: unknown, fallback: string | undefined): string {
  if (fallback === 'allowlist') return "fallback (askFallback=allowlist: the node's allowlist decided)";
  if (fallback !== undefined) return fallback ? `fallback (askFallback=${fallback})` : 'fallback (askFallback)';
  if (resolvedBy === 'Clawdesk') return 'you';
  return String(resolvedBy ?? 'another client');
}

/**
 * Routes one operator session's events. It remembers each exec approval from `exec.approval.requested` until its
 * `exec.approval.resolved`, so the history entry has the command and when it was asked.
 */
export class OperatorEventRouter {
  private readonly requested = new Map<string, RequestedApproval>();
  private readonly byFallback = new Map<string, string>();

  constructor(
    private readonly sinks: OperatorEventSinks,
    private readonly now: () => number = Date.now,
  ) {}

  /** The approval client answered `id` through askFallback (nobody answered the prompt). */
  noteFallback(id: string, mode = ''): void {
    this.byFallback.set(id, mode);
  }

  private takeFallback(id: string): string | undefined {
    const mode = this.byFallback.get(id);
    this.byFallback.delete(id);
    return mode;
  }

  /** Approvals asked and not yet resolved (for tests and diagnostics). */
  pendingApprovals(): number {
    return this.requested.size;
  }

  handle(name: string, payload: unknown): void {
    const p: Payload = isObject(payload) ? payload : {};
    if (name === 'device.pair.requested') this.sinks.pairingRequested({ ...p, kind: 'device' } as PairingRequest);
    else if (name === 'node.pair.requested') this.sinks.pairingRequested({ ...p, kind: 'node' } as PairingRequest);
    else if (name === 'device.pair.resolved' || name === 'node.pair.resolved')
      this.sinks.pairingResolved(String(p.requestId));
    else if (name === 'exec.approval.requested' && typeof p.id === 'string') this.approvalRequested(p.id, p);
    else if (name === 'exec.approval.resolved' && typeof p.id === 'string') this.approvalResolved(p.id, p);

    if (name.includes('.pair.')) this.sinks.changed(['devices', 'nodes', 'status']);
    // A node connecting or dropping changes presence: the Nodes view follows it live.
    else if (name === 'presence') this.sinks.changed(['nodes', 'status']);
  }

  private approvalRequested(id: string, p: Payload): void {
    const r: Payload = isObject(p.request) ? p.request : {};
    const plan: Payload = isObject(r.systemRunPlan) ? r.systemRunPlan : {};
    this.requested.set(id, {
      command: String(r.command ?? plan.commandText ?? ''),
      cwd: optionalString(r.cwd),
      agentId: optionalString(r.agentId),
      host: optionalString(r.host),
      nodeId: optionalString(r.nodeId),
      createdAtMs: numberOr(p.createdAtMs, this.now()),
    });
  }

  private approvalResolved(id: string, p: Payload): void {
    const request = this.requested.get(id);
    this.requested.delete(id);
    const now = this.now();
    this.sinks.recordHistory({
      id,
      command: request?.command ?? '',
      cwd: request?.cwd,
      agentId: request?.agentId,
      host: request?.host,
      nodeId: request?.nodeId,
      decision: (p.decision ?? 'no-decision') as HistoryDecision,
      decidedBy: decidedBy(p.resolvedBy, this.takeFallback(id)),
      requestedAtMs: request?.createdAtMs ?? numberOr(p.ts, now),
      resolvedAtMs: numberOr(p.ts, now),
    });
  }
}

/** The pending requests of `device.pair.list` / `node.pair.list`, as prompts to seed at (re)connect. */
export function pairingSeeds(kind: 'device' | 'node', listResult: unknown): PairingRequest[] {
  const pending = isObject(listResult) && Array.isArray(listResult.pending) ? listResult.pending : [];
  return pending.filter(isObject).map((p) => ({ ...p, kind }) as PairingRequest);
}
