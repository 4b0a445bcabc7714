import { CliCommand, EXIT_FAILURE } from '../cli-io';

// Placeholder until this command lands.
export const nodeCommand: CliCommand = async (_argv, io) => {
  io.stderr('clawdesk node: not implemented yet\n');
  return EXIT_FAILURE;
};
