import { copy, dir, evil, link, text, type CorpusCase } from '../helpers/corpus-types';

/**
 * Findings 1 and 2: wrappers and shells are executables like any other. A `sh` that is not the system shell is an
 * unknown program, whatever its name, owner or directory name; shell options are parsed with their arguments.
 *
 * Everything here runs as root, so the planted programs are root-owned too: a "system binary" test by owner alone
 * lets every one of these through.
 */

const LS_ALWAYS = { always: [['ls']] };
const LS_PATTERN = { allow: ['/usr/bin/ls'] };

/** A fake wrapper and the argv after it that would otherwise "just be ls". */
const FAKE_WRAPPERS: Array<[string, string[]]> = [
  ['sh', ['-c', 'ls']],
  ['bash', ['-c', 'ls']],
  ['bash', ['-lc', 'ls']],
  ['dash', ['-c', 'ls']],
  ['env', ['ls']],
  ['env', ['-i', 'ls']],
  ['nice', ['-n', '5', 'ls']],
  ['nice', ['ls']],
  ['timeout', ['5', 'ls']],
  ['timeout', ['-s', 'KILL', '5', 'ls']],
  ['nohup', ['ls']],
  ['stdbuf', ['-oL', 'ls']],
];

const cases: CorpusCase[] = [];

for (const [w, rest] of FAKE_WRAPPERS) {
  for (const [style, prior] of [
    ['ls allowlisted by allow-always', LS_ALWAYS],
    ['ls allowlisted by pattern', LS_PATTERN],
  ] as const) {
    cases.push({
      name: `fake wrapper <scratch>/fake/${w} ${rest.join(' ')} (${style})`,
      finding: 1,
      tags: ['wrapper', 'fake-wrapper'],
      argv: [`@S/fake/${w}`, ...rest],
      fixture: { [`fake/${w}`]: evil() },
      ...prior,
      expect: 'needs-decision',
      proves: true,
    });
    cases.push({
      name: `fake wrapper ${w} found first on PATH: ${w} ${rest.join(' ')} (${style})`,
      finding: 1,
      tags: ['wrapper', 'fake-wrapper', 'path'],
      argv: [w, ...rest],
      path: ['@S/fake', '/usr/bin', '/bin'],
      fixture: { [`fake/${w}`]: evil() },
      ...prior,
      expect: 'needs-decision',
      proves: true,
    });
  }
  cases.push({
    name: `fake wrapper ./${w} ${rest.join(' ')} in the working directory`,
    finding: 1,
    tags: ['wrapper', 'fake-wrapper', 'relative'],
    argv: [`./${w}`, ...rest],
    fixture: { [`work/${w}`]: evil() },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  });
}

// The real wrapper allowlisted too does not make a fake one with the same name allowed.
for (const w of ['env', 'nice', 'nohup', 'timeout', 'stdbuf']) {
  const rest = FAKE_WRAPPERS.find(([n]) => n === w)![1];
  cases.push({
    name: `fake ${w} while the real /usr/bin/${w} and ls are allowlisted`,
    finding: 1,
    tags: ['wrapper', 'fake-wrapper'],
    argv: [`@S/fake/${w}`, ...rest],
    fixture: { [`fake/${w}`]: evil() },
    allow: [`/usr/bin/${w}`, '/usr/bin/ls'],
    expect: 'needs-decision',
    proves: true,
  });
}

