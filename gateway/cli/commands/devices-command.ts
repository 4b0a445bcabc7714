import { connectGateway, GatewayClientError, type GatewaySession } from '../../client/gateway-client';
import { readOpenClawConfig, resolveGatewaySettings } from '../../config/gateway-config';
import { DevicePairingStore, PairingError, redactPairedDevice } from '../../pairing/device-pairing-store';
import { pinnedCertificateVerifier } from '../../remote/tls-pin';
import { assertGatewayUrlAllowed, normalizeTlsFingerprint } from '../../remote/transport-policy';
import { localGatewayTlsFingerprint } from '../../server/gateway-tls';
import { currentPathEnvironment, resolveConfigPath, resolveStateDir } from '../../state/state-paths';
import { EXIT_FAILURE, parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../cli-io';

const USAGE = `Usage: clawdesk devices <list|approve <requestId>|reject <requestId>|remove <deviceId>> [options]

Manages paired devices. Talks to the running gateway; when none is running, edits the state dir directly.

Options:
  --url ws://HOST:PORT   Gateway URL (default: the local gateway's port)
  --tls-fingerprint FP   The certificate pin for a wss:// --url (the local gateway's own is found by itself)
  --allow-insecure-private-ws  Allow plaintext ws:// to a private-network host (the token and commands travel
                         unencrypted; wss:// or an SSH tunnel is the safe way)
  --token T              Shared token (default: openclaw.json, then OPENCLAW_GATEWAY_TOKEN)
  --password P           Shared password
  --profile NAME         Use the state dir ~/.openclaw-NAME
  --json                 Machine-readable output
`;

/** What the commands need from a pairing backend: the live gateway, or the files when it is down. */
interface PairingBackend {
  list(): Promise<{ pending: any[]; paired: any[] }>;
  approve(requestId: string): Promise<{ requestId: string; device: any }>;
  reject(requestId: string): Promise<{ requestId: string; deviceId: string }>;
  remove(deviceId: string): Promise<{ deviceId: string }>;
  close(): Promise<void>;
  readonly via: string;
}

function gatewayBackend(session: GatewaySession, url: string): PairingBackend {
  return {
    via: url,
    list: () => session.request('device.pair.list', {}),
    approve: (requestId) => session.request('device.pair.approve', { requestId }),
    reject: (requestId) => session.request('device.pair.reject', { requestId }),
    remove: (deviceId) => session.request('device.pair.remove', { deviceId }),
    close: () => session.close(),
  };
}

function fileBackend(store: DevicePairingStore): PairingBackend {
  // The owner at this terminal can already edit these files; acting on them directly carries the same authority.
  const owner = { callerScopes: ['operator.admin'] };
  return {
    via: store.stateDir,
    list: async () => ({ pending: store.listPending(), paired: store.listPaired().map(redactPairedDevice) }),
    approve: async (requestId) => {
      const { request, device } = await store.approve(requestId, owner);
      return { requestId: request.requestId, device: redactPairedDevice(device) };
    },
    reject: async (requestId) => {
      const request = await store.reject(requestId);
      return { requestId, deviceId: request.deviceId };
    },
    remove: async (deviceId) => {
      await store.remove(deviceId);
      return { deviceId };
    },
    close: async () => undefined,
  };
}

async function openBackend(
  values: {
    url?: string;
    token?: string;
    password?: string;
    profile?: string;
    'allow-insecure-private-ws'?: boolean;
    'tls-fingerprint'?: string;
  },
  io: CliIo,
): Promise<PairingBackend> {
  const pathEnv = { ...currentPathEnvironment(), env: io.env };
  const { stateDir } = resolveStateDir(pathEnv, { profile: values.profile });
  const config = await readOpenClawConfig(resolveConfigPath(pathEnv, stateDir));
  const settings = resolveGatewaySettings({ token: values.token, password: values.password }, io.env, config);
  // An explicit URL meets the transport rule (docs/remote-gateways.md § Transport security).
  if (values.url) {
    try {
      assertGatewayUrlAllowed(values.url, { allowInsecurePrivateWs: values['allow-insecure-private-ws'], env: io.env });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  const pinFlag = values['tls-fingerprint'];
  if (pinFlag !== undefined && !(values.url?.toLowerCase().startsWith('wss:') && normalizeTlsFingerprint(pinFlag)))
    throw new UsageError(`--tls-fingerprint takes a SHA-256 fingerprint, with a wss:// --url (got "${pinFlag}")`);
  // A local gateway serving TLS (gateway.tls.enabled) is reached over wss://, pinned to its own certificate.
  const pin =
    pinFlag ??
    (values.url ? undefined : await localGatewayTlsFingerprint(stateDir, config.exists && config.gateway.tls));
  const url = values.url ?? `${settings.tls && !values.url ? 'wss' : 'ws'}://127.0.0.1:${settings.port}`;
  try {
    const session = await connectGateway({
      url,
      ...(pin ? { verifyServerCertificate: pinnedCertificateVerifier(new URL(url).hostname, pin) } : {}),
      clientId: 'cli',
      clientMode: 'cli',
      clientVersion: 'clawdesk',
      scopes: ['operator.admin', 'operator.pairing'],
      token: values.token ?? settings.auth.token ?? io.env.OPENCLAW_GATEWAY_TOKEN,
      password: values.password ?? settings.auth.password ?? io.env.OPENCLAW_GATEWAY_PASSWORD,
      connectTimeoutMs: 10_000,
    });
    return gatewayBackend(session, url);
  } catch (error) {
    const refused = error instanceof GatewayClientError && /ECONNREFUSED/.test(error.message);
    if (!refused || values.url) throw error;
    const store = await DevicePairingStore.open(stateDir);
    for (const report of store.corruptFiles)
      io.stderr(`warning: ${report.error}; moved aside to ${report.quarantinedTo}\n`);
    return fileBackend(store);
  }
}

function age(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

function printList(data: { pending: any[]; paired: any[] }, io: CliIo): void {
  io.stdout(`Pending (${data.pending.length})\n`);
  for (const r of data.pending) {
    io.stdout(
      `  ${r.requestId}  ${r.displayName ?? r.clientId ?? '-'}  device ${String(r.deviceId).slice(0, 12)}…  role ${r.role ?? '-'}  scopes ${(r.scopes ?? []).join(',') || '-'}  ip ${r.remoteIp ?? '-'}${r.isRepair ? '  repair' : ''}  ${age(r.ts)}\n`,
    );
  }
  if (data.pending.length) io.stdout(`  Approve with: clawdesk devices approve <requestId>\n`);
  io.stdout(`Paired (${data.paired.length})\n`);
  for (const d of data.paired) {
    const tokens = (d.tokens ?? []).map((t: any) => `${t.role}${t.revokedAtMs ? ' (revoked)' : ''}`).join(', ');
    io.stdout(
      `  ${d.deviceId}  ${d.displayName ?? d.clientId ?? '-'}  ${d.platform ?? '-'}  roles ${(d.roles ?? []).join(',') || '-'}  scopes ${(d.scopes ?? []).join(',') || '-'}  tokens ${tokens || 'none'}\n`,
    );
  }
}

export const devicesCommand: CliCommand = async (argv, io) => {
  const parsed = parseCommandArgs(
    {
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        token: { type: 'string' },
        password: { type: 'string' },
        profile: { type: 'string' },
        'allow-insecure-private-ws': { type: 'boolean' },
        'tls-fingerprint': { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    },
    USAGE,
  );
  const { values, positionals } = parsed;
  const [sub, target] = positionals;
  if (values.help || !sub) {
    io.stdout(USAGE);
    return values.help ? 0 : 2;
  }
  if (!['list', 'approve', 'reject', 'remove'].includes(sub))
    throw new UsageError(`unknown subcommand "${sub}"\n\n${USAGE}`);
  if (sub !== 'list' && !target)
    throw new UsageError(
      `${sub} needs ${sub === 'remove' ? 'a deviceId' : 'a requestId'} (see \`clawdesk devices list\`)`,
    );
  let backend: PairingBackend;
  try {
    backend = await openBackend(values, io);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.stderr(`clawdesk devices: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  try {
    const out = (value: unknown, text: string) => io.stdout(values.json ? `${JSON.stringify(value, null, 2)}\n` : text);
    switch (sub) {
      case 'list': {
        const data = await backend.list();
        if (values.json) out(data, '');
        else printList(data, io);
        break;
      }
      case 'approve': {
        const result = await backend.approve(target);
        out(
          result,
          `Approved ${result.requestId}: device ${result.device.deviceId} (${(result.device.roles ?? []).join(',')})\n`,
        );
        break;
      }
      case 'reject': {
        const result = await backend.reject(target);
        out(result, `Rejected ${result.requestId} (device ${result.deviceId})\n`);
        break;
      }
      case 'remove': {
        const result = await backend.remove(target);
        out(result, `Removed device ${result.deviceId}\n`);
        break;
      }
    }
    return 0;
  } catch (error) {
    const message =
      error instanceof GatewayClientError || error instanceof PairingError ? error.message : String(error);
    io.stderr(`clawdesk devices ${sub}: ${message}\n`);
    return EXIT_FAILURE;
  } finally {
    await backend.close();
  }
};
