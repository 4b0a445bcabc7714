import { z } from 'zod';
import {
  configGetResult,
  deviceIdParams,
  devicePairApproveResult,
  devicePairListResult,
  devicePairRejectResult,
  devicePairRemoveResult,
  deviceRoleParams,
  deviceTokenRevokeResult,
  deviceTokenRotateResult,
  emptyParams,
  healthParams,
  healthResult,
  nodeListResult,
  nodePairListResult,
  requestIdParams,
  statusResult,
  systemPresenceResult,
  tokenRotateParams,
} from './method-schemas';
import {
  approvalDecisionParams,
  approvalGetResult,
  approvalIdParams,
  approvalKindDecisionParams,
  approvalListParams,
  approvalRequestParams,
  approvalResolveResult,
  emptyApprovalListParams,
  emptyApprovalListResult,
  execApprovalGetResult,
  execApprovalListResult,
  execApprovalOutcome,
  execApprovalResolveResult,
} from './approval-schemas';
import {
  execApprovalsNodeParams,
  execApprovalsNodeSetParams,
  execApprovalsSetParams,
  execApprovalsSnapshot,
  nodeDescribeResult,
  nodeEventParams,
  nodeIdParams,
  nodeInvokeParams,
  nodeInvokeResult,
  nodeInvokeResultParams,
  nodePairApproveResult,
  nodePairRejectResult,
  nodeRenameParams,
  nodeRenameResult,
  nodeRequestIdParams,
  okResult,
} from './node-schemas';
import type { OperatorScope } from './scopes';

/**
 * The typed gateway contract (docs/protocol.md § Methods): one definition per method, with who may call it, the
 * params the server validates and the result clients read. The server's handlers are typed from it
 * (`implementMethod` in gateway/server/gateway-module.ts) and so is the client's `request()`
 * (gateway/client/gateway-client.ts); the result schemas are checked against a live gateway by
 * test/gateway/method-contracts.test.ts. Every method Clawdesk's gateway serves is here, except the agent-runtime
 * methods it only refuses (gateway/server/core-module.ts); a client's `request()` of a method outside the contract
 * (one only OpenClaw's gateway serves) answers `unknown`.
 */

/** Who may call a method: a scope (admin satisfies all, write satisfies read), any authenticated session, or nodes. */
export type MethodAccess = { kind: 'scope'; scope: OperatorScope } | { kind: 'any' } | { kind: 'node' };

export interface MethodContract {
  access: MethodAccess;
  params: z.ZodType;
  result: z.ZodType;
}

const scope = (name: OperatorScope): MethodAccess => ({ kind: 'scope', scope: name });

const admin = scope('operator.admin');
const approvals = scope('operator.approvals');
const nodeOnly: MethodAccess = { kind: 'node' };

export const GATEWAY_CONTRACT = {
  health: { access: { kind: 'any' }, params: healthParams, result: healthResult },
  status: { access: scope('operator.read'), params: emptyParams, result: statusResult },
  'system-presence': { access: scope('operator.read'), params: emptyParams, result: systemPresenceResult },
  'config.get': { access: scope('operator.read'), params: emptyParams, result: configGetResult },
  'device.pair.list': { access: scope('operator.pairing'), params: emptyParams, result: devicePairListResult },
  'device.pair.approve': {
    access: scope('operator.pairing'),
    params: requestIdParams,
    result: devicePairApproveResult,
  },
  'device.pair.reject': { access: scope('operator.pairing'), params: requestIdParams, result: devicePairRejectResult },
  'device.pair.remove': { access: scope('operator.pairing'), params: deviceIdParams, result: devicePairRemoveResult },
  'device.token.rotate': {
    access: scope('operator.pairing'),
    params: tokenRotateParams,
    result: deviceTokenRotateResult,
  },
  'device.token.revoke': {
    access: scope('operator.pairing'),
    params: deviceRoleParams,
    result: deviceTokenRevokeResult,
  },
  'node.list': { access: scope('operator.read'), params: emptyParams, result: nodeListResult },
  'node.pair.list': { access: scope('operator.pairing'), params: emptyParams, result: nodePairListResult },
  'node.describe': { access: scope('operator.read'), params: nodeIdParams, result: nodeDescribeResult },
  'node.pair.approve': {
    access: scope('operator.pairing'),
    params: nodeRequestIdParams,
    result: nodePairApproveResult,
  },
  'node.pair.reject': { access: scope('operator.pairing'), params: nodeRequestIdParams, result: nodePairRejectResult },
  'node.rename': { access: scope('operator.pairing'), params: nodeRenameParams, result: nodeRenameResult },
  'node.invoke': { access: scope('operator.write'), params: nodeInvokeParams, result: nodeInvokeResult },
  'node.invoke.result': { access: nodeOnly, params: nodeInvokeResultParams, result: okResult },
  'node.event': { access: nodeOnly, params: nodeEventParams, result: okResult },
  'exec.approval.request': { access: approvals, params: approvalRequestParams, result: execApprovalOutcome },
  'exec.approval.resolve': {
    access: approvals,
    params: approvalDecisionParams,
    result: execApprovalResolveResult,
  },
  'exec.approval.get': { access: approvals, params: approvalIdParams, result: execApprovalGetResult },
  'exec.approval.list': { access: approvals, params: approvalListParams, result: execApprovalListResult },
  'exec.approval.waitDecision': { access: approvals, params: approvalIdParams, result: execApprovalOutcome },
  'exec.approvals.get': { access: admin, params: emptyParams, result: execApprovalsSnapshot },
  'exec.approvals.set': { access: admin, params: execApprovalsSetParams, result: execApprovalsSnapshot },
  'exec.approvals.node.get': { access: admin, params: execApprovalsNodeParams, result: execApprovalsSnapshot },
  'exec.approvals.node.set': { access: admin, params: execApprovalsNodeSetParams, result: execApprovalsSnapshot },
  'approval.get': { access: approvals, params: approvalIdParams, result: approvalGetResult },
  'approval.resolve': { access: approvals, params: approvalKindDecisionParams, result: approvalResolveResult },
  'plugin.approval.list': { access: approvals, params: emptyApprovalListParams, result: emptyApprovalListResult },
  'openclaw.approval.list': { access: approvals, params: emptyApprovalListParams, result: emptyApprovalListResult },
} as const satisfies Record<string, MethodContract>;

export type GatewayMethodName = keyof typeof GATEWAY_CONTRACT;

export function isContractMethod(name: string): name is GatewayMethodName {
  return Object.hasOwn(GATEWAY_CONTRACT, name);
}

/** What a client sends for `M` (the schema's input: defaults may be left out). */
export type MethodParams<M extends GatewayMethodName> = z.input<(typeof GATEWAY_CONTRACT)[M]['params']>;
/** What the handler of `M` receives, validated. */
export type ValidatedParams<M extends GatewayMethodName> = z.output<(typeof GATEWAY_CONTRACT)[M]['params']>;
/** What the handler of `M` may return (the result schema's input). */
export type MethodResultInput<M extends GatewayMethodName> = z.input<(typeof GATEWAY_CONTRACT)[M]['result']>;
/** What a client reads from `M`. */
export type MethodResult<M extends GatewayMethodName> = z.output<(typeof GATEWAY_CONTRACT)[M]['result']>;
