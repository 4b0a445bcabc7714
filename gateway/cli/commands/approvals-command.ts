import { connectGateway, GatewayClientError, type GatewaySession } from '../../client/gateway-client';
import { startApprovalClient } from '../../approvals/approval-client';
import { noApprover, TerminalApprover, escapeForTerminal } from '../../approvals/approver';
import { isApprovalDecision } from '../../exec/policy';
import { errorSubCode } from '../../protocol/error-codes';
import { APPROVER_SCOPES, clawdeskDeviceMetadata, cliDeviceSigner } from '../../identity/clawdesk-identity';
import {
  assertTargetTransport,
  GATEWAY_TARGET_OPTIONS,
  resolveGatewayTarget,
  targetConnection,
  type GatewayTarget,
} from '../../node-host/gateway-target';
import { CLAWDESK_VERSION } from '../../version';
import { EXIT_FAILURE, parseCommandArgs, splitSubcommand, UsageError, type CliCommand, type CliIo } from '../cli-io';

const USAGE = `Usage: clawdesk approvals <pending|resolve|watch> [options]

  pending                           List exec approvals waiting for a decision
  resolve <id> <decision>           Decide one: allow-once, allow-always or deny (an unambiguous id prefix is enough)
  watch                             Stay connected as an approval client and prompt on this terminal
                                    (without a terminal every request gets the askFallback policy)

Options:
  --url ws://HOST:PORT   Gateway URL (default: OPENCLAW_GATEWAY_URL, else the local gateway's port)
  --tls-fingerprint FP   The certificate pin for a wss:// --url (the local gateway's own is found by itself)
  --allow-insecure-private-ws  Allow plaintext ws:// to a private-network host (the token and commands travel
                         unencrypted; wss:// or an SSH tunnel is the safe way)
  --port N               Port of the local gateway (when no URL is given)
  --token T / --password P
  --state-dir DIR        State dir (default: OPENCLAW_STATE_DIR or ~/.openclaw)
  --profile NAME
  --no-device            Connect without a device identity (shared token, or auth none on loopback)
  --allow-plaintext-keys When no OS keychain works, keep Clawdesk's device key in a 0600 file instead of
                         connecting without a device (a device-less CLI holding the agent's shared secret
                         counts as the requester and cannot decide the agent's requests)
  --json                 Machine-readable output
`;

/** How the CLI finds its device identity, and says so when it has to go without one. */
interface DeviceChoice {
  noDevice: boolean;
  allowPlaintextKeys: boolean;
  io: Pick<CliIo, 'stderr'>;
}

function deviceSigner(target: GatewayTarget, choice: DeviceChoice) {
  return cliDeviceSigner(target.stateDir, {
    noDevice: choice.noDevice,
    allowPlaintextKeys: choice.allowPlaintextKeys,
    onDeviceless: (reason) =>
      choice.io.stderr(
        `clawdesk approvals: connecting without a device identity (${reason}). With the agent's shared token this ` +
          `CLI counts as the requester and cannot decide its requests; pass --allow-plaintext-keys to keep a key in a 0600 file.\n`,
      ),
  });
}

async function connect(target: GatewayTarget, choice: DeviceChoice): Promise<GatewaySession> {
  const connection = targetConnection(target);
  return connectGateway({
    url: target.url,
    ...(connection ?? {}),
    token: target.token,
    password: target.password,
    device: await deviceSigner(target, choice),
    clientId: 'cli',
    clientMode: 'cli',
    clientVersion: CLAWDESK_VERSION,
    // The same device metadata as Clawdesk's node (one identity, one look), and the scopes OpenClaw's gateway
    // requires to see and resolve an agent's approval.
    ...clawdeskDeviceMetadata(),
    role: 'operator',
    scopes: [...APPROVER_SCOPES],
    connectTimeoutMs: 10_000,
    startupRetries: 4,
  });
}