// "System shell" by location, ownership and non-writable directories, never by owner or name alone.
cases.push(
  {
    name: 'fake sh at a path ending in /usr/bin/sh, in root-owned 0755 directories under the scratch dir',
    finding: 1,
    tags: ['wrapper', 'system-shell'],
    argv: ['@S/ro/usr/bin/sh', '-c', 'ls'],
    fixture: { ro: dir(0o755), 'ro/usr': dir(0o755), 'ro/usr/bin': dir(0o755), 'ro/usr/bin/sh': evil() },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'fake bash reached through /bin/../<scratch> (string prefix /bin/ is not a location)',
    finding: 1,
    tags: ['wrapper', 'system-shell'],
    argv: ['/bin/..@S/fake/bash', '-c', 'ls'],
    fixture: { 'fake/bash': evil() },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'symlink <scratch>/bin/sh → fake sh (a link named like the system shell)',
    finding: 1,
    tags: ['wrapper', 'system-shell', 'symlink'],
    argv: ['@S/links/bin/sh', '-c', 'ls'],
    fixture: { 'fake/sh': evil(), 'links/bin/sh': link('@S/fake/sh') },
    ...LS_ALWAYS,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'a root-owned copy of the real bash outside the system directories is not the system shell',
    finding: 1,
    tags: ['wrapper', 'system-shell'],
    argv: ['@S/copy/bash', '-c', 'ls'],
    fixture: { copy: dir(0o755), 'copy/bash': copy('/usr/bin/bash') },
    ...LS_PATTERN,
    expect: 'needs-decision',
    why: 'location decides: the copy sits in a tree under world-writable /tmp and can be replaced at any time',
  },
  {
    name: 'a root-owned copy of dash named sh, first on PATH',
    finding: 1,
    tags: ['wrapper', 'system-shell', 'path'],
    argv: ['sh', '-c', 'ls'],
    path: ['@S/copy', '/usr/bin', '/bin'],
    fixture: { copy: dir(0o755), 'copy/sh': copy('/usr/bin/dash') },
    ...LS_PATTERN,
    expect: 'needs-decision',
  },
  {
    name: 'real env wrapping a fake sh: env <scratch>/fake/sh -c ls with env and ls allowlisted',
    finding: 1,
    tags: ['wrapper', 'fake-wrapper'],
    argv: ['/usr/bin/env', '@S/fake/sh', '-c', 'ls'],
    fixture: { 'fake/sh': evil() },
    allow: ['/usr/bin/env', '/usr/bin/ls'],
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'real nice wrapping a fake bash: nice -n 1 <scratch>/fake/bash -c ls',
    finding: 1,
    tags: ['wrapper', 'fake-wrapper'],
    argv: ['/usr/bin/nice', '-n', '1', '@S/fake/bash', '-c', 'ls'],
    fixture: { 'fake/bash': evil() },
    allow: ['/usr/bin/nice', '/usr/bin/ls'],
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'system sh whose payload runs a fake sh by absolute path: sh -c "<scratch>/fake/sh -c ls"',
    finding: 1,
    tags: ['wrapper', 'fake-wrapper', 'shell'],
    argv: ['/bin/sh', '-c', '@S/fake/sh -c ls'],
    fixture: { 'fake/sh': evil() },
    ...LS_ALWAYS,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'system bash whose payload runs an evil program named ls by absolute path',
    finding: 1,
    tags: ['shell', 'basename'],
    argv: ['/bin/bash', '-c', '@E -la'],
    ...LS_ALWAYS,
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
    proves: true,
  },
  {
    name: 'allow-always of sh -c "ls | grep x", then the same payload under a fake sh',
    finding: 1,
    tags: ['wrapper', 'fake-wrapper'],
    argv: ['@S/fake/sh', '-c', 'ls | grep x'],
    fixture: { 'fake/sh': evil() },
    always: [['/bin/sh', '-c', 'ls | grep x']],
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'env -u takes an argument: env -u ls touch @M is touch, not ls',
    finding: [1, 2],
    tags: ['wrapper', 'option-argument'],
    argv: ['/usr/bin/env', '-u', 'ls', 'touch', '@M'],
    allow: ['/usr/bin/env', '/usr/bin/ls'],
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
    proves: true,
  },
  {
    name: 'env -C changes directory: env -C <evil dir> ./ls runs the evil ls',
    finding: [1, 2],
    tags: ['wrapper', 'option-argument'],
    argv: ['/usr/bin/env', '-C', '@D', './ls'],
    fixture: { 'work/ls': { kind: 'good' } },
    allow: ['/usr/bin/env', '/usr/bin/ls', '@W/ls'],
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'env -S splits a string into a command: env -S "touch @M"',
    finding: [1, 2],
    tags: ['wrapper', 'option-argument'],
    argv: ['/usr/bin/env', '-S', 'touch @M'],
    allow: ['/usr/bin/env', '/usr/bin/ls'],
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'env --split-string=<cmd>',
    finding: [1, 2],
    tags: ['wrapper', 'option-argument'],
    argv: ['/usr/bin/env', '--split-string=touch @M'],
    allow: ['/usr/bin/env', '/usr/bin/ls'],
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'bash -c PAYLOAD NAME: the payload is what runs, not $0 (ls)',
    finding: 2,
    tags: ['shell', 'option-argument'],
    argv: ['/bin/bash', '-c', 'touch @M', 'ls'],
    ...LS_PATTERN,
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
    proves: true,
  },
  {
    name: 'bash -c "$0" with $0 an evil program',
    finding: [2, 6],
    tags: ['shell', 'expansion'],
    argv: ['/bin/bash', '-c', '"$0"', '@E'],
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: "sh -c '$1' with a positional evil program",
    finding: [2, 6],
    tags: ['shell', 'expansion'],
    argv: ['/bin/sh', '-c', '$1', 'x', '@E'],
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
);

// Finding 2: options that take an argument.
for (const shell of ['bash', '/bin/bash', '/usr/bin/bash']) {
  for (const opt of ['--rcfile', '--init-file']) {
    for (const [style, prior] of [
      ['allow-always', LS_ALWAYS],
      ['pattern', LS_PATTERN],
    ] as const) {
      cases.push({
        name: `${shell} ${opt} -c ls runs ./ls as a script (0644 file in the cwd; ls by ${style})`,
        finding: 2,
        tags: ['shell', 'option-argument'],
        argv: [shell, opt, '-c', 'ls'],
        fixture: { 'work/ls': text('touch @M\n', 0o644) },
        ...prior,
        expect: 'needs-decision',
        proves: true,
      });
    }
  }
}

cases.push(
  {
    name: 'bash ls: a script operand named like an allowlisted program',
    finding: 2,
    tags: ['shell', 'script-operand'],
    argv: ['/bin/bash', 'ls'],
    fixture: { 'work/ls': text('touch @M\n', 0o644) },
    ...LS_ALWAYS,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'sh ls: a script operand named like an allowlisted program',
    finding: 2,
    tags: ['shell', 'script-operand'],
    argv: ['/bin/sh', 'ls'],
    fixture: { 'work/ls': text('touch @M\n', 0o644) },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'bash -- ls: script operand after --',
    finding: 2,
    tags: ['shell', 'script-operand'],
    argv: ['/bin/bash', '--', 'ls'],
    fixture: { 'work/ls': text('touch @M\n', 0o644) },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'bash -x ls: an option, then a script operand',
    finding: 2,
    tags: ['shell', 'script-operand'],
    argv: ['/bin/bash', '-x', 'ls'],
    fixture: { 'work/ls': text('touch @M\n', 0o644) },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'bash -o posix ls: -o takes an option name, then a script operand',
    finding: 2,
    tags: ['shell', 'option-argument'],
    argv: ['/bin/bash', '-o', 'posix', 'ls'],
    fixture: { 'work/ls': text('touch @M\n', 0o644) },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'bash -O extglob ls: -O takes an option name, then a script operand',
    finding: 2,
    tags: ['shell', 'option-argument'],
    argv: ['/bin/bash', '-O', 'extglob', 'ls'],
    fixture: { 'work/ls': text('touch @M\n', 0o644) },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'bash -i -c ls reads ~/.bashrc (interactive)',
    finding: 2,
    tags: ['shell', 'startup-files'],
    argv: ['/bin/bash', '-i', '-c', 'ls'],
    fixture: { 'home/.bashrc': text('touch @M\n') },
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'bash -lc ls reads ~/.bash_profile (login shell)',
    finding: 2,
    tags: ['shell', 'startup-files'],
    argv: ['/bin/bash', '-lc', 'ls'],
    fixture: { 'home/.bash_profile': text('touch @M\n') },
    ...LS_ALWAYS,
    expect: 'needs-decision',
    accept: ['runs'],
    proves: true,
    why: 'a login shell runs the programs of its startup files, which the analyser never saw; runs is right when the runner drops -l (the evil marker is checked either way)',
  },
  {
    name: 'bash --login -c ls reads ~/.profile',
    finding: 2,
    tags: ['shell', 'startup-files'],
    argv: ['/bin/bash', '--login', '-c', 'ls'],
    fixture: { 'home/.profile': text('touch @M\n') },
    ...LS_PATTERN,
    expect: 'needs-decision',
    accept: ['runs'],
    why: 'runs is right when the runner drops the login option (the evil marker is checked either way)',
    proves: true,
  },
  {
    name: 'sh -lc ls (dash login shell) reads ~/.profile',
    finding: 2,
    tags: ['shell', 'startup-files'],
    argv: ['/bin/sh', '-lc', 'ls'],
    fixture: { 'home/.profile': text('touch @M\n') },
    ...LS_PATTERN,
    expect: 'needs-decision',
    accept: ['runs'],
    why: 'runs is right when the runner drops the login option (the evil marker is checked either way)',
    proves: true,
  },
  {
    name: 'bash --rcfile <file> -i -c ls: an interactive shell with a chosen rcfile',
    finding: 2,
    tags: ['shell', 'startup-files', 'option-argument'],
    argv: ['/bin/bash', '--rcfile', '@S/evil.sh', '-i', '-c', 'ls'],
    ...LS_PATTERN,
    expect: 'needs-decision',
    proves: true,
  },
  {
    name: 'BASH_ENV in the gateway environment: bash -c ls sources it',
    finding: 2,
    tags: ['shell', 'startup-files', 'env'],
    argv: ['/bin/bash', '-c', 'ls'],
    gatewayEnv: { BASH_ENV: '@S/evil.sh' },
    ...LS_PATTERN,
    expect: 'needs-decision',
    accept: ['runs'],
    why: 'runs is right too when the runner drops BASH_ENV from what the shell inherits (the evil marker is checked either way)',
  },
  {
    name: 'bash -s: the program text comes from stdin',
    finding: 2,
    tags: ['shell'],
    argv: ['/bin/bash', '-s'],
    ...LS_PATTERN,
    expect: 'needs-decision',
  },
  {
    name: 'bash with no -c at all (reads commands from stdin)',
    finding: 2,
    tags: ['shell'],
    argv: ['/bin/bash'],
    ...LS_PATTERN,
    expect: 'needs-decision',
  },
);

export default cases;
