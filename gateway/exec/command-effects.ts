import path from 'node:path';
import { forEachChild, parse, type Command, type SyntaxNode, type Word } from 'unbash';
import type { CommandStructure, ProgramRole } from './command-structure';

/**
 * "What this does": a short, person-facing summary of a command, computed from what will run rather than from
 * anything the requester says about it. Pure: no file system, no Electron. It reads the structure the analyser
 * produced (every program that will run) and, because that structure stops at the first thing outside the safe
 * shell subset, it also reads every shell payload itself, tolerantly, with the same Bash parser (unbash): a
 * redirection, a substitution or a compound command does not hide a `rm -rf` or a `curl | sh` next to it.
 *
 * Everything here errs on the side of saying more: a target whose name is only known at run time is reported as a
 * write outside the working directory; a path that merely looks like it stays inside is compared lexically (the
 * module cannot see symlinks).
 */

export type EffectKind = 'unreadable' | 'privilege' | 'download-exec' | 'destructive' | 'write-outside' | 'runs';

export type DestructiveForm =
  | 'force-recursive-delete'
  | 'recursive-delete'
  | 'find-delete'
  | 'sync-delete'
  | 'raw-write'
  | 'device-write'
  | 'format'
  | 'wipe'
  | 'partition'
  | 'world-writable'
  | 'recursive-chown'
  | 'shred'
  | 'truncate';

export type WriteWhere =
  /** A path that resolves outside the working directory. */
  | 'outside-cwd'
  /** In the home directory (`~…`). */
  | 'home'
  /** The name is only known when it runs (an expansion, a glob, a substitution). */
  | 'unknown-target'
  /** The working directory is not known, so where the file lands is not either. */
  | 'unknown-cwd'
  /** Another machine (`host:path`, `rsync://…`). */
  | 'remote';

export type CommandEffect =
  | { kind: 'unreadable'; reason: string }
  | { kind: 'privilege'; program: string; runAs: string | null }
  | { kind: 'download-exec'; downloader: string; interpreter: string; how: 'pipe' | 'substitution' }
  /** `redirect`: a device written by a shell redirection (`program` is then the word "redirection"). */
  | { kind: 'destructive'; program: string; form: DestructiveForm; targets: string[]; redirect?: true }
  /** `redirect`: written by a shell redirection (`by` is then the word "redirection", never a program's name). */
  | { kind: 'write-outside'; target: string; by: string; where: WriteWhere; redirect?: true }
  | { kind: 'runs'; program: string; role: ProgramRole };

export interface EffectOptions {
  /** The working directory the command runs in; null when the request does not say. */
  cwd: string | null;
  platform: NodeJS.Platform;
}

const KIND_ORDER: readonly EffectKind[] = [
  'unreadable',
  'privilege',
  'download-exec',
  'destructive',
  'write-outside',
  'runs',
];

/** Longest shell payload this module parses (the prompt never shows more than 4,000 characters anyway). */
const MAX_SCAN_CHARS = 64 * 1024;
/** `sh -c "sh -c '…'"`: nested payloads are read this deep; deeper ones are reported as unreadable. */
const MAX_SHELL_DEPTH = 4;

// --- names ---------------------------------------------------------------------------------------------------

