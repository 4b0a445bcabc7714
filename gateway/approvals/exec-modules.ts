import type { GatewayModule } from '../server/gateway-module';
import { ApprovalMethodsModule } from './approval-methods';
import { ExecApprovalManager, type ExecApprovalManagerOptions } from './exec-approval-manager';
import { ExecApprovalsSnapshotModule } from './exec-approvals-snapshot';
import { NodeRegistry, type NodeRegistryOptions } from '../nodes/node-registry';

export interface ExecModulesOptions extends NodeRegistryOptions, ExecApprovalManagerOptions {
  /** Home for the legacy `~/.openclaw/exec-approvals.json` import at start; defaults to os.homedir(). */
  home?: string;
}

export interface ExecModules {
  /** Install all of these into the gateway (order does not matter). */
  modules: GatewayModule[];
  registry: NodeRegistry;
  approvals: ExecApprovalManager;
  /** Pre-approves a node id (Clawdesk's own runner) when it connects direct-local; foreign nodes still ask. */
  approveNodeSilently(nodeId: string): void;
}

/**
 * The gateway side of exec: node registry + node pairing + node.invoke, exec.approval.*, exec.approvals.*, and the
 * kind-agnostic approval.get/resolve and {plugin,openclaw}.approval.list the openclaw CLI calls.
 */
export function createExecModules(options: ExecModulesOptions = {}): ExecModules {
  const registry = new NodeRegistry(options);
  const approvals = new ExecApprovalManager(options);
  registry.setSystemRunGate((input) => approvals.gateSystemRun(input));
  const snapshot = new ExecApprovalsSnapshotModule(registry, { home: options.home });
  return {
    modules: [registry, approvals, snapshot, new ApprovalMethodsModule(approvals)],
    registry,
    approvals,
    approveNodeSilently: (nodeId) => registry.approveNodeSilently(nodeId),
  };
}
