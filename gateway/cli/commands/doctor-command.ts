import { CliCommand, EXIT_FAILURE } from '../cli-io';

// Placeholder until this command lands.
export const doctorCommand: CliCommand = async (_argv, io) => {
  io.stderr('clawdesk doctor: not implemented yet\n');
  return EXIT_FAILURE;
};
