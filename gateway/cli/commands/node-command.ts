import { loadOrCreateFileIdentity } from '../../node-host/file-identity';
import { clawdeskDataDir, IdentityNotPersistableError, loadClawdeskIdentity } from '../../identity/clawdesk-identity';
import {
  assertTargetTransport,
  GATEWAY_TARGET_OPTIONS,
  resolveGatewayTarget,
  targetConnection,
} from '../../node-host/gateway-target';
import { startNodeHost } from '../../node-host/node-host';
import { EXIT_FAILURE, parseCommandArgs, splitSubcommand, UsageError, type CliCommand } from '../cli-io';

const USAGE = `Usage: clawdesk node run [options]

Runs Clawdesk's exec runner as an OpenClaw node against any gateway (Clawdesk's or openclaw's).
Commands run under <state dir>/exec-approvals.json.

Options:
  --url ws://HOST:PORT   Gateway URL (default: OPENCLAW_GATEWAY_URL, else the local gateway's port)
  --tls-fingerprint FP   The certificate pin for a wss:// --url (the local gateway's own is found by itself)
  --allow-insecure-private-ws  Allow plaintext ws:// to a private-network host (the token and commands travel
                         unencrypted; wss:// or an SSH tunnel is the safe way)
  --port N               Port of the local gateway (when no URL is given)
  --token T              Shared token (default: OPENCLAW_GATEWAY_TOKEN; openclaw.json only without --url)
  --password P           Shared password (default: OPENCLAW_GATEWAY_PASSWORD)
  --state-dir DIR        State dir (default: OPENCLAW_STATE_DIR or ~/.openclaw)
  --profile NAME         Use the state dir ~/.openclaw-NAME
  --display-name NAME    Name shown in \`openclaw nodes status\`
  --identity FILE        Keep the device key in this 0600 file instead of the OS keychain
  --allow-plaintext-keys When no keychain works, keep the key in a 0600 file in the state dir
  --verbose              Log every command
`;

export const nodeCommand: CliCommand = async (argv, io) => {
  const split = splitSubcommand(argv, io, USAGE, ['run'] as const);
  if ('exitCode' in split) return split.exitCode;
  const { rest } = split;
  const { values } = parseCommandArgs(
    {
      args: rest,
      options: {
        ...GATEWAY_TARGET_OPTIONS,
        'display-name': { type: 'string' },
        identity: { type: 'string' },
        'allow-plaintext-keys': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
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
  let target;
  try {
    target = await resolveGatewayTarget(values, io.env);
    assertTargetTransport(target, values, io.env);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  let identity;
  try {
    // A node's pairing must survive restarts, so an in-memory key is not an option here.
    identity = values.identity
      ? await loadOrCreateFileIdentity(values.identity)
      : (
          await loadClawdeskIdentity({
            dataDir: clawdeskDataDir(target.stateDir),
            allowPlaintextFallback: values['allow-plaintext-keys'],
            whenUnavailable: 'fail',
          })
        ).signer;
  } catch (error) {
    if (error instanceof IdentityNotPersistableError) {
      io.stderr(`clawdesk node: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }
  const log = (level: string, message: string) => {
    if (level === 'debug' && !values.verbose) return;
    io.stderr(`[${level}] ${message}\n`);
  };
  io.stdout(`Clawdesk node ${identity.deviceId}\nConnecting to ${target.url} (${target.source})...\n`);
  let node;
  try {
    node = await startNodeHost({
      url: target.url,
      connection: targetConnection(target),
      token: target.token,
      password: target.password,
      identity,
      stateDir: target.stateDir,
      displayName: values['display-name'],
      log,
      onExecEvent: values.verbose
        ? (event, payload) => io.stderr(`[exec] ${event} ${String(payload.command ?? '')}\n`)
        : undefined,
    });
  } catch (error) {
    io.stderr(`clawdesk node: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  io.stdout(`Connected. Exec approvals: ${target.stateDir}/exec-approvals.json\n`);
  if (node.legacyApprovals.kind === 'imported')
    io.stdout(`Imported legacy exec approvals from ${node.legacyApprovals.legacyPath}\n`);
  const signal = await io.waitForStopSignal();
  io.stdout(`Stopping (${signal})...\n`);
  await node.stop();
  return 0;
};
