import { evil, type CorpusCase } from '../helpers/corpus-types';

/**
 * Finding 9: the resolver skips relative PATH entries, but a shell payload (or a wrapper's own PATH search) used
 * the real PATH. With `.` (or an empty entry, or a relative dir) on the gateway's PATH, `sh -c ls` in a directory
 * holding an evil ls ran it. Correct: commands run with the same absolute-only PATH the analyser resolved with, so
 * the real ls runs — or, stricter, a decision is asked. Either way the evil ls never runs unasked.
 */

const RELATIVE_PATHS: Array<[string, string[], string]> = [
  ['.', ['.', '/usr/bin', '/bin'], 'work/ls'],
  ['an empty entry (leading :)', ['', '/usr/bin', '/bin'], 'work/ls'],
  ['an empty entry (trailing :)', ['/usr/bin', '/bin', ''], 'work/ls'],
  ['an empty entry (::) before the system dirs', ['/nonexistent', '', '/usr/bin', '/bin'], 'work/ls'],
  ['bin (relative dir)', ['bin', '/usr/bin', '/bin'], 'work/bin/ls'],
  ['./bin', ['./bin', '/usr/bin', '/bin'], 'work/bin/ls'],
  ['../w2 (relative, outside the cwd)', ['../w2', '/usr/bin', '/bin'], 'w2/ls'],
  ['~/bin (tilde, bash expands it)', ['~/bin', '/usr/bin', '/bin'], 'home/bin/ls'],
];

const COMMANDS: Array<[string, string[], string[]]> = [
  ['sh -c ls', ['/bin/sh', '-c', 'ls'], ['/usr/bin/ls']],
  ['bash -c "ls -la && ls"', ['/bin/bash', '-c', 'ls -la && ls'], ['/usr/bin/ls']],
  ['env ls', ['/usr/bin/env', 'ls'], ['/usr/bin/env', '/usr/bin/ls']],
];

const cases: CorpusCase[] = [];
for (const [what, path, evilAt] of RELATIVE_PATHS) {
  for (const [label, argv, allow] of COMMANDS) {
    // env ls with the tilde entry is the same as bash's; keep the matrix lean where nothing new is tested.
    if (label === 'env ls' && what.startsWith('~')) continue;
    cases.push({
      name: `${label} with ${what} on the gateway PATH and an evil ls there`,
      finding: 9,
      tags: ['path', 'relative-path'],
      argv,
      path,
      fixture: { [evilAt]: evil() },
      allow,
      expect: 'runs',
      accept: ['needs-decision'],
      why: 'runs the real ls (absolute-only PATH) or asks; the evil ls never runs unasked',
    });
  }
}

cases.push(
  {
    name: 'ls via allow-always with . on PATH and an evil ls in the cwd',
    finding: 9,
    tags: ['path', 'relative-path'],
    argv: ['/bin/sh', '-c', 'ls'],
    path: ['.', '/usr/bin', '/bin'],
    fixture: { 'work/ls': evil() },
    always: [['ls']],
    expect: 'runs',
    accept: ['needs-decision'],
  },
  {
    name: 'nice ls with . on PATH (a wrapper searching PATH itself)',
    finding: 9,
    tags: ['path', 'relative-path', 'wrapper'],
    argv: ['/usr/bin/nice', 'ls'],
    path: ['.', '/usr/bin', '/bin'],
    fixture: { 'work/ls': evil() },
    allow: ['/usr/bin/nice', '/usr/bin/ls'],
    expect: 'runs',
    accept: ['needs-decision'],
  },
  {
    name: 'timeout 5 ls with an empty PATH entry',
    finding: 9,
    tags: ['path', 'relative-path', 'wrapper'],
    argv: ['/usr/bin/timeout', '5', 'ls'],
    path: ['', '/usr/bin', '/bin'],
    fixture: { 'work/ls': evil() },
    allow: ['/usr/bin/timeout', '/usr/bin/ls'],
    expect: 'runs',
    accept: ['needs-decision'],
  },
  {
    name: 'the name ls is not a place: an absolute but writable dir first on PATH holds an evil ls',
    finding: [1, 9],
    tags: ['path'],
    argv: ['ls'],
    path: ['@S/writable', '/usr/bin', '/bin'],
    fixture: { 'writable/ls': evil() },
    allow: ['/usr/bin/ls'],
    expect: 'needs-decision',
    allowAlways: 'path-ok',
    proves: true,
  },
  {
    name: 'sh -c ls with an absolute writable dir first on PATH holding an evil ls',
    finding: [1, 9],
    tags: ['path', 'shell'],
    argv: ['/bin/sh', '-c', 'ls'],
    path: ['@S/writable', '/usr/bin', '/bin'],
    fixture: { 'writable/ls': evil() },
    always: [['/usr/bin/ls']],
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
    proves: true,
  },
  {
    name: 'a relative program in the payload (./ls) is the cwd file, not the allowlisted ls',
    finding: 9,
    tags: ['path', 'shell'],
    argv: ['/bin/sh', '-c', './ls'],
    fixture: { 'work/ls': evil() },
    allow: ['/usr/bin/ls'],
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
    proves: true,
  },
);

export default cases;
