import { CliCommand, CliIo, EXIT_USAGE, UsageError, processCliIo } from './cli-io';
import { CLAWDESK_VERSION } from '../version';

const USAGE = `Usage: clawdesk <command> [options]

Commands:
  gateway run     Run the OpenClaw-compatible gateway (and the exec runner) in the foreground
  node run        Run the exec runner alone against any gateway
  devices         List, approve, reject or remove paired devices
  approvals       List and resolve pending exec approvals
  doctor          Check OpenClaw state directories, pairing and permissions
  state           Scan, migrate or restore OpenClaw state directories
  openclaw        Supervise OpenClaw's own gateway (start|stop|status), with Clawdesk attached
  gateways        Gateways on other machines: add, list, remove, use, pin, runner, connect

Run \`clawdesk <command> --help\` for a command's options.
`;

// Loaded lazily so `clawdesk doctor` does not pay for the gateway's modules, and the reverse.
const COMMANDS: Record<string, () => CliCommand> = {
  gateway: () => require('./commands/gateway-command').gatewayCommand,
  node: () => require('./commands/node-command').nodeCommand,
  devices: () => require('./commands/devices-command').devicesCommand,
  approvals: () => require('./commands/approvals-command').approvalsCommand,
  doctor: () => require('./commands/doctor-command').doctorCommand,
  state: () => require('./commands/state-command').stateCommand,
  openclaw: () => require('./commands/openclaw-command').openclawCommand,
  gateways: () => require('./commands/gateways-command').gatewaysCommand,
};

export async function runCli(argv: string[], io: CliIo = processCliIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(USAGE);
    return name ? 0 : EXIT_USAGE;
  }
  if (name === '--version' || name === '-v') {
    io.stdout(`${CLAWDESK_VERSION}\n`);
    return 0;
  }
  // Own keys only: "constructor" or "__proto__" is an unknown command, not Object's.
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    io.stderr(`clawdesk: unknown command "${name}"\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await load()(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`clawdesk ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}
