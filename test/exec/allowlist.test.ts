import { describe, expect, it } from 'vitest';
import {
  analyzeCommand,
  deriveAllowAlwaysEntries,
  evaluateAllowlist,
  exactProgramPattern,
  PATH_ALLOW_ALWAYS_SOURCE,
  patternMatches,
} from '../../gateway/exec/allowlist';
import type { AllowlistEntry } from '../../gateway/exec/approvals-file';
import { isSystemFile, renderArgv } from '../../gateway/exec/command-analysis';
import { readCommand, readShellInvocation } from '../../gateway/exec/command-structure';
import {
  resolveExecutable,
  type FileIdentity,
  type FileProbe,
  type ResolveContext,
} from '../../gateway/exec/executable-resolution';
import { readShellPayload } from '../../gateway/exec/shell-syntax';

interface FakeFile {
  uid?: number;
  mode?: number;
}

/**
 * A fake file system: the listed files exist and are executable, with an owner and mode; directories above them are
 * root-owned 0755 unless listed in `dirs`. Lookups fold case on Windows.
 */
function probe(
  files: Record<string, FakeFile>,
  platform: NodeJS.Platform,
  links: Record<string, string> = {},
  dirs: Record<string, FakeFile> = {},
): FileProbe {
  const fold = (s: string) => (platform === 'win32' ? s.toLowerCase() : s);
  const map = new Map(Object.entries(files).map(([k, v]) => [fold(k), v]));
  let ino = 1;
  const inodes = new Map<string, number>();
  const identity = (p: string): FileIdentity | null => {
    const key = fold(p);
    const file =
      map.get(key) ??
      dirs[p] ??
      ([...map.keys()].some((f) => f.startsWith(key.endsWith('/') ? key : `${key}/`)) ? {} : undefined);
    if (!file) return null;
    if (!inodes.has(key)) inodes.set(key, ino++);
    return {
      dev: 1,
      ino: inodes.get(key) as number,
      size: 1,
      mtimeMs: 1,
      uid: file.uid ?? 0,
      mode: file.mode ?? 0o755,
    };
  };
  return {
    stat: (p) => (map.has(fold(links[p] ?? p)) ? { isFile: true, executable: true } : null),
    realpath: (p) => links[p] ?? (map.has(fold(p)) ? p : null),
    identity: (p) => identity(links[p] ?? p),
  };
}

const posixFiles: Record<string, FakeFile> = {
  '/usr/bin/ls': {},
  '/usr/bin/rg': {},
  '/usr/bin/bash': {},
  '/usr/bin/dash': {},
  '/usr/bin/python3.12': {},
  '/usr/bin/env': {},
  '/usr/bin/nice': {},
  '/usr/bin/timeout': {},
  '/usr/bin/git': {},
  '/usr/bin/node': {},
  '/home/ada/bin/tool': { uid: 1000 },
  '/home/ada/bin/sh': { uid: 1000 },
  '/opt/fake/sh': {},
  '/usr/bin/world': { mode: 0o757 },
};
const posixLinks = {
  '/bin/bash': '/usr/bin/bash',
  '/bin/sh': '/usr/bin/dash',
  '/usr/bin/python3': '/usr/bin/python3.12',
  '/usr/bin/sh': '/usr/bin/dash',
};
const posixProbe = probe(
  { ...posixFiles, ...Object.fromEntries(Object.keys(posixLinks).map((l) => [l, {}])) },
  'linux',
  posixLinks,
);
const posix: ResolveContext = {
  platform: 'linux',
  env: { PATH: '/usr/bin:/bin' },
  cwd: '/work',
  home: '/home/ada',
  probe: posixProbe,
};
const winFiles: Record<string, FakeFile> = {
  'C:\\Windows\\System32\\cmd.exe': {},
  'C:\\Tools\\rg.exe': {},
  'C:\\Tools\\build.CMD': {},
  'C:\\Users\\Ada\\bin\\tool.exe': {},
  'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe': {},
};
const win: ResolveContext = {
  platform: 'win32',
  env: {
    Path: 'C:\\Windows\\System32;C:\\Tools;C:\\Windows\\System32\\WindowsPowerShell\\v1.0',
    PATHEXT: '.COM;.EXE;.BAT;.CMD',
    SystemRoot: 'C:\\Windows',
  },
  cwd: 'C:\\work',
  home: 'C:\\Users\\Ada',
  probe: probe(winFiles, 'win32'),
};
const entry = (pattern: string, extra: Partial<AllowlistEntry> = {}): AllowlistEntry => ({
  id: pattern,
  pattern,
  ...extra,
});
const runs = (argv: string[], list: AllowlistEntry[], ctx = posix) =>
  evaluateAllowlist(analyzeCommand(argv, ctx), list, ctx).satisfied;

