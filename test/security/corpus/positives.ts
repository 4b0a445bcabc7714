import { good, link, type CorpusCase } from '../helpers/corpus-types';

/**
 * What must keep working: allowlisted programs, directly or inside the safe subset of shell syntax (simple
 * commands, pipes, &&, ||, ;, quoted literals) under the real, root-owned system shell, which the user never has
 * to allowlist. A stub that refuses everything fails here.
 */

const LS_GREP = ['/usr/bin/ls', '/usr/bin/grep'];

const SHELLS = ['/bin/sh', '/usr/bin/sh', '/bin/bash', '/usr/bin/bash', 'sh', 'bash'];

const cases: CorpusCase[] = [
  {
    name: 'ls -la with ls allowlisted by pattern',
    tags: ['positive'],
    argv: ['ls', '-la'],
    allow: ['/usr/bin/ls'],
    expect: 'runs',
    stdout: '..',
  },
  {
    name: 'ls -la after allow-always of ls -la',
    tags: ['positive', 'allow-always'],
    argv: ['ls', '-la'],
    always: [['ls', '-la']],
    expect: 'runs',
  },
  {
    name: 'ls with other arguments after allow-always of ls',
    tags: ['positive', 'allow-always'],
    argv: ['ls', '-1', '@S'],
    always: [['ls']],
    expect: 'runs',
    stdout: 'evil',
  },
  {
    name: '/usr/bin/ls by absolute path, allowlisted',
    tags: ['positive'],
    argv: ['/usr/bin/ls', '-a'],
    allow: ['/usr/bin/ls'],
    expect: 'runs',
  },
  {
    name: '/bin/ls (the /bin → usr/bin link) matches the real file',
    tags: ['positive', 'symlink'],
    argv: ['/bin/ls'],
    allow: ['/usr/bin/ls'],
    expect: 'runs',
  },
  {
    name: 'a scratch symlink to /usr/bin/ls runs as ls',
    tags: ['positive', 'symlink'],
    argv: ['@S/links/ls', '-a'],
    fixture: { 'links/ls': link('/usr/bin/ls') },
    allow: ['/usr/bin/ls'],
    expect: 'runs',
  },
  {
    name: 'a user tool allowlisted by its path',
    tags: ['positive'],
    argv: ['@S/tools/hello', 'a'],
    fixture: { 'tools/hello': good() },
    allow: ['@S/tools/hello'],
    expect: 'runs',
  },
  {
    name: 'a user tool allowlisted by a directory glob',
    tags: ['positive'],
    argv: ['@S/tools/hello'],
    fixture: { 'tools/hello': good() },
    allow: ['@S/tools/*'],
    expect: 'runs',
  },
  {
    name: 'a relative ./tool in the cwd, allowlisted by its path',
    tags: ['positive', 'relative'],
    argv: ['./hello'],
    fixture: { 'work/hello': good() },
    allow: ['@W/hello'],
    expect: 'runs',
  },
  {
    name: 'grep with a pattern and a file',
    tags: ['positive'],
    argv: ['grep', '-c', 'x', '@S/f'],
    allow: ['/usr/bin/grep'],
    expect: 'runs',
    stdout: '1',
  },
  {
    name: 'an allowlisted program whose arguments look like shell syntax (argv, no shell)',
    tags: ['positive'],
    argv: ['grep', '-c', '$(id); `id` | && >', '@S/f'],
    allow: ['/usr/bin/grep'],
    expect: 'runs',
  },
];

for (const shell of SHELLS) {
  cases.push({
    name: `${shell} -c 'ls | grep x && echo ok' with ls and grep allowlisted (the system shell needs no entry)`,
    tags: ['positive', 'shell', 'system-shell'],
    argv: [shell, '-c', 'ls @S | grep o && echo ok'],
    allow: LS_GREP,
    expect: 'runs',
    stdout: 'ok',
  });
}

const SAFE_PAYLOADS: Array<[string, string?]> = [
  ['ls'],
  ['ls -la'],
  ['ls; grep x @S/f', 'x'],
  ['ls || echo no'],
  ['ls && grep -c x @S/f', '1'],
  ['ls @S | grep -v x | grep -c f'],
  ['ls \'a b\' "c d" || echo quoted', 'quoted'],
  ["grep 'hel*o' @S/f", 'hello'],
  ["grep '$(id)' @S/f || echo literal", 'literal'],
  ['ls\ngrep x @S/f', 'x'],
  ['ls && ls && ls'],
  ['ls -- -x || echo dashdash', 'dashdash'],
];
for (const [payload, out] of SAFE_PAYLOADS) {
  cases.push({
    name: `/bin/sh -c ${JSON.stringify(payload)} (safe subset, ls and grep allowlisted)`,
    tags: ['positive', 'shell', 'safe-subset'],
    argv: ['/bin/sh', '-c', payload],
    allow: LS_GREP,
    expect: 'runs',
    stdout: out,
  });
}
// Single-quoted '$(id)' is a literal (above); double-quoted "$(id)" is a substitution.
cases.push({
  name: '/bin/sh -c \'grep "$(id)" f\': a substitution inside double quotes is not a literal',
  finding: 6,
  tags: ['shell', 'syntax'],
  argv: ['/bin/sh', '-c', 'grep "$(id)" @S/f || echo literal'],
  allow: LS_GREP,
  expect: 'needs-decision',
});

cases.push(
  {
    name: 'allow-always of sh -c "ls | grep x", then the same payload runs unasked',
    tags: ['positive', 'allow-always', 'shell'],
    argv: ['/bin/sh', '-c', 'ls | grep x'],
    always: [['/bin/sh', '-c', 'ls | grep x']],
    expect: 'runs',
  },
  {
    name: 'allow-always of bash -c "ls -la", then bash -c "ls -la" runs unasked',
    tags: ['positive', 'allow-always', 'shell'],
    argv: ['/bin/bash', '-c', 'ls -la'],
    always: [['/bin/bash', '-c', 'ls -la']],
    expect: 'runs',
  },
  {
    name: 'allow-always of ls and grep separately covers a pipe of the two',
    tags: ['positive', 'allow-always', 'shell'],
    argv: ['/bin/sh', '-c', 'ls | grep x'],
    always: [['ls'], ['grep', 'x', '@S/f']],
    expect: 'runs',
  },
  {
    name: 'a shell never allowlists itself: allow-always of sh -c ls does not cover sh -c "touch @M"',
    tags: ['allow-always', 'shell'],
    argv: ['/bin/sh', '-c', 'touch @M'],
    always: [['/bin/sh', '-c', 'ls']],
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
    proves: true,
  },
);

export default cases;
