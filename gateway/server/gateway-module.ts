import type { ZodType } from 'zod';
import {
  GATEWAY_CONTRACT,
  type GatewayMethodName,
  type MethodAccess,
  type MethodContract,
  type MethodResultInput,
  type ValidatedParams,
} from '../protocol/gateway-contract';
import type { ErrorCode, ErrorDetails } from '../protocol/error-codes';
import type { OperatorScope } from '../protocol/scopes';

/**
 * The contract between the gateway core and the features that plug into it (pairing, node registry,
 * exec approvals, ...). A feature is a GatewayModule: methods it serves, events it may emit, and
 * hooks on the connection lifecycle. The core owns sockets, handshake, auth, scopes and framing.
 */

export type ConnectionRole = 'operator' | 'node';

/** Where a connection comes from, for pairing decisions (docs/protocol.md § Locality). */
export type Locality = 'direct_local' | 'cli_container_local' | 'shared_secret_loopback_local' | 'remote';

export interface ClientInfo {
  id: string;
  mode: string;
  version: string;
  platform: string;
  deviceFamily?: string;
  displayName?: string;
  modelIdentifier?: string;
  instanceId?: string;
}

/**
 * The credential a connection authenticated with, as an identity to compare (never the secret itself). A gateway has
 * one shared secret, so every connection that presented it holds the same `shared` credential; a device token is
 * bound to its device; under auth "none" the device-less owner session on this machine is `none-local`.
 */
export type ConnectionCredential =
  | { kind: 'shared'; method: 'token' | 'password' }
  | { kind: 'none-local' }
  | { kind: 'device-token'; deviceId: string };

/** A stable string for a credential: equal strings, same credential. */
export function credentialKey(credential: ConnectionCredential): string {
  switch (credential.kind) {
    case 'shared':
      return `shared:${credential.method}`;
    case 'none-local':
      return 'none-local';
    case 'device-token':
      return `device-token:${credential.deviceId}`;
  }
}

/**
 * Credentials of accepted connections, keyed by the connection's ClientInfo object (the handshake creates one per
 * connection and the server hands that same object out as `conn.client`). Used only while a server does not yet
 * expose `GatewayConnection.credential` itself.
 */
const credentialsByClient = new WeakMap<object, ConnectionCredential>();

export function registerConnectionCredential(client: ClientInfo, credential: ConnectionCredential): void {
  credentialsByClient.set(client, credential);
}

/**
 * The credential a connection authenticated with, or null when the server cannot tell: callers making a security
 * decision must then assume the worst (e.g. that it is the requester's).
 */
export function credentialOf(conn: GatewayConnection): ConnectionCredential | null {
  return conn.credential ?? (conn.client ? credentialsByClient.get(conn.client) : undefined) ?? null;
}

/** An authenticated connection, as modules see it. */
export interface GatewayConnection {
  readonly connId: string;
  readonly role: ConnectionRole;
  /** Granted scopes (already normalized: admin implies read+write, write implies read). */
  readonly scopes: readonly string[];
  /** Present when the client proved a device identity. */
  readonly deviceId?: string;
  /** The credential it authenticated with (see credentialOf, which also covers servers that do not set this). */
  readonly credential?: ConnectionCredential;
  readonly client: ClientInfo;
  readonly caps: readonly string[];
  /** Node claims from `connect` (empty for operators). */
  readonly commands: readonly string[];
  readonly permissions: Readonly<Record<string, boolean>>;
  readonly pathEnv?: string;
  readonly remoteAddress: string;
  readonly locality: Locality;
  readonly connectedAtMs: number;
  /** Sends a targeted event (no `seq`), e.g. `node.invoke.request`. Returns false if the socket is gone. */
  sendEvent(event: string, payload: unknown): boolean;
  close(code: number, reason: string): void;
}

export type { MethodAccess } from '../protocol/gateway-contract';

/** Thrown by handlers to answer `ok:false` with a protocol error; the connection stays open. */
export class GatewayMethodError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
    readonly retryable?: boolean,
  ) {
    super(message);
  }
}

export interface MethodCall<P> {
  params: P;
  conn: GatewayConnection;
  /** The request id, for logging. */
  requestId: string;
  /**
   * Sends an interim `res` for this request (`payload.status === "accepted"`, docs/protocol.md § Transport); the
   * handler's return value is then sent as the final `res` with the same id (two-phase requests).
   */
  sendInterim(payload: unknown): void;
}

/**
 * A method a module serves. The server validates params with `params` before it calls `handler`, so a handler
 * sees exactly the schema's output. Declare methods with `implementMethod`, which ties the handler's params and
 * result types to the contract's schemas; only the agent-runtime refusals (core-module.ts) are written out.
 */
export interface MethodDefinition<P = unknown> {
  name: string;
  access: MethodAccess;
  /** Compiled once at module load; unknown keys should be rejected where the reference does. */
  params: ZodType<P>;
  /** The result schema, for methods of the typed contract: what the server checks answers against in tests. */
  result?: ZodType;
  // Method syntax on purpose: a list of definitions with different params types is a MethodDefinition[].
  handler(call: MethodCall<P>): unknown;
}

/**
 * A method of the typed gateway contract (gateway/protocol/gateway-contract.ts): access and params come from the
 * contract, and the handler must return what the contract's result schema accepts.
 */
export function implementMethod<M extends GatewayMethodName>(
  name: M,
  handler: (call: MethodCall<ValidatedParams<M>>) => MethodResultInput<M> | Promise<MethodResultInput<M>>,
): MethodDefinition {
  const contract: MethodContract = GATEWAY_CONTRACT[name];
  return { name, access: contract.access, params: contract.params, result: contract.result, handler };
}

export interface GatewayHost {
  readonly stateDir: string;
  /** Every authenticated connection currently open. */
  connections(): Iterable<GatewayConnection>;
  /** Broadcast event (carries the per-connection `seq`) to the connections `filter` accepts. */
  broadcast(event: string, payload: unknown, filter?: (conn: GatewayConnection) => boolean): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

export interface GatewayModule {
  readonly name: string;
  methods(): MethodDefinition[];
  /** Events this module may emit, advertised in `hello-ok.features.events`. */
  events(): string[];
  /** Called once when the gateway starts, before it accepts connections. */
  start?(host: GatewayHost): void | Promise<void>;
  /** Called after `hello-ok` was sent. */
  onConnected?(conn: GatewayConnection): void;
  onDisconnected?(conn: GatewayConnection, code: number, reason: string): void;
  stop?(): void | Promise<void>;
}

/** Helpers for the event filters modules need most. */
export function hasScope(conn: GatewayConnection, scope: OperatorScope): boolean {
  if (conn.role !== 'operator') return false;
  return conn.scopes.includes('operator.admin') || conn.scopes.includes(scope);
}
