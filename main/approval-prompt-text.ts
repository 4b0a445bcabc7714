import type { ApprovalPromptView, Decision, PromptLine } from './ipc/ipc-contract';
import type { MessageBoxOptions } from './electron-facades';
import { describeEnvKeys, hardenForDisplay, redactSecrets, type HardenedText } from './display-hardening';

/** `exec.approval.requested` as the gateway broadcasts it (spec 4.3); everything but `id` is untrusted input. */
export interface ExecApprovalRequested {
  id: string;
  request: {
    command?: string;
    commandPreview?: string;
    commandArgv?: string[];
    cwd?: string | null;
    nodeId?: string | null;
    host?: string | null;
    security?: string | null;
    ask?: string | null;
    allowedDecisions?: string[];
    agentId?: string | null;
    resolvedPath?: string | null;
    sessionKey?: string | null;
    envKeys?: string[];
    systemRunPlan?: { argv?: string[]; cwd?: string | null; commandText?: string; agentId?: string | null } | null;
  };
  createdAtMs: number;
  expiresAtMs: number;
}

export interface PromptLimits {
  /** Longest command (after escaping) shown whole; anything longer is denied, never shown cut off. */
  maxCommandChars: number;
  maxCommandLines: number;
  /** Longest context value (directory, agent, path). */
  maxFieldChars: number;
}

export const DEFAULT_PROMPT_LIMITS: PromptLimits = { maxCommandChars: 4000, maxCommandLines: 60, maxFieldChars: 1024 };

export type PromptBuild =
  | { kind: 'prompt'; view: ApprovalPromptView }
  | { kind: 'deny'; reason: 'too-long' | 'no-command'; detail: string };

export const PROMPT_TITLE = 'Allow this command?';
export const PROMPT_MESSAGE = 'Review the command details before allowing.';
export const PROMPT_FOOTER = 'This runs on this machine.';
export const DECISION_LABELS: Record<Decision, string> = {
  'allow-once': 'Allow once',
  'allow-always': 'Always allow',
  deny: 'Deny',
};

const DECISION_ORDER: Decision[] = ['allow-once', 'allow-always', 'deny'];

/** Quotes argv the way a POSIX shell reader expects, so argument boundaries are visible. */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function commandTextOf(event: ExecApprovalRequested): string | undefined {
  const r = event.request;
  if (typeof r.command === 'string' && r.command.length > 0) return r.command;
  if (typeof r.systemRunPlan?.commandText === 'string' && r.systemRunPlan.commandText.length > 0) return r.systemRunPlan.commandText;
  const argv = r.commandArgv ?? r.systemRunPlan?.argv;
  if (Array.isArray(argv) && argv.length > 0) return quoteArgv(argv);
  return undefined;
}

function flagWarnings(what: string, hardened: HardenedText): string[] {
  const out: string[] = [];
  for (const flag of hardened.flags) {
    switch (flag) {
      case 'bidi':
        out.push(`${what} contains bidirectional control characters that can reorder how text looks (shown as ⟨RLO⟩ etc.).`);
        break;
      case 'invisible':
        out.push(`${what} contains invisible characters (shown as ⟨…⟩ markers).`);
        break;
      case 'control':
        out.push(`${what} contains control characters (shown as ⟨…⟩ markers).`);
        break;
      case 'unusual-space':
        out.push(`${what} contains spaces that are not ordinary spaces (shown as ⟨…⟩ markers).`);
        break;
      case 'confusable': {
        const examples = [...new Map(hardened.confusables.map((c) => [c.char, c])).values()]
          .slice(0, 5)
          .map((c) => `"${c.char}" (${c.codePoint}, ${c.script}) looks like "${c.looksLike}"`)
          .join('; ');
        out.push(`${what} contains look-alike characters: ${examples}.`);
        break;
      }
      case 'non-ascii':
        break;
    }
  }
  return out;
}

function allowedDecisionsOf(raw: unknown): Decision[] {
  const allowed = new Set(Array.isArray(raw) ? raw.filter((d): d is string => typeof d === 'string') : []);
  // Deny is always offered; anything else only when the request allows it (fail closed when the list is missing).
  return DECISION_ORDER.filter((d) => d === 'deny' || allowed.has(d));
}

/**
 * Builds the prompt for one request, or a denial when the request cannot be shown whole. Every displayed value
 * goes through redactSecrets then hardenForDisplay.
 */