describe('resolveExecutable', () => {
  it('searches PATH on POSIX and ignores relative PATH entries', () => {
    expect(resolveExecutable('ls', posix)).toBe('/usr/bin/ls');
    expect(resolveExecutable('nope', posix)).toBeNull();
    expect(resolveExecutable('ls', { ...posix, env: { PATH: ':.:relative' } })).toBeNull();
    expect(resolveExecutable('~/bin/tool', posix)).toBe('/home/ada/bin/tool');
  });
  it('applies PATHEXT on Windows, case-insensitively, with a case-insensitive Path variable', () => {
    expect(resolveExecutable('rg', win)).toBe('C:\\Tools\\rg.exe');
    expect(resolveExecutable('build', win)).toBe('C:\\Tools\\build.cmd');
    expect(resolveExecutable('RG.EXE', win)).toBe('C:\\Tools\\RG.EXE');
    expect(resolveExecutable('C:\\Tools\\rg', win)).toBe('C:\\Tools\\rg.exe');
    expect(resolveExecutable('rg', { ...win, env: { ...win.env, PATHEXT: '.BAT' } })).toBeNull();
  });
});

describe('patternMatches', () => {
  it('globs on POSIX: * within a segment, ** across, ? one char, ~ home, case-sensitive', () => {
    expect(patternMatches(entry('/usr/bin/*'), '/usr/bin/ls', [], posix)).toBe(true);
    expect(patternMatches(entry('/usr/*'), '/usr/bin/ls', [], posix)).toBe(false);
    expect(patternMatches(entry('/usr/**'), '/usr/bin/ls', [], posix)).toBe(true);
    expect(patternMatches(entry('/usr/bin/l?'), '/usr/bin/ls', [], posix)).toBe(true);
    expect(patternMatches(entry('~/bin/tool'), '/home/ada/bin/tool', [], posix)).toBe(true);
    expect(patternMatches(entry('/USR/BIN/LS'), '/usr/bin/ls', [], posix)).toBe(false);
    expect(patternMatches(entry('ls'), '/usr/bin/ls', [], posix)).toBe(false);
    expect(patternMatches(entry('*'), '/anything', [], posix)).toBe(true);
  });
  it('a pattern naming a link matches the real file it names', () => {
    expect(patternMatches(entry('/usr/bin/python3'), '/usr/bin/python3.12', [], posix)).toBe(true);
  });
  it('on Windows: case-insensitive, backslashes normalized, \\\\?\\ stripped, argPattern honoured', () => {
    expect(patternMatches(entry('c:/tools/RG.exe'), 'C:\\Tools\\rg.exe', [], win)).toBe(true);
    expect(patternMatches(entry('C:\\Tools\\*.exe'), 'C:\\Tools\\rg.exe', [], win)).toBe(true);
    expect(patternMatches(entry('\\\\?\\C:\\Tools\\rg.exe'), 'C:\\Tools\\rg.exe', [], win)).toBe(true);
    expect(patternMatches(entry('~\\bin\\tool.exe'), 'C:\\Users\\Ada\\bin\\tool.exe', [], win)).toBe(true);
    const withArgs = entry('C:\\Tools\\rg.exe', { argPattern: '^--version\\x00$' });
    expect(patternMatches(withArgs, 'C:\\Tools\\rg.exe', ['--version'], win)).toBe(true);
    expect(patternMatches(withArgs, 'C:\\Tools\\rg.exe', ['-e', 'x'], win)).toBe(false);
    // argPattern is ignored off Windows.
    expect(patternMatches(entry('/usr/bin/rg', { argPattern: '^never$' }), '/usr/bin/rg', ['x'], posix)).toBe(true);
  });
});

