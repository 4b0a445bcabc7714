import { CliCommand, EXIT_FAILURE } from '../cli-io';

// Placeholder until this command lands.
export const stateCommand: CliCommand = async (_argv, io) => {
  io.stderr('clawdesk state: not implemented yet\n');
  return EXIT_FAILURE;
};