function pathApi(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

/** The program's name as the OS finds it: basename, and on Windows lowercased without its executable extension. */
export function programName(executable: string, platform: NodeJS.Platform): string {
  if (platform !== 'win32') return path.posix.basename(executable);
  return path.win32
    .basename(executable.replace(/\//g, '\\'))
    .toLowerCase()
    .replace(/\.(exe|com|cmd|bat)$/, '');
}

const POSIX_SHELLS = new Set([
  'sh',
  'bash',
  'zsh',
  'dash',
  'ksh',
  'mksh',
  'ash',
  'yash',
  'fish',
  'csh',
  'tcsh',
  'busybox',
]);
const WINDOWS_SHELLS = new Set(['cmd', 'powershell', 'pwsh']);
const PRIVILEGE = new Set(['sudo', 'doas', 'pkexec', 'su', 'runuser', 'run0', 'sudoedit', 'gsudo', 'runas']);
const DOWNLOADERS = new Set([
  'curl',
  'wget',
  'wget2',
  'fetch',
  'aria2c',
  'http',
  'https',
  'xh',
  'lwp-request',
  'lwp-download',
  'GET',
]);
/** Programs and builtins that run code they are given on stdin or as a file/substitution argument. */
const INTERPRETER =
  /^(sh|bash|zsh|dash|ksh|mksh|ash|yash|fish|csh|tcsh|busybox|python[0-9.]*|pypy[0-9.]*|perl[0-9.]*|ruby[0-9.]*|node|nodejs|deno|bun|php[0-9.]*|lua[0-9.]*|luajit|tclsh|wish|Rscript|osascript|pwsh|powershell|eval|source|\.)$/;
const BLOCK_DEVICE = /^\/dev\/(sd|hd|vd|xvd|nvme|mmcblk|disk|rdisk|md|dm-|loop|sr|mapper\/|nbd|zd)/;
const HARMLESS_DEVICE = /^\/dev\/(null|zero|full|stdout|stderr|stdin|tty|fd\/\d+|pts\/\d+|console)$/;

// --- option parsing helpers ------------------------------------------------------------------------------------

interface ParsedArgs {
  /** Short option letters and long option names seen (long ones without the `--`). */
  flags: Set<string>;
  /** Values of options that take one: `-t DIR`, `-tDIR`, `--target-directory=DIR`, `--target-directory DIR`. */
  values: Map<string, string[]>;
  positionals: string[];
}

/**
 * GNU-style argument parsing (options may follow operands; `--` ends them). `short` lists the letters whose option
 * takes a value, `long` the long names that do. Unknown options are flags.
 */
function parseArgs(args: readonly string[], short: string, long: readonly string[]): ParsedArgs {
  const flags = new Set<string>();
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  const addValue = (name: string, value: string | undefined) => {
    if (value === undefined) return;
    const list = values.get(name) ?? [];
    list.push(value);
    values.set(name, list);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      flags.add(name);
      if (eq >= 0) addValue(name, arg.slice(eq + 1));
      else if (long.includes(name)) addValue(name, args[++i]);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j];
        flags.add(letter);
        if (short.includes(letter)) {
          addValue(letter, j + 1 < arg.length ? arg.slice(j + 1) : args[++i]);
          break;
        }
      }
      continue;
    }
    positionals.push(arg);
  }
  return { flags, values, positionals };
}

/** The command a privilege or transparent wrapper runs, best effort (the analyser is the authority on wrappers). */
function innerArgv(name: string, args: readonly string[]): { argv: string[]; runAs: string | null } | null {
  const table = WRAPPER_OPTIONS[name];
  if (!table) return null;
  let runAs: string | null = null;
  let split: string[] = [];
  const take = (option: string, value: string | undefined) => {
    if (value === undefined) return;
    if (table.user?.includes(option)) runAs = value;
    if (name === 'env' && (option === 'S' || option === 'split-string')) split = value.split(/\s+/).filter(Boolean);
  };
  // Options stop at the first operand: everything from there on is the inner command.
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (name === 'env' && /^[A-Za-z_][A-Za-z0-9_]*=/.test(arg)) continue;
    if (!arg.startsWith('-') || arg === '-') break;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const option = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (eq >= 0) take(option, arg.slice(eq + 1));
      else if (table.long.includes(option)) take(option, args[++i]);
      continue;
    }
    for (let j = 1; j < arg.length; j++) {
      if (!table.short.includes(arg[j])) continue;
      take(arg[j], j + 1 < arg.length ? arg.slice(j + 1) : args[++i]);
      break;
    }
  }
  if (name === 'timeout') i++; // the duration operand
  const argv = [...split, ...args.slice(i)];
  return argv.length > 0 ? { argv, runAs } : null;
}

const WRAPPER_OPTIONS: Record<string, { short: string; long: string[]; user?: string[] }> = {
  sudo: {
    short: 'ugCDhpPrtTUc',
    long: [
      'user',
      'group',
      'close-from',
      'chdir',
      'host',
      'prompt',
      'role',
      'type',
      'command-timeout',
      'other-user',
      'login-class',
    ],
    user: ['u', 'user'],
  },
  doas: { short: 'uC', long: [], user: ['u'] },
  pkexec: { short: '', long: ['user'], user: ['user'] },
  run0: {
    short: 'uDg',
    long: ['user', 'group', 'chdir', 'description', 'slice', 'property', 'nice', 'setenv', 'unit', 'machine'],
    user: ['u', 'user'],
  },
  env: { short: 'uCS', long: ['unset', 'chdir', 'split-string'] },
  nice: { short: 'n', long: ['adjustment'] },
  nohup: { short: '', long: [] },
  timeout: { short: 'sk', long: ['signal', 'kill-after'] },
  stdbuf: { short: 'ioe', long: ['input', 'output', 'error'] },
  setsid: { short: '', long: [] },
  ionice: { short: 'cnpPu', long: ['class', 'classdata', 'pid', 'pgid', 'uid'] },
};

