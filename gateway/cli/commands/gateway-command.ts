import { CliCommand, EXIT_FAILURE } from '../cli-io';

// Placeholder until this command lands.
export const gatewayCommand: CliCommand = async (_argv, io) => {
  io.stderr('clawdesk gateway: not implemented yet\n');
  return EXIT_FAILURE;
};
