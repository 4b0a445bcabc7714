import { parse, type CommandNode, type PipelineNode, type Statement, type Word } from 'unbash';

/**
 * Reads a shell payload (`sh -c '<payload>'`) with a real Bash parser (unbash) and keeps it only when it stays inside
 * the safe subset, a whitelist over the syntax tree: simple commands made of literal words (unquoted, '…' or "…"
 * without expansions), joined by `|`, `&&`, `||`, `;` and newlines. Everything else — any expansion, substitution,
 * glob, brace or tilde, assignment, redirection, compound command, function, background job or parse error — is
 * outside, with the reason, and means "a decision every time".
 */

export interface ShellCommand {
  /** The words as the program (or builtin) receives them; words[0] is the command name. */
  words: string[];
  /** Index of the pipeline in the payload, and the position of this command inside it. */
  pipeline: number;
  position: number;
}

export type ShellRead =
  { ok: true; commands: ShellCommand[] } | { ok: false; reason: string; commands: ShellCommand[] };

/** Longest payload read at all: longer ones are refused rather than parsed. */
export const MAX_SHELL_PAYLOAD_CHARS = 64 * 1024;

/** Characters an unquoted literal may not carry: they expand (glob, brace, tilde, history) or are syntax. */
const UNQUOTED_SPECIAL = /[*?[\]{}~$`!()<>|&;#\n]/;

class Outside extends Error {}

function outside(reason: string): never {
  throw new Outside(reason);
}

/** The value of a word made only of literal parts; anything that expands is outside the subset. */
function literalWord(word: Word): string {
  const parts = word.parts;
  if (!parts) {
    // A plain word: unbash gives no parts when the text is one literal.
    if (UNQUOTED_SPECIAL.test(word.text) || word.text.includes('\\')) {
      if (word.text.includes('\\')) outside('backslash escapes are outside the safe shell subset');
      outside(`"${word.text}" expands in the shell`);
    }
    return word.value;
  }
  let value = '';
  for (const part of parts) {
    switch (part.type) {
      case 'Literal':
        if (UNQUOTED_SPECIAL.test(part.text) || part.text.includes('\\')) {
          outside(
            part.text.includes('\\')
              ? 'backslash escapes are outside the safe shell subset'
              : `"${part.text}" expands in the shell`,
          );
        }
        value += part.value;
        break;
      case 'SingleQuoted':
        value += part.value;
        break;
      case 'DoubleQuoted':
        for (const child of part.parts) {
          if (child.type !== 'Literal') outside(`${describePart(child.type)} is not allowed`);
          // Inside "…" a backslash, $ or ` can still mean something: keep only plain text.
          if (/[\\$`]/.test(child.text))
            outside('backslashes, $ and ` inside double quotes are outside the safe shell subset');
          value += child.value;
        }
        break;
      default:
        outside(`${describePart(part.type)} is not allowed`);
    }
  }
  if (parts.length && parts[0].type === 'Literal' && parts[0].text.startsWith('~'))
    outside('tilde expansion is not allowed');
  return value;
}

function describePart(type: string): string {
  switch (type) {
    case 'SimpleExpansion':
    case 'ParameterExpansion':
      return 'shell expansion';
    case 'CommandExpansion':
    case 'ArithmeticCommandExpansion':
      return 'command substitution';
    case 'ArithmeticExpansion':
      return 'arithmetic expansion';
    case 'ProcessSubstitution':
      return 'process substitution';
    case 'Glob':
    case 'ExtendedGlob':
      return 'a glob';
    case 'BraceExpansion':
      return 'brace expansion';
    case 'AnsiCQuoted':
      return "$'…' quoting";
    case 'LocaleString':
      return '$"…" quoting';
    default:
      return `shell syntax ${type}`;
  }
}

function simpleCommand(node: CommandNode, pipeline: number, position: number): ShellCommand {
  switch (node.type) {
    case 'Command':
      break;
    case 'Function':
      outside('function definitions are not allowed');
    // falls through (never reached: outside throws)
    case 'Subshell':
    case 'BraceGroup':
      outside('subshells and command groups are not allowed');
    // falls through
    case 'Redirected':
      outside('redirection is not allowed');
    // falls through
    case 'Coproc':
      outside('coproc is not allowed');
    // falls through
    default:
      outside(`shell syntax "${node.type}" is not allowed`);
  }
  if (
    node.redirects.length ||
    node.prefix.some((p) => p.type !== 'Assignment') ||
    node.suffix.some((s) => s.type !== 'Word' && s.type !== 'Assignment')
  ) {
    outside('redirection is not allowed');
  }
  if (node.prefix.length) outside('variable assignments are not allowed');
  if (!node.name) outside('an empty command is not allowed');
  const words = [literalWord(node.name)];
  for (const arg of node.suffix) {
    // `declare X=1` style arguments parse as assignments; the builtin check refuses those commands anyway.
    if (arg.type !== 'Word') outside('assignment arguments are not allowed');
    words.push(literalWord(arg));
  }
  if (!words[0]) outside('an empty command name is not allowed');
  return { words, pipeline, position };
}

function pipelineCommands(node: PipelineNode, pipeline: number, into: ShellCommand[]): void {
  if (node.type !== 'Pipeline') {
    into.push(simpleCommand(node, pipeline, 0));
    return;
  }
  if (node.prefixes.length) outside(node.prefixes[0].type === 'Time' ? '"time" is not allowed' : '"!" is not allowed');
  if (node.operators.some((op) => op !== '|')) outside('"|&" redirects stderr and is not allowed');
  node.commands.forEach((command, position) => into.push(simpleCommand(command, pipeline, position)));
}

function statementCommands(statement: Statement, nextPipeline: () => number, into: ShellCommand[]): void {
  if (statement.background) outside('background jobs ("&") are not allowed');
  const command = statement.command;
  if (command.type === 'AndOr') {
    for (const inner of command.commands) pipelineCommands(inner, nextPipeline(), into);
    return;
  }
  pipelineCommands(command, nextPipeline(), into);
}

export function readShellPayload(payload: string): ShellRead {
  const commands: ShellCommand[] = [];
  if (payload.length > MAX_SHELL_PAYLOAD_CHARS)
    return { ok: false, reason: `shell payload longer than ${MAX_SHELL_PAYLOAD_CHARS} characters`, commands };
  if (payload.includes('\u0000')) return { ok: false, reason: 'shell payload contains NUL', commands };
  // Heredocs, line continuations and CRs are where parsers and shells most often disagree: keep them out.
  if (/\\\r?\n/.test(payload))
    return { ok: false, reason: 'line continuations are outside the safe shell subset', commands };
  if (payload.includes('\r'))
    return { ok: false, reason: 'carriage returns are outside the safe shell subset', commands };
  let script;
  try {
    script = parse(payload);
  } catch (error) {
    return { ok: false, reason: `the shell payload could not be parsed (${(error as Error).message})`, commands };
  }
  if (script.errors?.length)
    return { ok: false, reason: `the shell payload does not parse: ${script.errors[0].message}`, commands };
  let pipeline = 0;
  try {
    for (const statement of script.commands) statementCommands(statement, () => pipeline++, commands);
  } catch (error) {
    if (error instanceof Outside) return { ok: false, reason: error.message, commands };
    throw error;
  }
  if (!commands.length) return { ok: false, reason: 'empty shell payload', commands };
  return { ok: true, commands };
}
