import net from 'node:net';
import { createInterface } from 'node:readline';
import { escapeForTerminal, TerminalApprover } from '../../approvals/approver';
import { clawdeskDataDir, loadClawdeskIdentity } from '../../identity/clawdesk-identity';
import { discoverGateways, isHostName, type DiscoveredGateway } from '../../remote/gateway-discovery';
import {
  RemoteGatewayService,
  type RemoteApprover,
  type RemoteGatewayStatus,
} from '../../remote/remote-gateway-service';
import {
  loadRemoteGatewayTargets,
  readConfiguredRemoteGateway,
  remoteConfigWarnings,
} from '../../remote/remote-gateway-targets';
import {
  OPENCLAW_CONFIG_GATEWAY_NAME,
  suggestGatewayName,
  SavedGatewaysError,
  SavedGatewayStore,
  type GatewayAuthKind,
  type NewGateway,
  type SavedGateway,
  validateNewGateway,
} from '../../remote/saved-gateways';
import { readServerCertificate } from '../../remote/tls-pin';
import { formatTlsFingerprint, normalizeTlsFingerprint } from '../../remote/transport-policy';
import { openSecretStore } from '../../secrets/secret-store';
import { currentPathEnvironment, resolveConfigPath, resolveStateDir } from '../../state/state-paths';
import { EXIT_FAILURE, parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../cli-io';

const USAGE = `Usage: clawdesk gateways <command> [options]

Gateways on other machines (docs/remote-gateways.md). Secrets go to Clawdesk's keychain-backed vault, never to
gateways.json.

Commands:
  add <name> <wss://host:port>       Save a gateway reached directly (its certificate is pinned)
  add <name> --ssh user@host[:port]  Save a gateway reached through an SSH tunnel to its loopback port
  list                               The saved gateways (and openclaw.json's gateway.mode "remote" block)
  remove <name>                      Forget a gateway and its secrets (not the primary while others remain)
  use <name>                         Make a gateway the primary
  pin <name> [--tls-fingerprint FP]  Pin a wss:// gateway's certificate again, after it was replaced on purpose
  runner <name> on|off               Whether Clawdesk's exec runner serves this gateway too
  connect                            Run the approval client on every gateway and the runner on the enabled
                                     ones, in the foreground, printing each gateway's state
  discover [--timeout S]             List the OpenClaw gateways advertising on the local network (mDNS
                                     _openclaw-gw._tcp) and the command to save each; connects to none of them

Options for add:
  --token T | --password P           The gateway's shared secret
  --auth device-token|none           No shared secret: the device token pairing issued, or nothing
  --tls-fingerprint FP               The certificate's SHA-256 (from the gateway machine); without it, add shows
                                     the certificate and asks before pinning it (on a terminal only)
  --advertised-fingerprint FP        The fingerprint a discovered gateway advertised (a hint): shown beside the
                                     certificate the gateway presents; if they differ nothing is pinned
  --system-trust                     Trust the system's CA store instead of a pin
  --allow-insecure-private-ws        Allow plaintext ws:// to this private-network host (or set
                                     OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1); never to a public address
  --remote-port N                    The gateway's port on the SSH host (default 18789)
  --ssh-host-key-policy strict|openssh  strict (default): the host key must already be known; openssh: defer to
                                     your OpenSSH config
  --ssh-identity FILE                The SSH private key to use
  --ssh-known-hosts FILE             Pin the host key with this known_hosts file alone (default: yours)
  --runner                           Also run the exec runner against it
  --primary                          Make it the primary

Options for discover:
  --timeout S                        How long to listen, in seconds (default 3, at most 60)
  --interface ADDR|NAME[,…]          Browse on these IPv4 interfaces only (default: all)

Common options:
  --profile NAME                     Use the state dir ~/.openclaw-NAME
  --allow-plaintext-keys             When no keychain works, keep the vault key in a 0600 file
  --json                             Machine-readable output
`;

export interface GatewaysCommandDeps {
  /** Asks the person a yes/no question; undefined when nobody can answer (no terminal). */
  confirm?: (question: string, io: CliIo) => Promise<boolean | undefined>;
  /** Tests: known_hosts per SSH gateway (the real one is the person's ~/.ssh/known_hosts). */
  knownHostsFile?: (gateway: SavedGateway) => string | undefined;
}

async function terminalConfirm(question: string, io: CliIo): Promise<boolean | undefined> {
  if (!process.stdin.isTTY) return undefined;
  io.stdout(`${question} Type "yes" to confirm: `);
  const rl = createInterface({ input: process.stdin, terminal: false });
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  return line.trim().toLowerCase() === 'yes';
}

const OPTIONS = {
  token: { type: 'string' },
  password: { type: 'string' },
  auth: { type: 'string' },
  ssh: { type: 'string' },
  'remote-port': { type: 'string' },
  'ssh-host-key-policy': { type: 'string' },
  'ssh-identity': { type: 'string' },
  'ssh-known-hosts': { type: 'string' },
  'tls-fingerprint': { type: 'string' },
  'advertised-fingerprint': { type: 'string' },
  timeout: { type: 'string' },
  interface: { type: 'string' },
  'system-trust': { type: 'boolean', default: false },
  'allow-insecure-private-ws': { type: 'boolean', default: false },
  runner: { type: 'boolean', default: false },
  primary: { type: 'boolean', default: false },
  profile: { type: 'string' },
  'allow-plaintext-keys': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseCommandArgs({ args: argv, allowPositionals: true, options: OPTIONS, strict: true }, USAGE);
}

function context(values: Values, io: CliIo) {
  const pathEnv = { ...currentPathEnvironment(), env: io.env };
  const { stateDir } = resolveStateDir(pathEnv, { profile: values.profile });
  const dataDir = io.env.CLAWDESK_DATA_DIR ?? clawdeskDataDir(stateDir);
  const store = new SavedGatewayStore({
    dataDir,
    env: io.env,
    openSecrets: () => openSecretStore({ dir: dataDir, allowPlaintextFallback: values['allow-plaintext-keys'] }),
  });
  return { stateDir, dataDir, store, configPath: resolveConfigPath(pathEnv, stateDir) };
}

function describe(g: SavedGateway): string {
  if (g.transport === 'ssh')
    return `ssh ${g.sshTarget} → 127.0.0.1:${g.remotePort}${g.sshHostKeyPolicy === 'openssh' ? ' (host keys: your OpenSSH config)' : ''}`;
  const trust = g.tlsFingerprint
    ? ` pinned ${formatTlsFingerprint(g.tlsFingerprint).slice(0, 23)}…`
    : g.systemTrust
      ? ' (system CA trust)'
      : '';
  return `${g.url}${trust}`;
}

/** Only what a person or a script may see: no secrets exist in an entry, but say so by construction. */
function publicEntry(g: SavedGateway, primary: boolean, source: 'clawdesk' | 'openclaw.json') {
  return { ...g, primary, source };
}

function newGatewayFrom(name: string, url: string | undefined, values: Values): NewGateway {
  const auth = (values.auth ?? (values.token ? 'token' : values.password ? 'password' : undefined)) as
    GatewayAuthKind | undefined;
  if (!auth) throw new UsageError("give the gateway's --token or --password, or --auth device-token|none");
  if (!['token', 'password', 'device-token', 'none'].includes(auth))
    throw new UsageError(`--auth must be token, password, device-token or none (got "${auth}")`);
  if (values.token && values.password) throw new UsageError('give --token or --password, not both');
  const policy = values['ssh-host-key-policy'];
  if (policy !== undefined && policy !== 'strict' && policy !== 'openssh')
    throw new UsageError(`--ssh-host-key-policy must be strict or openssh (got "${policy}")`);
  const remotePort = values['remote-port'];
  if (remotePort !== undefined && !/^\d{1,5}$/.test(remotePort))
    throw new UsageError(`invalid --remote-port "${remotePort}"`);
  return {
    name,
    ...(url ? { url } : {}),
    ...(values.ssh ? { sshTarget: values.ssh } : {}),
    ...(remotePort ? { remotePort: Number(remotePort) } : {}),
    ...(policy ? { sshHostKeyPolicy: policy } : {}),
    ...(values['ssh-identity'] ? { sshIdentity: values['ssh-identity'] } : {}),
    ...(values['ssh-known-hosts'] ? { sshKnownHostsFile: values['ssh-known-hosts'] } : {}),
    ...(values['tls-fingerprint'] ? { tlsFingerprint: values['tls-fingerprint'] } : {}),
    ...(values['system-trust'] ? { systemTrust: true } : {}),
    ...(values['allow-insecure-private-ws'] ? { allowInsecurePrivateWs: true } : {}),
    auth,
    ...(values.token || values.password ? { secret: values.token ?? values.password } : {}),
    runner: values.runner,
  };
}

/**
 * Trust on first use, only with the person's yes: shows the certificate the server presents now and asks. Without
 * a terminal nobody can say yes, so nothing is pinned and the fingerprint is printed for `--tls-fingerprint`.
 */
async function confirmCertificate(
  url: string,
  name: string,
  io: CliIo,
  confirm: NonNullable<GatewaysCommandDeps['confirm']>,
  json: boolean,
  advertised?: string,
): Promise<string | undefined> {
  const cert = await readServerCertificate(url);
  const shown = formatTlsFingerprint(cert.fingerprint);
  if (advertised && advertised !== cert.fingerprint) {
    // The advertisement is unauthenticated, but a gateway that presents another certificate than it advertises is
    // exactly what an impostor on the LAN looks like: fail closed, the person pins explicitly after checking.
    io.stderr(
      `clawdesk gateways: WARNING — THE CERTIFICATE DOES NOT MATCH THE ADVERTISED FINGERPRINT.\n` +
        `  ${url} presents SHA-256 ${shown}\n` +
        `  its mDNS advertisement said  ${formatTlsFingerprint(advertised)}\n` +
        'Someone on the network may be impersonating the gateway (or the advertisement is stale). Nothing was pinned ' +
        'or saved. Read the fingerprint on the gateway machine; only if it is the presented one, run again with ' +
        `--tls-fingerprint ${cert.fingerprint}\n`,
    );
    return undefined;
  }
  const facts = [
    `The gateway at ${url} presents this certificate:`,
    `  SHA-256:  ${shown}`,
    ...(advertised
      ? ['  (the same fingerprint its mDNS advertisement gave; an advertisement proves nothing by itself)']
      : []),
    `  Subject:  ${escapeForTerminal(cert.subject)}`,
    `  Issuer:   ${escapeForTerminal(cert.issuer)}`,
    `  Valid:    ${cert.validFrom} – ${cert.validTo}`,
    `  CA trust: ${cert.caTrusted ? 'yes' : `no (${cert.caError ?? 'untrusted'})`}`,
    'Compare the fingerprint with the one on the gateway machine before you trust it.',
  ];
  const answer = json ? undefined : (io.stdout(`${facts.join('\n')}\n`), await confirm(`Pin it for "${name}"?`, io));
  if (answer === true) return cert.fingerprint;
  if (answer === false) {
    io.stderr('clawdesk gateways: not pinned; nothing was saved\n');
    return undefined;
  }
  io.stderr(
    `clawdesk gateways: ${url} is not pinned yet and nobody is here to confirm its certificate (SHA-256 ${shown}). ` +
      `After checking it on the gateway machine, run again with --tls-fingerprint ${cert.fingerprint}\n`,
  );
  return undefined;
}

export function createGatewaysCommand(deps: GatewaysCommandDeps = {}): CliCommand {
  const confirm = deps.confirm ?? terminalConfirm;
  return async (argv, io) => {
    const [sub, ...rest] = argv;
    if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
      io.stdout(USAGE);
      return sub ? 0 : 2;
    }
    const { values, positionals } = parse(rest);
    if (values.help) {
      io.stdout(USAGE);
      return 0;
    }
    const { stateDir, dataDir, store, configPath } = context(values, io);
    const fail = (error: unknown): number => {
      if (error instanceof UsageError) throw error;
      io.stderr(`clawdesk gateways ${sub}: ${(error as Error).message}\n`);
      return EXIT_FAILURE;
    };
    const one = (what: string) => {
      if (positionals.length !== 1) throw new UsageError(`${sub} needs ${what}\n\n${USAGE}`);
      const name = positionals[0];
      if (name.toLowerCase() === OPENCLAW_CONFIG_GATEWAY_NAME && sub !== 'list')
        throw new SavedGatewaysError(
          `"${OPENCLAW_CONFIG_GATEWAY_NAME}" is openclaw.json's gateway.remote block; change it in ${configPath}`,
        );
      return name;
    };
    const say = (json: unknown, text: string) => io.stdout(values.json ? `${JSON.stringify(json)}\n` : `${text}\n`);

    try {
      switch (sub) {
        case 'add': {
          if (positionals.length < 1 || positionals.length > 2)
            throw new UsageError(`add needs <name> and a wss:// URL or --ssh user@host\n\n${USAGE}`);
          const [name, url] = positionals;
          const input = newGatewayFrom(name, url, values);
          const advertised = advertisedFingerprint(values, url);
          if (url?.toLowerCase().startsWith('wss:') && !input.tlsFingerprint && !input.systemTrust) {
            // Checked before any network traffic: bad input or a duplicate never costs a connection.
            validateNewGateway({ ...input, systemTrust: true }, io.env);
            if ((await store.read()).gateways.some((g) => g.name.toLowerCase() === name.toLowerCase()))
              throw new SavedGatewaysError(
                `a gateway named "${name}" already exists; remove it first or pick another name`,
              );
            const pinned = await confirmCertificate(url, name, io, confirm, values.json, advertised);
            if (!pinned) return EXIT_FAILURE;
            input.tlsFingerprint = pinned;
          }
          const entry = await store.add(input);
          if (values.primary) await store.use(entry.name);
          const file = await store.read();
          say(
            publicEntry(entry, file.primary === entry.name, 'clawdesk'),
            `Saved "${entry.name}": ${describe(entry)}${file.primary === entry.name ? ' (primary)' : ''}`,
          );
          return 0;
        }
        case 'list': {
          if (positionals.length) throw new UsageError(`list takes no arguments\n\n${USAGE}`);
          const file = await store.read();
          const remote = await readConfiguredRemoteGateway(configPath, io.env);
          const entries = file.gateways.map((g) => publicEntry(g, file.primary === g.name, 'clawdesk'));
          if (remote.kind === 'remote')
            entries.push(publicEntry(remote.remote.gateway, entries.length === 0, 'openclaw.json'));
          const warnings = remoteConfigWarnings(remote);
          if (values.json) {
            io.stdout(
              `${JSON.stringify({ primary: entries.find((e) => e.primary)?.name ?? null, gateways: entries, warnings })}\n`,
            );
            return 0;
          }
          if (!entries.length)
            io.stdout('No gateways saved. Add one with: clawdesk gateways add <name> <wss://host:port>\n');
          for (const e of entries)
            io.stdout(
              `${e.primary ? '*' : ' '} ${e.name}  ${describe(e)}  auth: ${e.auth}${e.runner ? '  runner: on' : ''}${e.source === 'openclaw.json' ? '  (from openclaw.json)' : ''}\n`,
            );
          for (const w of warnings) io.stderr(`warning: ${w}\n`);
          return 0;
        }
        case 'remove': {
          const removed = await store.remove(one('<name>'));
          say({ removed: removed.name }, `Removed "${removed.name}" and its secrets`);
          return 0;
        }
        case 'use': {
          const entry = await store.use(one('<name>'));
          say({ primary: entry.name }, `"${entry.name}" is now the primary gateway`);
          return 0;
        }
        case 'runner': {
          if (positionals.length !== 2 || !['on', 'off'].includes(positionals[1]))
            throw new UsageError(`runner needs <name> and on|off\n\n${USAGE}`);
          const name = positionals[0];
          const entry = await store.setRunner(name, positionals[1] === 'on');
          say(
            { name: entry.name, runner: entry.runner },
            `The exec runner is ${entry.runner ? 'on' : 'off'} for "${entry.name}"`,
          );
          return 0;
        }
        case 'pin': {
          const entry = await store.get(one('<name>'));
          let fingerprint = values['tls-fingerprint'];
          if (fingerprint && !normalizeTlsFingerprint(fingerprint))
            throw new SavedGatewaysError(`invalid TLS fingerprint "${fingerprint}"`);
          if (!fingerprint) {
            if (entry.transport !== 'direct' || !entry.url?.startsWith('wss:'))
              throw new SavedGatewaysError(`"${entry.name}" is not a wss:// gateway; there is no certificate to pin`);
            fingerprint = await confirmCertificate(entry.url, entry.name, io, confirm, values.json);
            if (!fingerprint) return EXIT_FAILURE;
          }
          const pinned = await store.pin(entry.name, fingerprint);
          say(
            publicEntry(pinned, false, 'clawdesk'),
            `Pinned "${pinned.name}" to ${formatTlsFingerprint(pinned.tlsFingerprint!)}`,
          );
          return 0;
        }
        case 'discover':
          if (positionals.length) throw new UsageError(`discover takes no arguments\n\n${USAGE}`);
          return await discover(values, io);
        case 'connect':
          if (positionals.length) throw new UsageError(`connect takes no arguments\n\n${USAGE}`);
          return await connect(values, io, { stateDir, dataDir, store, configPath }, deps);
        default:
          throw new UsageError(`unknown command "${sub}"\n\n${USAGE}`);
      }
    } catch (error) {
      return fail(error);
    }
  };
}

