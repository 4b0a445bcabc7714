import fc from 'fast-check';
import { VOCABULARY } from './shims';

/**
 * fast-check generators of shell payloads in and near the safe subset. Tokens: @O (a dir of shims not on PATH),
 * @W (the cwd), @H (HOME), expanded per shim world. 'safe' payloads use only what the safe subset allows (simple
 * commands of literal words, pipes, &&, ||, ;, newlines, quoted literals); 'hostile' payloads mix in everything a
 * shell can use to start a program the text does not name plainly.
 */

const pick = <T>(...values: T[]) => fc.constantFrom(...values);

const programName = fc.constantFrom(...VOCABULARY);

const literalArg = pick(
  '-l',
  '-la',
  '-n',
  '1',
  'x',
  'f',
  'foo.txt',
  '--',
  '-',
  'a=b',
  '@W/f',
  '/dev/null',
  'id',
  'ls',
  'evil',
  "'a b'",
  '"c d"',
  "'$(id)'",
  "'`id`'",
  "'*'",
  "'{a,b}'",
  '"plain text"',
  "''",
  '""',
  "'|'",
  "';'",
  "'&&'",
  '"x;y"',
  "'~'",
  "'$X'",
  '-e',
  's/a/b/',
  '%s',
  '"%s\\n"',
);

const hostileArg = pick(
  '$(id)',
  '`id`',
  '"$(id)"',
  '$X',
  '${X}',
  '${X:-id}',
  '$((1+1))',
  '<(id)',
  '>(id)',
  '~',
  '~/evil',
  '*',
  './e*',
  '{a,b}',
  '{@O/evil,x}',
  '$0',
  '$@',
  '"$@"',
  '$HOME',
  "$'\\x69d'",
  'a\\ b',
  '\\$(id)',
  '"${X:-$(id)}"',
  '$PATH',
  '@O/ev?l',
  '[e]vil',
);

const hostileName = pick(
  './evil',
  '~/evil',
  '@O/evil',
  '@O/ls',
  '$X',
  '"$X"',
  '${X}',
  '$(echo id)',
  '`echo id`',
  '{id,x}',
  '{@O/evil,x}',
  './e*',
  '@O/e*',
  "'i'd",
  'i""d',
  'i\\d',
  "$'id'",
  '$"id"',
  'l\\\ns',
  '~/ls',
  './ls',
  '$0',
  '"$1"',
  '$PATH/id',
);

const assignment = pick(
  'X=1',
  'X=id',
  'X=@O/evil',
  'PATH=@O',
  'PATH=@O:$PATH',
  'IFS=/',
  'HOME=@O',
  'X=$(id)',
  'BASH_ENV=@W/script.sh',
);

const redirection = pick(
  '> out',
  '>> out',
  '2>&1',
  '< f',
  '<<< x',
  '> /dev/null',
  '&> out',
  '>| out',
  '2> /dev/null',
  '<> out',
  '> $(id)',
  '>&2',
);

const statement = pick(
  'printf -v PATH %s @O',
  'printf -v X %s @O/evil',
  'hash -p @O/evil ls',
  'alias ls=@O/evil',
  'shopt -s expand_aliases',
  'enable -n echo',
  'enable -n printf',
  "eval 'id'",
  'eval ls',
  'exec ls',
  'exec @O/evil',
  'command ls',
  'command -v ls',
  'builtin echo x',
  'source @W/script.sh',
  '. ./script.sh',
  'declare -x X=1',
  'declare PATH=@O',
  'typeset X=id',
  'export PATH=@O',
  'export X=@O/evil',
  'read -r PATH <<< @O',
  'read X <<< id',
  'mapfile -t A <<< id',
  'trap id EXIT',
  "trap 'id' DEBUG",
  'set -x',
  "PS4='$(id) '",
  'set -- id',
  'cd @O',
  'pushd @O',
  'unset PATH',
  'let X=1',
  'local X=1',
  'readonly X=id',
  'ls() { id; }',
  'function ls { id; }',
  'type ls',
  'ulimit -n 64',
  'umask 077',
  'wait',
  'shift',
  'getopts a X',
  'caller',
  'history',
  'fc -l',
  'kill -0 $$',
  'exit 0',
  'return',
  'break',
  'times',
  'dirs',
  'jobs',
  'complete -C id ls',
  'compgen -c',
  'bind -x',
  'disown',
  'suspend',
  'logout',
);

const separator = pick(' && ', ' || ', '; ', '\n', ' | ');
const hostileSeparator = pick(' & ', ' |& ', ' ;; ', ';', '&&', '||', '|', ' ; ; ', '\n\n', ' \\\n ');

