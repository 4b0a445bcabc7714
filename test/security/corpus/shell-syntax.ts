import { text, type CorpusCase } from '../helpers/corpus-types';

/**
 * Finding 6 and the safe subset: outside simple commands, pipes, `&&`/`||`/`;` and quoted literals, every
 * expansion, substitution, assignment, assignment builtin, redirection, compound command or function needs a
 * decision every time — even when every program named in the text is allowlisted.
 *
 * @E is an evil program named ls (@D/ls); @D is its directory; @S/evil.sh is a 0644 file that runs @E.
 */

/** ls, printf, echo, cat, grep, env and sort are allowlisted (real paths) in every case here. */
const ALLOW = ['/usr/bin/ls', '/usr/bin/printf', '/usr/bin/echo', '/usr/bin/cat', '/usr/bin/grep', '/usr/bin/sort'];

interface P {
  payload: string;
  what: string;
  /** Approved, the evil program really runs (checked); 'sh' when only dash does it (bash expands no aliases when non-interactive). */
  proves?: boolean | 'sh';
  /** Also valid POSIX sh (dash): run under /bin/sh too. */
  posix?: boolean;
  finding?: number[];
  fixture?: CorpusCase['fixture'];
  /** Analysable, but names an unlisted program: allow-always may store that program's path. */
  innerOk?: boolean;
}