// --- paths -----------------------------------------------------------------------------------------------------

function classifyTarget(
  target: string,
  literal: boolean,
  opts: EffectOptions,
): WriteWhere | 'inside' | 'harmless' | 'device' {
  if (!literal) return 'unknown-target';
  if (opts.platform !== 'win32') {
    if (HARMLESS_DEVICE.test(target)) return 'harmless';
    if (BLOCK_DEVICE.test(target)) return 'device';
  } else if (/^(nul|con|\\\\\.\\nul)$/i.test(target)) {
    return 'harmless';
  }
  if (target === '~' || target.startsWith('~/') || /^~[A-Za-z0-9_.-]*(\/|$)/.test(target)) return 'home';
  const p = pathApi(opts.platform);
  let resolved: string;
  if (p.isAbsolute(target)) {
    resolved = p.normalize(target);
  } else {
    if (opts.cwd === null || !p.isAbsolute(opts.cwd)) return 'unknown-cwd';
    resolved = p.join(opts.cwd, target);
  }
  if (opts.cwd === null || !p.isAbsolute(opts.cwd)) return 'unknown-cwd';
  const fold = (s: string) => (opts.platform === 'win32' ? s.toLowerCase() : s);
  const rel = p.relative(fold(p.normalize(opts.cwd)), fold(resolved));
  const escapes = rel === '..' || rel.startsWith(`..${p.sep}`) || p.isAbsolute(rel);
  return escapes ? 'outside-cwd' : 'inside';
}

function isRemote(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target) || /^[^/\\:]+:/.test(target);
}

// --- what one program does ---------------------------------------------------------------------------------------

/** A command as read: words with a flag saying whether each is a plain literal (no expansion, glob, substitution). */
interface ReadCommand {
  words: string[];
  literal: boolean[];
}

class EffectList {
  private readonly seen = new Set<string>();
  readonly items: CommandEffect[] = [];

  add(effect: CommandEffect): void {
    // A program is listed once, with the role the first reader (the analyser) gave it.
    const key = effect.kind === 'runs' ? `runs\u0000${effect.program}` : JSON.stringify(effect);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push(effect);
  }

  sorted(): CommandEffect[] {
    return KIND_ORDER.flatMap((kind) => this.items.filter((e) => e.kind === kind));
  }
}

/** `by`: the program writing, or REDIRECTION for a shell redirection (kept apart from a program of that name). */
function addWrite(
  out: EffectList,
  target: string,
  literal: boolean,
  by: string | typeof REDIRECTION,
  opts: EffectOptions,
): void {
  const where = classifyTarget(target, literal, opts);
  if (where === 'inside' || where === 'harmless') return;
  const name = by === REDIRECTION ? 'redirection' : by;
  if (where === 'device') {
    out.add({
      kind: 'destructive',
      program: name,
      form: 'device-write',
      targets: [target],
      ...(by === REDIRECTION ? { redirect: true as const } : {}),
    });
    return;
  }
  out.add({
    kind: 'write-outside',
    target,
    by: name,
    where,
    ...(by === REDIRECTION ? { redirect: true as const } : {}),
  });
}

const REDIRECTION = Symbol('redirection');

function roleOf(name: string): ProgramRole {
  if (POSIX_SHELLS.has(name) || WINDOWS_SHELLS.has(name)) return 'shell';
  if (PRIVILEGE.has(name) || name in WRAPPER_OPTIONS) return 'wrapper';
  return 'program';
}

/**
 * What one program does. `role` comes from the analyser when it read the program; commands this module read
 * itself get a role from their name. Wrappers are looked through (`sudo rm -rf x` is a recursive delete), and shell
 * payloads are read (`bash -c '…'`).
 */
