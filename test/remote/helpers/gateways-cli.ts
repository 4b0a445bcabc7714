import { UsageError } from '../../../gateway/cli/cli-io';
import { createGatewaysCommand } from '../../../gateway/cli/commands/gateways-command';
import { captureIo } from '../../helpers/cli-io';

/** `clawdesk gateways …` in-process with `env`: its exit code (2 for a usage error, as the CLI exits) and output. */
export async function gatewaysCli(args: string[], env: NodeJS.ProcessEnv) {
  const io = captureIo(env);
  const code = await createGatewaysCommand()(args, io).catch((error: unknown) => {
    if (error instanceof UsageError) return 2;
    throw error;
  });
  return { code, out: io.out, err: io.err };
}
