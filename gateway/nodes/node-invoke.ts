import type { nodeInvokeResultParams } from '../protocol/node-schemas';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { relayedNodeErrorDetails } from '../protocol/error-codes';
import { GatewayMethodError, type GatewayConnection } from '../server/gateway-module';
import type { LiveNode } from './node-presence';

/**
 * Invoke routing (docs/protocol.md § Nodes): a `node.invoke` goes to the node as a `node.invoke.request` event and
 * is settled by the node's `node.invoke.result`, by its timeout, by the node going away, or by the last client
 * waiting for it leaving (then the node is told to cancel). Retries with the same idempotency key join the first.
 */

export const DEFAULT_NODE_INVOKE_TIMEOUT_MS = 30_000;
/**
 * Clawdesk's gateway → node: nobody waits for this invoke any more (every requester disconnected, or it timed out
 * here), so the node stops its run and kills the process tree. Payload `{ id, nodeId, reason }`. Other OpenClaw
 * gateways may never send it; Clawdesk's node enforces the invoke's own `timeoutMs` as a ceiling regardless.
 */
export const NODE_INVOKE_CANCEL_EVENT = 'node.invoke.cancel';

/** How long a settled-or-pending invoke answers retries with the same idempotency key. */
const IDEMPOTENCY_WINDOW_MS = 60_000;

export type InvokeResultParams = z.infer<typeof nodeInvokeResultParams>;

export interface InvokeOutcome {
  payload: unknown;
  payloadJSON: string | null;
}

interface PendingInvoke {
  nodeId: string;
  connId: string;
  /** The node's connection, to tell it when nobody waits any more. */
  nodeConn: GatewayConnection;
  /** Connections waiting for the answer (more than one when a retry re-attached by idempotency key); none = internal. */
  requesters?: Set<string>;
  resolve: (value: InvokeOutcome) => void;
  reject: (error: GatewayMethodError) => void;
  timer: NodeJS.Timeout;
}

export interface InvokeRequest {
  nodeId: string;
  command: string;
  params?: unknown;
  timeoutMs?: number;
  idempotencyKey: string;
  /** Connection ids waiting for the answer; when the last one leaves the node is told to cancel. */
  requesters?: Set<string>;
}

export class NodeInvokeRouter {
  private readonly invokes = new Map<string, PendingInvoke>();
  private readonly idempotent = new Map<string, { at: number; promise: Promise<unknown>; requesters: Set<string> }>();

  constructor(private readonly defaultTimeoutMs = DEFAULT_NODE_INVOKE_TIMEOUT_MS) {}

