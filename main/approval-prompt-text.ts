import {
  describeEffects,
  describeShellTextEffects,
  effectSentence,
  programName,
  shellPayload,
  type CommandEffect,
} from '../gateway/exec/command-effects';
import { readCommand } from '../gateway/exec/command-structure';
import type { ApprovalPromptView, Decision, PromptEffectLine, PromptLine } from '../common/ipc-contract';
import type { MessageBoxOptions } from './electron-facades';
import { describeEnvKeys, hardenForDisplay, redactSecrets, type HardenedText } from './display-hardening';

/**
 * `exec.approval.requested` as the gateway broadcasts it (docs/protocol.md § Approvals); everything but `id` is
 * untrusted input.
 */
export interface ExecApprovalRequested {
  id: string;
  request: {
    /**
     * Clawdesk's gateway computes this from the argv; a foreign gateway may still send the requester's own text
     * here. Never trusted when an argv is present.
     */
    command?: string;
    /** The requester's own text, where the gateway keeps it apart from `command`. */
    agentCommandText?: string;
    commandPreview?: string;
    commandArgv?: string[];
    systemRunBinding?: { argv?: string[] | null } | null;
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
  | { kind: 'deny'; reason: 'too-long' | 'no-command' | 'inconsistent'; detail: string };

export const PROMPT_TITLE = 'Allow this command?';
export const PROMPT_MESSAGE = 'Review the command details before allowing.';
export const PROMPT_FOOTER = 'This runs on this machine.';
/** Where a request came from: the local gateway, or a saved gateway on another machine (main/remote-gateways.ts). */
export interface PromptOrigin {
  gateway: string;
  address: string;
}
export const remotePromptTitle = (gateway: string) => `Allow this command from the gateway "${gateway}"?`;
export const REMOTE_PROMPT_FOOTER =
  'This request comes from a gateway on another machine. The command runs where the Host row says, which is this computer only when it names Clawdesk’s runner here.';
/** A request from another machine has its own id space: it must never share a local request's prompt or answer. */
export function promptKey(id: string, origin?: PromptOrigin): string {
  return origin ? `gateway:${origin.gateway}:${id}` : id;
}
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

export const COMMAND_NOTE_VERIFIED = 'Computed by Clawdesk from the exact program and arguments that will run.';
export const COMMAND_NOTE_UNVERIFIED =
  'Clawdesk could not verify this command: the request carries only text, not the exact program and arguments that will run.';
export const AGENT_DESCRIPTION_LABEL = 'The agent describes this as';

type ArgvRead = { kind: 'argv'; argv: string[] } | { kind: 'none' } | { kind: 'bad'; detail: string };

function isArgv(value: unknown): value is string[] {
  return Array.isArray(value) && value.length > 0 && value.every((a) => typeof a === 'string') && value[0] !== '';
}

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

/** Same argv, allowing only that one names the program bare and the other as the path it resolved to. */
function sameCommand(a: readonly string[], b: readonly string[], platform: NodeJS.Platform): boolean {
  if (a.length !== b.length || a.slice(1).some((arg, i) => arg !== b[i + 1])) return false;
  if (a[0] === b[0]) return true;
  const bare = (s: string) => !/[\\/]/.test(s);
  const [short, long] = bare(a[0]) ? [a[0], b[0]] : [b[0], a[0]];
  return bare(short) && !bare(long) && programName(long, platform) === programName(short, platform);
}

/**
 * The argv that will run: the plan's (what the gateway binds the approval to), else the request's. Every argv the
 * request carries must name the same command; a request naming two is not shown at all.
 */
function argvOf(event: ExecApprovalRequested, platform: NodeJS.Platform): ArgvRead {
  const r = event.request;
  const sources: Array<[string, unknown]> = [
    ['systemRunPlan.argv', r.systemRunPlan?.argv],
    ['commandArgv', r.commandArgv],
    ['systemRunBinding.argv', r.systemRunBinding?.argv],
  ];
  const present = sources.filter(([, v]) => v !== undefined && v !== null);
  const bad = present.find(([, v]) => !isArgv(v));
  if (bad) return { kind: 'bad', detail: `The request's ${bad[0]} is not a list of arguments.` };
  const lists = present.map(([name, v]) => [name, v as string[]] as const);
  if (lists.length === 0) return { kind: 'none' };
  const [, primary] = lists[0];
  const other = lists.find(([, argv]) => !sameCommand(primary, argv, platform));
  if (other)
    return { kind: 'bad', detail: `The request names two different commands (${lists[0][0]} and ${other[0]}).` };
  return { kind: 'argv', argv: [...primary] };
}

/**
 * Splits text the way a POSIX shell splits plain words (quotes and backslashes); null when the text uses any other
 * shell syntax, in which case it cannot be the same as an argv.
 */
export function shellWords(text: string): string[] | null {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return null;
      word += text.slice(i + 1, close);
      i = close;
      inWord = true;
    } else if (ch === '"') {
      i++;
      for (; i < text.length && text[i] !== '"'; i++) {
        if (/[$`]/.test(text[i])) return null;
        if (text[i] === '\\' && /[\\"$`]/.test(text[i + 1] ?? '')) i++;
        word += text[i];
      }
      if (i >= text.length) return null;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 >= text.length || text[i + 1] === '\n') return null;
      word += text[++i];
      inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (/[|&;<>()$`*?[\]{}~#!\n]/.test(ch) && !(inWord && /[#!~]/.test(ch))) {
      return null;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** A requester's text that says exactly what the argv says: the argv written out, or a shell's own payload. */
function describesArgv(text: string, argv: readonly string[], platform: NodeJS.Platform): boolean {
  const trimmed = text.trim();
  if (trimmed === quoteArgv(argv) || trimmed === argv.join(' ')) return true;
  const words = shellWords(trimmed);
  if (words && sameCommand(words, argv, platform)) return true;
  if (
    words &&
    words.length === argv.length &&
    words.slice(1).every((w, i) => w === argv[i + 1]) &&
    programName(argv[0], platform) === words[0]
  )
    return true;
  const payload = shellPayload(argv.slice(1));
  return payload !== undefined && payload.trim() === trimmed && payload.trim().length > 0;
}

function effectLines(effects: readonly CommandEffect[], maxChars: number): PromptEffectLine[] {
  const MAX_PROGRAM_LINES = 20;
  const runs = effects.filter((e) => e.kind === 'runs');
  const shown = [...effects.filter((e) => e.kind !== 'runs'), ...runs.slice(0, MAX_PROGRAM_LINES)];
  const lines = shown.map((effect) => {
    let sentence = effectSentence(effect);
    if (sentence.length > maxChars) sentence = `${sentence.slice(0, maxChars - 1)}…`;
    const hardened = hardenForDisplay(redactSecrets(sentence).text);
    return { kind: effect.kind, text: hardened.text, flags: hardened.flags };
  });
  if (runs.length > MAX_PROGRAM_LINES)
    lines.push({
      kind: 'runs',
      text: `…and ${runs.length - MAX_PROGRAM_LINES} more programs (all in the command above).`,
      flags: [],
    });
  return lines;
}

function safely(compute: () => CommandEffect[]): CommandEffect[] {
  try {
    return compute();
  } catch (error) {
    return [{ kind: 'unreadable', reason: `the analysis failed: ${(error as Error).message}` }];
  }
}

function flagWarnings(what: string, hardened: HardenedText): string[] {
  const out: string[] = [];
  for (const flag of hardened.flags) {
    switch (flag) {
      case 'bidi':
        out.push(
          `${what} contains bidirectional control characters that can reorder how text looks (shown as ⟨RLO⟩ etc.).`,
        );
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
 * Builds the prompt for one request, or a denial when the request cannot be shown whole. The command a person
 * approves is computed here from the argv that will run (`systemRunPlan.argv`, else `commandArgv`), never taken
 * from the requester's text: `command` and `commandText` that differ are shown only as "The agent describes this
 * as", with a warning. Every displayed value goes through redactSecrets then hardenForDisplay.
 */
export function buildApprovalPrompt(
  event: ExecApprovalRequested,
  limits: PromptLimits = DEFAULT_PROMPT_LIMITS,
  platform: NodeJS.Platform = process.platform,
  origin?: PromptOrigin,
): PromptBuild {
  const r = event.request ?? {};
  const read = argvOf(event, platform);
  if (read.kind === 'bad') return { kind: 'deny', reason: 'inconsistent', detail: read.detail };
  const argv = read.kind === 'argv' ? read.argv : null;
  const plan = r.systemRunPlan ?? null;
  const agentTexts = [
    ...new Set(
      [nonEmpty(r.agentCommandText), nonEmpty(plan?.commandText), nonEmpty(r.command)].filter(
        (t): t is string => t !== undefined,
      ),
    ),
  ];
  const raw = argv ? quoteArgv(argv) : agentTexts[0];
  if (raw === undefined)
    return { kind: 'deny', reason: 'no-command', detail: 'The request carries no command to review.' };
  // Escaping never shortens text, so an over-long raw command is rejected before any per-character work.
  if (raw.length > limits.maxCommandChars) {
    return {
      kind: 'deny',
      reason: 'too-long',
      detail: `The command is ${raw.length.toLocaleString('en-US')} characters long, too long to review.`,
    };
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

  const warnings = flagWarnings('The command', command);
  let secretsHidden = redacted.redactions;
  if (!argv) warnings.unshift(COMMAND_NOTE_UNVERIFIED);

  // The requester's own words, where they say something else than the argv: shown as its claim, never as the command.
  const agentDescriptions: PromptLine[] = [];
  if (argv) {
    for (const text of agentTexts.filter((t) => !describesArgv(t, argv, platform))) {
      const hiddenDescription = redactSecrets(text);
      const hardened = hardenForDisplay(hiddenDescription.text, { multiline: true });
      if (hardened.text.length > limits.maxCommandChars || hardened.text.split('\n').length > limits.maxCommandLines) {
        warnings.unshift(
          `The agent also sent a description of this command (${text.length.toLocaleString('en-US')} characters) that differs from what will run; it is too long to show. Decide on the command above.`,
        );
        continue;
      }
      secretsHidden += hiddenDescription.redactions;
      agentDescriptions.push({ label: AGENT_DESCRIPTION_LABEL, text: hardened.text, flags: hardened.flags });
      warnings.unshift(
        `The agent's description of this command differs from what will run. Decide on the command above: it is what runs; the description is only the agent's claim.`,
      );
      warnings.push(...flagWarnings("The agent's description", hardened));
    }
  }

  const context: PromptLine[] = [];
  const field = (label: string, value: unknown): PromptLine | 'too-long' | undefined => {
    if (typeof value !== 'string' || value.length === 0) return undefined;
    if (value.length > limits.maxFieldChars) return 'too-long';
    const hiddenValue = redactSecrets(value);
    secretsHidden += hiddenValue.redactions;
    const hardened = hardenForDisplay(hiddenValue.text);
    warnings.push(...flagWarnings(label, hardened));
    return { label, text: hardened.text, flags: hardened.flags };
  };
  const cwd = plan ? (plan.cwd ?? null) : (r.cwd ?? null);
  if (plan && typeof r.cwd === 'string' && typeof plan.cwd === 'string' && r.cwd !== plan.cwd) {
    const other = field('Other working directory', r.cwd);
    if (other === 'too-long')
      return { kind: 'deny', reason: 'too-long', detail: 'The other working directory is too long to review.' };
    if (other)
      warnings.push(`The request also names the working directory "${other.text}"; the command runs in the one shown.`);
  }
  // The executable is the argv's own first word; a resolvedPath the request adds is only what it says.
  const resolved = nonEmpty(r.resolvedPath);
  const executable = argv ? argv[0] : resolved;
  let reportedPath: string | undefined;
  if (argv && resolved !== undefined && resolved !== argv[0]) {
    const bare = !/[\\/]/.test(argv[0]);
    if (bare && programName(resolved, platform) === programName(argv[0], platform)) reportedPath = resolved;
    else {
      const said = field('Reported executable', resolved);
      if (said === 'too-long')
        return { kind: 'deny', reason: 'too-long', detail: 'The reported executable is too long to review.' };
      if (said)
        warnings.unshift(
          `The request says the executable is "${said.text}", but the command runs "${hardenForDisplay(argv[0]).text}".`,
        );
    }
  }
  const fields: Array<[string, unknown]> = [
    ['Working directory', cwd],
    ['Agent', r.agentId ?? plan?.agentId],
    ['Executable', executable],
    ['Resolved path (as the request reports it)', reportedPath],
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
    const envLine = field(
      'Environment',
      env.map((e) => (e.secret ? `${e.name} (secret, value hidden)` : e.name)).join(', '),
    );
    if (envLine === 'too-long')
      return { kind: 'deny', reason: 'too-long', detail: 'The environment list is too long to review.' };
    if (envLine) context.push(envLine);
  }
  if (secretsHidden > 0) {
    warnings.push(`${secretsHidden} secret value${secretsHidden === 1 ? ' is' : 's are'} hidden (‹redacted›).`);
  }

  const effectOptions = { cwd: typeof cwd === 'string' ? cwd : null, platform };
  const effects = argv
    ? safely(() => describeEffects(readCommand(argv, platform), effectOptions))
    : [
        {
          kind: 'unreadable' as const,
          reason: 'the request has no argument list; the text below is read as a shell command',
        },
        ...safely(() => describeShellTextEffects(raw, effectOptions)),
      ];

  // The gateway's name is checked when it is saved (letters, digits, . _ -); the address is the person's own input,
  // hardened all the same since openclaw.json may hold anything.
  const shownOrigin = origin
    ? { gateway: hardenForDisplay(origin.gateway).text, address: hardenForDisplay(origin.address).text }
    : undefined;
  return {
    kind: 'prompt',
    view: {
      promptId: promptKey(event.id, origin),
      title: shownOrigin ? remotePromptTitle(shownOrigin.gateway) : PROMPT_TITLE,
      message: PROMPT_MESSAGE,
      command: { label: 'Command', text: command.text, flags: command.flags },
      commandSource: argv ? 'argv' : 'agent-text',
      commandNote: argv ? COMMAND_NOTE_VERIFIED : COMMAND_NOTE_UNVERIFIED,
      agentDescriptions,
      effects: effectLines(effects, limits.maxFieldChars),
      context,
      warnings: [...new Set(warnings)],
      footer: shownOrigin ? REMOTE_PROMPT_FOOTER : PROMPT_FOOTER,
      decisions: allowedDecisionsOf(r.allowedDecisions),
      expiresAtMs: event.expiresAtMs,
      ...(shownOrigin ? { origin: shownOrigin } : {}),
    },
  };
}

/**
 * A native message box cannot scroll or disable a button, so it is only used for what it can show whole: this many
 * lines of detail, each line counted as many times as it wraps at MESSAGE_BOX_WRAP_CHARS.
 */
export const MESSAGE_BOX_MAX_LINES = 45;
export const MESSAGE_BOX_WRAP_CHARS = 90;

export const MESSAGE_BOX_TOO_LONG =
  'This command is too long to show whole in this dialog, so it can only be denied here. To allow it, review it in the Clawdesk dashboard (Approvals) before denying here.';

function displayedLines(text: string): number {
  return text.split('\n').reduce((sum, line) => sum + Math.max(1, Math.ceil(line.length / MESSAGE_BOX_WRAP_CHARS)), 0);
}

/**
 * The same view as a native message box: buttons in decision order, Deny the default and the cancel action (Enter,
 * Space on the default button and Esc all deny). When the detail would not fit whole, only Deny is offered.
 * The time check (an Allow sooner than PROMPT_ALLOW_DELAY_MS counts as too fast) is the presenter's.
 */
export function toMessageBoxOptions(view: ApprovalPromptView): MessageBoxOptions & { decisions: Decision[] } {
  // Who asks comes first, on its own line, apart from the request's own rows (Agent, Host) further down.
  const originLines = view.origin ? [`From the gateway: ${view.origin.gateway} (${view.origin.address})`, ''] : [];
  const detailLines = [
    ...originLines,
    view.message,
    '',
    `Command (${view.commandSource === 'argv' ? 'computed by Clawdesk from the exact arguments that will run' : 'as the agent wrote it; Clawdesk could not verify it'}):`,
    view.command.text,
    ...view.agentDescriptions.flatMap((d) => ['', `${d.label} (not what runs):`, d.text]),
    ...(view.effects.length > 0 ? ['', 'What this does:', ...view.effects.map((e) => `• ${e.text}`)] : []),
    '',
    ...view.context.map((line) => `${line.label}: ${line.text}`),
    ...(view.warnings.length > 0 ? ['', 'Warnings:', ...view.warnings.map((w) => `• ${w}`)] : []),
    '',
    view.footer,
  ];
  let detail = detailLines.join('\n');
  let decisions = view.decisions;
  if (displayedLines(detail) > MESSAGE_BOX_MAX_LINES) {
    decisions = ['deny'];
    detail = [
      ...originLines,
      MESSAGE_BOX_TOO_LONG,
      '',
      ...view.context.map((line) => `${line.label}: ${line.text}`),
    ].join('\n');
  }
  const denyIndex = decisions.indexOf('deny');
  return {
    type: 'warning',
    title: view.title,
    message: view.title,
    detail,
    buttons: decisions.map((d) => DECISION_LABELS[d]),
    defaultId: denyIndex,
    cancelId: denyIndex,
    noLink: true,
    normalizeAccessKeys: false,
    decisions,
  };
}