describe('readShellPayload (the safe subset, over unbash syntax trees)', () => {
  it('reads simple commands joined by | && || ; and keeps quoting', () => {
    const read = readShellPayload(`ls -la && rg 'a b' | wc -l; git status`);
    expect(read.ok).toBe(true);
    expect(read.commands.map((c) => c.words)).toEqual([
      ['ls', '-la'],
      ['rg', 'a b'],
      ['wc', '-l'],
      ['git', 'status'],
    ]);
    expect(read.commands.map((c) => [c.pipeline, c.position])).toEqual([
      [0, 0],
      [1, 0],
      [1, 1],
      [2, 0],
    ]);
    expect(readShellPayload(`echo "x y" 'z'`)).toMatchObject({ ok: true, commands: [{ words: ['echo', 'x y', 'z'] }] });
  });
  it.each([
    ['ls > out', 'redirection'],
    ['cat < in', 'redirection'],
    ['ls 2>&1', 'redirection'],
    ['cat <<EOF\nx\nEOF', 'redirection'],
    ['echo $(id)', 'substitution'],
    ['echo `id`', 'substitution'],
    ['echo "$(id)"', 'substitution'],
    ['echo $HOME', 'expansion'],
    ['echo "${HOME}"', 'expansion'],
    ['echo $((1+1))', 'arithmetic'],
    ['diff <(ls) x', 'substitution'],
    ['(ls)', 'subshell'],
    ['{ ls; }', 'group'],
    ['if true; then ls; fi', 'syntax'],
    ['f() { ls; }; f', 'function'],
    ["echo 'x", 'parse'],
    ['*.sh', 'glob'],
    ['ls *.txt', 'glob'],
    ['{/evil/ls,x}', 'brace'],
    ['ls ~', 'expands'],
    ['X=1 ls', 'assignment'],
    ['ls &', 'background'],
    ['ls |& cat', '|&'],
    ['! ls', '"!"'],
    ['time ls', 'time'],
    ["echo $'\\x41'", "$'"],
    ['ls a\\ b', 'backslash'],
    ['ls \\\n-la', 'continuation'],
  ])('refuses %j (%s)', (payload, reason) => {
    const read = readShellPayload(payload);
    expect(read.ok).toBe(false);
    expect((read as { reason: string }).reason).toContain(reason);
  });
});

describe('readCommand: wrappers and shells with their options', () => {
  it('unwraps env, nice, nohup, timeout and stdbuf with their option arguments', () => {
    const read = readCommand(
      ['env', 'A=1', 'nice', '-n', '5', 'nohup', 'timeout', '-s', 'KILL', '10', 'stdbuf', '-oL', 'rg', 'x'],
      'linux',
    );
    expect(read.ok).toBe(true);
    expect(read.programs.map((p) => [p.role, p.argv[0]])).toEqual([
      ['wrapper', 'env'],
      ['wrapper', 'nice'],
      ['wrapper', 'nohup'],
      ['wrapper', 'timeout'],
      ['wrapper', 'stdbuf'],
      ['program', 'rg'],
    ]);
  });
  it.each([
    [['env', '-S', 'rg x'], 'env -S'],
    [['env', '-i', 'ls'], 'env -i'],
    [['env', '-u', 'PATH', 'ls'], 'PATH'],
    [['env', '-C', '/tmp', 'ls'], 'env -C'],
    [['env', 'BASH_FUNC_ls%%=() { id; }', 'bash', '-c', 'ls'], 'BASH_FUNC_ls%%'],
    [['env', 'PATH=/tmp', 'ls'], 'PATH'],
    [['timeout', 'rg'], 'duration'],
    [['nice', '--weird', 'ls'], 'not understood'],
  ])('stops on %j', (argv, reason) => {
    const read = readCommand(argv, 'linux');
    expect(read.ok).toBe(false);
    expect(read.reason).toContain(reason);
  });
  it('parses shell options with their arguments (issue 9 finding 2: bash --rcfile -c ls)', () => {
    expect(readShellInvocation(['bash', '--rcfile', '-c', 'ls'])).toMatchObject({ kind: 'stop' });
    expect(readShellInvocation(['bash', '--init-file', '-c', 'ls'])).toMatchObject({ kind: 'stop' });
    expect(readShellInvocation(['bash', '-o', 'pipefail', '-c', 'ls'])).toMatchObject({
      kind: 'payload',
      payload: 'ls',
    });
    expect(readShellInvocation(['bash', '-o', 'emacs', '-c', 'ls'])).toMatchObject({ kind: 'stop' });
    expect(readShellInvocation(['bash', '-O', 'extglob', '-c', 'ls'])).toMatchObject({ kind: 'stop' });
    expect(readShellInvocation(['bash', '-kc', 'ls LD_PRELOAD=/x.so'])).toMatchObject({ kind: 'stop' });
    expect(readShellInvocation(['bash', '-ic', 'ls'])).toMatchObject({ kind: 'stop' });
    expect(readShellInvocation(['bash', 'script.sh'])).toMatchObject({ kind: 'stop' });
    expect(readShellInvocation(['sh', '-c', '--', 'ls'])).toMatchObject({ kind: 'payload', payload: 'ls' });
    expect(readShellInvocation(['sh', '-lc', 'ls'])).toEqual({ kind: 'payload', payload: 'ls', loginFlags: [1] });
    expect(readShellInvocation(['bash', '--login', '-c', 'ls'])).toEqual({
      kind: 'payload',
      payload: 'ls',
      loginFlags: [1],
    });
  });
  it('refuses every builtin but the harmless ones (issue 9 finding 6: printf -v PATH)', () => {
    expect(readCommand(['bash', '-c', 'printf -v PATH %s /evil; ls'], 'linux')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('printf -v'),
    });
    for (const builtin of [
      'eval id',
      'exec id',
      'command id',
      'builtin echo',
      'source x',
      '. x',
      'alias ls=id',
      'hash -p /evil/ls ls',
      'enable -f x ls',
      'declare x',
      'export PATH',
      'read x',
      'trap id EXIT',
      'set -k',
      'shopt -s extglob',
      'cd /tmp',
    ]) {
      expect(readCommand(['bash', '-c', `${builtin}; ls`], 'linux').ok, builtin).toBe(false);
    }
    expect(readCommand(['bash', '-c', 'echo hi && true'], 'linux')).toMatchObject({
      ok: true,
      programs: [{ role: 'shell' }],
    });
  });
  it('reads other shells never; cmd.exe only when it reduces to one program; PowerShell never', () => {
    expect(readCommand(['zsh', '-c', 'ls'], 'linux').ok).toBe(false);
    expect(readCommand(['cmd.exe', '/d', '/s', '/c', 'rg x'], 'win32')).toMatchObject({ ok: true });
    for (const payload of ['rg x & calc', 'rg x | more', 'rg ^& x', 'rg %PATH%', 'rg "x"', 'rg x > out']) {
      expect(readCommand(['cmd.exe', '/c', payload], 'win32').ok, payload).toBe(false);
    }
    expect(readCommand(['powershell', '-Command', 'gci'], 'win32').ok).toBe(false);
    expect(readCommand(['powershell', '-EncodedCommand', 'ZwBjAGkA'], 'win32').ok).toBe(false);
  });
});