/** `--advertised-fingerprint` only makes sense where add would show a certificate and ask: wss:// without a pin. */
function advertisedFingerprint(values: Values, url: string | undefined): string | undefined {
  const given = values['advertised-fingerprint'];
  if (given === undefined) return undefined;
  const normalized = normalizeTlsFingerprint(given);
  if (!normalized) throw new UsageError(`--advertised-fingerprint "${given}" is not a SHA-256 fingerprint`);
  if (!url?.toLowerCase().startsWith('wss:') || values['tls-fingerprint'] || values['system-trust'])
    throw new UsageError(
      '--advertised-fingerprint goes with a wss:// URL and neither --tls-fingerprint nor --system-trust: it is ' +
        'compared with the certificate add reads before it asks you',
    );
  return normalized;
}

const DEFAULT_DISCOVERY_SECONDS = 3;

async function discover(values: Values, io: CliIo): Promise<number> {
  const timeoutText = values.timeout ?? String(DEFAULT_DISCOVERY_SECONDS);
  const seconds = /^\d+(\.\d+)?$/.test(timeoutText) ? Number(timeoutText) : NaN;
  if (!(seconds > 0 && seconds <= 60))
    throw new UsageError(`--timeout must be a number of seconds above 0 and at most 60 (got "${timeoutText}")`);
  const interfaces = values.interface
    ?.split(',')
    .map((i) => i.trim())
    .filter(Boolean);
  if (values.interface !== undefined && !interfaces?.length)
    throw new UsageError('--interface needs an IPv4 address or an interface name');
  const controller = new AbortController();
  void io.waitForStopSignal().then(() => controller.abort());
  const { gateways, dropped } = await discoverGateways({
    timeoutMs: seconds * 1000,
    signal: controller.signal,
    ...(interfaces ? { interfaces } : {}),
    env: io.env,
  });
  const names = new Set<string>();
  const found = gateways.map((g) => ({ ...g, suggestedName: suggestGatewayName(g, names) }));
  const withCommands = found.map((g) => ({ ...g, addCommand: addCommandFor(g, g.suggestedName) }));
  if (values.json) {
    io.stdout(`${JSON.stringify({ gateways: withCommands, dropped, timeoutMs: seconds * 1000 })}\n`);
    return 0;
  }
  if (!withCommands.length) {
    io.stdout(
      `No OpenClaw gateway answered on the local network within ${seconds} s. mDNS does not cross routers, and ` +
        "OpenClaw's gateway advertises on Linux and Windows only after `openclaw plugins enable bonjour` (and " +
        'not with discovery.mdns.mode "off" or OPENCLAW_DISABLE_BONJOUR=1). Add a gateway by its address with ' +
        'clawdesk gateways add.\n',
    );
  } else {
    io.stdout(
      `Found ${withCommands.length} OpenClaw gateway${withCommands.length === 1 ? '' : 's'} on the local network. ` +
        'Nothing was connected; advertisements are unauthenticated hints, so check before you trust one.\n',
    );
  }
  for (const g of withCommands) {
    const lines = [
      '',
      escapeForTerminal(g.displayName) +
        (g.displayName === g.instanceName ? '' : `  (instance "${escapeForTerminal(g.instanceName)}")`),
      `  URL:       ${g.url}   (advertised by ${g.advertisedFrom}${g.host ? `, host ${g.host}` : ''})`,
      g.tls
        ? `  TLS:       yes; advertised certificate SHA-256 (a hint, not verified): ${g.tlsFingerprintHint ? formatTlsFingerprint(g.tlsFingerprintHint) : 'none given'}`
        : `  TLS:       no (plaintext ws://)${g.plaintext.allowed ? '' : ` — ${g.plaintext.reason}`}`,
      ...(g.sshPort ? [`  SSH port:  ${g.sshPort}`] : []),
      `  Save it:   ${g.addCommand}`,
      ...(g.tls
        ? [
            '             (add reads the certificate the gateway presents, shows it beside the hint and pins it only on your yes)',
          ]
        : g.plaintext.allowed
          ? []
          : ['             (through an SSH tunnel to the gateway host; replace $USER with your login there)']),
    ];
    io.stdout(`${lines.join('\n')}\n`);
  }
  if (dropped)
    io.stderr(
      `warning: ${dropped} more advertisement${dropped === 1 ? ' was' : 's were'} ignored (at most 64 are kept); ` +
        'something on this network is flooding mDNS\n',
    );
  return 0;
}

