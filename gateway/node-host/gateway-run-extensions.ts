import path from 'node:path';
import { TerminalApprover } from '../approvals/approver';
import { createExecModules, type ExecModules } from '../approvals/exec-modules';
import type { CliIo } from '../cli/cli-io';
import { readJsonFile, writeJsonAtomic } from '../fs/atomic-file';
import { CLI_KEYCHAIN_HINT, clawdeskDataDir, loadClawdeskIdentity } from '../identity/clawdesk-identity';
import type { DevicePairingStore } from '../pairing/device-pairing-store';
import type { GatewayModule } from '../server/gateway-module';
import type { RunningGateway } from '../server/gateway-server';
import { startOwnClients, trustOwnClients, type OwnClientsOptions } from './own-clients';

/** Extra parts the composition root wires in (the exec runner and approvals). */
export interface GatewayRunExtensions {
  modules?: (ctx: {
    stateDir: string;
    /** `--approval-timeout`: how long an exec approval waits for a decision at most. */
    approvalTimeoutMs?: number;
  }) => GatewayModule[] | Promise<GatewayModule[]>;
  /** Starts the exec runner against the running gateway; returns its stop function. */
  startNode?: (ctx: {
    url: string;
    stateDir: string;
    token?: string;
    password?: string;
    io: CliIo;
    gateway?: RunningGateway;
    /** The user accepted a 0600 key file when no keychain works (--allow-plaintext-keys). */
    allowPlaintextKeys?: boolean;
    /** On a wss:// gateway: the pin of its own certificate. */
    connection?: OwnClientsOptions['connection'];
  }) => Promise<() => Promise<void>>;
}

/** Public ids of in-memory identities used by earlier runs, so their pairing records can be cleared. */
function ephemeralDevicesPath(stateDir: string): string {
  return path.join(clawdeskDataDir(stateDir), 'ephemeral-devices.json');
}

/**
 * Forgets the device and node records that earlier runs' in-memory identities left behind (they can never connect
 * again), and remembers the current one when it is in-memory too.
 */
async function pruneEphemeralDevices(
  stateDir: string,
  pairing: DevicePairingStore,
  exec: ExecModules,
  current: { deviceId: string; ephemeral: boolean },
): Promise<void> {
  const file = ephemeralDevicesPath(stateDir);
  const read = await readJsonFile<{ deviceIds: string[] }>(file, {
    parse: (v) => {
      const ids = (v as { deviceIds?: unknown })?.deviceIds;
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
        throw new Error('expected {deviceIds: string[]}');
      return { deviceIds: ids };
    },
  });
  const previous = read.kind === 'ok' ? read.value.deviceIds : [];
  for (const deviceId of previous) {
    if (deviceId === current.deviceId) continue;
    if (pairing.getPaired(deviceId)) await pairing.remove(deviceId).catch(() => undefined);
    await exec.registry.forgetNode(deviceId).catch(() => false);
  }
  const next = current.ephemeral ? [current.deviceId] : [];
  if (previous.length || next.length) await writeJsonAtomic(file, { deviceIds: next });
}

/**
 * What `clawdesk gateway run` plugs in: the exec modules, Clawdesk's own runner (pre-approved when it connects
 * direct-local), and a terminal approval prompt when the gateway runs in a terminal. The runner and the approval
 * client share Clawdesk's one device identity, held in the OS keychain.
 */
export function createGatewayRunExtensions(deps: { isTTY?: () => boolean } = {}): GatewayRunExtensions {
  let exec: ExecModules | undefined;
  return {
    modules: async ({ approvalTimeoutMs }) => {
      exec = createExecModules({ maxTimeoutMs: approvalTimeoutMs });
      return exec.modules;
    },
    startNode: async ({ url, stateDir, token, password, io, gateway, allowPlaintextKeys, connection }) => {
      const loaded = await loadClawdeskIdentity({
        dataDir: clawdeskDataDir(stateDir),
        allowPlaintextFallback: allowPlaintextKeys,
        whenUnavailable: 'ephemeral',
      });
      if (loaded.warning)
        io.stderr(`clawdesk: ${loaded.warning}${loaded.persistence === 'ephemeral' ? ` ${CLI_KEYCHAIN_HINT}` : ''}\n`);
      const identity = loaded.signer;
      io.stdout(
        `Device identity: ${identity.deviceId.slice(0, 16)}… (${loaded.persistence === 'ephemeral' ? 'in memory for this run' : `key in ${loaded.persistence}`})\n`,
      );
      if (exec && gateway) {
        await pruneEphemeralDevices(stateDir, gateway.pairing, exec, {
          deviceId: identity.deviceId,
          ephemeral: loaded.persistence === 'ephemeral',
        });
        await trustOwnClients(gateway.pairing, exec, identity);
      } else {
        exec?.approveNodeSilently(identity.deviceId);
      }
      const log = (level: string, message: string) => {
        if (level !== 'debug') io.stderr(`[exec] ${message}\n`);
      };
      const onTerminal = deps.isTTY ? deps.isTTY() : Boolean(process.stdin.isTTY);
      const own = await startOwnClients({
        url,
        connection,
        token,
        password,
        identity,
        stateDir,
        log,
        approvals: onTerminal
          ? { approver: new TerminalApprover(), clientId: 'cli', clientMode: 'cli', displayName: 'Clawdesk terminal' }
          : undefined,
      });
      io.stdout(
        onTerminal
          ? 'Exec approvals: prompting on this terminal\n'
          : 'Exec approvals: no terminal here; requests go to a connected approval client (the desktop app, or `clawdesk approvals watch`), otherwise askFallback decides\n',
      );
      return () => own.stop();
    },
  };
}

export const gatewayRunExtensions: GatewayRunExtensions = createGatewayRunExtensions();