const HOSTILE: P[] = [
  { payload: 'printf -v PATH %s @D; ls', what: 'printf -v assigns PATH, then ls is the evil one', proves: true },
  { payload: 'printf -v X %s @E; $X', what: 'printf -v then a variable as the command', proves: true },
  { payload: '{@E,x}', what: 'brace expansion builds the command name', proves: true },
  { payload: '{@D/ls,-la}', what: 'brace expansion: evil ls with -la', proves: true },
  { payload: 'l{s,}', what: 'brace expansion that spells ls, ls' },
  { payload: '$(printf %s @E)', what: 'command substitution as the command name', proves: true, posix: true },
  { payload: '`printf %s @E`', what: 'backtick substitution as the command name', proves: true, posix: true },
  { payload: 'ls $(@E)', what: 'command substitution in an argument', proves: true, posix: true },
  { payload: 'ls "$(@E)"', what: 'command substitution inside double quotes', proves: true, posix: true },
  { payload: 'ls `@E`', what: 'backticks in an argument', proves: true, posix: true },
  { payload: 'ls <(@E)', what: 'process substitution <(…)', proves: true },
  { payload: 'ls > >(@E)', what: 'process substitution >(…)', proves: true },
  { payload: 'X=@E; $X', what: 'assignment then $X as the command', proves: true, posix: true },
  { payload: 'X=@E; ${X}', what: 'assignment then ${X} as the command', proves: true, posix: true },
  { payload: '${X:-@E}', what: 'default-value expansion as the command', proves: true, posix: true },
  { payload: 'ls ${X:-$(@E)}', what: 'substitution inside a parameter default', proves: true, posix: true },
  { payload: 'PATH=@D ls', what: 'PATH assignment prefix on an allowlisted name', proves: true, posix: true },
  { payload: 'PATH=@D; ls', what: 'PATH assignment statement, then ls', proves: true, posix: true },
  { payload: 'export PATH=@D; ls', what: 'export PATH', proves: true, posix: true },
  { payload: 'declare PATH=@D; ls', what: 'declare PATH', proves: true },
  { payload: 'typeset PATH=@D; ls', what: 'typeset PATH', proves: true },
  { payload: 'readonly PATH=@D; ls', what: 'readonly PATH', proves: true, posix: true },
  { payload: 'read PATH <<< @D; ls', what: 'read PATH from a here-string', proves: true },
  { payload: 'IFS= read -r PATH <<< @D; ls', what: 'read -r PATH with an IFS prefix', proves: true },
  { payload: 'mapfile -t A <<< @E; ${A[0]}', what: 'mapfile then an array element as the command', proves: true },
  { payload: 'eval @E', what: 'eval', proves: true, posix: true },
  { payload: 'eval "ls; @E"', what: 'eval of a quoted chain', proves: true, posix: true },
  { payload: 'exec @E', what: 'exec', proves: true, posix: true },
  { payload: 'exec -a ls @E', what: 'exec -a (argv0 spoofing)', proves: true },
  { payload: 'command @E', what: 'command builtin', proves: true, posix: true },
  { payload: 'builtin eval @E', what: 'builtin eval', proves: true },
  { payload: 'source @S/evil.sh', what: 'source a file', proves: true },
  { payload: '. @S/evil.sh', what: '. a file', proves: true, posix: true },
  {
    payload: 'shopt -s expand_aliases\nalias ls=@E\nls',
    what: 'alias (with expand_aliases) on a later line',
    proves: true,
  },
  { payload: 'alias ls=@E\nls', what: 'alias on a later line (sh expands aliases)', proves: 'sh', posix: true },
  { payload: 'hash -p @E ls; ls', what: 'hash -p pins ls to another file', proves: true },
  { payload: 'enable -n echo; echo hi', what: 'enable -n turns a builtin into a PATH lookup' },
  { payload: 'trap @E EXIT; ls', what: 'trap on EXIT', proves: true, posix: true },
  { payload: "trap '@E' DEBUG; ls", what: 'trap on DEBUG', proves: true },
  { payload: "PS4='$(@E)'; set -x; ls", what: 'PS4 with a substitution and set -x', proves: true },
  { payload: 'set -e; ls', what: 'set builtin' },
  { payload: 'set -- @E; "$@"', what: 'set -- then "$@" as the command', proves: true, posix: true },
  { payload: 'shopt -s nullglob; ls', what: 'shopt builtin' },
  { payload: 'ls(){ @E; }; ls', what: 'a function shadowing ls', proves: true, posix: true },
  { payload: 'function ls { @E; }; ls', what: 'function keyword shadowing ls', proves: true },
  { payload: '(@E)', what: 'subshell', proves: true, posix: true },
  { payload: '(ls)', what: 'subshell around an allowlisted program', posix: true },
  { payload: '{ @E; }', what: 'brace group', proves: true, posix: true },
  { payload: '! @E', what: 'negated pipeline', proves: true, posix: true },
  { payload: '@E &', what: 'background job', posix: true },
  { payload: 'if true; then @E; fi', what: 'if', proves: true, posix: true },
  { payload: 'for x in 1; do @E; done', what: 'for loop', proves: true, posix: true },
  { payload: 'while @E; do break; done', what: 'while loop', proves: true, posix: true },
  { payload: 'case x in x) @E;; esac', what: 'case', proves: true, posix: true },
  { payload: '[[ $(@E) ]]', what: '[[ with a substitution', proves: true },
  { payload: 'echo $(( $(@E) + 1 ))', what: 'arithmetic with a substitution', proves: true },
  { payload: 'coproc @E', what: 'coproc' },
  { payload: 'time @E', what: 'time keyword', proves: true },
  { payload: 'ls ~/../../@E', what: 'tilde in an argument' },
  {
    payload: '~/ls',
    what: 'tilde as the command (HOME holds an evil ls)',
    proves: true,
    posix: true,
    fixture: { 'home/ls': { kind: 'evil' } },
  },
  { payload: '@D/l?', what: 'glob ? in the command name', proves: true, posix: true },
  { payload: '@D/l*', what: 'glob * in the command name', proves: true, posix: true },
  { payload: '@D/[l]s', what: 'glob [..] in the command name', proves: true, posix: true },
  { payload: 'ls *', what: 'glob in an argument', posix: true },
  { payload: 'ls {a,b}', what: 'brace expansion in an argument' },
  { payload: 'ls $HOME', what: 'parameter expansion in an argument', posix: true },
  { payload: 'ls "$HOME"', what: 'parameter expansion in double quotes', posix: true },
  { payload: 'X=1 ls', what: 'an environment assignment prefix', posix: true },
  { payload: 'cat <<EOF\n$(@E)\nEOF', what: 'here-doc with a substitution in its body', proves: true, posix: true },
  { payload: "cat <<'EOF'\nx\nEOF", what: 'quoted here-doc (a redirection)', posix: true },
  { payload: 'cat <<< $(@E)', what: 'here-string with a substitution', proves: true },
  { payload: 'ls > @S/out', what: 'output redirection', posix: true },
  { payload: 'ls >> @S/out', what: 'appending redirection', posix: true },
  { payload: 'ls 2>&1', what: 'fd duplication', posix: true },
  { payload: 'cat < @S/f', what: 'input redirection', posix: true },
  { payload: 'ls &> @S/out', what: '&> redirection' },
  { payload: 'ls >| @S/out', what: 'clobbering redirection', posix: true },
  { payload: 'ls > $(@E)', what: 'substitution as a redirection target', proves: true, posix: true },
  { payload: 'exec 3>@S/out; ls', what: 'exec with a redirection only', posix: true },
  { payload: 'ls #\n@E', innerOk: true, what: 'a comment, then a command on the next line', proves: true, posix: true },
  { payload: 'ls ; @E', innerOk: true, what: 'an unlisted program after ;', proves: true, posix: true },
  { payload: 'ls && @E', innerOk: true, what: 'an unlisted program after &&', proves: true, posix: true },
  { payload: 'false || @E', innerOk: true, what: 'an unlisted program after ||', proves: true, posix: true },
  { payload: 'ls | @E', innerOk: true, what: 'an unlisted program in a pipe', proves: true, posix: true },
  { payload: 'ls\n@E', innerOk: true, what: 'an unlisted program on the next line', proves: true, posix: true },
  { payload: '@D/l\\\ns', innerOk: true, what: 'backslash-newline inside the evil path', proves: true, posix: true },
  { payload: "'@D/'ls", innerOk: true, what: 'quoted prefix glued to ls', proves: true, posix: true },
  { payload: '"@D"/ls', innerOk: true, what: 'double-quoted dir glued to /ls', proves: true, posix: true },
  { payload: "@D/l''s", innerOk: true, what: 'empty quotes inside the name', proves: true, posix: true },
  { payload: "$'@D/\\x6cs'", what: 'ANSI-C quoting spells the evil path', proves: true },
  { payload: '$"@D/ls"', what: 'locale quoting', proves: true },
  { payload: 'cd @D && ./ls', what: 'cd then a relative program', proves: true, posix: true },
  { payload: 'pushd @D >/dev/null; ./ls', what: 'pushd then a relative program', proves: true },
  { payload: 'env PATH=@D ls', what: 'env PATH=… inside the payload', proves: true, posix: true },
  { payload: 'BASH_ENV=@S/evil.sh bash -c ls', what: 'BASH_ENV assignment on a nested bash', proves: true },
  { payload: 'echo @E | sh', what: 'text piped into a shell', proves: true, posix: true },
  { payload: 'echo @E | bash', what: 'text piped into bash', proves: true, posix: true },
  { payload: 'printf "%s\\n" @E | xargs sh -c', what: 'xargs into sh -c' },
  {
    payload: 'bash -c "@E"',
    innerOk: true,
    what: 'a nested shell running an unlisted program',
    proves: true,
    posix: true,
  },
  { payload: "sh -c 'eval @E'", what: 'a nested shell with eval', proves: true, posix: true },
  { payload: 'unset PATH; ls', what: 'unset PATH', posix: true },
  { payload: 'let X=1; ls', what: 'let' },
  { payload: 'local X=1; ls', what: 'local outside a function' },
  { payload: 'ls;;', what: 'a syntax error' },
  { payload: "ls 'unterminated", what: 'an unterminated quote', posix: true },
  { payload: 'ls $IFS', what: '$IFS in an argument', posix: true },
  { payload: 'ls $0', what: '$0 in an argument', posix: true },
  { payload: 'ls \\$(@E)', what: 'backslash before $( is literal, but the rest of the line is checked' },
];

