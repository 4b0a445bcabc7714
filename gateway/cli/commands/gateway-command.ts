import {
  ConfigError,
  createConfigWithToken,
  generateGatewayToken,
  readOpenClawConfig,
  requireTlsBeyondLoopback,
  resolveGatewaySettings,
} from '../../config/gateway-config';
import { pinnedCertificateVerifier } from '../../remote/tls-pin';
import {
  describeFingerprint,
  GatewayTlsError,
  loadGatewayTls,
  type GatewayTlsMaterial,
} from '../../server/gateway-tls';
import { gatewayRunExtensions } from '../../node-host/gateway-run-extensions';
import { startGatewayServer, type LogFn } from '../../server/gateway-server';
import { recoverInterruptedMigrations } from '../../state/state-migration';
import { currentPathEnvironment, resolveConfigPath, resolveStateDir } from '../../state/state-paths';
import { EXIT_FAILURE, parseCommandArgs, splitSubcommand, UsageError, type CliCommand } from '../cli-io';

const USAGE = `Usage: clawdesk gateway run [options]

Runs the OpenClaw-compatible gateway in the foreground, with Clawdesk's exec runner attached.

Options:
  --port N                 Port (default: OPENCLAW_GATEWAY_PORT, gateway.port in openclaw.json, or 18789)
  --bind loopback|lan      Listen on 127.0.0.1 (default) or on all interfaces (needs token or password auth,
                           and TLS)
  --tls                    Serve wss:// with the certificate in <state dir>/gateway/tls/ (a self-signed one is
                           generated there on first use and kept); its fingerprint is printed to pin
  --tls-cert FILE          Serve wss:// with this certificate (PEM) ...
  --tls-key FILE           ... and this private key (PEM, unencrypted). Also set by gateway.tls in openclaw.json
  --auth none|token|password
  --token T                Shared token (default: gateway.auth.token in openclaw.json, or OPENCLAW_GATEWAY_TOKEN)
  --password P             Shared password (default: gateway.auth.password, or OPENCLAW_GATEWAY_PASSWORD)
  --no-node                Do not start the exec runner
  --allow-plaintext-keys   When no OS keychain works, keep Clawdesk's device key in a 0600 file
                           (otherwise the runner uses an in-memory key for this run)
  --allow-origin ORIGIN    Allow a browser origin to connect (repeatable); every other Origin is refused
  --always-prompt-pairing  Ask before pairing any device, even the owner's own on this machine
  --approval-timeout S     Longest an exec approval waits for a decision, in seconds (default: what the
                           requester asks, at most 3600); then askFallback decides
  --profile NAME           Use the state dir ~/.openclaw-NAME
  --verbose                Log connections and pairing decisions
`;