function describeError(error: unknown): string {
  if (error instanceof GatewayClientError && error.error) {
    const details = error.error.details;
    const code = errorSubCode(details);
    let text = `${error.error.message}${code ? ` (${code})` : ''}`;
    if (code === 'PAIRING_REQUIRED' && typeof details?.requestId === 'string')
      text += `\nApprove this device on the gateway: openclaw devices approve ${details.requestId}`;
    return text;
  }
  return (error as Error).message;
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

async function pending(session: GatewaySession, io: CliIo, json: boolean): Promise<number> {
  // Read as unknown on purpose: an older OpenClaw gateway answers `{ approvals }` instead of the bare array.
  const result: unknown = await session.request('exec.approval.list', {}, { timeoutMs: 10_000 });
  const wrapped = (result as { approvals?: unknown } | null)?.approvals;
  const list: any[] = Array.isArray(result) ? result : Array.isArray(wrapped) ? wrapped : [];
  if (json) {
    io.stdout(`${JSON.stringify(list, null, 2)}\n`);
    return 0;
  }
  if (!list.length) {
    io.stdout('No pending exec approvals.\n');
    return 0;
  }
  const now = Date.now();
  for (const item of list) {
    const r = item.request ?? {};
    io.stdout(`${item.id}\n`);
    io.stdout(`  command:  ${escapeForTerminal(String(r.command ?? r.commandPreview ?? ''))}\n`);
    if (r.cwd) io.stdout(`  cwd:      ${escapeForTerminal(String(r.cwd))}\n`);
    if (r.host || r.nodeId) io.stdout(`  host:     ${r.host ?? ''}${r.nodeId ? ` ${r.nodeId}` : ''}\n`);
    if (r.agentId) io.stdout(`  agent:    ${r.agentId}\n`);
    io.stdout(`  allowed:  ${(r.allowedDecisions ?? ['allow-once', 'allow-always', 'deny']).join(', ')}\n`);
    if (item.expiresAtMs) io.stdout(`  expires:  in ${formatAge(item.expiresAtMs - now)}\n`);
  }
  io.stdout(`\nResolve with: clawdesk approvals resolve <id> allow-once|allow-always|deny\n`);
  return 0;
}

export const approvalsCommand: CliCommand = async (argv, io) => {
  const split = splitSubcommand(argv, io, USAGE, ['pending', 'resolve', 'watch', 'list'] as const);
  if ('exitCode' in split) return split.exitCode;
  const { sub, rest } = split;
  const { values, positionals } = parseCommandArgs(
    {
      args: rest,
      allowPositionals: true,
      options: {
        ...GATEWAY_TARGET_OPTIONS,
        'no-device': { type: 'boolean', default: false },
        'allow-plaintext-keys': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    },
    USAGE,
  );
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  if (sub === 'resolve') {
    if (positionals.length !== 2) throw new UsageError(`resolve needs <id> and <decision>\n\n${USAGE}`);
    if (!isApprovalDecision(positionals[1]))
      throw new UsageError(`decision must be allow-once, allow-always or deny (got "${positionals[1]}")`);
  } else if (positionals.length) {
    throw new UsageError(`unexpected argument "${positionals[0]}"\n\n${USAGE}`);
  }
  let target;
  try {
    target = await resolveGatewayTarget(values, io.env);
    assertTargetTransport(target, values, io.env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }

  const choice: DeviceChoice = {
    noDevice: values['no-device'],
    allowPlaintextKeys: values['allow-plaintext-keys'],
    io,
  };
  if (sub === 'watch') {
    const terminal = new TerminalApprover();
    let client;
    try {
      client = await startApprovalClient({
        url: target.url,
        connection: targetConnection(target),
        token: target.token,
        password: target.password,
        identity: await deviceSigner(target, choice),
        approver: terminal.canPresent() ? terminal : noApprover,
        stateDir: target.stateDir,
        clientId: 'cli',
        clientMode: 'cli',
        displayName: 'Clawdesk terminal',
        log: (level, message) => level !== 'debug' && io.stderr(`[${level}] ${message}\n`),
        onOutcome: (o) =>
          io.stdout(
            o.decision === null
              ? `${o.id}: no answer; askFallback=allowlist leaves it to the node's allowlist when it expires\n`
              : `${o.id}: ${o.decision}${o.source === 'fallback' ? ' (askFallback)' : ''}${o.error ? ` — not applied: ${o.error}` : ''}\n`,
          ),
      });
    } catch (error) {
      io.stderr(`clawdesk approvals: ${describeError(error)}\n`);
      return EXIT_FAILURE;
    }
    io.stdout(
      `Watching ${target.url} for exec approvals${terminal.canPresent() ? '' : ' (no terminal: askFallback decides)'}. Ctrl-C to stop.\n`,
    );
    await io.waitForStopSignal();
    await client.stop();
    return 0;
  }

  let session: GatewaySession;
  try {
    session = await connect(target, choice);
  } catch (error) {
    io.stderr(`clawdesk approvals: cannot connect to ${target.url}: ${describeError(error)}\n`);
    return EXIT_FAILURE;
  }
  try {
    if (sub === 'pending' || sub === 'list') return await pending(session, io, values.json);
    const [id, decision] = positionals;
    await session.request('exec.approval.resolve', { id, decision }, { timeoutMs: 10_000 });
    io.stdout(values.json ? `${JSON.stringify({ ok: true, id, decision })}\n` : `Resolved ${id}: ${decision}\n`);
    return 0;
  } catch (error) {
    io.stderr(`clawdesk approvals: ${describeError(error)}\n`);
    return EXIT_FAILURE;
  } finally {
    await session.close().catch(() => undefined);
  }
};
