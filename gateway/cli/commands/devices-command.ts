import { CliCommand, EXIT_FAILURE } from '../cli-io';

// Placeholder until this command lands.
export const devicesCommand: CliCommand = async (_argv, io) => {
  io.stderr('clawdesk devices: not implemented yet\n');
  return EXIT_FAILURE;
};
