import { commandName } from './command-text';
import { isDangerousEnvKey } from './env-policy';
import { readShellPayload } from './shell-syntax';

/**
 * Which programs an argv will start, read without touching the file system: the outer program, every transparent
 * wrapper (env, nice, nohup, timeout, stdbuf) with its options parsed, every POSIX shell with its options parsed and
 * its `-c` payload read by the real parser (shell-syntax.ts), and the programs inside. Anything that cannot be read
 * exactly ends the reading with a reason: the caller must then ask every time.
 *
 * Wrappers and shells are recognised by name here; whether a program named `sh` really is the system shell is the
 * analyser's question (command-analysis.ts), which passes `isSystemCarrier` so an impostor is read as a plain program.
 */

export type ProgramRole = 'program' | 'wrapper' | 'shell';

export interface ProgramInvocation {
  /** As the program receives it; argv[0] as written. */
  argv: string[];
  role: ProgramRole;
  via: 'argv' | 'wrapper' | 'shell';
  /** Index of the pipeline within a shell payload (0 for a direct argv). */
  pipeline: number;
  /** Position within that pipeline: a program at position > 0 reads the previous one's output. */
  position: number;
  /** Index in `programs` of the wrapper or shell that starts this one; null for the outer program. */
  parent: number | null;
  /** For a login shell (`-l`, `--login`): the argv indices carrying the flag, which Clawdesk drops when it runs it. */
  loginFlags?: number[];
}

export interface CommandStructure {
  ok: boolean;
  reason?: string;
  programs: ProgramInvocation[];
}

export interface ReadOptions {
  /** Is this argv[0] (named like a wrapper or shell) the real system one? Default: trust the name. */
  isSystemCarrier?: (argv0: string, role: 'wrapper' | 'shell') => boolean;
}

export const TRANSPARENT_WRAPPERS = new Set(['env', 'nice', 'nohup', 'timeout', 'stdbuf']);
/** Shells whose `-c` payload the Bash parser reads faithfully. Other shells (zsh, fish, ksh…) are never read. */
export const ANALYSABLE_SHELLS = new Set(['sh', 'bash', 'dash']);
export const OTHER_POSIX_SHELLS = new Set([
  'zsh',
  'ksh',
  'mksh',
  'ash',
  'fish',
  'csh',
  'tcsh',
  'yash',
  'busybox',
  'rbash',
  'ksh93',
  'pdksh',
  'oksh',
  'elvish',
  'nu',
  'xonsh',
]);
export const WINDOWS_SHELLS = new Set(['cmd', 'powershell', 'pwsh']);

/** Builtins that start nothing and change nothing but their own output. Every other builtin needs a decision. */
const HARMLESS_BUILTINS = new Set(['echo', 'printf', 'true', 'false', ':', 'pwd']);
/** Bash's and dash's builtins and keywords: a command with one of these names is not a PATH lookup. */
const SHELL_BUILTINS = new Set([
  '.',
  ':',
  '[',
  'alias',
  'bg',
  'bind',
  'break',
  'builtin',
  'caller',
  'cd',
  'command',
  'compgen',
  'complete',
  'compopt',
  'continue',
  'declare',
  'dirs',
  'disown',
  'echo',
  'enable',
  'eval',
  'exec',
  'exit',
  'export',
  'false',
  'fc',
  'fg',
  'getopts',
  'hash',
  'help',
  'history',
  'jobs',
  'kill',
  'let',
  'local',
  'logout',
  'mapfile',
  'popd',
  'printf',
  'pushd',
  'pwd',
  'read',
  'readarray',
  'readonly',
  'return',
  'set',
  'shift',
  'shopt',
  'source',
  'suspend',
  'test',
  'times',
  'trap',
  'true',
  'type',
  'typeset',
  'ulimit',
  'umask',
  'unalias',
  'unset',
  'wait',
  'chdir',
  'login',
  'newgrp',
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'for',
  'while',
  'until',
  'do',
  'done',
  'case',
  'esac',
  'function',
  'select',
  'time',
  'coproc',
  'in',
  '{',
  '}',
  '!',
  '[[',
  ']]',
]);

const MAX_DEPTH = 8;

class Stop extends Error {}

