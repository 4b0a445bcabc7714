import path from 'node:path';
import { TerminalApprover } from '../../approvals/approver';
import { CLI_KEYCHAIN_HINT, clawdeskDataDir, loadClawdeskIdentity } from '../../identity/clawdesk-identity';
import { attachClawdesk, type ClawdeskAttachment } from '../../openclaw/attach';
import { resolveOpenclawTarget } from '../../openclaw/gateway-target';
import { locateOpenclawInstall } from '../../openclaw/install';
import {
  installOpenclaw,
  isPinnableOpenclawVersion,
  OpenclawInstallError,
  PINNED_OPENCLAW_VERSION,
  uninstallOpenclaw,
} from '../../openclaw/installer';
import { findPortOwner, findServiceOwner, probeGatewayPort } from '../../openclaw/port-owner';
import { embeddingEnvironment, OpenclawSupervisor, type SupervisorStatus } from '../../openclaw/supervisor';
import { controlUiLink, type ControlUiError } from '../../openclaw/control-ui';
import {
  liveSupervisorRecord,
  processAlive,
  removeSupervisorRecord,
  requestSupervisorStop,
  supervisorLogPath,
  watchStopRequest,
  writeSupervisorRecord,
} from '../../openclaw/supervisor-record';
import { parsePortValue } from '../../config/gateway-config';
import {
  EXIT_FAILURE,
  EXIT_OK,
  parseCommandArgs,
  splitSubcommand,
  UsageError,
  type CliCommand,
  type CliIo,
} from '../cli-io';

const USAGE = `Usage: clawdesk openclaw start|stop|status|install|uninstall|dashboard [options]

Runs OpenClaw's own gateway under Clawdesk's supervision, with Clawdesk attached as its node and approver.

  start    Start OpenClaw's gateway in the foreground and keep it running (restarts with backoff, repairs a refused
           config once with \`openclaw doctor --fix\`); attaches instead when a gateway already runs on the port.
           SIGINT/SIGTERM stop it; a gateway Clawdesk did not start keeps running.
  stop     Stop the gateway a \`clawdesk openclaw start\` supervises (never one Clawdesk did not start).
  status   Show who runs the gateway on the port and in what state. Exit 0 when a gateway answers there.
  install  Install openclaw@<pinned> and a Node runtime from npm into Clawdesk's data dir (<state dir>/clawdesk/openclaw),
           checking the sha512 of what npm delivered; never global, never sudo. Replaces an earlier one it installed.
  uninstall Remove that install (only one Clawdesk made; OpenClaw's own state is left alone).
  dashboard Print a one-time link that opens the running gateway's Control UI signed in (OpenClaw's
           \`dashboard --json\`: a short-lived owner bootstrap, never the shared token). Opens nothing.

Options:
  --install DIR          OpenClaw install: a directory holding node_modules/openclaw (default: <state dir>/clawdesk/openclaw)
  --node PATH            Node runtime for OpenClaw (default: the one npm installed beside it)
  --port N               Gateway port (default: OPENCLAW_GATEWAY_PORT, gateway.port in openclaw.json, or 18789)
  --profile NAME         Use the state dir ~/.openclaw-NAME
  --no-node              (start) Do not attach Clawdesk's exec runner and approval prompt
  --allow-plaintext-keys (start) When no OS keychain works, keep Clawdesk's device key in a 0600 file
  --version V            (install) openclaw version to install (default: the pinned ${PINNED_OPENCLAW_VERSION})
  --json                 Machine-readable output (start: one status object per line; install: progress lines)
`;