export const gatewayCommand: CliCommand = async (argv, io) => {
  const split = splitSubcommand(argv, io, USAGE, ['run'] as const);
  if ('exitCode' in split) return split.exitCode;
  const { rest } = split;
  const { values } = parseCommandArgs(
    {
      args: rest,
      options: {
        port: { type: 'string' },
        bind: { type: 'string' },
        auth: { type: 'string' },
        token: { type: 'string' },
        password: { type: 'string' },
        tls: { type: 'boolean', default: false },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'no-node': { type: 'boolean', default: false },
        'allow-plaintext-keys': { type: 'boolean', default: false },
        'allow-origin': { type: 'string', multiple: true },
        'always-prompt-pairing': { type: 'boolean', default: false },
        'approval-timeout': { type: 'string' },
        profile: { type: 'string' },
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
  let approvalTimeoutMs: number | undefined;
  if (values['approval-timeout'] !== undefined) {
    const seconds = Number(values['approval-timeout']);
    if (!/^\d+$/.test(values['approval-timeout']) || seconds < 1 || seconds > 3600)
      throw new UsageError(
        `--approval-timeout must be whole seconds from 1 to 3600, not "${values['approval-timeout']}"`,
      );
    approvalTimeoutMs = seconds * 1000;
  }
  const pathEnv = { ...currentPathEnvironment(), env: io.env };
  const { stateDir } = resolveStateDir(pathEnv, { profile: values.profile });
  const configPath = resolveConfigPath(pathEnv, stateDir);
  try {
    // A migration killed halfway is rolled forward or back before anything reads the state dir.
    for (const { journal, outcome } of await recoverInterruptedMigrations([stateDir])) {
      io.stdout(`Recovered an interrupted state migration (${journal}): ${JSON.stringify(outcome)}\n`);
    }
  } catch (error) {
    io.stderr(`clawdesk gateway: cannot start: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  let settings;
  let tls: GatewayTlsMaterial | undefined;
  try {
    const config = await readOpenClawConfig(configPath);
    settings = resolveGatewaySettings(values, io.env, config);
    requireTlsBeyondLoopback(settings);
    if (settings.auth.mode === 'token' && !settings.auth.token) {
      if (config.exists) {
        throw new ConfigError(
          `token auth needs a token: pass --token, set OPENCLAW_GATEWAY_TOKEN, or add gateway.auth.token to ${configPath} (or run with --auth none on loopback)`,
        );
      }
      const token = generateGatewayToken();
      await createConfigWithToken(configPath, settings.port, token);
      settings = {
        ...settings,
        auth: { mode: 'token' as const, token },
        sources: { ...settings.sources, secret: `generated, saved to ${configPath}` },
      };
    }
    if (settings.tls)
      tls = await loadGatewayTls(stateDir, settings.tls, (message) =>
        io.stderr(`clawdesk gateway: warning: ${message}\n`),
      );
  } catch (error) {
    if (error instanceof ConfigError || error instanceof GatewayTlsError) {
      io.stderr(`clawdesk gateway: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }

  // Listened for before anything starts: a service manager's SIGTERM right after "listening" must stop the gateway
  // cleanly (clients get 1012), not kill it the default way before the handler exists.
  const stopRequested = io.waitForStopSignal();
  const ext = gatewayRunExtensions;
  const log: LogFn = (level, message, fields) => {
    if (level === 'debug' && !values.verbose) return;
    io.stderr(`[${level}] ${message}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`);
  };
  let gateway;
  try {
    gateway = await startGatewayServer({
      stateDir,
      configPath,
      host: settings.host,
      port: settings.port,
      auth: settings.auth,
      ...(tls ? { tls } : {}),
      allowedOrigins: [...settings.allowedOrigins, ...(values['allow-origin'] ?? [])],
      modules: ext.modules ? await ext.modules({ stateDir, approvalTimeoutMs }) : [],
      alwaysPromptPairing: values['always-prompt-pairing'],
      log,
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE'
        ? `port ${settings.port} is already in use (another gateway running? see \`clawdesk doctor\`)`
        : (error as Error).message;
    io.stderr(`clawdesk gateway: cannot start: ${reason}\n`);
    return EXIT_FAILURE;
  }
  io.stdout(`Clawdesk gateway listening on ${gateway.url}\n`);
  if (tls) {
    const { colons, hex } = describeFingerprint(tls.fingerprint);
    io.stdout(
      `TLS certificate: ${tls.certPath} (${tls.generated ? 'generated now, self-signed' : `valid to ${tls.validTo}`})\n`,
    );
    io.stdout(`TLS fingerprint (SHA-256): ${colons}\n`);
    io.stdout(
      `  pin it on the other machine: clawdesk gateways add <name> wss://<this machine>:${gateway.port} --tls-fingerprint ${hex}\n`,
    );
  }
  io.stdout(`State dir: ${stateDir}\n`);
  io.stdout(
    `Auth: ${settings.auth.mode} (${settings.sources.auth}${settings.sources.secret ? `; secret from ${settings.sources.secret}` : ''})\n`,
  );
  let stopNode: (() => Promise<void>) | undefined;
  if (!values['no-node'] && ext.startNode) {
    try {
      stopNode = await ext.startNode({
        url: gateway.url,
        stateDir,
        token: settings.auth.token,
        password: settings.auth.password,
        io,
        gateway,
        allowPlaintextKeys: values['allow-plaintext-keys'],
        // Its own runner pins the certificate this process just loaded: no trust on first use needed.
        ...(tls
          ? { connection: { verifyServerCertificate: pinnedCertificateVerifier(gateway.host, tls.fingerprint) } }
          : {}),
      });
      io.stdout('Exec runner: connected\n');
    } catch (error) {
      io.stderr(`clawdesk gateway: the exec runner did not start: ${(error as Error).message}\n`);
    }
  } else if (values['no-node']) {
    io.stdout('Exec runner: disabled (--no-node)\n');
  }
  const signal = await stopRequested;
  io.stdout(`Stopping (${signal})...\n`);
  await stopNode?.().catch(() => undefined);
  await gateway.close(`stopped by ${signal}`);
  return 0;
};