function programEffects(
  command: ReadCommand,
  role: ProgramRole | undefined,
  opts: EffectOptions,
  out: EffectList,
  depth: number,
): void {
  const [first, ...args] = command.words;
  if (first === undefined) return;
  const name = programName(first, opts.platform);
  const literalAt = (index: number) => command.literal[index] ?? false;
  // A value taken from an option (`--target-directory=/x`, `-t/x`) is as literal as the word it came from.
  const isLiteral = (value: string) => literalAt(command.words.findIndex((w) => w === value || w.endsWith(value)));
  out.add({ kind: 'runs', program: first, role: role ?? roleOf(name) });

  if (PRIVILEGE.has(name)) {
    let runAs: string | null;
    if (name === 'su' || name === 'runuser') {
      const parsed = parseArgs(args, 'cugsCw', [
        'command',
        'user',
        'group',
        'shell',
        'session-command',
        'whitelist-environment',
      ]);
      runAs =
        parsed.values.get('u')?.[0] ??
        parsed.values.get('user')?.[0] ??
        parsed.positionals.find((p) => p !== '-') ??
        null;
      for (const payload of [...(parsed.values.get('c') ?? []), ...(parsed.values.get('command') ?? [])])
        scanPayload(payload, opts, out, depth + 1);
    } else if (name === 'runas') {
      runAs = args.find((a) => /^\/user:/i.test(a))?.slice(6) ?? null;
    } else {
      runAs = innerArgv(name, args)?.runAs ?? null;
    }
    out.add({ kind: 'privilege', program: name, runAs });
  }

  const inner = innerArgv(name, args);
  if (inner) {
    const offset = command.words.length - inner.argv.length;
    programEffects(
      { words: inner.argv, literal: inner.argv.map((_w, i) => literalAt(offset + i)) },
      undefined,
      opts,
      out,
      depth,
    );
  }

  switch (name) {
    case 'rm': {
      const parsed = parseArgs(args, '', []);
      const recursive = parsed.flags.has('r') || parsed.flags.has('R') || parsed.flags.has('recursive');
      const force = parsed.flags.has('f') || parsed.flags.has('force');
      if (recursive)
        out.add({
          kind: 'destructive',
          program: name,
          form: force ? 'force-recursive-delete' : 'recursive-delete',
          targets: parsed.positionals,
        });
      break;
    }
    case 'find': {
      if (args.includes('-delete')) {
        const end = args.findIndex((a) => /^[-(!]/.test(a));
        out.add({
          kind: 'destructive',
          program: name,
          form: 'find-delete',
          targets: end < 0 ? [...args] : args.slice(0, end),
        });
      }
      break;
    }
    case 'dd': {
      args.forEach((arg, index) => {
        if (!arg.startsWith('of=')) return;
        const target = arg.slice(3);
        if (!BLOCK_DEVICE.test(target) && !HARMLESS_DEVICE.test(target))
          out.add({ kind: 'destructive', program: name, form: 'raw-write', targets: [target] });
        addWrite(out, target, literalAt(index + 1), name, opts);
      });
      break;
    }
    case 'chmod': {
      const parsed = parseArgs(args, '', ['reference']);
      const recursive = parsed.flags.has('R') || parsed.flags.has('recursive');
      const [mode, ...files] = parsed.positionals;
      if (recursive && mode !== undefined && worldWritable(mode))
        out.add({ kind: 'destructive', program: name, form: 'world-writable', targets: files });
      break;
    }
    case 'chown':
    case 'chgrp': {
      const parsed = parseArgs(args, '', ['reference', 'from']);
      if (parsed.flags.has('R') || parsed.flags.has('recursive'))
        out.add({ kind: 'destructive', program: name, form: 'recursive-chown', targets: parsed.positionals.slice(1) });
      break;
    }
    case 'shred':
      out.add({
        kind: 'destructive',
        program: name,
        form: 'shred',
        targets: parseArgs(args, 'ns', ['iterations', 'size', 'random-source']).positionals,
      });
      break;
    case 'truncate':
      out.add({
        kind: 'destructive',
        program: name,
        form: 'truncate',
        targets: parseArgs(args, 'sr', ['size', 'reference']).positionals,
      });
      break;
    case 'wipefs':
    case 'blkdiscard':
      out.add({
        kind: 'destructive',
        program: name,
        form: 'wipe',
        targets: parseArgs(args, 'otOlp', ['offset', 'types', 'backup', 'length', 'step']).positionals,
      });
      break;
    case 'fdisk':
    case 'sfdisk':
    case 'cfdisk':
    case 'gdisk':
    case 'sgdisk':
    case 'parted':
      out.add({
        kind: 'destructive',
        program: name,
        form: 'partition',
        targets: parseArgs(args, '', []).positionals.filter((p) => p.startsWith('/dev/')),
      });
      break;
    case 'cp':
    case 'mv':
    case 'install':
    case 'ln':
    case 'scp': {
      const short = name === 'install' ? 'tSmogb' : name === 'scp' ? 'PiolcSJFD' : 'tS';
      const parsed = parseArgs(args, short, [
        'target-directory',
        'suffix',
        'mode',
        'owner',
        'group',
        'strip-program',
        'context',
      ]);
      const targetDir = parsed.values.get('t')?.[0] ?? parsed.values.get('target-directory')?.[0];
      const directories = name === 'install' && (parsed.flags.has('d') || parsed.flags.has('directory'));
      const targets =
        targetDir !== undefined
          ? [targetDir]
          : directories
            ? parsed.positionals
            : parsed.positionals.length >= 2
              ? parsed.positionals.slice(-1)
              : [];
      for (const target of targets) {
        if (name === 'scp' && isRemote(target)) out.add({ kind: 'write-outside', target, by: name, where: 'remote' });
        else addWrite(out, target, isLiteral(target), name, opts);
      }
      break;
    }
    case 'tee':
      for (const target of parseArgs(args, '', []).positionals) addWrite(out, target, isLiteral(target), name, opts);
      break;
    case 'rsync': {
      const parsed = parseArgs(args, 'efTBM@', RSYNC_VALUE_OPTIONS);
      if ([...parsed.flags].some((f) => f === 'del' || f.startsWith('delete') || f === 'remove-source-files')) {
        out.add({ kind: 'destructive', program: name, form: 'sync-delete', targets: parsed.positionals.slice(-1) });
      }
      const target = parsed.positionals.length >= 2 ? parsed.positionals[parsed.positionals.length - 1] : undefined;
      if (target !== undefined) {
        if (isRemote(target)) out.add({ kind: 'write-outside', target, by: name, where: 'remote' });
        else addWrite(out, target, isLiteral(target), name, opts);
      }
      break;
    }
    default:
      if (/^(mkfs(\..+)?|mke2fs|mkswap|mkdosfs|mkntfs|mkfs_msdos|newfs(_.+)?)$/.test(name)) {
        out.add({
          kind: 'destructive',
          program: name,
          form: 'format',
          targets: args.filter((a) => !a.startsWith('-')).slice(-1),
        });
      } else if (
        name === 'diskutil' &&
        /^(erase|zeroDisk|randomDisk|secureErase|partitionDisk|reformat)/i.test(args[0] ?? '')
      ) {
        out.add({
          kind: 'destructive',
          program: name,
          form: 'format',
          targets: args.slice(1).filter((a) => a.startsWith('/dev/') || /^disk\d/.test(a)),
        });
      }
  }

  if (POSIX_SHELLS.has(name)) {
    const payload = shellPayload(args);
    if (payload !== undefined) scanPayload(payload, opts, out, depth + 1);
  } else if (WINDOWS_SHELLS.has(name)) {
    windowsTextEffects(args.join(' '), out);
  }
}

const RSYNC_VALUE_OPTIONS = [
  'rsh',
  'filter',
  'exclude',
  'include',
  'exclude-from',
  'include-from',
  'files-from',
  'temp-dir',
  'partial-dir',
  'compare-dest',
  'copy-dest',
  'link-dest',
  'block-size',
  'backup-dir',
  'suffix',
  'rsync-path',
  'log-file',
  'log-file-format',
  'password-file',
  'chmod',
  'chown',
  'usermap',
  'groupmap',
  'timeout',
  'contimeout',
  'port',
  'sockopts',
  'bwlimit',
  'max-size',
  'min-size',
  'max-delete',
  'modify-window',
  'remote-option',
  'out-format',
  'iconv',
  'address',
  'protocol',
  'checksum-choice',
  'compress-choice',
  'compress-level',
  'skip-compress',
  'outbuf',
  'info',
  'debug',
  'stop-after',
  'stop-at',
  'write-batch',
  'only-write-batch',
  'read-batch',
];

/** A mode that lets everyone write: numeric with the others' write bit, or symbolic `a+w`, `o=rwx`, … */
function worldWritable(mode: string): boolean {
  if (/^[0-7]{3,4}$/.test(mode)) return [2, 3, 6, 7].includes(Number(mode[mode.length - 1]));
  return mode.split(',').some((clause) => {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    return m !== null && /[ao]/.test(m[1]) && m[2] !== '-' && m[3].includes('w');
  });
}

/** The `-c` payload of a POSIX shell invocation: the first operand once a `-c` was seen, options and their values skipped. */
export function shellPayload(args: readonly string[]): string | undefined {
  let seenC = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--' || arg === '-') return seenC ? args[i + 1] : undefined;
    if (arg.startsWith('--')) {
      if (arg === '--rcfile' || arg === '--init-file') i++;
      continue;
    }
    if ((arg.startsWith('-') || arg.startsWith('+')) && arg.length > 1) {
      const letters = arg.slice(1);
      if (letters.includes('c')) seenC = true;
      for (const letter of letters) if (letter === 'o' || letter === 'O') i++;
      continue;
    }
    return seenC ? arg : undefined;
  }
  return undefined;
}

