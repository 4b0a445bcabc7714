import type { ApprovalView } from '../protocol/approval-schemas';
import { approvalReasonDetails } from '../protocol/error-codes';
import {
  GatewayMethodError,
  implementMethod,
  type GatewayModule,
  type MethodDefinition,
} from '../server/gateway-module';
import { approvalNotFound, type ApprovalRecord, type ExecApprovalManager } from './exec-approval-manager';

/**
 * The kind-agnostic approval methods the openclaw CLI uses (interop notes §1, §6): `approvals pending` lists
 * exec, plugin and openclaw approvals in parallel and fails if any call fails; `approvals resolve` reads
 * `approval.get` and decides with `approval.resolve`. Clawdesk has exec approvals only: the other kinds list empty.
 */

export type ApprovalStatus = 'pending' | 'allowed' | 'denied' | 'expired' | 'cancelled';

/** The kinds `approval.resolve` accepts: the ones Clawdesk has. */
const KINDS = ['exec'] as const;

function statusOf(record: ApprovalRecord): ApprovalStatus {
  if (record.status === 'pending') return 'pending';
  if (record.status === 'expired' || record.decision === null) return 'expired';
  return record.decision === 'deny' ? 'denied' : 'allowed';
}

/** `{id, status, presentation, createdAtMs, expiresAtMs}`, plus the outcome once it has one. */
export function approvalSnapshot(record: ApprovalRecord): ApprovalView {
  const request = record.request;
  const status = statusOf(record);
  const snapshot: ApprovalView = {
    id: record.id,
    status,
    presentation: {
      kind: 'exec',
      commandText: request.command,
      ...(typeof request.commandPreview === 'string' ? { commandPreview: request.commandPreview } : {}),
      // What the requester said it runs, when that differs from the text computed from argv: a description only.
      ...(typeof request.agentCommandText === 'string' ? { agentCommandText: request.agentCommandText } : {}),
      host: request.host ?? null,
      nodeId: request.nodeId ?? null,
      agentId: request.agentId ?? null,
      allowedDecisions: [...record.allowed],
    },
    createdAtMs: record.createdAtMs,
    expiresAtMs: record.expiresAtMs,
  };
  if (status === 'pending') return snapshot;
  return {
    ...snapshot,
    ...(record.resolvedAtMs !== undefined ? { resolvedAtMs: record.resolvedAtMs } : {}),
    reason: record.terminalReason ?? null,
    decision: record.decision,
    source: {
      ...(typeof request.agentId === 'string' ? { agentId: request.agentId } : {}),
      ...(typeof request.sessionKey === 'string' ? { sessionKey: request.sessionKey } : {}),
    },
    ...(record.resolver ? { resolver: { ...record.resolver } } : {}),
  };
}

export class ApprovalMethodsModule implements GatewayModule {
  readonly name = 'approval-methods';

  constructor(private readonly exec: ExecApprovalManager) {}

  events(): string[] {
    return [];
  }

  methods(): MethodDefinition[] {
    return [
      implementMethod('plugin.approval.list', () => []),
      implementMethod('openclaw.approval.list', () => []),
      implementMethod('approval.get', ({ params, conn }) => {
        const record = this.exec.find(params.id, conn);
        if (!record) throw approvalNotFound();
        return { approval: approvalSnapshot(record) };
      }),
      implementMethod('approval.resolve', ({ params, conn }) => {
        if (!(KINDS as readonly string[]).includes(params.kind)) {
          throw new GatewayMethodError(
            'INVALID_REQUEST',
            `unknown approval kind "${params.kind}" (supported: ${KINDS.join(', ')})`,
            approvalReasonDetails('APPROVAL_KIND_UNKNOWN'),
          );
        }
        const { applied, record } = this.exec.settle(params.id, params.decision, conn);
        return { applied, approval: approvalSnapshot(record) };
      }),
    ];
  }
}
