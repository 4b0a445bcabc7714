import type { MethodResult } from '../../gateway/protocol/gateway-contract';

/**
 * A node command's answer as tests read it (system.run, system.which, system.run.prepare, …). The contract leaves
 * `node.invoke`'s payload unknown because its shape depends on the command; tests assert on it field by field.
 */
export type NodeCommandPayload = Record<string, any>;

/** The payload of a `node.invoke` answer, whether the node sent it as `payload` or as `payloadJSON`. */
export function commandPayload(res: Pick<MethodResult<'node.invoke'>, 'payload' | 'payloadJSON'>): NodeCommandPayload {
  if (res.payload !== undefined && res.payload !== null) return res.payload;
  return res.payloadJSON ? (JSON.parse(res.payloadJSON) as NodeCommandPayload) : {};
}