  /** Sends `node.invoke.request` to `live` (already checked invocable) and waits for its `node.invoke.result`. */
  send(live: LiveNode, input: InvokeRequest): Promise<InvokeOutcome> {
    const id = randomUUID();
    const timeoutMs = input.timeoutMs ?? this.defaultTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const inv = this.invokes.get(id);
        if (inv) this.cancel(id, inv, `timed out on the gateway after ${timeoutMs} ms`);
        reject(
          new GatewayMethodError('UNAVAILABLE', 'node invoke timed out', {
            code: 'TIMEOUT',
            nodeId: input.nodeId,
            timeoutMs,
          }),
        );
      }, timeoutMs);
      this.invokes.set(id, {
        nodeId: input.nodeId,
        connId: live.conn.connId,
        nodeConn: live.conn,
        requesters: input.requesters,
        resolve,
        reject,
        timer,
      });
      const sent = live.conn.sendEvent('node.invoke.request', {
        id,
        nodeId: input.nodeId,
        command: input.command,
        paramsJSON: input.params === undefined ? null : JSON.stringify(input.params),
        timeoutMs,
        idempotencyKey: input.idempotencyKey,
      });
      if (!sent) {
        clearTimeout(timer);
        this.invokes.delete(id);
        reject(
          new GatewayMethodError('UNAVAILABLE', 'node not connected', { code: 'NOT_CONNECTED', nodeId: input.nodeId }),
        );
      }
    });
  }

  /**
   * The first call with `key` runs `run` (with the set of connections waiting for it); a retry within the window
   * joins it as another requester and gets the same answer. A failed run is forgotten, so a retry runs again.
   */
  deduplicate<T>(key: string, connId: string, run: (requesters: Set<string>) => Promise<T>): Promise<T> {
    this.sweepIdempotency();
    const existing = this.idempotent.get(key);
    if (existing) {
      existing.requesters.add(connId);
      return existing.promise as Promise<T>;
    }
    const requesters = new Set([connId]);
    const promise = run(requesters);
    this.idempotent.set(key, { at: Date.now(), promise, requesters });
    promise.catch(() => this.idempotent.delete(key));
    return promise;
  }

  /** Settles an invoke with the node's answer; only the node it was sent to, on that connection, may answer. */
  handleResult(conn: GatewayConnection, params: InvokeResultParams): { ok: true } {
    const inv = this.invokes.get(params.id);
    if (!inv)
      throw new GatewayMethodError('INVALID_REQUEST', 'unknown or expired invoke id', { code: 'UNKNOWN_INVOKE_ID' });
    if (inv.connId !== conn.connId || inv.nodeId !== params.nodeId) {
      throw new GatewayMethodError('INVALID_REQUEST', 'invoke result from a different node', { code: 'NODE_MISMATCH' });
    }
    this.invokes.delete(params.id);
    clearTimeout(inv.timer);
    if (!params.ok) {
      const nodeError = {
        code: params.error?.code ?? 'UNAVAILABLE',
        message: params.error?.message ?? 'node command failed',
      };
      inv.reject(new GatewayMethodError('UNAVAILABLE', nodeError.message, relayedNodeErrorDetails(nodeError)));
      return { ok: true };
    }
    let payload: unknown = params.payload ?? null;
    let payloadJSON: string | null = params.payloadJSON ?? null;
    if (payloadJSON !== null) {
      try {
        payload = JSON.parse(payloadJSON);
      } catch {
        inv.reject(
          new GatewayMethodError('UNAVAILABLE', 'node returned malformed payloadJSON', { code: 'BAD_NODE_PAYLOAD' }),
        );
        return { ok: true };
      }
    } else if (params.payload !== undefined) payloadJSON = JSON.stringify(params.payload);
    inv.resolve({ payload, payloadJSON });
    return { ok: true };
  }

  /** The node's connection `connId` is gone (closed, or replaced by a reconnect): its invokes fail. */
  failInvokesFor(connId: string, why: string): void {
    for (const [id, inv] of this.invokes) {
      if (inv.connId !== connId) continue;
      clearTimeout(inv.timer);
      this.invokes.delete(id);
      inv.reject(
        new GatewayMethodError('UNAVAILABLE', `${why} before answering`, { code: 'NOT_CONNECTED', nodeId: inv.nodeId }),
      );
    }
  }

  /**
   * A requester left: invokes nobody else waits for are settled here and cancelled on the node, which kills the
   * run's process tree (a `sleep 300` or `yes` must not outlive the client that asked for it).
   */
  dropRequester(connId: string): void {
    for (const [id, inv] of this.invokes) {
      if (!inv.requesters?.delete(connId) || inv.requesters.size > 0) continue;
      this.cancel(id, inv, 'requester disconnected');
      inv.reject(
        new GatewayMethodError('UNAVAILABLE', 'node invoke cancelled: requester disconnected', {
          code: 'REQUESTER_GONE',
          nodeId: inv.nodeId,
        }),
      );
    }
  }

  /** The gateway stops: every invoke still waiting fails. */
  stop(): void {
    for (const [id, inv] of this.invokes) {
      clearTimeout(inv.timer);
      inv.reject(new GatewayMethodError('UNAVAILABLE', 'gateway shutting down', { code: 'NOT_CONNECTED' }));
      this.invokes.delete(id);
    }
  }

  private cancel(id: string, inv: PendingInvoke, reason: string): void {
    clearTimeout(inv.timer);
    this.invokes.delete(id);
    inv.nodeConn.sendEvent(NODE_INVOKE_CANCEL_EVENT, { id, nodeId: inv.nodeId, reason });
  }

  private sweepIdempotency(): void {
    const cutoff = Date.now() - IDEMPOTENCY_WINDOW_MS;
    for (const [key, entry] of this.idempotent) if (entry.at < cutoff) this.idempotent.delete(key);
  }
}
