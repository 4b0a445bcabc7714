import {
  describeEffects,
  describeShellTextEffects,
  effectSentence,
  programName,
  shellPayload,
  type CommandEffect,
  type DestructiveForm,
  type WriteWhere,
} from '../gateway/exec/command-effects';
import { readCommand } from '../gateway/exec/command-structure';
import type { ApprovalPromptView, Decision, PromptEffectLine, PromptLine } from '../common/ipc-contract';
import type { MessageBoxOptions } from './electron-facades';
import { describeEnvKeys, hardenForDisplay, REDACTED, redactSecrets, type HardenedText } from './display-hardening';
import { englishMain, type MainMessageKey, type MainTranslate } from './main-i18n';

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

/*
 * Every fixed word of the prompt comes from the main catalogues (main/locales/*, in the person's language; `t`
 * below, English by default). What the request carries (the command, paths, names, hashes) is never translated,
 * and translated words never go through hardenForDisplay: only untrusted text does, so a marker always means the
 * request's own characters.
 */
export const PROMPT_TITLE = englishMain('prompt.title');
export const PROMPT_MESSAGE = englishMain('prompt.message');
export const PROMPT_FOOTER = englishMain('prompt.footer');
/** Where a request came from: the local gateway, or a saved gateway on another machine (main/remote-gateways.ts). */
export interface PromptOrigin {
  gateway: string;
  address: string;
}
export const remotePromptTitle = (gateway: string, t: MainTranslate = englishMain) =>
  t('prompt.titleRemote', { gateway });
export const REMOTE_PROMPT_FOOTER = englishMain('prompt.footerRemote');
/** A request from another machine has its own id space: it must never share a local request's prompt or answer. */
export function promptKey(id: string, origin?: PromptOrigin): string {
  return origin ? `gateway:${origin.gateway}:${id}` : id;
}
/** The buttons: the glossary's exact terms (renderer/locales/glossary.ts), the same words as the dashboard's. */
export function decisionLabels(t: MainTranslate = englishMain): Record<Decision, string> {
  return {
    'allow-once': t('decision.allowOnce'),
    'allow-always': t('decision.allowAlways'),
    deny: t('decision.deny'),
  };
}
export const DECISION_LABELS: Record<Decision, string> = decisionLabels();

const DECISION_ORDER: Decision[] = ['allow-once', 'allow-always', 'deny'];

