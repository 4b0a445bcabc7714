import type { ExecApprovalRequested } from '../../main/approval-prompt-text';

/**
 * A request that sets off every warning the prompt has: BiDi, invisible, control and unusual-space characters and a
 * look-alike letter in the command, a secret in it, a secret environment variable, an agent description that says
 * something else, a reported executable that is not the one that runs, and a second working directory. Shared by
 * the translated prompt and pending-list tests, so both check the same hostile input.
 */
export function hostileApprovalRequest(id: string): ExecApprovalRequested {
  return {
    id,
    request: {
      command: 'ls -la',
      systemRunPlan: {
        argv: [
          '/usr/bin/\u0441url',
          '--token=s3cr3t-t0k3n',
          'invoice\u202Etxt.exe',
          'a\u200Bb',
          'c\u00A0d',
          'e\u0007f',
        ],
        cwd: '/home/dev/\u202Eproject',
        commandText: 'ls -la',
        agentId: 'main',
      },
      cwd: '/tmp/other',
      resolvedPath: '/usr/bin/ls',
      host: 'node',
      nodeId: 'node-1',
      security: 'allowlist',
      ask: 'on-miss',
      envKeys: ['PATH', 'GITHUB_TOKEN'],
      allowedDecisions: ['allow-once', 'allow-always', 'deny'],
    },
    createdAtMs: 0,
    expiresAtMs: 60_000,
  };
}
