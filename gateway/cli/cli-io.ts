import { parseArgs, type ParseArgsConfig } from 'node:util';

/** What a CLI command may touch, so tests run commands in-process with captured output. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the user asks to stop (SIGINT/SIGTERM); long-running commands await it. */
  waitForStopSignal: () => Promise<NodeJS.Signals>;
}

export type CliCommand = (argv: string[], io: CliIo) => Promise<number>;

/** Exit codes: 0 ok, 1 failure or error-level finding, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

export function processCliIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    waitForStopSignal: () =>
      new Promise((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve(signal);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      }),
  };
}

/**
 * The prologue `clawdesk <command> <sub> …` commands share: without a sub-command the usage is printed and the
 * exit status is 2; `--help`, `-h` or `help` prints it and exits 0; a name not in `known` is a usage error. Names
 * are matched against the list only, so "constructor" or "toString" is unknown, never Object's.
 */
export function splitSubcommand<S extends string>(
  argv: readonly string[],
  io: Pick<CliIo, 'stdout'>,
  usage: string,
  known: readonly S[],
): { sub: S; rest: string[] } | { exitCode: number } {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout(usage);
    return { exitCode: sub ? EXIT_OK : EXIT_USAGE };
  }
  if (!(known as readonly string[]).includes(sub)) throw new UsageError(`unknown subcommand "${sub}"\n\n${usage}`);
  return { sub: sub as S, rest };
}

/** node:util parseArgs, with its errors (unknown flag, missing value) turned into usage errors that show `usage`. */
export function parseCommandArgs<T extends ParseArgsConfig>(config: T, usage: string): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${usage}`);
  }
}
