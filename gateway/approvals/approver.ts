import { createInterface } from 'node:readline';
import type { ApprovalDecision } from '../exec/policy';

/**
 * Something that can put an exec approval in front of a person: the desktop dialog, a terminal prompt.
 * `null` means "no answer" (dismissed, timed out, cannot show): the caller applies askFallback, never an allow.
 */

/** `exec.approval.requested` as delivered to approval clients (docs/protocol.md § Approvals). */
export interface ExecApprovalRequestedEvent {
  approvalKind?: string;
  id: string;
  request: {
    command: string;
    commandPreview?: string;
    commandArgv?: string[];
    envKeys?: string[];
    cwd?: string | null;
    nodeId?: string | null;
    host?: string | null;
    security?: string | null;
    ask?: string | null;
    agentId?: string | null;
    resolvedPath?: string | null;
    sessionKey?: string | null;
    allowedDecisions?: ApprovalDecision[];
    systemRunPlan?: { argv?: string[]; cwd?: string | null; commandText?: string } | null;
    [key: string]: unknown;
  };
  createdAtMs: number;
  expiresAtMs: number;
}

export interface Approver {
  /** False when a prompt cannot be shown right now (no display, no TTY, locked screen...). */
  canPresent(): boolean;
  /** Shows the request and resolves with the person's decision, or null. Must stop when `signal` aborts. */
  present(event: ExecApprovalRequestedEvent, signal: AbortSignal): Promise<ApprovalDecision | null>;
}

/** Never presents: every request goes to askFallback. The headless default without a terminal. */
export const noApprover: Approver = {
  canPresent: () => false,
  present: async () => null,
};

export interface TerminalApproverOptions {
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: NodeJS.WritableStream;
}

/** Control and bidi characters would let a command disguise itself on a terminal; show them escaped. */
export function escapeForTerminal(text: string): string {
  return text.replace(
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * A prompt on the controlling terminal: "Allow this command? [o]nce / [a]lways / [d]eny". One prompt at a time;
 * anything other than a clear answer is asked again, end of input is no answer.
 */
export class TerminalApprover implements Approver {
  private readonly input: NodeJS.ReadableStream & { isTTY?: boolean };
  private readonly output: NodeJS.WritableStream;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: TerminalApproverOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
  }

  canPresent(): boolean {
    return Boolean(this.input.isTTY);
  }

  present(event: ExecApprovalRequestedEvent, signal: AbortSignal): Promise<ApprovalDecision | null> {
    const run = () => this.ask(event, signal);
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private ask(event: ExecApprovalRequestedEvent, signal: AbortSignal): Promise<ApprovalDecision | null> {
    if (signal.aborted) return Promise.resolve(null);
    const r = event.request;
    const allowed = r.allowedDecisions ?? ['allow-once', 'allow-always', 'deny'];
    const lines = [
      '',
      'Allow this command?',
      `  Command:    ${escapeForTerminal(r.command)}`,
      ...(r.cwd ? [`  Directory:  ${escapeForTerminal(r.cwd)}`] : []),
      ...(r.agentId ? [`  Agent:      ${escapeForTerminal(r.agentId)}`] : []),
      ...(r.resolvedPath ? [`  Executable: ${escapeForTerminal(r.resolvedPath)}`] : []),
      ...(r.host ? [`  Host:       ${r.host}${r.nodeId ? ` (${r.nodeId.slice(0, 12)}…)` : ''}`] : []),
      `  Approval:   ${event.id}`,
    ];
    const choices = [
      allowed.includes('allow-once') ? '[o]nce' : null,
      allowed.includes('allow-always') ? '[a]lways' : null,
      allowed.includes('deny') ? '[d]eny' : null,
    ].filter(Boolean);
    this.output.write(`${lines.join('\n')}\n`);
    return new Promise((resolve) => {
      const rl = createInterface({ input: this.input, output: this.output, terminal: false });
      let done = false;
      const finish = (value: ApprovalDecision | null) => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        rl.close();
        resolve(value);
      };
      const onAbort = () => {
        this.output.write('\n(answered elsewhere or expired)\n');
        finish(null);
      };
      signal.addEventListener('abort', onAbort);
      const prompt = () => this.output.write(`Allow? ${choices.join(' / ')}: `);
      rl.on('line', (line) => {
        const answer = line.trim().toLowerCase();
        const decision: ApprovalDecision | null =
          answer === 'o' || answer === 'once'
            ? 'allow-once'
            : answer === 'a' || answer === 'always'
              ? 'allow-always'
              : answer === 'd' || answer === 'deny' || answer === 'n'
                ? 'deny'
                : null;
        if (decision && allowed.includes(decision)) finish(decision);
        else prompt();
      });
      rl.on('close', () => finish(null));
      prompt();
    });
  }
}
