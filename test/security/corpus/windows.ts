import type { CorpusCase } from '../helpers/corpus-types';

/**
 * Windows targets (platform 'win32' with a fake file system): `cmd.exe /c` payloads (`&`, `|`, `^`, `%VAR%`) and
 * `powershell -Command/-EncodedCommand` always need a decision unless reduced to a single analysable program —
 * even with the shell itself allowlisted. Batch files run through cmd.exe, which re-parses their arguments.
 *
 * Files that exist: see WINDOWS_FILES in helpers/corpus-harness.ts. C:\Users\Ada\evil.exe is the evil program.
 */

const CMD = 'C:\\Windows\\System32\\cmd.exe';
const PS = 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe';
const PWSH = 'C:\\Program Files\\PowerShell\\7\\pwsh.exe';
const EVIL = 'C:\\Users\\Ada\\evil.exe';
const TOOLS = ['C:\\Tools\\rg.exe', 'C:\\Windows\\System32\\whoami.exe', 'C:\\Windows\\System32\\findstr.exe'];
const WITH_SHELLS = [...TOOLS, CMD, PS, PWSH];

const enc = (script: string) => Buffer.from(script, 'utf16le').toString('base64');

const cases: CorpusCase[] = [];

const CMD_PAYLOADS: Array<[string, string]> = [
  [`whoami & ${EVIL}`, '& chains a second program'],
  [`whoami && ${EVIL}`, '&&'],
  [`whoami || ${EVIL}`, '||'],
  [`whoami | ${EVIL}`, 'pipe'],
  [`whoami ^& ${EVIL}`, 'caret-escaped &'],
  [`w^h^o^a^m^i`, 'carets inside the program name'],
  [`%COMSPEC% /c ${EVIL}`, '%COMSPEC% expansion'],
  [`whoami %PATH%`, '%VAR% in an argument'],
  [`%X%`, 'a %VAR% as the program'],
  [`"whoami & ${EVIL}"`, 'a quoted chain'],
  [`set PATH=C:\\Users\\Ada& whoami`, 'set PATH then a name'],
  [`start ${EVIL}`, 'start'],
  [`call ${EVIL}`, 'call'],
  [`(${EVIL})`, 'parenthesised block'],
  [`@${EVIL}`, '@ prefix'],
  [`whoami > C:\\work\\out.txt`, 'redirection'],
  [`for /f %i in ('${EVIL}') do echo %i`, 'for /f runs a command'],
  [`if exist C:\\work ${EVIL}`, 'if'],
  [`whoami\n${EVIL}`, 'a newline'],
  [`rg x C:\\work 2>&1`, 'fd redirection'],
];
for (const [payload, what] of CMD_PAYLOADS) {
  for (const [label, allow] of [
    ['tools allowlisted', TOOLS],
    ['tools and cmd.exe allowlisted', WITH_SHELLS],
  ] as const) {
    cases.push({
      name: `cmd.exe /c ${JSON.stringify(payload)} (${what}; ${label})`,
      platform: 'win32',
      tags: ['win32', 'cmd'],
      argv: ['cmd.exe', '/d', '/s', '/c', payload],
      allow: [...allow],
      expect: 'needs-decision',
    });
  }
}
for (const argv of [
  ['cmd', '/c', 'whoami'],
  ['CMD.EXE', '/C', 'whoami'],
  [CMD, '/d', '/c', 'whoami'],
  ['cmd.exe', '/k', 'whoami'],
  ['cmd.exe', '/r', 'whoami'],
  ['cmd.exe', '/v:on', '/c', 'whoami'],
]) {
  cases.push({
    name: `${argv.join(' ')}: a single allowlisted program inside cmd.exe`,
    platform: 'win32',
    tags: ['win32', 'cmd'],
    argv,
    allow: WITH_SHELLS,
    expect: 'needs-decision',
    accept: ['runs'],
    why: 'runs only if the analyser reduces the payload to that one program',
  });
}
cases.push({
  name: 'cmd.exe /v:on /c with delayed expansion !X!',
  platform: 'win32',
  tags: ['win32', 'cmd'],
  argv: ['cmd.exe', '/v:on', '/c', `set X=${EVIL}&&!X!`],
  allow: WITH_SHELLS,
  expect: 'needs-decision',
});