const OPTIONS = {
  install: { type: 'string' },
  node: { type: 'string' },
  port: { type: 'string' },
  profile: { type: 'string' },
  'no-node': { type: 'boolean', default: false },
  'allow-plaintext-keys': { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  version: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Flags = {
  install?: string;
  node?: string;
  port?: string;
  profile?: string;
  'no-node': boolean;
  'allow-plaintext-keys': boolean;
  json: boolean;
  version?: string;
};

function childEnv(io: CliIo, flags: Flags): NodeJS.ProcessEnv {
  return flags.profile ? { ...io.env, OPENCLAW_PROFILE: flags.profile } : io.env;
}

async function context(io: CliIo, flags: Flags) {
  const port = flags.port === undefined ? undefined : parsePortValue(flags.port);
  if (flags.port !== undefined && !port) throw new UsageError(`invalid --port "${flags.port}"`);
  const env = childEnv(io, flags);
  const target = await resolveOpenclawTarget(env, { port, profile: flags.profile });
  const dataDir = clawdeskDataDir(target.stateDir);
  return { env, target, dataDir, port };
}

function printStatus(io: CliIo, flags: Flags, status: SupervisorStatus | Record<string, unknown>): void {
  if (flags.json) {
    io.stdout(`${JSON.stringify(status)}\n`);
    return;
  }
  const s = status as SupervisorStatus;
  io.stdout(`OpenClaw gateway: ${s.state} - ${s.reason}\n`);
  if (s.fix) io.stdout(`  Fix: ${s.fix}\n`);
  if (s.warning) io.stdout(`  Warning: ${s.warning.message}\n  Fix: ${s.warning.fix}\n`);
}

const start = async (io: CliIo, flags: Flags): Promise<number> => {
  const { env, dataDir, port } = await context(io, flags);
  const existing = liveSupervisorRecord(dataDir);
  if (existing) {
    io.stderr(
      `clawdesk openclaw: already supervised by \`clawdesk openclaw start\` (PID ${existing.supervisorPid}); see \`clawdesk openclaw status\`\n`,
    );
    return EXIT_FAILURE;
  }
  const found = locateOpenclawInstall({ installPath: flags.install, nodePath: flags.node, dataDir });
  if (!found.ok) {
    printStatus(io, flags, { state: 'failed', code: found.code, reason: found.reason, fix: found.fix });
    return EXIT_FAILURE;
  }
  const install = found.install;
  const supervisor = new OpenclawSupervisor({
    install,
    env,
    port,
    profile: flags.profile,
    logFile: supervisorLogPath(dataDir),
  });
  const startedAt = Date.now();
  const record = (status: SupervisorStatus) =>
    writeSupervisorRecord(dataDir, {
      supervisorPid: process.pid,
      childPid: supervisor.childPid(),
      startedAt,
      install: {
        entry: install.entry,
        nodeBin: install.nodeBin,
        openclawVersion: install.openclawVersion,
        nodeVersion: install.nodeVersion,
      },
      status,
    }).catch(() => undefined);
  let writes = Promise.resolve();
  supervisor.on('status', (status: SupervisorStatus) => {
    printStatus(io, flags, status);
    writes = writes.then(() => record(status));
  });
  if (!flags.json)
    io.stdout(
      `OpenClaw ${install.openclawVersion} (${install.entry}) on Node ${install.nodeVersion}\nLog: ${supervisorLogPath(dataDir)}\n`,
    );
  let cancelStopWatch: () => void = () => undefined;
  const stopSignal = Promise.race([
    io.waitForStopSignal(),
    new Promise<'stop-request'>((resolve) => {
      cancelStopWatch = watchStopRequest(dataDir, process.pid, () => resolve('stop-request'));
    }),
  ]);
  const finish = async (code: number) => {
    cancelStopWatch();
    await supervisor.dispose();
    await writes;
    removeSupervisorRecord(dataDir, process.pid);
    return code;
  };
  const started = supervisor.start();
  const first = await Promise.race([started.then(() => 'started' as const), stopSignal.then(() => 'signal' as const)]);
  if (first === 'signal') return finish(EXIT_OK);
  const state = supervisor.status().state;
  if (state !== 'running' && state !== 'attached') return finish(EXIT_FAILURE);

  let attachment: ClawdeskAttachment | undefined;
  if (!flags['no-node']) {
    try {
      const loaded = await loadClawdeskIdentity({
        dataDir,
        allowPlaintextFallback: flags['allow-plaintext-keys'],
        whenUnavailable: 'ephemeral',
      });
      if (loaded.warning)
        io.stderr(`clawdesk: ${loaded.warning}${loaded.persistence === 'ephemeral' ? ` ${CLI_KEYCHAIN_HINT}` : ''}\n`);
      const creds = supervisor.credentials();
      const interactive = Boolean(process.stdin.isTTY) && !flags.json;
      attachment = await attachClawdesk({
        url: creds.url,
        token: creds.token,
        password: creds.password,
        identity: loaded.signer,
        // Not OpenClaw's state dir: an exec-approvals.json there makes OpenClaw 2026.9.6 refuse every exec.
        stateDir: path.join(dataDir, 'node'),
        approver: interactive ? new TerminalApprover() : undefined,
        approverClient: { clientId: 'cli', clientMode: 'cli', displayName: 'Clawdesk terminal' },
        log: (level, message) => level !== 'debug' && io.stderr(`[exec] ${message}\n`),
      });
      if (flags.json)
        io.stdout(
          `${JSON.stringify({ runner: 'connected', nodeId: loaded.signer.deviceId, approver: interactive })}\n`,
        );
      else {
        io.stdout(`Exec runner: connected as node ${loaded.signer.deviceId.slice(0, 16)}…\n`);
        io.stdout(
          interactive
            ? 'Exec approvals: prompting on this terminal\n'
            : 'Exec approvals: no terminal here; another approval client or askFallback decides\n',
        );
      }
    } catch (error) {
      io.stderr(`clawdesk openclaw: the exec runner did not attach: ${(error as Error).message}\n`);
    }
  }
  // Until a stop signal, or a failure the supervisor will not recover from by itself.
  const failed = supervisor.waitFor(['failed'], null).then(() => 'failed' as const);
  const outcome = await Promise.race([stopSignal.then(() => 'signal' as const), failed]);
  await attachment?.stop();
  return finish(outcome === 'failed' ? EXIT_FAILURE : EXIT_OK);
};

const stop = async (io: CliIo, flags: Flags): Promise<number> => {
  const { target, dataDir } = await context(io, flags);
  const record = liveSupervisorRecord(dataDir);
  if (!record) {
    const probe = await probeGatewayPort(target.port);
    const reason =
      probe.kind === 'openclaw'
        ? `the gateway on port ${target.port} was not started by Clawdesk; it is left running (stop it where it was started, e.g. \`openclaw gateway stop\`)`
        : 'no Clawdesk-supervised OpenClaw gateway is running';
    printStatus(io, flags, {
      state: probe.kind === 'openclaw' ? 'external' : 'stopped',
      stopped: false,
      reason,
      port: target.port,
    });
    return EXIT_OK;
  }
  const external = record.status.mode === 'external';
  try {
    // Windows has no SIGTERM: a signal there would kill the supervisor outright and orphan its child.
    if (process.platform === 'win32') await requestSupervisorStop(dataDir, record.supervisorPid);
    else process.kill(record.supervisorPid, 'SIGTERM');
  } catch (error) {
    io.stderr(
      `clawdesk openclaw: cannot signal the supervisor (PID ${record.supervisorPid}): ${(error as Error).message}\n`,
    );
    return EXIT_FAILURE;
  }
  // The supervisor stops its child and waits for it before it exits itself.
  const deadline = Date.now() + 60_000;
  while (processAlive(record.supervisorPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (processAlive(record.supervisorPid)) {
    io.stderr(`clawdesk openclaw: the supervisor (PID ${record.supervisorPid}) has not exited after 60 s\n`);
    return EXIT_FAILURE;
  }
  const childLeft = record.childPid !== undefined && processAlive(record.childPid);
  const reason = external
    ? `Clawdesk detached; the gateway on port ${record.status.port} (${record.status.owner ?? 'not started by Clawdesk'}) keeps running`
    : childLeft
      ? `the supervisor exited but OpenClaw's gateway (PID ${record.childPid}) still runs`
      : `stopped OpenClaw's gateway on port ${record.status.port}`;
  printStatus(io, flags, {
    state: external ? 'external' : childLeft ? 'failed' : 'stopped',
    stopped: !external && !childLeft,
    reason,
    port: record.status.port,
  });
  return childLeft ? EXIT_FAILURE : EXIT_OK;
};

const status = async (io: CliIo, flags: Flags): Promise<number> => {
  const { target, dataDir } = await context(io, flags);
  const record = liveSupervisorRecord(dataDir);
  const probe = await probeGatewayPort(target.port);
  if (record) {
    printStatus(io, flags, { ...record.status, supervisorPid: record.supervisorPid, install: record.install });
    return probe.kind === 'openclaw' ? EXIT_OK : EXIT_FAILURE;
  }
  const url = `ws://127.0.0.1:${target.port}`;
  if (probe.kind === 'free') {
    printStatus(io, flags, {
      state: 'stopped',
      reason: `nothing listens on port ${target.port}`,
      port: target.port,
      url,
    });
    return EXIT_FAILURE;
  }
  const owner = await findPortOwner(target.port);
  const service = owner ? await findServiceOwner(owner.pid) : undefined;
  const who = service
    ? `${service.manager} ${service.name}${owner ? ` (PID ${owner.pid})` : ''}`
    : owner
      ? `${owner.name ?? 'a process'} (PID ${owner.pid})`
      : 'a process the OS does not name';
  if (probe.kind === 'openclaw') {
    printStatus(io, flags, {
      state: 'external',
      mode: 'external',
      reason: `an OpenClaw gateway Clawdesk did not start runs on port ${target.port}, owned by ${who}`,
      port: target.port,
      url,
      pid: owner?.pid,
      owner: who,
      service,
    });
    return EXIT_OK;
  }
  printStatus(io, flags, {
    state: 'failed',
    code: 'port-busy',
    reason: `port ${target.port} is held by ${who}: ${probe.detail}`,
    fix: 'Stop that program or give OpenClaw another port.',
    port: target.port,
    pid: owner?.pid,
    owner: who,
  });
  return EXIT_FAILURE;
};

const install = async (io: CliIo, flags: Flags): Promise<number> => {
  if (flags.version !== undefined && !isPinnableOpenclawVersion(flags.version))
    throw new UsageError(
      `--version takes a plain version such as ${PINNED_OPENCLAW_VERSION}, not ${JSON.stringify(flags.version)}`,
    );
  const { dataDir } = await context(io, flags);
  if (liveSupervisorRecord(dataDir)) {
    io.stderr('clawdesk openclaw: stop the running supervisor first (`clawdesk openclaw stop`)\n');
    return EXIT_FAILURE;
  }
  try {
    const installed = await installOpenclaw({
      dataDir,
      openclawSpec: flags.version ? `openclaw@${flags.version}` : undefined,
      onProgress: (p) =>
        io.stdout(flags.json ? `${JSON.stringify(p)}\n` : `[${Math.round(p.fraction * 100)}%] ${p.message}\n`),
    });
    if (flags.json) io.stdout(`${JSON.stringify({ installed: true, ...installed })}\n`);
    return EXIT_OK;
  } catch (error) {
    const e = error as OpenclawInstallError;
    printStatus(io, flags, { state: 'failed', code: e.code ?? 'install-failed', reason: e.message, fix: e.fix });
    return EXIT_FAILURE;
  }
};

const uninstall = async (io: CliIo, flags: Flags): Promise<number> => {
  const { dataDir } = await context(io, flags);
  if (liveSupervisorRecord(dataDir)) {
    io.stderr('clawdesk openclaw: stop the running supervisor first (`clawdesk openclaw stop`)\n');
    return EXIT_FAILURE;
  }
  try {
    const removed = await uninstallOpenclaw(dataDir);
    printStatus(io, flags, {
      state: 'stopped',
      removed,
      reason: removed ? "removed Clawdesk's OpenClaw install" : 'Clawdesk has no OpenClaw install to remove',
    });
    return EXIT_OK;
  } catch (error) {
    const e = error as OpenclawInstallError;
    printStatus(io, flags, { state: 'failed', code: e.code, reason: e.message, fix: e.fix });
    return EXIT_FAILURE;
  }
};

const dashboard = async (io: CliIo, flags: Flags): Promise<number> => {
  const { env, dataDir, target } = await context(io, flags);
  const found = locateOpenclawInstall({ installPath: flags.install, nodePath: flags.node, dataDir });
  if (!found.ok) {
    printStatus(io, flags, { state: 'failed', code: found.code, reason: found.reason, fix: found.fix });
    return EXIT_FAILURE;
  }
  const cliEnv = { ...embeddingEnvironment(env, found.install), OPENCLAW_GATEWAY_PORT: String(target.port) };
  try {
    const link = await controlUiLink({ install: found.install, env: cliEnv, expectPort: target.port });
    if (flags.json) io.stdout(`${JSON.stringify({ ok: true, ...link })}\n`);
    else {
      const until = link.expiresAtMs ? `, until ${new Date(link.expiresAtMs).toLocaleTimeString()}` : '';
      io.stdout(
        `Open OpenClaw's Control UI with this one-time link (it signs in one browser${until}):\n${link.browserUrl}\n`,
      );
    }
    return EXIT_OK;
  } catch (error) {
    const e = error as ControlUiError;
    printStatus(io, flags, { state: 'failed', code: 'control-ui', reason: e.message, fix: e.fix });
    return EXIT_FAILURE;
  }
};

export const openclawCommand: CliCommand = async (argv, io) => {
  const subcommands = { start, stop, status, install, uninstall, dashboard };
  const split = splitSubcommand(argv, io, USAGE, Object.keys(subcommands) as Array<keyof typeof subcommands>);
  if ('exitCode' in split) return split.exitCode;
  const { sub, rest } = split;
  const run = subcommands[sub];
  const { values } = parseCommandArgs({ args: rest, options: OPTIONS, strict: true }, USAGE);
  if (values.help) {
    io.stdout(USAGE);
    return 0;
  }
  return run(io, values);
};