/** cmd.exe and PowerShell are not parsed; a few well-known destructive and download-and-run forms are spotted in the text. */
function windowsTextEffects(text: string, out: EffectList): void {
  if (
    /\b(rd|rmdir)\b[^&|]*\/s\b/i.test(text) ||
    /\bdel\b[^&|]*\/s\b/i.test(text) ||
    /Remove-Item\b[^;|]*-Recurse/i.test(text)
  ) {
    out.add({ kind: 'destructive', program: 'cmd', form: 'recursive-delete', targets: [] });
  }
  if (/\bformat(\.com)?\s+[a-z]:/i.test(text) || /\b(Format-Volume|Clear-Disk|Initialize-Disk)\b/i.test(text))
    out.add({ kind: 'destructive', program: 'cmd', form: 'format', targets: [] });
  if (
    /\b(iex|Invoke-Expression)\b/i.test(text) &&
    /\b(iwr|irm|Invoke-WebRequest|Invoke-RestMethod|DownloadString|curl|wget)\b/i.test(text)
  ) {
    out.add({
      kind: 'download-exec',
      downloader: 'Invoke-WebRequest',
      interpreter: 'Invoke-Expression',
      how: 'substitution',
    });
  }
}

// --- reading shell payloads tolerantly --------------------------------------------------------------------------