describe('analyzeCommand + evaluateAllowlist', () => {
  const list = [entry('/usr/bin/ls'), entry('/usr/bin/rg')];
  it('needs every program of a chain to match; the system shell itself needs no entry', () => {
    expect(runs(['/bin/bash', '-lc', 'ls && rg x'], list)).toBe(true);
    expect(runs(['/bin/sh', '-c', 'ls | rg x'], list)).toBe(true);
    expect(runs(['/bin/bash', '-lc', 'ls && git push'], list)).toBe(false);
  });
  it('a program named like a shell or wrapper that is not the system one is just a program (issue 9 finding 1)', () => {
    for (const fake of ['/home/ada/bin/sh', '/opt/fake/sh']) {
      const a = analyzeCommand([fake, '-c', 'ls'], posix);
      expect(a.programs.map((p) => p.role)).toEqual(['program']);
      expect(evaluateAllowlist(a, list, posix).satisfied).toBe(false);
    }
    expect(isSystemFile('/usr/bin/dash', posix)).toBe(true);
    expect(isSystemFile('/opt/fake/sh', posix)).toBe(false);
    expect(isSystemFile('/home/ada/bin/sh', posix)).toBe(false);
    expect(isSystemFile('/usr/bin/world', posix)).toBe(false);
  });
  it('refuses redirections and substitution even when every program is allowlisted', () => {
    const a = analyzeCommand(['/bin/sh', '-c', 'ls > /etc/passwd'], posix);
    expect(a.ok).toBe(false);
    expect(evaluateAllowlist(a, list, posix).satisfied).toBe(false);
    expect(runs(['/bin/sh', '-c', 'ls $(rg x)'], list)).toBe(false);
  });
  it('looks through system wrappers but refuses PATH overrides in them', () => {
    expect(runs(['env', 'nice', 'ls'], list)).toBe(true);
    expect(analyzeCommand(['env', 'PATH=/tmp', 'ls'], posix).ok).toBe(false);
    expect(analyzeCommand(['/bin/sh', '-c', 'LD_PRELOAD=/tmp/x.so ls'], posix).ok).toBe(false);
  });
  it('a dispatcher is covered by an exact argv only, never by its path (issue 9 finding 8)', () => {
    const gitStatus = analyzeCommand(['git', 'status'], posix);
    const exact = entry(exactProgramPattern(gitStatus.programs[0]) as string, { source: 'allow-always' });
    expect(evaluateAllowlist(gitStatus, [exact], posix)).toMatchObject({ satisfied: true, durableAllowAlways: true });
    expect(runs(['git', '-c', 'alias.x=!id', 'x'], [exact])).toBe(false);
    expect(runs(['git', 'status'], [entry('/usr/bin/git')])).toBe(false);
    expect(runs(['python3', '-c', 'print(1)'], [entry('/usr/bin/python3')])).toBe(false);
  });
  it('cmd.exe /c with cmd syntax always needs approval on Windows', () => {
    const a = analyzeCommand(['cmd.exe', '/d', '/s', '/c', 'rg x & calc'], win);
    expect(a.ok).toBe(false);
    expect(
      evaluateAllowlist(a, [entry('C:\\Windows\\System32\\cmd.exe'), entry('C:\\Tools\\rg.exe')], win).satisfied,
    ).toBe(false);
    expect(runs(['cmd.exe', '/d', '/s', '/c', 'rg x'], [entry('C:\\Tools\\rg.exe')], win)).toBe(true);
  });
  it('spawns the real file, and a login shell without its profile', () => {
    expect(analyzeCommand(['/bin/sh', '-lc', 'ls'], posix).spawnArgv).toEqual(['/usr/bin/dash', '-c', 'ls']);
    expect(analyzeCommand(['bash', '-xlc', 'ls'], posix).spawnArgv).toEqual(['/usr/bin/bash', '-xc', 'ls']);
    expect(analyzeCommand(['env', 'bash', '--login', '-c', 'ls'], posix).spawnArgv).toEqual([
      '/usr/bin/env',
      'bash',
      '-c',
      'ls',
    ]);
  });
});