/** Single-letter shell options that change neither what runs nor where it is looked up. */
const SAFE_SHELL_FLAGS = new Set(['e', 'u', 'x', 'v', 'f', 'a', 'C', 'h', 'n']);
const SAFE_SHELL_OPTION_NAMES = new Set([
  'errexit',
  'nounset',
  'pipefail',
  'xtrace',
  'verbose',
  'noglob',
  'allexport',
  'noclobber',
  'hashall',
  'noexec',
  'posix',
]);
const SAFE_LONG_SHELL_OPTIONS = new Set(['--norc', '--noprofile', '--posix', '--noediting', '--restricted']);

type ShellInvocation = { kind: 'payload'; payload: string; loginFlags: number[] } | { kind: 'stop'; reason: string };

/**
 * `sh`/`bash`/`dash` options up to the command string. Every option is understood or the reading stops: `-i` reads rc
 * files, `-k` turns later words into environment, `--rcfile F` takes an argument, and a first operand without `-c` is
 * a script file whose commands are not in the argv. `-l`/`--login` (OpenClaw wraps every agent command in
 * `/bin/sh -lc`) is reported in `loginFlags`: the profile scripts it would run, and the PATH they may set, are not
 * part of the command, so Clawdesk runs the shell without it.
 */
export function readShellInvocation(argv: readonly string[]): ShellInvocation {
  const name = argv[0];
  let sawC = false;
  const loginFlags: number[] = [];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--' || arg === '-') {
      if (sawC && i + 1 < argv.length) return { kind: 'payload', payload: argv[i + 1], loginFlags };
      return {
        kind: 'stop',
        reason: sawC ? `${name} -c without a command` : `${name} reads a script from a file or standard input`,
      };
    }
    if (arg === '-o' || arg === '+o') {
      const option = argv[i + 1];
      if (option === undefined || !SAFE_SHELL_OPTION_NAMES.has(option))
        return { kind: 'stop', reason: `shell option ${arg} ${option ?? ''} is not allowed`.trim() };
      i++;
      continue;
    }
    if (arg.startsWith('--')) {
      if (SAFE_LONG_SHELL_OPTIONS.has(arg)) continue;
      if (arg === '--login') {
        loginFlags.push(i);
        continue;
      }
      return { kind: 'stop', reason: `shell option ${arg} is not allowed` };
    }
    if (/^[-+][A-Za-z]+$/.test(arg)) {
      for (const letter of arg.slice(1)) {
        if (letter === 'c' && arg[0] === '-') sawC = true;
        else if (letter === 'l' && arg[0] === '-') {
          if (!loginFlags.includes(i)) loginFlags.push(i);
        } else if (!SAFE_SHELL_FLAGS.has(letter)) {
          const why = letter === 'i' ? ' (an interactive shell runs rc files)' : '';
          return { kind: 'stop', reason: `shell option -${letter} is not allowed${why}` };
        }
      }
      continue;
    }
    if (arg.startsWith('-') || arg.startsWith('+'))
      return { kind: 'stop', reason: `shell option ${arg} is not allowed` };
    if (sawC) return { kind: 'payload', payload: arg, loginFlags };
    return { kind: 'stop', reason: `${name} runs the script ${arg}, whose commands Clawdesk does not read` };
  }
  return {
    kind: 'stop',
    reason: sawC ? `${name} -c without a command` : `${name} without -c reads commands from standard input`,
  };
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function envAssignment(arg: string, platform: NodeJS.Platform): void {
  const key = arg.slice(0, arg.indexOf('='));
  if (!ENV_NAME.test(key)) throw new Stop(`env assignment of "${key}" is not allowed`);
  if (isDangerousEnvKey(key, platform)) throw new Stop(`environment override of ${key} is not allowed`);
}