const PS_PAYLOADS: Array<[string, string]> = [
  [`whoami; & '${EVIL}'`, 'a call operator after ;'],
  [`Get-Process | Out-Null; & '${EVIL}'`, 'cmdlets then a call'],
  [`iex 'whoami'`, 'iex'],
  [`Invoke-Expression "& '${EVIL}'"`, 'Invoke-Expression'],
  [`Start-Process '${EVIL}'`, 'Start-Process'],
  [`$x='${EVIL}'; & $x`, 'a variable as the program'],
  [`whoami $(& '${EVIL}')`, 'a subexpression'],
  [`whoami > C:\\work\\o.txt`, 'redirection'],
  [`Get-ChildItem`, 'a single cmdlet'],
];
for (const [payload, what] of PS_PAYLOADS) {
  for (const [flag, ps] of [
    ['-Command', 'powershell'],
    ['-c', 'pwsh'],
    ['-Comm', 'powershell'],
    ['/Command', 'powershell'],
  ] as const) {
    if (flag !== '-Command' && !['a call operator after ;', 'iex'].includes(what)) continue;
    cases.push({
      name: `${ps} -NoProfile ${flag} ${JSON.stringify(payload)} (${what})`,
      platform: 'win32',
      tags: ['win32', 'powershell'],
      argv: [ps, '-NoProfile', flag, payload],
      allow: WITH_SHELLS,
      expect: 'needs-decision',
    });
  }
}
for (const flag of ['-EncodedCommand', '-enc', '-ec', '-e', '-EncodedC']) {
  cases.push({
    name: `powershell ${flag} <base64 of "whoami; & evil">`,
    platform: 'win32',
    tags: ['win32', 'powershell'],
    argv: ['powershell', '-NoProfile', flag, enc(`whoami; & '${EVIL}'`)],
    allow: WITH_SHELLS,
    expect: 'needs-decision',
  });
}
cases.push(
  {
    name: 'powershell with the command as a bare positional argument (no -Command)',
    platform: 'win32',
    tags: ['win32', 'powershell'],
    argv: ['powershell', '-NoLogo', '-NonInteractive', `whoami; & '${EVIL}'`],
    allow: WITH_SHELLS,
    expect: 'needs-decision',
  },
  {
    name: 'powershell -File with a script',
    platform: 'win32',
    tags: ['win32', 'powershell'],
    argv: ['powershell', '-ExecutionPolicy', 'Bypass', '-File', 'C:\\work\\x.ps1'],
    allow: WITH_SHELLS,
    expect: 'needs-decision',
  },
  {
    name: 'powershell -Command - (reads the script from stdin)',
    platform: 'win32',
    tags: ['win32', 'powershell'],
    argv: ['powershell', '-Command', '-'],
    allow: WITH_SHELLS,
    expect: 'needs-decision',
  },
  {
    name: 'powershell -c whoami: a single allowlisted program',
    platform: 'win32',
    tags: ['win32', 'powershell'],
    argv: ['powershell', '-NoProfile', '-c', 'whoami'],
    allow: WITH_SHELLS,
    expect: 'needs-decision',
    accept: ['runs'],
  },
  // Batch files: cmd.exe parses their arguments again.
  {
    name: 'an allowlisted .cmd file with an argument carrying & (cmd.exe re-parses batch arguments)',
    platform: 'win32',
    tags: ['win32', 'batch'],
    argv: ['C:\\Tools\\build.cmd', `x&${EVIL}`],
    allow: ['C:\\Tools\\build.cmd'],
    expect: 'needs-decision',
  },
  {
    name: 'an allowlisted .bat file with an argument carrying | and %VAR%',
    platform: 'win32',
    tags: ['win32', 'batch'],
    argv: ['C:\\Tools\\deploy.bat', `"a" | ${EVIL} %PATH%`],
    allow: ['C:\\Tools\\deploy.bat'],
    expect: 'needs-decision',
  },
  // Direct programs.
  {
    name: 'rg.exe found on PATH, allowlisted',
    platform: 'win32',
    tags: ['win32', 'positive'],
    argv: ['rg', 'x'],
    allow: TOOLS,
    expect: 'runs',
  },
  {
    name: 'C:\\Tools\\rg.exe by absolute path, allowlisted (case-insensitive pattern)',
    platform: 'win32',
    tags: ['win32', 'positive'],
    argv: ['C:\\Tools\\RG.EXE', '--version'],
    allow: ['c:/tools/rg.exe'],
    expect: 'runs',
  },
  {
    name: 'whoami.exe via PATH, allowlisted',
    platform: 'win32',
    tags: ['win32', 'positive'],
    argv: ['whoami'],
    allow: TOOLS,
    expect: 'runs',
  },
  {
    name: 'an unlisted program',
    platform: 'win32',
    tags: ['win32'],
    argv: [EVIL],
    allow: TOOLS,
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
  },
  {
    name: 'a whoami.exe in Downloads is not the allowlisted whoami (by path, not name)',
    platform: 'win32',
    tags: ['win32', 'basename'],
    argv: ['C:\\Users\\Ada\\Downloads\\whoami.exe'],
    allow: TOOLS,
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
  },
  {
    name: 'PATHEXT order: a planted rg.com beside rg.exe wins the lookup and is not the allowlisted rg.exe',
    platform: 'win32',
    tags: ['win32', 'path'],
    argv: ['rg', 'x'],
    fixture: { 'C:\\Tools\\rg.com': { kind: 'evil' } },
    allow: TOOLS,
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
  },
  {
    name: 'a relative Path entry (.) on Windows is never searched',
    platform: 'win32',
    tags: ['win32', 'path'],
    argv: ['rg', 'x'],
    path: ['.', 'C:\\Tools'],
    fixture: { 'C:\\work\\rg.exe': { kind: 'evil' } },
    allow: TOOLS,
    expect: 'runs',
    accept: ['needs-decision'],
  },
  {
    name: 'env override Path on Windows (case-insensitive name)',
    platform: 'win32',
    tags: ['win32', 'env', 'refused'],
    argv: ['rg', 'x'],
    env: { Path: 'C:\\Users\\Ada' },
    allow: TOOLS,
    expect: 'refused',
  },
  {
    name: 'env override PATHEXT on Windows',
    platform: 'win32',
    tags: ['win32', 'env', 'refused'],
    argv: ['rg', 'x'],
    env: { pathext: '.COM' },
    allow: TOOLS,
    expect: 'refused',
  },
  {
    name: 'env override COMSPEC on Windows',
    platform: 'win32',
    tags: ['win32', 'env', 'refused'],
    argv: ['rg', 'x'],
    env: { ComSpec: EVIL },
    allow: TOOLS,
    expect: 'refused',
  },
  {
    name: 'git.exe -c alias.x=!cmd x on Windows after git is allowlisted',
    platform: 'win32',
    finding: 8,
    tags: ['win32', 'git'],
    argv: ['git', '-c', `alias.x=!${EVIL}`, 'x'],
    allow: ['C:\\Tools\\git.exe'],
    expect: 'needs-decision',
  },
);

export default cases;
