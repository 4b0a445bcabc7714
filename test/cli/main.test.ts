import { describe, expect, it } from 'vitest';
import { EXIT_USAGE, UsageError, type CliCommand } from '../../gateway/cli/cli-io';
import { approvalsCommand } from '../../gateway/cli/commands/approvals-command';
import { devicesCommand } from '../../gateway/cli/commands/devices-command';
import { gatewayCommand } from '../../gateway/cli/commands/gateway-command';
import { gatewaysCommand } from '../../gateway/cli/commands/gateways-command';
import { nodeCommand } from '../../gateway/cli/commands/node-command';
import { openclawCommand } from '../../gateway/cli/commands/openclaw-command';
import { stateCommand } from '../../gateway/cli/commands/state-command';
import { runCli } from '../../gateway/cli/main';
import { captureIo } from '../helpers/cli-io';

describe('clawdesk <command>: the dispatcher', () => {
  it("Object's own names are unknown commands, not a crash", async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const io = captureIo();
      expect(await runCli([name], io), name).toBe(2);
      expect(io.err).toContain(`clawdesk: unknown command "${name}"`);
    }
  });

  // The dispatcher loads commands lazily with require(), which vitest does not resolve for .ts: call them directly,
  // turning a UsageError into exit 2 as the dispatcher does.
  const COMMANDS: Record<string, CliCommand> = {
    gateway: gatewayCommand,
    node: nodeCommand,
    devices: devicesCommand,
    approvals: approvalsCommand,
    state: stateCommand,
    openclaw: openclawCommand,
    gateways: gatewaysCommand,
  };
  const run = async (command: CliCommand, args: string[], io: ReturnType<typeof captureIo>) =>
    command(args, io).catch((error: unknown) => {
      if (!(error instanceof UsageError)) throw error;
      io.stderr(error.message);
      return EXIT_USAGE;
    });

  it('a command that needs a sub-command prints its usage: exit 2 without one, 0 when help is asked for', async () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      const bare = captureIo();
      expect(await run(command, [], bare), name).toBe(EXIT_USAGE);
      expect(bare.out, name).toMatch(/Usage: clawdesk /);
      const help = captureIo();
      expect(await run(command, ['--help'], help), `${name} --help`).toBe(0);
      expect(help.out, `${name} --help`).toBe(bare.out);
    }
  });

  it('an unknown sub-command is a usage error that names it', async () => {
    for (const [name, command] of Object.entries(COMMANDS)) {
      const io = captureIo();
      expect(await run(command, ['frobnicate'], io), name).toBe(EXIT_USAGE);
      expect(io.err, name).toContain('frobnicate');
    }
  });
});