interface Scanned {
  command: ReadCommand;
  pipeline: number;
  position: number;
}

function wordIsLiteral(word: Word): boolean {
  if (!word.parts) return !/[*?[\]{}$`\\]/.test(word.text);
  return word.parts.every(
    (part) =>
      (part.type === 'Literal' && !/[*?[\]{}$`\\]/.test(part.text)) ||
      part.type === 'SingleQuoted' ||
      part.type === 'AnsiCQuoted' ||
      (part.type === 'DoubleQuoted' &&
        part.parts.every((child) => child.type === 'Literal' && !/[\\$`]/.test(child.text))),
  );
}

function wordText(word: Word): string {
  return wordIsLiteral(word) ? word.value : word.text;
}

/** Reads a payload's commands, redirections and substitutions, whatever syntax surrounds them; adds what they do. */
function scanPayload(payload: string, opts: EffectOptions, out: EffectList, depth: number): void {
  if (depth > MAX_SHELL_DEPTH) {
    out.add({ kind: 'unreadable', reason: 'shell payloads nested too deeply' });
    return;
  }
  if (payload.length > MAX_SCAN_CHARS) {
    out.add({ kind: 'unreadable', reason: 'the shell payload is too long to read' });
    return;
  }
  let script;
  try {
    script = parse(payload);
  } catch {
    out.add({ kind: 'unreadable', reason: 'the shell payload could not be parsed' });
    return;
  }
  if (script.errors?.length)
    out.add({ kind: 'unreadable', reason: `the shell payload does not parse: ${script.errors[0].message}` });

  const scanned: Scanned[] = [];
  let nextPipeline = 0;

  const visitCommand = (node: Command, pipeline: number, position: number) => {
    const words = node.name ? [node.name, ...node.args.filter((a): a is Word => a.type === 'Word')] : [];
    const entry: Scanned = {
      command: { words: words.map(wordText), literal: words.map(wordIsLiteral) },
      pipeline,
      position,
    };
    if (words.length > 0) scanned.push(entry);
    const name = entry.command.words[0] !== undefined ? programName(entry.command.words[0], opts.platform) : '';
    for (const redirect of node.redirects) {
      if (redirect.type === 'Redirect') {
        if (!redirect.target) continue;
        const op = redirect.operator;
        const fileWrite =
          op === '>' ||
          op === '>>' ||
          op === '>|' ||
          op === '&>' ||
          op === '&>>' ||
          op === '<>' ||
          (op === '>&' && !/^(\d+|-)$/.test(redirect.target.text));
        if (fileWrite) addWrite(out, wordText(redirect.target), wordIsLiteral(redirect.target), REDIRECTION, opts);
      } else if (INTERPRETER.test(name)) {
        // A here-document or here-string fed to an interpreter is code that runs.
        const body =
          redirect.type === 'HereDoc' ? redirect.body.text : redirect.target ? wordText(redirect.target) : '';
        if (POSIX_SHELLS.has(name)) scanPayload(body, opts, out, depth + 1);
        else out.add({ kind: 'unreadable', reason: `code is fed to ${name} on its standard input` });
      }
    }
    // Substitutions inside this command's words and redirections: their commands run too.
    const before = scanned.length;
    forEachChild(node, (child) => visit(child, undefined));
    if (INTERPRETER.test(name)) {
      for (const inner of scanned.slice(before)) {
        const innerName =
          inner.command.words[0] !== undefined ? programName(inner.command.words[0], opts.platform) : '';
        if (DOWNLOADERS.has(innerName))
          out.add({ kind: 'download-exec', downloader: innerName, interpreter: name, how: 'substitution' });
      }
    }
  };

  const visit = (node: SyntaxNode, at: { pipeline: number; position: number } | undefined): void => {
    switch (node.type) {
      case 'Pipeline': {
        const pipeline = nextPipeline++;
        node.commands.forEach((command, position) => visit(command, { pipeline, position }));
        return;
      }
      case 'Command':
        visitCommand(node, at?.pipeline ?? nextPipeline++, at?.position ?? 0);
        return;
      case 'Redirected':
        for (const redirect of node.redirects) {
          if (redirect.type === 'Redirect' && redirect.target && /^(>|>>|>\||&>|&>>|<>)$/.test(redirect.operator)) {
            addWrite(out, wordText(redirect.target), wordIsLiteral(redirect.target), REDIRECTION, opts);
          }
        }
        forEachChild(node, (child) => visit(child, at));
        return;
      case 'CommandExpansion':
      case 'ProcessSubstitution':
      case 'ArithmeticCommandExpansion':
        if (node.script) forEachChild(node.script, (child) => visit(child, undefined));
        return;
      default:
        // Compound commands keep the pipeline position: `curl … | (cd /; sh)` still feeds sh.
        forEachChild(node, (child) => visit(child, at));
    }
  };
  forEachChild(script, (child) => visit(child, undefined));

  for (const entry of scanned) programEffects(entry.command, undefined, opts, out, depth);
  pipedDownloads(
    scanned.map((s) => ({ argv: s.command.words, pipeline: s.pipeline, position: s.position })),
    opts,
    out,
  );
}

/** The program an argv ends up running, looking through wrappers: `sudo -E bash -s` → bash. */
function effectiveProgram(argv: readonly string[], platform: NodeJS.Platform): string | undefined {
  let current: readonly string[] = argv;
  for (let hops = 0; hops < 8 && current[0] !== undefined; hops++) {
    const name = programName(current[0], platform);
    const inner = innerArgv(name, current.slice(1));
    if (!inner) return name;
    current = inner.argv;
  }
  return undefined;
}

/** `curl … | sh`, `wget -O- … | sudo bash`: a downloader earlier in a pipeline than an interpreter. */
function pipedDownloads(
  programs: ReadonlyArray<{ argv: readonly string[]; pipeline: number; position: number }>,
  opts: EffectOptions,
  out: EffectList,
): void {
  for (const downloader of programs) {
    const dName = downloader.argv[0] === undefined ? '' : programName(downloader.argv[0], opts.platform);
    if (!DOWNLOADERS.has(dName)) continue;
    for (const reader of programs) {
      if (reader.pipeline !== downloader.pipeline || reader.position <= downloader.position) continue;
      // The reader is an interpreter, or a wrapper that starts one (`sudo bash`).
      const interpreter = effectiveProgram(reader.argv, opts.platform);
      if (interpreter !== undefined && INTERPRETER.test(interpreter))
        out.add({ kind: 'download-exec', downloader: dName, interpreter, how: 'pipe' });
    }
  }
}

// --- the entry points --------------------------------------------------------------------------------------------

/**
 * What a command does, from the analyser's structure: every program that will run, privilege changes, destructive
 * forms, downloads run as code, writes outside the working directory, and "could not fully read" when the analysis
 * is not ok. Sorted most serious first; duplicates removed.
 */
export function describeEffects(structure: CommandStructure, opts: EffectOptions): CommandEffect[] {
  const out = new EffectList();
  if (!structure.ok) out.add({ kind: 'unreadable', reason: structure.reason ?? 'outside what Clawdesk can analyse' });
  // Every program first, so each keeps the role the analyser gave it; then what each does. Shell payloads are read
  // here too (programEffects → scanPayload), so what follows the analyser's first refusal is still described.
  for (const program of structure.programs)
    if (program.argv[0] !== undefined) out.add({ kind: 'runs', program: program.argv[0], role: program.role });
  for (const program of structure.programs)
    programEffects({ words: [...program.argv], literal: program.argv.map(() => true) }, program.role, opts, out, 0);
  pipedDownloads(structure.programs, opts, out);
  return out.sorted();
}

/** The same summary for a command known only as text (no argv): the text is read as a POSIX shell script. */
export function describeShellTextEffects(text: string, opts: EffectOptions): CommandEffect[] {
  const out = new EffectList();
  if (opts.platform === 'win32') windowsTextEffects(text, out);
  else scanPayload(text, opts, out, 1);
  return out.sorted();
}

const FORM_TEXT: Record<DestructiveForm, string> = {
  'force-recursive-delete': 'Deletes files and folders recursively, without asking',
  'recursive-delete': 'Deletes folders and everything in them',
  'find-delete': 'Deletes every file that find matches',
  'sync-delete': 'Deletes files at the destination that are not in the source',
  'raw-write': 'Writes raw data over a file or device',
  'device-write': 'Writes directly to a disk device, which can destroy everything on it',
  format: 'Formats a disk or partition, erasing it',
  wipe: 'Wipes signatures or data from a disk',
  partition: 'Changes disk partitions',
  'world-writable': 'Makes files writable by everyone, recursively',
  'recursive-chown': 'Changes the owner of files recursively',
  shred: 'Overwrites files to destroy their contents',
  truncate: 'Cuts files to a size, discarding data',
};

const WHERE_TEXT: Record<WriteWhere, string> = {
  'outside-cwd': 'Writes outside the working directory',
  home: 'Writes in your home folder',
  'unknown-target': 'Writes to a file whose name is only known when it runs',
  'unknown-cwd': 'Writes a file, and the request does not say which working directory it runs in',
  remote: 'Copies to another machine',
};

const quote = (s: string) => `"${s}"`;
/** At most five targets by name; the command itself shows them all. */
const listTargets = (targets: readonly string[]) =>
  targets.slice(0, 5).map(quote).join(', ') + (targets.length > 5 ? `, and ${targets.length - 5} more` : '');

/** One sentence per effect, for the prompt and the message box (the caller escapes it for display). */
export function effectSentence(effect: CommandEffect): string {
  switch (effect.kind) {
    case 'unreadable':
      return `Clawdesk could not fully read this command (${effect.reason}); this list may be incomplete.`;
    case 'privilege':
      return `Changes privileges: ${effect.program} runs it as ${effect.runAs ?? (effect.program === 'runuser' ? 'another user' : 'root (administrator)')}.`;
    case 'download-exec':
      return `Downloads code with ${effect.downloader} and runs it with ${effect.interpreter}${effect.how === 'pipe' ? ' (piped)' : ''}.`;
    case 'destructive':
      return `${FORM_TEXT[effect.form]} (${effect.program}${effect.targets.length ? `: ${listTargets(effect.targets)}` : ''}).`;
    case 'write-outside':
      return `${WHERE_TEXT[effect.where]}: ${quote(effect.target)} (${effect.by}).`;
    case 'runs':
      return `Runs ${effect.program}${effect.role === 'shell' ? ' (a shell)' : effect.role === 'wrapper' ? ' (which starts another program)' : ''}.`;
  }
}
