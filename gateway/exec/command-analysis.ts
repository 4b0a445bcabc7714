import { pathFor } from './executable-resolution';

/**
 * Reading a command the way the allowlist needs to: canonical rendering of argv, the payload of shell carriers,
 * a POSIX shell chain split into simple commands (refusing anything whose effect is not visible in the text:
 * redirections, substitutions, expansions, compound syntax), and the transparent wrappers unwrapped.
 */

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Canonical text for an argv: words joined by spaces, POSIX single-quoted where needed. Deterministic. */
export function renderArgv(argv: readonly string[]): string {
  return argv.map(quoteWord).join(' ');
}

export function quoteWord(word: string): string {
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** Basename without a Windows executable extension, lowercased on Windows: "C:\\x\\Bash.EXE" → "bash". */
export function commandName(executable: string, platform: NodeJS.Platform): string {
  const base = pathFor(platform).basename(platform === 'win32' ? executable.replace(/\//g, '\\') : executable);
  if (platform !== 'win32') return base;
  return base.toLowerCase().replace(/\.(exe|com|cmd|bat)$/, '');
}

export const POSIX_SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'csh', 'tcsh', 'yash']);
export const WINDOWS_CMD = new Set(['cmd']);
export const POWERSHELLS = new Set(['powershell', 'pwsh']);
/** Interpreters with an inline-eval flag, and the flags. */
export const INLINE_EVAL_FLAGS: Record<string, readonly string[]> = {
  python: ['-c'],
  python2: ['-c'],
  python3: ['-c'],
  node: ['-e', '--eval', '-p', '--print'],
  nodejs: ['-e', '--eval', '-p', '--print'],
  perl: ['-e', '-E'],
  ruby: ['-e'],
  php: ['-r'],
  lua: ['-e'],
  osascript: ['-e'],
  bun: ['-e', '--eval'],
  deno: ['eval'],
  rscript: ['-e'],
  tclsh: [],
  wish: [],
};
/** Programs that run other programs given to them: allow-always must never persist them as a path pattern. */
export const DISPATCHERS = new Set([
  'sudo', 'doas', 'su', 'xargs', 'busybox', 'toybox', 'watch', 'setsid', 'chroot', 'nsenter', 'unshare',
  'strace', 'ltrace', 'gdb', 'time', 'exec', 'eval', 'command', 'builtin', 'ssh', 'script', 'flock', 'parallel',
  'find', 'awk', 'gawk', 'mawk', 'sed', 'make', 'npx', 'npm', 'pnpm', 'yarn', 'env', 'nice', 'nohup', 'timeout',
  'stdbuf', 'ionice', 'taskset', 'runuser', 'start', 'wsl', 'rundll32', 'mshta', 'wscript', 'cscript',
]);

/** True for anything whose arguments are a program: shells, interpreters, dispatchers. */
export function isCarrier(name: string): boolean {
  return (
    POSIX_SHELLS.has(name) ||
    WINDOWS_CMD.has(name) ||
    POWERSHELLS.has(name) ||
    name in INLINE_EVAL_FLAGS ||
    /^python[0-9.]*$/.test(name) ||
    DISPATCHERS.has(name)
  );
}

export type Carrier =
  | { kind: 'posix-shell'; shell: string; payload: string; payloadIndex: number }
  | { kind: 'cmd'; payload: string }
  | { kind: 'powershell'; payload: string }
  | { kind: 'inline-eval'; interpreter: string };

function interpreterKey(name: string): string {
  return /^python[0-9.]*$/.test(name) ? 'python' : name;
}

/** Recognizes `sh -c`, `bash -lc`, `cmd /c`, `powershell -Command`, `python -c`, `node -e` and friends. */
export function detectCarrier(argv: readonly string[], platform: NodeJS.Platform): Carrier | null {
  if (!argv.length) return null;
  const name = commandName(argv[0], platform);
  if (POSIX_SHELLS.has(name)) {
    let sawC = false;
    for (let i = 1; i < argv.length; i++) {
      const arg = argv[i];
      if (arg === '--' || arg === '-') {
        if (sawC && i + 1 < argv.length) return { kind: 'posix-shell', shell: name, payload: argv[i + 1], payloadIndex: i + 1 };
        return null;
      }
      if (arg.startsWith('--')) continue;
      if (/^[-+][A-Za-z]+$/.test(arg)) {
        if (arg.slice(1).includes('c')) sawC = true;
        if (/[oO]/.test(arg.slice(1))) i++; // -o option-name
        continue;
      }
      return sawC ? { kind: 'posix-shell', shell: name, payload: arg, payloadIndex: i } : null;
    }
    return null;
  }
  if (WINDOWS_CMD.has(name)) {
    for (let i = 1; i < argv.length; i++) {
      if (/^\/[ck]$/i.test(argv[i])) return { kind: 'cmd', payload: argv.slice(i + 1).join(' ') };
      if (!argv[i].startsWith('/')) break;
    }
    return null;
  }
  if (POWERSHELLS.has(name)) {
    for (let i = 1; i < argv.length; i++) {
      if (/^-(c|command|e|ec|encodedcommand)$/i.test(argv[i])) return { kind: 'powershell', payload: argv.slice(i + 1).join(' ') };
      if (/^-(f|file)$/i.test(argv[i])) return null;
    }
    return null;
  }
  const flags = INLINE_EVAL_FLAGS[interpreterKey(name)];
  if (flags) {
    for (const arg of argv.slice(1)) {
      if (flags.includes(arg) || flags.some((f) => f.startsWith('-') && !f.startsWith('--') && arg.startsWith(f) && arg.length > f.length)) {
        return { kind: 'inline-eval', interpreter: name };
      }
      if (arg.startsWith('--eval=') || arg.startsWith('--print=')) return { kind: 'inline-eval', interpreter: name };
      if (!arg.startsWith('-')) break; // script operand: not inline
    }
  }
  return null;
}

export type ShellParse = { ok: true; segments: string[][] } | { ok: false; reason: string };

const SHELL_KEYWORDS = new Set([
  'if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', 'function', 'select',
  '!', '[[', ']]', 'time', 'coproc', '{', '}', 'in',
]);

/**
 * Splits a POSIX shell payload into simple commands joined by `;`, `&&`, `||`, `|`, `&` or newlines.
 * Anything the text alone cannot tell the effect of is refused with a reason.
 */
export function parseShellChain(payload: string): ShellParse {
  const segments: string[][] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  let unquotedGlobInWord = false;
  const firstWordGlob: boolean[] = [];

  const endWord = () => {
    if (inWord) {
      if (!words.length) firstWordGlob.push(unquotedGlobInWord);
      words.push(word);
    }
    word = '';
    inWord = false;
    unquotedGlobInWord = false;
  };
  let lastSeparator = '';
  const endSegment = (separator: string): string | null => {
    endWord();
    if (!words.length) {
      if (separator === 'end' && ['&&', '||', '|'].includes(lastSeparator)) return `empty command after "${lastSeparator}"`;
      if (separator === '\n' || separator === ';' || separator === 'end') return null;
      return `empty command before "${separator}"`;
    }
    segments.push(words);
    words = [];
    lastSeparator = separator;
    return null;
  };

  for (let i = 0; i < payload.length; i++) {
    const ch = payload[i];
    const next = payload[i + 1];
    if (ch === ' ' || ch === '\t') {
      endWord();
      continue;
    }
    if (ch === '\n' || ch === ';') {
      if (ch === ';' && next === ';') return { ok: false, reason: 'shell syntax ";;" is not allowed' };
      const err = endSegment(ch);
      if (err) return { ok: false, reason: err };
      continue;
    }
    if (ch === '&' || ch === '|') {
      if (ch === '&' && next === '>') return { ok: false, reason: 'redirection is not allowed' };
      if (ch === '|' && next === '&') return { ok: false, reason: 'redirection is not allowed' };
      const double = next === ch;
      const err = endSegment(double ? ch + ch : ch);
      if (err) return { ok: false, reason: err };
      if (double) i++;
      continue;
    }
    if (ch === '<' || ch === '>') return { ok: false, reason: 'redirection is not allowed' };
    if (ch === '`') return { ok: false, reason: 'command substitution is not allowed' };
    if (ch === '$') {
      return { ok: false, reason: next === '(' ? 'command substitution is not allowed' : 'shell expansion is not allowed' };
    }
    if (ch === '(' || ch === ')') return { ok: false, reason: 'subshells are not allowed' };
    if (ch === '#' && !inWord) {
      while (i < payload.length && payload[i] !== '\n') i++;
      i--;
      continue;
    }
    if (ch === '\\') {
      if (next === undefined) return { ok: false, reason: 'dangling backslash' };
      i++;
      if (next === '\n') continue; // line continuation
      word += next;
      inWord = true;
      continue;
    }
    if (ch === "'") {
      const close = payload.indexOf("'", i + 1);
      if (close < 0) return { ok: false, reason: 'unterminated quote' };
      word += payload.slice(i + 1, close);
      inWord = true;
      i = close;
      continue;
    }
    if (ch === '"') {
      let j = i + 1;
      for (; j < payload.length; j++) {
        const c = payload[j];
        if (c === '"') break;
        if (c === '$' || c === '`') {
          return { ok: false, reason: payload[j + 1] === '(' || c === '`' ? 'command substitution is not allowed' : 'shell expansion is not allowed' };
        }
        if (c === '\\' && j + 1 < payload.length && '$`"\\\n'.includes(payload[j + 1])) {
          if (payload[j + 1] !== '\n') word += payload[j + 1];
          j++;
          continue;
        }
        word += c;
      }
      if (j >= payload.length) return { ok: false, reason: 'unterminated quote' };
      inWord = true;
      i = j;
      continue;
    }
    if (ch === '*' || ch === '?' || ch === '[') unquotedGlobInWord = true;
    word += ch;
    inWord = true;
  }
  if (segments.length === 0 && !inWord && !words.length) return { ok: false, reason: 'empty command' };
  const err = endSegment('end');
  if (err) return { ok: false, reason: err };

  for (let s = 0; s < segments.length; s++) {
    const seg = segments[s];
    let k = 0;
    while (k < seg.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(seg[k])) k++;
    if (k === seg.length) return { ok: false, reason: 'variable assignment without a command' };
    if (SHELL_KEYWORDS.has(seg[k])) return { ok: false, reason: `shell syntax "${seg[k]}" is not allowed` };
    if (k === 0 && firstWordGlob[s]) return { ok: false, reason: 'a glob as the command name is not allowed' };
  }
  return { ok: true, segments };
}

/** Keys whose override changes which program runs or what it loads. */
export function isDangerousEnvKey(key: string, platform: NodeJS.Platform = process.platform): boolean {
  const k = platform === 'win32' ? key.toUpperCase() : key;
  if (k.toUpperCase() === 'PATH' || (platform === 'win32' && k === 'PATHEXT')) return true;
  if (/^(LD_|DYLD_)/.test(k)) return true;
  return DANGEROUS_ENV_KEYS.has(k) || (platform === 'win32' && DANGEROUS_ENV_KEYS.has(k.toUpperCase()));
}

const DANGEROUS_ENV_KEYS = new Set([
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE', 'PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP',
  'PYTHONINSPECT', 'PERL5LIB', 'PERL5OPT', 'PERLLIB', 'PERL5DB', 'RUBYLIB', 'RUBYOPT', 'BASH_ENV', 'ENV',
  'SHELLOPTS', 'BASHOPTS', 'PS4', 'IFS', 'CDPATH', 'GLOBIGNORE', 'PROMPT_COMMAND', 'GCONV_PATH', 'HOSTALIASES',
  'LOCALDOMAIN', 'RESOLV_HOST_CONF', 'MALLOC_CHECK_', 'GIT_SSH', 'GIT_SSH_COMMAND', 'GIT_EXEC_PATH',
  'GIT_CONFIG_GLOBAL', 'GIT_CONFIG_SYSTEM', 'GIT_ASKPASS', 'SSH_ASKPASS', 'EDITOR', 'VISUAL', 'PAGER',
  'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CLASSPATH', 'OPENSSL_CONF', 'ZDOTDIR',
  'COMSPEC', 'PSMODULEPATH', 'SHELL', 'HOME', 'TMPDIR', 'XDG_CONFIG_HOME', 'DOTNET_STARTUP_HOOKS',
  'npm_config_script_shell', 'NPM_CONFIG_SCRIPT_SHELL',
]);

export type Unwrapped = { ok: true; argv: string[]; envKeys: string[] } | { ok: false; reason: string };

export const TRANSPARENT_WRAPPERS = new Set(['env', 'nice', 'nohup', 'timeout', 'stdbuf']);

/**
 * Strips `env`, `nice`, `nohup`, `timeout` and `stdbuf` (repeatedly) to reach the program that really runs.
 * An option we do not understand makes the result unknown rather than guessed.
 */
export function unwrapWrappers(argv: readonly string[], platform: NodeJS.Platform): Unwrapped {
  let current = [...argv];
  const envKeys: string[] = [];
  for (let depth = 0; depth < 8; depth++) {
    if (!current.length) return { ok: false, reason: 'empty command' };
    const name = commandName(current[0], platform);
    if (!TRANSPARENT_WRAPPERS.has(name)) return { ok: true, argv: current, envKeys };
    let i = 1;
    const args = current;
    const need = (n: number) => (i + n <= args.length ? true : false);
    switch (name) {
      case 'env':
        for (; i < args.length; i++) {
          const a = args[i];
          if (a === '-i' || a === '--ignore-environment' || a === '-' || a === '-0' || a === '--null' || a === '-v' || a === '--debug') continue;
          if (a === '-u' || a === '--unset') {
            if (!need(2)) return { ok: false, reason: 'env: missing operand' };
            i++;
            continue;
          }
          if (/^-u./.test(a) || a.startsWith('--unset=')) continue;
          if (a === '--') {
            i++;
            break;
          }
          if (a.startsWith('-')) return { ok: false, reason: `env option ${a} is not understood` };
          const eq = a.indexOf('=');
          if (eq > 0) {
            envKeys.push(a.slice(0, eq));
            continue;
          }
          break;
        }
        break;
      case 'nice':
        for (; i < args.length; i++) {
          const a = args[i];
          if (a === '-n' || a === '--adjustment') {
            i++;
            continue;
          }
          if (/^-n-?\d+$/.test(a) || /^-\d+$/.test(a) || /^--adjustment=-?\d+$/.test(a)) continue;
          if (a === '--') {
            i++;
            break;
          }
          if (a.startsWith('-')) return { ok: false, reason: `nice option ${a} is not understood` };
          break;
        }
        break;
      case 'nohup':
        if (args[1] === '--') i = 2;
        else if (args[1]?.startsWith('-')) return { ok: false, reason: `nohup option ${args[1]} is not understood` };
        break;
      case 'timeout': {
        for (; i < args.length; i++) {
          const a = args[i];
          if (a === '-s' || a === '--signal' || a === '-k' || a === '--kill-after') {
            i++;
            continue;
          }
          if (/^-[sk]./.test(a) || a.startsWith('--signal=') || a.startsWith('--kill-after=')) continue;
          if (a === '--preserve-status' || a === '--foreground' || a === '-v' || a === '--verbose') continue;
          if (a === '--') {
            i++;
            break;
          }
          if (a.startsWith('-')) return { ok: false, reason: `timeout option ${a} is not understood` };
          break;
        }
        if (i >= args.length || !/^\d+(\.\d+)?[smhd]?$/.test(args[i])) return { ok: false, reason: 'timeout: missing duration' };
        i++;
        break;
      }
      case 'stdbuf':
        for (; i < args.length; i++) {
          const a = args[i];
          if (a === '-i' || a === '-o' || a === '-e') {
            i++;
            continue;
          }
          if (/^-[ioe]./.test(a) || /^--(input|output|error)=/.test(a)) continue;
          if (a === '--') {
            i++;
            break;
          }
          if (a.startsWith('-')) return { ok: false, reason: `stdbuf option ${a} is not understood` };
          break;
        }
        break;
    }
    if (i >= current.length) return { ok: false, reason: `${name} without a command` };
    current = current.slice(i);
  }
  return { ok: false, reason: 'too many nested wrappers' };
}
