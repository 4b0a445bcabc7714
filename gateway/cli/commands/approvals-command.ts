import { CliCommand, EXIT_FAILURE } from '../cli-io';

// Placeholder until this command lands.
export const approvalsCommand: CliCommand = async (_argv, io) => {
  io.stderr('clawdesk approvals: not implemented yet\n');
  return EXIT_FAILURE;
};
