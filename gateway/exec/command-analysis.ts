import { commandName, renderArgv } from './command-text';
import { readCommand, type ProgramInvocation } from './command-structure';
import {
  envLookup,
  hostFileProbe,
  pathFor,
  resolveExecutable,
  type FileIdentity,
  type ResolveContext,
} from './executable-resolution';

export { commandName, quoteWord, renderArgv } from './command-text';
export { isDangerousEnvKey } from './env-policy';

/**
 * What an argv will really execute, as the allowlist needs it: every program (the outer one, each wrapper and shell,
 * each program a shell payload runs) resolved with absolute PATH entries to its real file, with that file's identity.
 * A program named like a wrapper or a shell is read as one only when it is the system's own (see isSystemFile); any
 * other `sh` is just an unknown program. `ok: false` means Clawdesk cannot tell everything that runs: a decision every
 * time, never an allow-always.
 */

export const POSIX_SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'mksh', 'ash', 'fish', 'csh', 'tcsh', 'yash']);
export const WINDOWS_CMD = new Set(['cmd']);
export const POWERSHELLS = new Set(['powershell', 'pwsh']);
/** Interpreters with an inline-eval flag, and the flags (what the plan and the prompt call "inline code"). */
export const INLINE_EVAL_FLAGS: Record<string, readonly string[]> = {
  python: ['-c'],
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

/**
 * Programs that can run other programs or code given in their arguments, options or config (`git -c alias.x=!cmd`,
 * `find -exec`, `tar --checkpoint-action`, `less !cmd`, interpreters…). A path pattern never covers them: they are
 * allowed only for an exact argv, which an allow-always decision records.
 */
export const DISPATCHERS = new Set([
  'sudo',
  'doas',
  'su',
  'pkexec',
  'runuser',
  'xargs',
  'busybox',
  'toybox',
  'watch',
  'setsid',
  'chroot',
  'nsenter',
  'unshare',
  'strace',
  'ltrace',
  'gdb',
  'lldb',
  'valgrind',
  'time',
  'exec',
  'eval',
  'command',
  'builtin',
  'ssh',
  'scp',
  'sftp',
  'script',
  'flock',
  'parallel',
  'find',
  'awk',
  'gawk',
  'mawk',
  'nawk',
  'sed',
  'gsed',
  'ed',
  'ex',
  'make',
  'gmake',
  'cmake',
  'ninja',
  'npx',
  'npm',
  'pnpm',
  'pnpx',
  'yarn',
  'corepack',
  'bun',
  'bunx',
  'deno',
  'node',
  'nodejs',
  'tsx',
  'ts-node',
  'perl',
  'ruby',
  'irb',
  'php',
  'lua',
  'luajit',
  'tclsh',
  'wish',
  'rscript',
  'r',
  'osascript',
  'git',
  'hg',
  'svn',
  'env',
  'nice',
  'nohup',
  'timeout',
  'stdbuf',
  'ionice',
  'taskset',
  'chrt',
  'setarch',
  'prlimit',
  'systemd-run',
  'at',
  'batch',
  'crontab',
  'tar',
  'zip',
  'rsync',
  'cpio',
  'less',
  'more',
  'most',
  'man',
  'vim',
  'vi',
  'nvim',
  'view',
  'vimdiff',
  'emacs',
  'emacsclient',
  'nano',
  'pico',
  'tmux',
  'screen',
  'expect',
  'socat',
  'nc',
  'ncat',
  'netcat',
  'wget',
  'sort',
  'docker',
  'podman',
  'kubectl',
  'nerdctl',
  'lxc',
  'virsh',
  'dpkg',
  'apt',
  'apt-get',
  'rpm',
  'yum',
  'dnf',
  'brew',
  'pip',
  'pip3',
  'pipx',
  'uv',
  'uvx',
  'poetry',
  'conda',
  'cargo',
  'rustup',
  'go',
  'gcc',
  'g++',
  'cc',
  'c++',
  'clang',
  'clang++',
  'ld',
  'java',
  'javac',
  'jshell',
  'mvn',
  'gradle',
  'dotnet',
  'sqlite3',
  'mysql',
  'psql',
  'gnuplot',
  'tcpdump',
  'xdg-open',
  'open',
  'start',
  'wsl',
  'rundll32',
  'mshta',
  'wscript',
  'cscript',
  'msiexec',
  'regsvr32',
  'forfiles',
  'bitsadmin',
  'certutil',
  'schtasks',
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'ash',
  'fish',
  'csh',
  'tcsh',
  'yash',
  'cmd',
  'powershell',
  'pwsh',
  'mail',
  'mailx',
  'mutt',
  'ssh-agent',
  'dbus-launch',
  'dbus-run-session',
  'xterm',
  'gnome-terminal',
  'konsole',
  'alacritty',
  'kitty',
  'ansible',
  'ansible-playbook',
  'terraform',
  'gh',
  'ftp',
  'telnet',
  'bpftrace',
  'perf',
]);

function interpreterKey(name: string): string {
  return /^python[0-9.]*$/.test(name) ? 'python' : name;
}

/** The inline-eval flags of an interpreter; own keys only, so a program named "constructor" is nothing special. */
export function inlineEvalFlags(name: string): readonly string[] | undefined {
  const key = interpreterKey(name);
  return Object.hasOwn(INLINE_EVAL_FLAGS, key) ? INLINE_EVAL_FLAGS[key] : undefined;
}

/** Runs code or programs from its arguments: never covered by a path pattern. */
export function isDispatcherName(name: string): boolean {
  const key = name.toLowerCase();
  return (
    DISPATCHERS.has(key) ||
    /^python[0-9.]*(-config)?$/.test(key) ||
    /^(perl|ruby|php|lua|node|pip)[0-9.]+$/.test(key) ||
    inlineEvalFlags(key) !== undefined
  );
}

export type Carrier =
  | { kind: 'posix-shell'; shell: string; payload: string; payloadIndex: number }
  | { kind: 'cmd'; payload: string }
  | { kind: 'powershell'; payload: string }
  | { kind: 'inline-eval'; interpreter: string };

/**
 * Finds the payload of `sh -c`, `bash -lc`, `cmd /c`, `powershell -Command` or inline code, leniently: this is for
 * display and for the rawCommand check (a requester may send the payload as rawCommand), never a security decision.
 * What runs is decided by analyzeCommand.
 */
export function detectCarrier(argv: readonly string[], platform: NodeJS.Platform): Carrier | null {
  if (!argv.length) return null;
  const name = commandName(argv[0], platform);
  if (POSIX_SHELLS.has(name)) {
    let sawC = false;
    for (let i = 1; i < argv.length; i++) {
      const arg = argv[i];
      if (arg === '--' || arg === '-') {
        if (sawC && i + 1 < argv.length)
          return { kind: 'posix-shell', shell: name, payload: argv[i + 1], payloadIndex: i + 1 };
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
      if (/^-(c|command|e|ec|encodedcommand)$/i.test(argv[i]))
        return { kind: 'powershell', payload: argv.slice(i + 1).join(' ') };
      if (/^-(f|file)$/i.test(argv[i])) return null;
    }
    return null;
  }
  const flags = inlineEvalFlags(name);
  if (flags) {
    for (const arg of argv.slice(1)) {
      if (
        flags.includes(arg) ||
        flags.some((f) => f.startsWith('-') && !f.startsWith('--') && arg.startsWith(f) && arg.length > f.length)
      ) {
        return { kind: 'inline-eval', interpreter: name };
      }
      if (arg.startsWith('--eval=') || arg.startsWith('--print=')) return { kind: 'inline-eval', interpreter: name };
      if (!arg.startsWith('-')) break; // script operand: not inline
    }
  }
  return null;
}

export interface AnalyzedProgram extends ProgramInvocation {
  /** Where the name was found (absolute PATH entries only); null when nowhere. */
  resolvedPath: string | null;
  /** The real file (symlinks resolved): what is matched, pinned and spawned. */
  realPath: string | null;
  identity: FileIdentity | null;
}

export interface CommandAnalysis {
  /** Every program that will execute is identified and the command stays in the safe subset. */
  ok: boolean;
  reason?: string;
  programs: AnalyzedProgram[];
  /** Canonical text of the whole argv. */
  commandText: string;
  /** The shell payload when the argv is a shell carrier (display only). */
  shellPayload?: string;
  /**
   * What Clawdesk execs: the outer program's real file instead of the name or link it was asked by, and a login
   * shell's `-l` dropped. null when the outer program was not found.
   */
  spawnArgv: string[] | null;
}

/** Directories whose files the system owns: a wrapper or shell is read as one only when its real file lives here. */
export const POSIX_SYSTEM_DIRS = ['/bin', '/usr/bin', '/sbin', '/usr/sbin'];

const writableByOthers = (identity: FileIdentity) => (identity.mode & 0o022) !== 0;

/**
 * Is this real file the system's own? On POSIX: directly in a system directory, owned by root, and neither it nor
 * any directory above it writable by anyone but root. Ownership alone is not enough (root can plant a fake `sh`
 * anywhere). On Windows: in %SystemRoot%\System32.
 */
export function isSystemFile(realPath: string, ctx: Pick<ResolveContext, 'platform' | 'env' | 'probe'>): boolean {
  const probe = ctx.probe ?? hostFileProbe;
  if (ctx.platform === 'win32') {
    const root = envLookup(ctx.env, 'SystemRoot', 'win32') || 'C:\\Windows';
    const dir = pathFor('win32').dirname(realPath).toLowerCase();
    return dir === pathFor('win32').join(root, 'System32').toLowerCase();
  }
  if (!probe.identity) return false;
  const p = pathFor(ctx.platform);
  const dir = p.dirname(realPath);
  if (!POSIX_SYSTEM_DIRS.includes(dir)) return false;
  const file = probe.identity(realPath);
  if (!file || file.uid !== 0 || writableByOthers(file)) return false;
  for (let d = dir; ; d = p.dirname(d)) {
    const id = probe.identity(d);
    if (!id || id.uid !== 0 || writableByOthers(id)) return false;
    if (d === p.dirname(d)) return true;
  }
}

/** Drops a login shell's `-l`/`--login` from the words at `offset + index`. */
function withoutLoginFlags(argv: string[], offset: number, flags: readonly number[]): string[] {
  const out = [...argv];
  for (const index of [...flags].sort((a, b) => b - a)) {
    const at = offset + index;
    const word = out[at];
    if (word === '--login' || word === '-l') out.splice(at, 1);
    else out[at] = `-${word.slice(1).replace(/l/g, '')}`;
  }
  return out;
}

/** Reads an argv into every program it runs, resolved to real files. */
export function analyzeCommand(argv: readonly string[], ctx: ResolveContext): CommandAnalysis {
  const commandText = renderArgv(argv);
  const probe = ctx.probe ?? hostFileProbe;
  const cache = new Map<string, Pick<AnalyzedProgram, 'resolvedPath' | 'realPath' | 'identity'>>();
  const locate = (name: string) => {
    let found = cache.get(name);
    if (!found) {
      const resolvedPath = resolveExecutable(name, ctx);
      const realPath = resolvedPath ? probe.realpath(resolvedPath) : null;
      const identity = realPath ? (probe.identity?.(realPath) ?? null) : null;
      found = { resolvedPath, realPath, identity };
      cache.set(name, found);
    }
    return found;
  };
  const structure = readCommand(argv, ctx.platform, {
    isSystemCarrier: (argv0) => {
      const found = locate(argv0);
      return !!found.realPath && isSystemFile(found.realPath, ctx);
    },
  });
  const programs: AnalyzedProgram[] = structure.programs.map((program) => ({ ...program, ...locate(program.argv[0]) }));
  const carrier = detectCarrier(argv, ctx.platform);
  const shellPayload = carrier && 'payload' in carrier ? carrier.payload : undefined;

  let spawnArgv: string[] | null = null;
  const outer = programs[0] ?? { ...locate(argv[0] ?? '') };
  if (outer.realPath) {
    spawnArgv = [outer.realPath, ...argv.slice(1)];
    const login = programs.find((p) => p.loginFlags?.length);
    if (login?.loginFlags) spawnArgv = withoutLoginFlags(spawnArgv, argv.length - login.argv.length, login.loginFlags);
  }

  let ok = structure.ok;
  let reason = structure.reason;
  if (ok) {
    const missing = programs.find((p) => !p.realPath);
    if (missing) {
      ok = false;
      reason = `"${missing.argv[0]}" was not found on this node's PATH (absolute entries only)`;
    }
  }
  return {
    ok,
    ...(reason ? { reason } : {}),
    programs,
    commandText,
    ...(shellPayload !== undefined ? { shellPayload } : {}),
    spawnArgv,
  };
}