/** Where the wrapped command starts in a wrapper's argv; every option is understood or the reading stops. */
export function wrappedCommandIndex(name: string, args: readonly string[], platform: NodeJS.Platform): number {
  let i = 1;
  const stop = (why: string): never => {
    throw new Stop(why);
  };
  const takeValue = (option: string) => {
    if (i + 1 >= args.length) stop(`${name} ${option}: missing value`);
    i++;
    return args[i];
  };
  switch (name) {
    case 'env':
      for (; i < args.length; i++) {
        const a = args[i];
        if (a === '-0' || a === '--null' || a === '-v' || a === '--debug') continue;
        if (a === '-u' || a === '--unset') {
          if (takeValue(a) === 'PATH') stop('env -u PATH changes how the program is found');
          continue;
        }
        if (/^-u./.test(a) || a.startsWith('--unset=')) {
          if (a.replace(/^(-u|--unset=)/, '') === 'PATH') stop('env -u PATH changes how the program is found');
          continue;
        }
        if (a === '-i' || a === '-' || a === '--ignore-environment') stop('env -i changes how the program is found');
        if (a === '-S' || a.startsWith('-S') || a.startsWith('--split-string'))
          stop('env -S splits a string into a command');
        if (a === '-C' || a.startsWith('-C') || a.startsWith('--chdir')) stop('env -C changes the working directory');
        if (a === '--') {
          i++;
          break;
        }
        if (a.startsWith('-')) stop(`env option ${a} is not understood`);
        if (a.includes('=')) {
          envAssignment(a, platform);
          continue;
        }
        break;
      }
      break;
    case 'nice':
      for (; i < args.length; i++) {
        const a = args[i];
        if (a === '-n' || a === '--adjustment') {
          if (!/^[+-]?\d+$/.test(takeValue(a))) stop('nice: the adjustment must be a number');
          continue;
        }
        if (/^-n[+-]?\d+$/.test(a) || /^-\d+$/.test(a) || /^--adjustment=[+-]?\d+$/.test(a)) continue;
        if (a === '--') {
          i++;
          break;
        }
        if (a.startsWith('-')) stop(`nice option ${a} is not understood`);
        break;
      }
      break;
    case 'nohup':
      if (args[1] === '--') i = 2;
      else if (args[1]?.startsWith('-')) stop(`nohup option ${args[1]} is not understood`);
      break;
    case 'timeout':
      for (; i < args.length; i++) {
        const a = args[i];
        if (a === '-s' || a === '--signal' || a === '-k' || a === '--kill-after') {
          takeValue(a);
          continue;
        }
        if (/^-[sk]./.test(a) || a.startsWith('--signal=') || a.startsWith('--kill-after=')) continue;
        if (a === '--preserve-status' || a === '--foreground' || a === '-v' || a === '--verbose') continue;
        if (a === '--') {
          i++;
          break;
        }
        if (a.startsWith('-')) stop(`timeout option ${a} is not understood`);
        break;
      }
      if (i >= args.length || !/^\d+(\.\d+)?[smhd]?$/.test(args[i])) stop('timeout: missing duration');
      i++;
      break;
    case 'stdbuf':
      for (; i < args.length; i++) {
        const a = args[i];
        if (a === '-i' || a === '-o' || a === '-e') {
          takeValue(a);
          continue;
        }
        if (/^-[ioe]./.test(a) || /^--(input|output|error)=/.test(a)) continue;
        if (a === '--') {
          i++;
          break;
        }
        if (a.startsWith('-')) stop(`stdbuf option ${a} is not understood`);
        break;
      }
      break;
    default:
      stop(`${name} is not a wrapper`);
  }
  if (i >= args.length) stop(`${name} without a command`);
  return i;
}