describe('deriveAllowAlwaysEntries', () => {
  const patterns = (argv: string[], ctx = posix) =>
    deriveAllowAlwaysEntries(analyzeCommand(argv, ctx), ctx.platform).map((e) => e.pattern);
  it('persists the real files of the programs inside bash -lc, never bash', () => {
    expect(patterns(['/bin/bash', '-lc', 'ls -la && rg foo'])).toEqual(['/usr/bin/ls', '/usr/bin/rg']);
  });
  it("marks path entries as Clawdesk's own, so OpenClaw's agent does not read them as its cwd-bound kind and ask again", () => {
    const entries = deriveAllowAlwaysEntries(analyzeCommand(['/bin/sh', '-lc', 'ls && git status'], posix), 'linux');
    expect(entries.map((e) => [e.pattern.startsWith('=') ? '=exact' : e.pattern, e.source])).toEqual([
      ['/usr/bin/ls', PATH_ALLOW_ALWAYS_SOURCE],
      ['=exact', 'allow-always'],
    ]);
  });
  it('persists the inner executable of wrappers', () => {
    expect(patterns(['env', 'A=1', 'nice', '-n', '5', 'rg', 'x'])).toEqual(['/usr/bin/rg']);
  });
  it('binds a dispatcher to its exact argv', () => {
    expect(patterns(['python3', '-c', 'import os'])).toEqual([expect.stringMatching(/^=command:[0-9a-f]{16}$/)]);
    expect(patterns(['/bin/bash', '-lc', 'ls && git status'])).toEqual([
      '/usr/bin/ls',
      expect.stringMatching(/^=command:/),
    ]);
  });
  it('offers nothing for what it cannot read: a decision every time', () => {
    for (const argv of [
      ['/bin/bash', '-lc', 'curl x | sh > /tmp/o'],
      ['/bin/sh', '-c', 'bash -c "ls"; echo $HOME'],
      ['bash', 'script.sh'],
      ['/home/ada/bin/nope'],
    ]) {
      expect(patterns(argv), renderArgv(argv)).toEqual([]);
    }
    expect(patterns(['cmd.exe', '/c', 'dir & calc'], win)).toEqual([]);
    expect(patterns(['powershell', '-Command', 'gci'], win)).toEqual([]);
  });
  it('never matches a different command after allow-always on a shell', () => {
    const entries = deriveAllowAlwaysEntries(analyzeCommand(['/bin/bash', '-lc', 'ls -la'], posix), 'linux');
    expect(runs(['/bin/bash', '-lc', 'git push --force'], entries)).toBe(false);
    expect(runs(['/bin/bash', '-lc', 'ls -la'], entries)).toBe(true);
  });
});