const cases: CorpusCase[] = [];
for (const p of HOSTILE) {
  const shells: Array<[string, string]> = [['/bin/bash', 'bash']];
  if (p.posix) shells.push(['/bin/sh', 'sh']);
  for (const [shell, label] of shells) {
    cases.push({
      name: `${label} -c ${JSON.stringify(p.payload)}: ${p.what}`,
      finding: p.finding ?? 6,
      tags: ['shell', 'syntax'],
      argv: [shell, '-c', p.payload],
      fixture: p.fixture,
      allow: ALLOW,
      expect: 'needs-decision',
      allowAlways: p.innerOk ? 'inner-ok' : 'exact',
      proves: p.proves === 'sh' ? label === 'sh' : p.proves,
    });
  }
}

// The same, after allow-always decisions instead of patterns (allow-always's durable flag must not skip analysis).
for (const payload of ['printf -v PATH %s @D; ls', '{@E,x}', 'PATH=@D ls', '$(printf %s @E)', 'eval @E']) {
  cases.push({
    name: `bash -c ${JSON.stringify(payload)} after allow-always of ls and printf`,
    finding: 6,
    tags: ['shell', 'syntax', 'allow-always'],
    argv: ['/bin/bash', '-c', payload],
    always: [['ls'], ['/bin/bash', '-c', 'printf %s x']],
    expect: 'needs-decision',
    proves: true,
  });
}

// The file sourced by `.` changes after approval-free analysis: sourcing is never analysable.
cases.push({
  name: 'sh -c ". ./lib.sh && ls" where lib.sh looks harmless',
  finding: 6,
  tags: ['shell', 'syntax'],
  argv: ['/bin/sh', '-c', '. ./lib.sh && ls'],
  fixture: { 'work/lib.sh': text('ls\n@E\n') },
  allow: ALLOW,
  expect: 'needs-decision',
  proves: true,
});

export default cases;