export interface GeneratedPayload {
  family: 'safe' | 'hostile';
  payload: string;
}

/** A simple command of literal words: what the safe subset is made of. */
const safeCommand = fc
  .tuple(programName, fc.array(literalArg, { maxLength: 3 }))
  .map(([name, args]) => [name, ...args].join(' '));

const safeList = fc
  .tuple(safeCommand, fc.array(fc.tuple(separator, safeCommand), { maxLength: 3 }))
  .map(([first, rest]) => first + rest.map(([sep, cmd]) => sep + cmd).join(''));

const hostileCommand = fc
  .tuple(
    fc.option(assignment, { freq: 4 }),
    fc.oneof({ arbitrary: programName, weight: 3 }, { arbitrary: hostileName, weight: 2 }),
    fc.array(fc.oneof({ arbitrary: literalArg, weight: 2 }, { arbitrary: hostileArg, weight: 1 }), { maxLength: 3 }),
    fc.option(redirection, { freq: 4 }),
  )
  .map(([assign, name, args, redir]) =>
    [assign, name, ...args, redir].filter((w): w is string => w !== null).join(' '),
  );

const hostileAtom = fc.oneof(
  { arbitrary: hostileCommand, weight: 5 },
  { arbitrary: safeCommand, weight: 3 },
  { arbitrary: statement, weight: 3 },
  { arbitrary: assignment, weight: 1 },
);

const hostileList: fc.Arbitrary<string> = fc.letrec<{ list: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { arbitrary: hostileAtom, weight: 8 },
    { arbitrary: tie('list').map((l) => `(${l})`), weight: 1 },
    { arbitrary: tie('list').map((l) => `{ ${l}; }`), weight: 1 },
    { arbitrary: tie('list').map((l) => `! ${l}`), weight: 1 },
    { arbitrary: tie('list').map((l) => `if true; then ${l}; fi`), weight: 1 },
    { arbitrary: tie('list').map((l) => `for x in a b; do ${l}; done`), weight: 1 },
    { arbitrary: tie('list').map((l) => `f() { ${l}; }; f`), weight: 1 },
    { arbitrary: tie('list').map((l) => `case x in x) ${l};; esac`), weight: 1 },
    { arbitrary: tie('list').map((l) => `while false; do ${l}; done`), weight: 1 },
    { arbitrary: tie('list').map((l) => `time ${l}`), weight: 1 },
    { arbitrary: tie('list').map((l) => `[[ -n $(${l}) ]]`), weight: 1 },
    { arbitrary: fc.constant('cat <<EOF\n$(id)\nEOF'), weight: 1 },
    { arbitrary: fc.constant("cat <<'EOF'\n$(id)\nEOF"), weight: 1 },
    { arbitrary: fc.constant('ls # $(id)'), weight: 1 },
    { arbitrary: fc.constant('ls #\nid'), weight: 1 },
    { arbitrary: fc.constant('l\\\ns'), weight: 1 },
    { arbitrary: fc.constant('shopt -s expand_aliases\nalias ls=id\nls'), weight: 1 },
  ),
  list: fc
    .tuple(
      tie('atom'),
      fc.array(
        fc.tuple(
          fc.oneof({ arbitrary: separator, weight: 3 }, { arbitrary: hostileSeparator, weight: 1 }),
          tie('atom'),
        ),
        { maxLength: 3 },
      ),
    )
    .map(([first, rest]) => first + rest.map(([sep, a]) => sep + a).join('')),
})).list;

/** Odd quoting glued onto otherwise safe text: unbalanced quotes, quotes inside names, stray backslashes. */
const quirk = fc
  .tuple(
    safeList,
    pick("'", '"', '\\', '`', '$', '#', '\\\n', '{', '}', '(', ')', '!', '=', '~', '*', '?', '[', ']', '&', '<', '>'),
    fc.nat({ max: 40 }),
  )
  .map(([text, q, at]) => {
    const i = Math.min(at, text.length);
    return text.slice(0, i) + q + text.slice(i);
  });

export const payloadArbitrary: fc.Arbitrary<GeneratedPayload> = fc.oneof(
  { arbitrary: safeList.map((payload) => ({ family: 'safe' as const, payload })), weight: 4 },
  { arbitrary: hostileList.map((payload) => ({ family: 'hostile' as const, payload })), weight: 5 },
  { arbitrary: quirk.map((payload) => ({ family: 'hostile' as const, payload })), weight: 1 },
);