/**
 * The command that saves a discovered gateway. Every part is validated (a host name or IP, a port, hex) so it is
 * safe to paste into a shell; the secret is left for the person to fill in.
 */
function addCommandFor(g: DiscoveredGateway, name: string): string {
  if (g.tls)
    return `clawdesk gateways add ${name} ${g.url}${g.tlsFingerprintHint ? ` --advertised-fingerprint ${g.tlsFingerprintHint}` : ''} --token "$TOKEN"`;
  if (g.plaintext.allowed) return `clawdesk gateways add ${name} ${g.url} --token "$TOKEN"`;
  const host = new URL(g.url).hostname.replace(/^\[|\]$/g, '');
  const sshHost = net.isIPv6(host) ? `[${host}]` : isHostName(host) ? host : (g.host ?? host);
  return `clawdesk gateways add ${name} --ssh "$USER@${sshHost}${g.sshPort && g.sshPort !== 22 ? `:${g.sshPort}` : ''}" --remote-port ${g.port} --token "$TOKEN"`;
}

async function connect(
  values: Values,
  io: CliIo,
  ctx: ReturnType<typeof context>,
  deps: GatewaysCommandDeps,
): Promise<number> {
  const { targets, warnings } = await loadRemoteGatewayTargets(ctx.store, ctx.configPath, io.env);
  for (const warning of warnings) io.stderr(`clawdesk gateways connect: ${warning}\n`);
  if (!targets.length) {
    io.stderr('clawdesk gateways connect: no gateways saved (clawdesk gateways add)\n');
    return EXIT_FAILURE;
  }
  const identity = await loadClawdeskIdentity({
    dataDir: ctx.dataDir,
    whenUnavailable: 'fail',
    allowPlaintextFallback: values['allow-plaintext-keys'],
  });
  const terminal = new TerminalApprover();
  let chain: Promise<unknown> = Promise.resolve();
  const approver: RemoteApprover = {
    canPresent: () => !values.json && terminal.canPresent(),
    present: (event, signal, origin) => {
      const run = async () => {
        io.stdout(
          `\nExec request from gateway "${escapeForTerminal(origin.gateway)}" (${escapeForTerminal(origin.address)}):`,
        );
        return terminal.present(event, signal);
      };
      const next = chain.then(run, run);
      chain = next.catch(() => undefined);
      return next;
    },
  };
  const service = new RemoteGatewayService({
    identity: identity.signer,
    stateDir: ctx.stateDir,
    approver,
    ...(identity.store ? { deviceTokens: identity.store } : {}),
    env: io.env,
    ...(deps.knownHostsFile ? { knownHostsFile: deps.knownHostsFile } : {}),
    log: (level, message) => level !== 'debug' && !values.json && io.stderr(`[${level}] ${message}\n`),
  });
  const print = (s: RemoteGatewayStatus) => {
    if (values.json) io.stdout(`${JSON.stringify({ event: 'status', ...s })}\n`);
    else
      io.stdout(
        `${s.name}: ${s.state}${s.approvals.detail ? ` — ${s.approvals.detail}` : ''}${s.approvals.pairingRequestId ? ` (pairing request ${s.approvals.pairingRequestId})` : ''}\n`,
      );
  };
  service.on('status', print);
  service.start(targets);
  await io.waitForStopSignal();
  await service.stop();
  return 0;
}

export const gatewaysCommand: CliCommand = createGatewaysCommand();
