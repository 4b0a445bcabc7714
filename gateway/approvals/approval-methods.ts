import { z } from 'zod';
import type { GatewayModule, MethodDefinition } from '../server/gateway-module';

/**
 * The approval methods the openclaw CLI uses beside exec.approval.* (interop notes §1, §6): `approvals pending`
 * lists exec, plugin and openclaw approvals in parallel and fails if any call fails. Clawdesk has exec approvals
 * only: the other kinds list empty.
 */

export class ApprovalMethodsModule implements GatewayModule {
  readonly name = 'approval-methods';

  events(): string[] {
    return [];
  }

  methods(): MethodDefinition[] {
    const approvals = { kind: 'scope', scope: 'operator.approvals' } as const;
    return [
      { name: 'plugin.approval.list', access: approvals, params: z.looseObject({}), handler: () => [] },
      { name: 'openclaw.approval.list', access: approvals, params: z.looseObject({}), handler: () => [] },
    ];
  }
}