/** `cmd /c payload` reduces to one program only when the payload has no cmd syntax at all. */
function readCmdPayload(argv: readonly string[]): string[] {
  let i = 1;
  for (; i < argv.length; i++) {
    if (/^\/[ck]$/i.test(argv[i])) break;
    if (!/^\/[a-z]$/i.test(argv[i]) && !/^\/[a-z]:/i.test(argv[i]))
      throw new Stop(`cmd.exe option ${argv[i]} is not understood`);
  }
  if (i >= argv.length) throw new Stop('cmd.exe without /c runs interactively');
  if (/^\/k$/i.test(argv[i])) throw new Stop('cmd.exe /k keeps an interactive shell');
  const payload = argv.slice(i + 1).join(' ');
  if (!payload.trim()) throw new Stop('cmd.exe /c without a command');
  // & | < > ^ % ! ( ) " and friends: chaining, redirection, escapes and expansion need a person every time.
  if (/[&|<>^%!()"@,;=\t\r\n]/.test(payload))
    throw new Stop('cmd.exe syntax (&, |, ^, %VAR%, redirection, quoting) needs a decision every time');
  const words = payload.split(' ').filter(Boolean);
  const first = words[0].toLowerCase();
  if (CMD_BUILTINS.has(first) || first.includes(':'))
    throw new Stop(`cmd.exe builtin "${words[0]}" needs a decision every time`);
  return words;
}

/** cmd.exe's internal commands: no file runs, so nothing to identify (and `start`, `call`, `if`, `for` run more). */
const CMD_BUILTINS = new Set([
  'assoc',
  'break',
  'call',
  'cd',
  'chdir',
  'cls',
  'color',
  'copy',
  'date',
  'del',
  'dir',
  'dpath',
  'echo',
  'endlocal',
  'erase',
  'exit',
  'for',
  'ftype',
  'goto',
  'if',
  'keys',
  'md',
  'mkdir',
  'mklink',
  'move',
  'path',
  'pause',
  'popd',
  'prompt',
  'pushd',
  'rd',
  'rem',
  'ren',
  'rename',
  'rmdir',
  'set',
  'setlocal',
  'shift',
  'start',
  'time',
  'title',
  'type',
  'ver',
  'verify',
  'vol',
]);

/** A batch file is run by cmd.exe, which parses its arguments again: metacharacters in them are cmd syntax. */
function checkBatchArguments(args: readonly string[]): void {
  if (args.slice(1).some((a) => /[&|<>^%!()"\r\n]/.test(a)))
    throw new Stop('a batch file argument with cmd.exe syntax (&, |, ^, %VAR%…) needs a decision every time');
}

export function readCommand(
  argv: readonly string[],
  platform: NodeJS.Platform,
  options: ReadOptions = {},
): CommandStructure {
  const programs: ProgramInvocation[] = [];
  const trust = options.isSystemCarrier ?? (() => true);

  const read = (
    args: readonly string[],
    via: ProgramInvocation['via'],
    pipeline: number,
    position: number,
    parent: number | null,
    depth: number,
    inPayload = false,
  ): void => {
    if (depth > MAX_DEPTH) throw new Stop('too many nested wrappers or shells');
    if (!args.length || !args[0]) throw new Stop('empty command');
    const name = commandName(args[0], platform);
    const push = (role: ProgramRole): number =>
      programs.push({ argv: [...args], role, via, pipeline, position, parent }) - 1;

    if (TRANSPARENT_WRAPPERS.has(name) && trust(args[0], 'wrapper')) {
      const self = push('wrapper');
      const start = wrappedCommandIndex(name, args, platform);
      read(args.slice(start), 'wrapper', pipeline, position, self, depth + 1, inPayload);
      return;
    }
    if (platform !== 'win32' && ANALYSABLE_SHELLS.has(name) && trust(args[0], 'shell')) {
      const self = push('shell');
      const invocation = readShellInvocation(args);
      if (invocation.kind === 'stop') throw new Stop(invocation.reason);
      if (invocation.loginFlags.length) {
        // Only the outer command line can be run without its login flag; inside a payload it would run the profile.
        if (inPayload) throw new Stop(`a login shell (${name} -l) inside a shell payload runs profile scripts`);
        programs[self].loginFlags = invocation.loginFlags;
      }
      const shell = readShellPayload(invocation.payload);
      const commands = shell.commands;
      for (const command of commands) {
        const commandWord = command.words[0];
        if (SHELL_BUILTINS.has(commandWord)) {
          if (!HARMLESS_BUILTINS.has(commandWord)) throw new Stop(`shell builtin "${commandWord}" is not allowed`);
          if (commandWord === 'printf' && command.words.slice(1).some((w) => w.startsWith('-v')))
            throw new Stop('printf -v assigns a variable and is not allowed');
          continue;
        }
        read(command.words, 'shell', command.pipeline, command.position, self, depth + 1, true);
      }
      if (!shell.ok) throw new Stop(shell.reason);
      return;
    }
    if (platform !== 'win32' && OTHER_POSIX_SHELLS.has(name)) {
      push('shell');
      throw new Stop(`${name} payloads are not read by Clawdesk`);
    }
    if (platform === 'win32' && name === 'cmd' && trust(args[0], 'shell')) {
      const self = push('shell');
      read(readCmdPayload(args), 'shell', 0, 0, self, depth + 1, true);
      return;
    }
    if (platform === 'win32' && (name === 'powershell' || name === 'pwsh')) {
      push('shell');
      throw new Stop('PowerShell commands need a decision every time');
    }
    push('program');
    if (platform === 'win32' && /\.(bat|cmd)$/i.test(args[0])) checkBatchArguments(args);
  };

  try {
    read(argv, 'argv', 0, 0, null, 0);
  } catch (error) {
    if (error instanceof Stop) return { ok: false, reason: error.message, programs };
    throw error;
  }
  return { ok: true, programs };
}
