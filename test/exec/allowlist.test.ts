import { describe, expect, it } from 'vitest';
import {
  analyzeCommand,
  deriveAllowAlwaysEntries,
  evaluateAllowlist,
  exactCommandPattern,
  patternMatches,
} from '../../gateway/exec/allowlist';
import type { AllowlistEntry } from '../../gateway/exec/approvals-file';
import { detectCarrier, parseShellChain, renderArgv, unwrapWrappers } from '../../gateway/exec/command-analysis';
import { resolveExecutable, type FileProbe, type ResolveContext } from '../../gateway/exec/executable-resolution';

/** A fake file system: the listed files exist and are executable. Lookups fold case on Windows. */
function probe(files: string[], platform: NodeJS.Platform, links: Record<string, string> = {}): FileProbe {
  const fold = (s: string) => (platform === 'win32' ? s.toLowerCase() : s);
  const set = new Set(files.map(fold));
  return {
    stat: (p) => (set.has(fold(p)) ? { isFile: true, executable: true } : null),
    realpath: (p) => links[p] ?? (set.has(fold(p)) ? p : null),
  };
}

const posixFiles = ['/usr/bin/ls', '/usr/bin/rg', '/bin/bash', '/bin/sh', '/usr/bin/python3', '/usr/bin/env', '/usr/bin/nice', '/usr/bin/git', '/usr/bin/node', '/home/ada/bin/tool'];
const posix: ResolveContext = { platform: 'linux', env: { PATH: '/usr/bin:/bin' }, cwd: '/work', home: '/home/ada', probe: probe(posixFiles, 'linux') };
const winFiles = ['C:\\Windows\\System32\\cmd.exe', 'C:\\Tools\\rg.exe', 'C:\\Tools\\build.CMD', 'C:\\Users\\Ada\\bin\\tool.exe', 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe'];
const win: ResolveContext = {
  platform: 'win32',
  env: { Path: 'C:\\Windows\\System32;C:\\Tools;C:\\Windows\\System32\\WindowsPowerShell\\v1.0', PATHEXT: '.COM;.EXE;.BAT;.CMD' },
  cwd: 'C:\\work',
  home: 'C:\\Users\\Ada',
  probe: probe(winFiles, 'win32'),
};
const entry = (pattern: string, extra: Partial<AllowlistEntry> = {}): AllowlistEntry => ({ id: pattern, pattern, ...extra });

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
  it('follows the realpath on either side when there is no wildcard', () => {
    const ctx = { ...posix, probe: probe(posixFiles, 'linux', { '/usr/bin/python3': '/usr/bin/python3.12' }) };
    expect(patternMatches(entry('/usr/bin/python3.12'), '/usr/bin/python3', [], ctx)).toBe(true);
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

describe('parseShellChain', () => {
  it('splits chains and keeps quoting', () => {
    expect(parseShellChain(`ls -la && rg 'a b' | wc -l; git status`)).toEqual({
      ok: true,
      segments: [['ls', '-la'], ['rg', 'a b'], ['wc', '-l'], ['git', 'status']],
    });
    expect(parseShellChain(`echo "x \\"y\\""`)).toEqual({ ok: true, segments: [['echo', 'x "y"']] });
  });
  it.each([
    ['ls > out', 'redirection'],
    ['cat < in', 'redirection'],
    ['ls 2>&1', 'redirection'],
    ['echo $(id)', 'substitution'],
    ['echo `id`', 'substitution'],
    ['echo "$(id)"', 'substitution'],
    ['echo $HOME', 'expansion'],
    ['(ls)', 'subshell'],
    ['if true; then ls; fi', 'syntax'],
    ["echo 'x", 'unterminated'],
    ['*.sh', 'glob'],
    ['ls &&', 'empty'],
  ])('refuses %s', (payload, reason) => {
    const parsed = parseShellChain(payload);
    expect(parsed.ok).toBe(false);
    expect((parsed as { reason: string }).reason).toContain(reason);
  });
});

describe('carriers and wrappers', () => {
  it('detects shell and interpreter carriers', () => {
    expect(detectCarrier(['bash', '-lc', 'ls'], 'linux')).toMatchObject({ kind: 'posix-shell', payload: 'ls' });
    expect(detectCarrier(['/bin/sh', '-c', 'ls', 'arg0'], 'linux')).toMatchObject({ kind: 'posix-shell', payload: 'ls' });
    expect(detectCarrier(['bash', '-l', '-c', 'ls'], 'linux')).toMatchObject({ kind: 'posix-shell', payload: 'ls' });
    expect(detectCarrier(['bash', 'script.sh'], 'linux')).toBeNull();
    expect(detectCarrier(['cmd.exe', '/d', '/s', '/c', 'dir'], 'win32')).toMatchObject({ kind: 'cmd', payload: 'dir' });
    expect(detectCarrier(['powershell', '-NoProfile', '-Command', 'gci'], 'win32')).toMatchObject({ kind: 'powershell' });
    expect(detectCarrier(['python3', '-c', 'print(1)'], 'linux')).toMatchObject({ kind: 'inline-eval' });
    expect(detectCarrier(['node', '-e', '1'], 'linux')).toMatchObject({ kind: 'inline-eval' });
    expect(detectCarrier(['node', 'app.js'], 'linux')).toBeNull();
  });
  it('unwraps env, nice, nohup, timeout and stdbuf', () => {
    expect(unwrapWrappers(['env', 'A=1', 'nice', '-n', '5', 'nohup', 'timeout', '-s', 'KILL', '10', 'stdbuf', '-oL', 'rg', 'x'], 'linux')).toEqual({
      ok: true,
      argv: ['rg', 'x'],
      envKeys: ['A'],
    });
    expect(unwrapWrappers(['env', '-S', 'rg x'], 'linux').ok).toBe(false);
    expect(unwrapWrappers(['timeout', 'rg'], 'linux').ok).toBe(false);
  });
  it('renders argv canonically', () => {
    expect(renderArgv(['ls', '-la', 'a b', "it's"])).toBe(`ls -la 'a b' 'it'"'"'s'`);
  });
});

describe('analyzeCommand + evaluateAllowlist', () => {
  const list = [entry('/usr/bin/ls'), entry('/usr/bin/rg')];
  it('needs every segment of a chain to match', () => {
    expect(evaluateAllowlist(analyzeCommand(['/bin/bash', '-lc', 'ls && rg x'], posix), list, posix).satisfied).toBe(true);
    expect(evaluateAllowlist(analyzeCommand(['/bin/bash', '-lc', 'ls && git push'], posix), list, posix).satisfied).toBe(false);
  });
  it('refuses redirections and substitution even when every program is allowlisted', () => {
    const a = analyzeCommand(['/bin/sh', '-c', 'ls > /etc/passwd'], posix);
    expect(a.ok).toBe(false);
    expect(evaluateAllowlist(a, list, posix).satisfied).toBe(false);
    expect(evaluateAllowlist(analyzeCommand(['/bin/sh', '-c', 'ls $(rg x)'], posix), list, posix).satisfied).toBe(false);
  });
  it('looks through wrappers but refuses PATH overrides in them', () => {
    expect(evaluateAllowlist(analyzeCommand(['env', 'nice', 'ls'], posix), list, posix).satisfied).toBe(true);
    expect(analyzeCommand(['env', 'PATH=/tmp', 'ls'], posix).ok).toBe(false);
    expect(analyzeCommand(['/bin/sh', '-c', 'LD_PRELOAD=/tmp/x.so ls'], posix).ok).toBe(false);
  });
  it('cmd.exe /c always needs approval under the allowlist on Windows', () => {
    const a = analyzeCommand(['cmd.exe', '/d', '/s', '/c', 'rg x'], win);
    expect(a.ok).toBe(false);
    expect(evaluateAllowlist(a, [entry('C:\\Windows\\System32\\cmd.exe'), entry('C:\\Tools\\rg.exe')], win).satisfied).toBe(false);
  });
  it('an exact-command entry matches only that command line', () => {
    const a = analyzeCommand(['python3', '-c', 'print(1)'], posix);
    const e = entry(exactCommandPattern(a.commandText), { source: 'allow-always' });
    expect(evaluateAllowlist(a, [e], posix)).toMatchObject({ satisfied: true, durableAllowAlways: true });
    expect(evaluateAllowlist(analyzeCommand(['python3', '-c', 'print(2)'], posix), [e], posix).satisfied).toBe(false);
  });
});

describe('deriveAllowAlwaysEntries', () => {
  const patterns = (argv: string[], ctx = posix) => deriveAllowAlwaysEntries(analyzeCommand(argv, ctx), ctx.platform).map((e) => e.pattern);
  it('persists the programs inside bash -lc, never bash', () => {
    expect(patterns(['/bin/bash', '-lc', 'ls -la && rg foo'])).toEqual(['/usr/bin/ls', '/usr/bin/rg']);
  });
  it('persists the inner executable of wrappers', () => {
    expect(patterns(['env', 'A=1', 'nice', '-n', '5', 'rg', 'x'])).toEqual(['/usr/bin/rg']);
  });
  it('falls back to an argv-bound entry for inline code and unreadable shell text', () => {
    for (const argv of [
      ['/bin/bash', '-lc', 'curl x | sh > /tmp/o'],
      ['python3', '-c', 'import os'],
      ['node', '-e', '1'],
      ['/bin/sh', '-c', 'bash -c "ls"; echo $HOME'],
      ['bash', 'script.sh'],
      ['/bin/bash', '-lc', 'python3 -c "print(1)"'],
    ]) {
      const got = patterns(argv);
      expect(got).toHaveLength(1);
      expect(got[0]).toMatch(/^=command:[0-9a-f]{16}$/);
    }
    expect(patterns(['cmd.exe', '/c', 'dir'], win)[0]).toMatch(/^=command:/);
    expect(patterns(['powershell', '-Command', 'gci'], win)[0]).toMatch(/^=command:/);
  });
  it('never matches a different command after allow-always on a shell', () => {
    const entries = deriveAllowAlwaysEntries(analyzeCommand(['/bin/bash', '-lc', 'ls -la'], posix), 'linux');
    const other = analyzeCommand(['/bin/bash', '-lc', 'git push --force'], posix);
    expect(evaluateAllowlist(other, entries, posix).satisfied).toBe(false);
    expect(evaluateAllowlist(analyzeCommand(['/bin/bash', '-lc', 'ls -la'], posix), entries, posix).satisfied).toBe(true);
  });
});
