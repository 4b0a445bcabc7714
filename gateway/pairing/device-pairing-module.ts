import { DevicePairingStore, PairingError, redactPairedDevice } from './device-pairing-store';
import {
  GatewayMethodError,
  type GatewayConnection,
  type GatewayHost,
  type GatewayModule,
  type MethodDefinition,
  implementMethod,
} from '../server/gateway-module';

function asMethodError(error: unknown): never {
  if (error instanceof PairingError) throw new GatewayMethodError('INVALID_REQUEST', error.message, error.details);
  throw error;
}

/** Non-admin paired-device sessions may manage only their own device (docs/protocol.md § Pairing). */
function assertMayManage(conn: GatewayConnection, deviceId: string): void {
  if (conn.scopes.includes('operator.admin')) return;
  // Device-less sessions exist only for shared-secret holders and the owner's direct-local "none" session.
  if (conn.deviceId === undefined) return;
  if (conn.deviceId !== deviceId) {
    throw new GatewayMethodError(
      'INVALID_REQUEST',
      'device management denied: non-admin sessions may act only on their own device',
      {
        code: 'CROSS_DEVICE_DENIED',
        deviceId,
      },
    );
  }
}

/** Pairing events reach only operators holding operator.pairing or admin (docs/protocol.md § Pairing). */
export function canSeePairingConn(conn: GatewayConnection): boolean {
  return (
    conn.role === 'operator' && (conn.scopes.includes('operator.pairing') || conn.scopes.includes('operator.admin'))
  );
}

/** `device.pair.*` and `device.token.*` (docs/protocol.md § Pairing). */
export function createDevicePairingModule(store: DevicePairingStore): GatewayModule {
  let host: GatewayHost | undefined;

  const closeDeviceSockets = (deviceId: string, role?: string) => {
    for (const conn of host?.connections() ?? []) {
      if (conn.deviceId === deviceId && (role === undefined || conn.role === role)) conn.close(4001, 'device removed');
    }
  };

  const methods: MethodDefinition[] = [
    implementMethod('device.pair.list', () => ({
      pending: store.listPending(),
      paired: store.listPaired().map(redactPairedDevice),
    })),
    implementMethod('device.pair.approve', async ({ params, conn }) => {
      const { request, device } = await store
        .approve(params.requestId, { callerScopes: conn.scopes })
        .catch(asMethodError);
      host?.broadcast(
        'device.pair.resolved',
        { requestId: request.requestId, deviceId: request.deviceId, decision: 'approved', ts: Date.now() },
        canSeePairingConn,
      );
      return { requestId: request.requestId, device: redactPairedDevice(device) };
    }),
    implementMethod('device.pair.reject', async ({ params }) => {
      const request = await store.reject(params.requestId).catch(asMethodError);
      host?.broadcast(
        'device.pair.resolved',
        { requestId: request.requestId, deviceId: request.deviceId, decision: 'rejected', ts: Date.now() },
        canSeePairingConn,
      );
      return { requestId: request.requestId, deviceId: request.deviceId };
    }),
    implementMethod('device.pair.remove', async ({ params, conn }) => {
      assertMayManage(conn, params.deviceId);
      await store.remove(params.deviceId).catch(asMethodError);
      // Answer first, then cut the device's sockets (including, possibly, the caller's own).
      setImmediate(() => closeDeviceSockets(params.deviceId));
      return { deviceId: params.deviceId };
    }),
    implementMethod('device.token.rotate', async ({ params, conn }) => {
      assertMayManage(conn, params.deviceId);
      const entry = await store
        .rotateToken(params.deviceId, params.role, params.scopes, conn.scopes)
        .catch(asMethodError);
      setImmediate(() => closeDeviceSockets(params.deviceId, params.role));
      return {
        deviceId: params.deviceId,
        role: params.role,
        // The new secret goes only to the device itself (or an admin acting for it).
        ...(conn.deviceId === params.deviceId || conn.scopes.includes('operator.admin') ? { token: entry.token } : {}),
        scopes: entry.scopes,
        rotatedAtMs: entry.rotatedAtMs,
      };
    }),
    implementMethod('device.token.revoke', async ({ params, conn }) => {
      assertMayManage(conn, params.deviceId);
      const revokedAtMs = await store.revokeToken(params.deviceId, params.role).catch(asMethodError);
      setImmediate(() => closeDeviceSockets(params.deviceId, params.role));
      return { deviceId: params.deviceId, role: params.role, revokedAtMs };
    }),
  ];

  return {
    name: 'device-pairing',
    methods: () => methods,
    events: () => ['device.pair.requested', 'device.pair.resolved'],
    start(gatewayHost) {
      host = gatewayHost;
    },
  };
}