/** Quotes argv the way a POSIX shell reader expects, so argument boundaries are visible. */
export function quoteArgv(argv: readonly string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export const COMMAND_NOTE_VERIFIED = englishMain('prompt.noteVerified');
export const COMMAND_NOTE_UNVERIFIED = englishMain('prompt.noteUnverified');
export const AGENT_DESCRIPTION_LABEL = englishMain('prompt.agentDescription');

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

const FORM_KEYS: Record<DestructiveForm, MainMessageKey> = {
  'force-recursive-delete': 'effect.form.forceRecursiveDelete',
  'recursive-delete': 'effect.form.recursiveDelete',
  'find-delete': 'effect.form.findDelete',
  'sync-delete': 'effect.form.syncDelete',
  'raw-write': 'effect.form.rawWrite',
  'device-write': 'effect.form.deviceWrite',
  format: 'effect.form.format',
  wipe: 'effect.form.wipe',
  partition: 'effect.form.partition',
  'world-writable': 'effect.form.worldWritable',
  'recursive-chown': 'effect.form.recursiveChown',
  shred: 'effect.form.shred',
  truncate: 'effect.form.truncate',
};
const WHERE_KEYS: Record<WriteWhere, MainMessageKey> = {
  'outside-cwd': 'effect.where.outsideCwd',
  home: 'effect.where.home',
  'unknown-target': 'effect.where.unknownTarget',
  'unknown-cwd': 'effect.where.unknownCwd',
  remote: 'effect.where.remote',
};
/** The analyser's reason when main itself reads agent text as a shell command (the only reason that is main's own). */
const NO_ARGV_REASON = 'the request has no argument list; the text below is read as a shell command';

/**
 * The analyser's reasons (gateway/exec/command-effects.ts, command-structure.ts), which it writes in English, read
 * back into a message: the fixed words are the catalogue's, every captured part (a program, an option, an error) is
 * the request's and goes through `v` like any other value. A reason not listed here is shown as it is.
 */
const REASONS: ReadonlyArray<[RegExp, MainMessageKey, readonly string[]]> = [
  [/^shell payloads nested too deeply$/, 'effect.reason.nestedTooDeeply', []],
  [/^the shell payload is too long to read$/, 'effect.reason.payloadTooLong', []],
  [/^the shell payload could not be parsed$/, 'effect.reason.payloadUnparsable', []],
  [/^the shell payload does not parse: ([\s\S]*)$/, 'effect.reason.payloadDoesNotParse', ['error']],
  [/^code is fed to ([\s\S]+) on its standard input$/, 'effect.reason.stdinCode', ['program']],
  [/^outside what Clawdesk can analyse$/, 'effect.reason.outsideAnalysis', []],
  [/^the analysis failed: ([\s\S]*)$/, 'effect.reason.analysisFailed', ['error']],
  [
    /^([\s\S]+?) runs the script ([\s\S]+), whose commands Clawdesk does not read$/,
    'effect.reason.scriptFile',
    ['program', 'script'],
  ],
  [/^([\s\S]+?) reads a script from a file or standard input$/, 'effect.reason.stdinScript', ['program']],
  [/^([\s\S]+?) without -c reads commands from standard input$/, 'effect.reason.noC', ['program']],
  [/^([\s\S]+?) -c without a command$/, 'effect.reason.emptyC', ['program']],
  [
    /^shell option ([\s\S]+?) is not allowed \(an interactive shell runs rc files\)$/,
    'effect.reason.interactive',
    ['option'],
  ],
  [/^shell option ([\s\S]+?) is not allowed$/, 'effect.reason.shellOption', ['option']],
  [/^too many nested wrappers or shells$/, 'effect.reason.tooNested', []],
  [/^empty command$/, 'effect.reason.empty', []],
  [/^a login shell \(([\s\S]+)\) inside a shell payload runs profile scripts$/, 'effect.reason.loginShell', ['shell']],
  [/^shell builtin "([\s\S]*)" is not allowed$/, 'effect.reason.builtin', ['builtin']],
  [/^printf -v assigns a variable and is not allowed$/, 'effect.reason.printfV', []],
  [/^([\s\S]+?) payloads are not read by Clawdesk$/, 'effect.reason.notRead', ['program']],
  [/^PowerShell commands need a decision every time$/, 'effect.reason.powershell', []],
  [/^env assignment of "([\s\S]*)" is not allowed$/, 'effect.reason.envName', ['name']],
  [/^environment override of ([\s\S]+) is not allowed$/, 'effect.reason.envOverride', ['name']],
];

/** What the safe shell subset (gateway/exec/shell-syntax.ts) says "… is (are) not allowed" about. */
const CONSTRUCTS = new Map<string, MainMessageKey>([
  ['redirection', 'construct.redirection'],
  ['shell expansion', 'construct.shellExpansion'],
  ['command substitution', 'construct.commandSubstitution'],
  ['arithmetic expansion', 'construct.arithmeticExpansion'],
  ['process substitution', 'construct.processSubstitution'],
  ['a glob', 'construct.glob'],
  ['brace expansion', 'construct.braceExpansion'],
  ['tilde expansion', 'construct.tildeExpansion'],
  ['assignment arguments', 'construct.assignmentArguments'],
  ['variable assignments', 'construct.variableAssignments'],
  ['function definitions', 'construct.functionDefinitions'],
  ['subshells and command groups', 'construct.subshells'],
  ['background jobs ("&")', 'construct.backgroundJobs'],
]);

/** The reason in the person's language; `v` redacts and hardens each part that came from the request. */
export function translateReason(reason: string, t: MainTranslate, v: (value: string) => string): string {
  if (reason === NO_ARGV_REASON) return t('effect.noArgv');
  const construct = /^(.+) (?:is|are) not allowed$/.exec(reason)?.[1];
  const constructKey = construct === undefined ? undefined : CONSTRUCTS.get(construct);
  if (constructKey) return t('effect.reason.notAllowed', { construct: t(constructKey) });
  for (const [pattern, key, names] of REASONS) {
    const match = pattern.exec(reason);
    if (match) return t(key, Object.fromEntries(names.map((name, i) => [name, v(match[i + 1])])));
  }
  return v(reason);
}

const SCRIPT_KEYS: Record<string, MainMessageKey> = {
  Cyrillic: 'script.cyrillic',
  Greek: 'script.greek',
  Armenian: 'script.armenian',
  Cherokee: 'script.cherokee',
  Latin: 'script.latin',
  Han: 'script.han',
  Arabic: 'script.arabic',
  Hebrew: 'script.hebrew',
  other: 'script.other',
};

/**
 * One effect in the person's language. Every value from the request (programs, targets, users, the analyser's own
 * reason) is redacted and hardened on its own, the sentence around it is `t`'s and never hardened. The same sentence
 * in English (gateway/exec/command-effects.ts effectSentence) is the check: when redacting it whole hides more than
 * redacting each value did, that English line is shown instead, so a translation never shows a secret.
 */
function effectLine(effect: CommandEffect, maxChars: number, t: MainTranslate): Omit<PromptEffectLine, 'kind'> {
  const flags = new Set<PromptEffectLine['flags'][number]>();
  let redactions = 0;
  const v = (value: string): string => {
    const clipped = value.length > maxChars ? `${value.slice(0, maxChars - 1)}…` : value;
    const hidden = redactSecrets(clipped);
    redactions += hidden.redactions;
    const hardened = hardenForDisplay(hidden.text);
    for (const flag of hardened.flags) flags.add(flag);
    return hardened.text;
  };
  const quoted = (targets: readonly string[]) => {
    const list = targets
      .slice(0, 5)
      .map((target) => `"${v(target)}"`)
      .join(', ');
    return targets.length > 5 ? t('effect.moreTargets', { list, count: targets.length - 5 }) : list;
  };
  let text: string;
  switch (effect.kind) {
    case 'unreadable':
      text = t('effect.unreadable', { reason: translateReason(effect.reason, t, v) });
      break;
    case 'privilege':
      text = t('effect.privilege', {
        program: v(effect.program),
        user:
          typeof effect.runAs === 'string'
            ? v(effect.runAs)
            : t(effect.program === 'runuser' ? 'effect.privilegeOther' : 'effect.privilegeRoot'),
      });
      break;
    case 'download-exec':
      text = t(effect.how === 'pipe' ? 'effect.downloadExecPiped' : 'effect.downloadExec', {
        downloader: v(effect.downloader),
        interpreter: v(effect.interpreter),
      });
      break;
    case 'destructive':
      text = effect.targets.length
        ? t('effect.destructiveTargets', {
            what: t(FORM_KEYS[effect.form]),
            program: effect.redirect ? t('effect.byRedirection') : v(effect.program),
            targets: quoted(effect.targets),
          })
        : t('effect.destructive', {
            what: t(FORM_KEYS[effect.form]),
            program: effect.redirect ? t('effect.byRedirection') : v(effect.program),
          });
      break;
    case 'write-outside':
      text = t('effect.write', {
        what: t(WHERE_KEYS[effect.where]),
        target: v(effect.target),
        by: effect.redirect ? t('effect.byRedirection') : v(effect.by),
      });
      break;
    case 'runs':
      text = t(
        effect.role === 'shell' ? 'effect.runsShell' : effect.role === 'wrapper' ? 'effect.runsWrapper' : 'effect.runs',
        { program: v(effect.program) },
      );
      break;
  }
  let english = effectSentence(effect);
  if (english.length > maxChars) english = `${english.slice(0, maxChars - 1)}…`;
  const whole = redactSecrets(english);
  if (whole.redactions > redactions) {
    const hardened = hardenForDisplay(whole.text);
    return { text: hardened.text, flags: hardened.flags };
  }
  return { text, flags: [...flags] };
}

function effectLines(effects: readonly CommandEffect[], maxChars: number, t: MainTranslate): PromptEffectLine[] {
  const MAX_PROGRAM_LINES = 20;
  const runs = effects.filter((e) => e.kind === 'runs');
  const shown = [...effects.filter((e) => e.kind !== 'runs'), ...runs.slice(0, MAX_PROGRAM_LINES)];
  const lines: PromptEffectLine[] = shown.map((effect) => ({ kind: effect.kind, ...effectLine(effect, maxChars, t) }));
  if (runs.length > MAX_PROGRAM_LINES)
    lines.push({
      kind: 'runs',
      text: t('prompt.morePrograms', { count: runs.length - MAX_PROGRAM_LINES }),
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

/** The markers display-hardening.ts writes, given to the warnings as data so no translation can change them. */
const MARKER = '⟨…⟩';
const BIDI_EXAMPLE = '⟨RLO⟩';

function flagWarnings(what: string, hardened: HardenedText, t: MainTranslate): string[] {
  const out: string[] = [];
  for (const flag of hardened.flags) {
    switch (flag) {
      case 'bidi':
        out.push(t('warn.bidi', { what, example: BIDI_EXAMPLE }));
        break;
      case 'invisible':
        out.push(t('warn.invisible', { what, marker: MARKER }));
        break;
      case 'control':
        out.push(t('warn.control', { what, marker: MARKER }));
        break;
      case 'unusual-space':
        out.push(t('warn.unusualSpace', { what, marker: MARKER }));
        break;
      case 'confusable': {
        const examples = [...new Map(hardened.confusables.map((c) => [c.char, c])).values()]
          .slice(0, 5)
          .map((c) =>
            t('warn.confusableExample', {
              char: c.char,
              codePoint: c.codePoint,
              script: SCRIPT_KEYS[c.script] ? t(SCRIPT_KEYS[c.script]) : c.script,
              looksLike: c.looksLike,
            }),
          )
          .join('; ');
        out.push(t('warn.confusable', { what, examples }));
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
 * as", with a warning. Every displayed value goes through redactSecrets then hardenForDisplay; the prompt's own
 * words are `t`'s (the person's language), never hardened and never mixed into a displayed value. A denial's
 * `detail` stays English: it is the record's and the log's, not shown in a prompt.
 */
export function buildApprovalPrompt(
  event: ExecApprovalRequested,
  limits: PromptLimits = DEFAULT_PROMPT_LIMITS,
  platform: NodeJS.Platform = process.platform,
  origin?: PromptOrigin,
  t: MainTranslate = englishMain,
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

  const warnings = flagWarnings(t('what.command'), command, t);
  let secretsHidden = redacted.redactions;
  const noteUnverified = t('prompt.noteUnverified');
  if (!argv) warnings.unshift(noteUnverified);

  // The requester's own words, where they say something else than the argv: shown as its claim, never as the command.
  const agentDescriptions: PromptLine[] = [];
  if (argv) {
    for (const text of agentTexts.filter((t) => !describesArgv(t, argv, platform))) {
      const hiddenDescription = redactSecrets(text);
      const hardened = hardenForDisplay(hiddenDescription.text, { multiline: true });
      if (hardened.text.length > limits.maxCommandChars || hardened.text.split('\n').length > limits.maxCommandLines) {
        warnings.unshift(t('warn.descriptionTooLong', { count: text.length }));
        continue;
      }
      secretsHidden += hiddenDescription.redactions;
      agentDescriptions.push({ label: t('prompt.agentDescription'), text: hardened.text, flags: hardened.flags });
      warnings.unshift(t('warn.descriptionDiffers'));
      warnings.push(...flagWarnings(t('what.agentDescription'), hardened, t));
    }
  }

  const context: PromptLine[] = [];
  const field = (label: string, value: unknown): PromptLine | 'too-long' | undefined => {
    if (typeof value !== 'string' || value.length === 0) return undefined;
    if (value.length > limits.maxFieldChars) return 'too-long';
    const hiddenValue = redactSecrets(value);
    secretsHidden += hiddenValue.redactions;
    const hardened = hardenForDisplay(hiddenValue.text);
    warnings.push(...flagWarnings(label, hardened, t));
    return { label, text: hardened.text, flags: hardened.flags };
  };
  const cwd = plan ? (plan.cwd ?? null) : (r.cwd ?? null);
  if (plan && typeof r.cwd === 'string' && typeof plan.cwd === 'string' && r.cwd !== plan.cwd) {
    const other = field(t('field.otherCwd'), r.cwd);
    if (other === 'too-long')
      return { kind: 'deny', reason: 'too-long', detail: 'The other working directory is too long to review.' };
    if (other) warnings.push(t('warn.otherCwd', { cwd: other.text }));
  }
  // The executable is the argv's own first word; a resolvedPath the request adds is only what it says.
  const resolved = nonEmpty(r.resolvedPath);
  const executable = argv ? argv[0] : resolved;
  let reportedPath: string | undefined;
  if (argv && resolved !== undefined && resolved !== argv[0]) {
    const bare = !/[\\/]/.test(argv[0]);
    if (bare && programName(resolved, platform) === programName(argv[0], platform)) reportedPath = resolved;
    else {
      const said = field(t('field.reportedExecutable'), resolved);
      if (said === 'too-long')
        return { kind: 'deny', reason: 'too-long', detail: 'The reported executable is too long to review.' };
      if (said)
        warnings.unshift(t('warn.reportedExecutable', { reported: said.text, actual: hardenForDisplay(argv[0]).text }));
    }
  }
  // [label, value, the English label for a denial's detail]. Host, Security and Ask mode show the protocol's own
  // values (node, allowlist, on-miss), as the request carries them.
  const fields: Array<[string, unknown, string]> = [
    [t('field.cwd'), cwd, 'working directory'],
    [t('field.agent'), r.agentId ?? plan?.agentId, 'agent'],
    [t('field.executable'), executable, 'executable'],
    [t('field.resolvedPath'), reportedPath, 'resolved path (as the request reports it)'],
    [t('field.host'), r.host === 'node' && r.nodeId ? `node ${r.nodeId}` : r.host, 'host'],
    [t('field.security'), r.security, 'security'],
    [t('field.ask'), r.ask, 'ask mode'],
  ];
  for (const [label, value, english] of fields) {
    const line = field(label, value);
    if (line === 'too-long') {
      return { kind: 'deny', reason: 'too-long', detail: `The ${english} is too long to review.` };
    }
    if (line) context.push(line);
  }
  if (Array.isArray(r.envKeys) && r.envKeys.length > 0) {
    const env = describeEnvKeys(r.envKeys.filter((k): k is string => typeof k === 'string'));
    const label = t('field.environment');
    const names = env.map((e) => e.name).join(', ');
    if (names.length > limits.maxFieldChars)
      return { kind: 'deny', reason: 'too-long', detail: 'The environment list is too long to review.' };
    // Each name is the request's text (hardened); "(secret, value hidden)" is the prompt's own, in the person's
    // language, and never hardened.
    const shown = env.map((e) => {
      const name = field(label, e.name);
      return name && name !== 'too-long' ? { ...name, secret: e.secret } : undefined;
    });
    const parts = shown.filter((p): p is PromptLine & { secret: boolean } => p !== undefined);
    if (parts.length > 0)
      context.push({
        label,
        text: parts.map((p) => (p.secret ? t('prompt.envSecret', { name: p.text }) : p.text)).join(', '),
        flags: [...new Set(parts.flatMap((p) => p.flags))],
      });
  }
  if (secretsHidden > 0) {
    warnings.push(t('warn.secretsHidden', { count: secretsHidden, marker: REDACTED }));
  }

  const effectOptions = { cwd: typeof cwd === 'string' ? cwd : null, platform };
  const effects = argv
    ? safely(() => describeEffects(readCommand(argv, platform), effectOptions))
    : [
        {
          kind: 'unreadable' as const,
          reason: NO_ARGV_REASON,
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
      title: shownOrigin ? remotePromptTitle(shownOrigin.gateway, t) : t('prompt.title'),
      message: t('prompt.message'),
      command: { label: t('prompt.command'), text: command.text, flags: command.flags },
      commandSource: argv ? 'argv' : 'agent-text',
      commandNote: argv ? t('prompt.noteVerified') : noteUnverified,
      agentDescriptions,
      effects: effectLines(effects, limits.maxFieldChars, t),
      context,
      warnings: [...new Set(warnings)],
      footer: shownOrigin ? t('prompt.footerRemote') : t('prompt.footer'),
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

export const MESSAGE_BOX_TOO_LONG = englishMain('box.tooLong');

function displayedLines(text: string): number {
  return text.split('\n').reduce((sum, line) => sum + Math.max(1, Math.ceil(line.length / MESSAGE_BOX_WRAP_CHARS)), 0);
}

/**
 * The same view as a native message box: buttons in decision order, Deny the default and the cancel action (Enter,
 * Space on the default button and Esc all deny). When the detail would not fit whole, only Deny is offered.
 * The time check (an Allow sooner than PROMPT_ALLOW_DELAY_MS counts as too fast) is the presenter's.
 */
export function toMessageBoxOptions(
  view: ApprovalPromptView,
  t: MainTranslate = englishMain,
): MessageBoxOptions & { decisions: Decision[] } {
  // Who asks comes first, on its own line, apart from the request's own rows (Agent, Host) further down.
  const originLines = view.origin
    ? [t('box.fromGateway', { gateway: view.origin.gateway, address: view.origin.address }), '']
    : [];
  const detailLines = [
    ...originLines,
    view.message,
    '',
    t(view.commandSource === 'argv' ? 'box.commandVerified' : 'box.commandUnverified'),
    view.command.text,
    ...view.agentDescriptions.flatMap((d) => ['', t('box.notWhatRuns', { label: d.label }), d.text]),
    ...(view.effects.length > 0 ? ['', t('box.effects'), ...view.effects.map((e) => `• ${e.text}`)] : []),
    '',
    ...view.context.map((line) => `${line.label}: ${line.text}`),
    ...(view.warnings.length > 0 ? ['', t('box.warnings'), ...view.warnings.map((w) => `• ${w}`)] : []),
    '',
    view.footer,
  ];
  let detail = detailLines.join('\n');
  let decisions = view.decisions;
  if (displayedLines(detail) > MESSAGE_BOX_MAX_LINES) {
    decisions = ['deny'];
    detail = [...originLines, t('box.tooLong'), '', ...view.context.map((line) => `${line.label}: ${line.text}`)].join(
      '\n',
    );
  }
  const denyIndex = decisions.indexOf('deny');
  return {
    type: 'warning',
    title: view.title,
    message: view.title,
    detail,
    buttons: decisions.map((d) => decisionLabels(t)[d]),
    defaultId: denyIndex,
    cancelId: denyIndex,
    noLink: true,
    normalizeAccessKeys: false,
    decisions,
  };
}