export function buildApprovalPrompt(event: ExecApprovalRequested, limits: PromptLimits = DEFAULT_PROMPT_LIMITS): PromptBuild {
  const raw = commandTextOf(event);
  if (raw === undefined) return { kind: 'deny', reason: 'no-command', detail: 'The request carries no command to review.' };
  // Escaping never shortens text, so an over-long raw command is rejected before any per-character work.
  if (raw.length > limits.maxCommandChars) {
    return { kind: 'deny', reason: 'too-long', detail: `The command is ${raw.length.toLocaleString('en-US')} characters long, too long to review.` };
  }
  const redacted = redactSecrets(raw);
  const command = hardenForDisplay(redacted.text, { multiline: true });
  const lines = command.text.split('\n').length;
  if (command.text.length > limits.maxCommandChars || lines > limits.maxCommandLines) {
    return {
      kind: 'deny',
      reason: 'too-long',
      detail: `The command is ${command.text.length.toLocaleString('en-US')} characters on ${lines} lines once made visible, too long to review.`,
    };
  }

  const r = event.request;
  const warnings = flagWarnings('The command', command);
  const context: PromptLine[] = [];
  const field = (label: string, value: unknown): PromptLine | 'too-long' | undefined => {
    if (typeof value !== 'string' || value.length === 0) return undefined;
    if (value.length > limits.maxFieldChars) return 'too-long';
    const hardened = hardenForDisplay(redactSecrets(value).text);
    warnings.push(...flagWarnings(label, hardened));
    return { label, text: hardened.text, flags: hardened.flags };
  };
  const fields: Array<[string, unknown]> = [
    ['Working directory', r.cwd ?? r.systemRunPlan?.cwd],
    ['Agent', r.agentId ?? r.systemRunPlan?.agentId],
    ['Executable', r.resolvedPath ?? r.systemRunPlan?.argv?.[0]],
    ['Host', r.host === 'node' && r.nodeId ? `node ${r.nodeId}` : r.host],
    ['Security', r.security],
    ['Ask mode', r.ask],
  ];
  for (const [label, value] of fields) {
    const line = field(label, value);
    if (line === 'too-long') {
      return { kind: 'deny', reason: 'too-long', detail: `The ${label.toLowerCase()} is too long to review.` };
    }
    if (line) context.push(line);
  }
  if (Array.isArray(r.envKeys) && r.envKeys.length > 0) {
    const env = describeEnvKeys(r.envKeys.filter((k): k is string => typeof k === 'string'));
    const envLine = field('Environment', env.map((e) => (e.secret ? `${e.name} (secret, value hidden)` : e.name)).join(', '));
    if (envLine === 'too-long') return { kind: 'deny', reason: 'too-long', detail: 'The environment list is too long to review.' };
    if (envLine) context.push(envLine);
  }
  if (redacted.redactions > 0) {
    warnings.push(`${redacted.redactions} secret value${redacted.redactions === 1 ? ' is' : 's are'} hidden (‹redacted›).`);
  }

  return {
    kind: 'prompt',
    view: {
      promptId: event.id,
      title: PROMPT_TITLE,
      message: PROMPT_MESSAGE,
      command: { label: 'Command', text: command.text, flags: command.flags },
      context,
      warnings,
      footer: PROMPT_FOOTER,
      decisions: allowedDecisionsOf(r.allowedDecisions),
      expiresAtMs: event.expiresAtMs,
    },
  };
}

/** The same view as a native message box: buttons in decision order, Deny the default and the cancel action. */
export function toMessageBoxOptions(view: ApprovalPromptView): MessageBoxOptions & { decisions: Decision[] } {
  const detail = [
    view.message,
    '',
    'Command:',
    view.command.text,
    '',
    ...view.context.map((line) => `${line.label}: ${line.text}`),
    ...(view.warnings.length > 0 ? ['', 'Warnings:', ...view.warnings.map((w) => `• ${w}`)] : []),
    '',
    view.footer,
  ].join('\n');
  const denyIndex = view.decisions.indexOf('deny');
  return {
    type: 'warning',
    title: view.title,
    message: view.title,
    detail,
    buttons: view.decisions.map((d) => DECISION_LABELS[d]),
    defaultId: denyIndex,
    cancelId: denyIndex,
    noLink: true,
    normalizeAccessKeys: false,
    decisions: view.decisions,
  };
}
