import { evil, text, type CorpusCase } from '../helpers/corpus-types';

/**
 * The well-known escape routes (issue 9, "Tests that keep it closed"): an allowlisted program whose arguments can
 * start another program. Allowlisting the tool's path never covers the argument forms that run code; each needs a
 * decision. Tools not installed here (rsync, ruby, busybox, sudo, doas, pkexec) are stand-ins in a root-owned
 * directory on PATH that do what the real tool would (run the evil program), so the analyser must know them by
 * name and argument forms.
 */

interface Route {
  tool: string;
  argv: string[];
  what: string;
  proves?: boolean;
  approve?: boolean;
  fixture?: CorpusCase['fixture'];
  /** The route is an analysable wrapper around an unlisted program: allow-always may store that program's path. */
  innerOk?: boolean;
  /** Extra allowlisted patterns beyond the tool itself. */
  allow?: string[];
  gitRepo?: boolean;
  timeoutMs?: number;
  path?: string[];
}

const STANDIN_DIR = '@S/opt/bin';
const standin = (name: string): Pick<Route, 'fixture' | 'path'> => ({
  fixture: { [`opt/bin/${name}`]: evil() },
  path: [STANDIN_DIR, '/usr/bin', '/bin', '/usr/sbin', '/sbin'],
});

const ROUTES: Route[] = [
  // find
  {
    tool: '/usr/bin/find',
    argv: ['find', '.', '-maxdepth', '0', '-exec', 'touch', '@M', ';'],
    what: 'find -exec',
    proves: true,
  },
  {
    tool: '/usr/bin/find',
    argv: ['find', '.', '-maxdepth', '0', '-execdir', 'touch', '@M', ';'],
    what: 'find -execdir',
    proves: true,
  },
  {
    tool: '/usr/bin/find',
    argv: ['find', '.', '-maxdepth', '0', '-exec', 'sh', '-c', 'touch @M', ';'],
    what: 'find -exec sh -c',
    proves: true,
  },
  {
    tool: '/usr/bin/find',
    argv: ['find', '.', '-maxdepth', '0', '-exec', 'touch', '@M', '{}', '+'],
    what: 'find -exec … +',
    proves: true,
  },
  { tool: '/usr/bin/find', argv: ['find', '.', '-maxdepth', '0', '-ok', 'touch', '@M', ';'], what: 'find -ok' },
  { tool: '/usr/bin/find', argv: ['find', '.', '-maxdepth', '0', '-okdir', 'touch', '@M', ';'], what: 'find -okdir' },
  // awk
  { tool: '/usr/bin/awk', argv: ['awk', 'BEGIN{system("touch @M")}'], what: "awk 'BEGIN{system()}'", proves: true },
  { tool: '/usr/bin/awk', argv: ['awk', 'BEGIN{print "x" | "touch @M"}'], what: 'awk print to a pipe', proves: true },
  { tool: '/usr/bin/awk', argv: ['awk', 'BEGIN{"touch @M" | getline}'], what: 'awk command | getline', proves: true },
  {
    tool: '/usr/bin/awk',
    argv: ['awk', '-f', '@S/p.awk'],
    what: 'awk -f with system() in the file',
    proves: true,
    fixture: { 'p.awk': text('BEGIN{system("touch @M")}\n') },
  },
  { tool: '/usr/bin/mawk', argv: ['mawk', 'BEGIN{system("touch @M")}'], what: 'mawk system()', proves: true },
  { tool: '/usr/bin/nawk', argv: ['nawk', 'BEGIN{system("touch @M")}'], what: 'nawk system()', proves: true },
  // sed
  { tool: '/usr/bin/sed', argv: ['sed', '-n', '1e touch @M', '@S/f'], what: 'GNU sed e command', proves: true },
  { tool: '/usr/bin/sed', argv: ['sed', 's|.*|touch @M|e', '@S/f'], what: 'GNU sed s///e', proves: true },
  {
    tool: '/usr/bin/sed',
    argv: ['sed', '-f', '@S/s.sed', '@S/f'],
    what: 'sed -f script with e',
    proves: true,
    fixture: { 's.sed': text('1e touch @M\n') },
  },
  // less, man
  { tool: '/usr/bin/less', argv: ['less', '+!touch @M', '@S/f'], what: 'less +!cmd' },
  { tool: '/usr/bin/less', argv: ['less', '-+F', '+:!touch @M', '@S/f'], what: 'less startup command' },
  { tool: '/usr/bin/man', argv: ['man', '-P', 'touch @M', 'ls'], what: 'man -P pager' },
  { tool: '/usr/bin/man', argv: ['man', '--pager=touch @M', 'ls'], what: 'man --pager=' },
  // vim
  { tool: '/usr/bin/vim', argv: ['vim', '-es', '-c', '!touch @M', '-c', 'qa!'], what: 'vim -c !cmd', proves: true },
  {
    tool: '/usr/bin/vim',
    argv: ['vim', '-es', '-c', "call system('touch @M')", '-c', 'qa!'],
    what: 'vim -c system()',
    proves: true,
  },
  { tool: '/usr/bin/vim', argv: ['vim', '-es', '+!touch @M', '+qa!'], what: 'vim +cmd', proves: true },
  { tool: '/usr/bin/vim', argv: ['vim', '--cmd', '!touch @M', '-es', '-c', 'qa!'], what: 'vim --cmd', proves: true },
  {
    tool: '/usr/bin/vim',
    argv: ['vim', '-es', '-S', '@S/x.vim', '-c', 'qa!'],
    what: 'vim -S script',
    proves: true,
    fixture: { 'x.vim': text("call system('touch @M')\n") },
  },
  { tool: '/usr/bin/vi', argv: ['vi', '-es', '-c', '!touch @M', '-c', 'qa!'], what: 'vi -c !cmd', proves: true },
  { tool: '/usr/bin/ex', argv: ['ex', '-s', '-c', '!touch @M', '-c', 'qa!'], what: 'ex -c !cmd', proves: true },
  // tar
  {
    tool: '/usr/bin/tar',
    argv: ['tar', '--checkpoint=1', '--checkpoint-action=exec=touch @M', '-cf', '/dev/null', '@S/f'],
    what: 'tar --checkpoint-action=exec',
    proves: true,
  },
  {
    tool: '/usr/bin/tar',
    argv: ['tar', '-I', 'touch @M', '-cf', '@S/o.tar', '@S/f'],
    what: 'tar -I program',
    proves: true,
  },
  {
    tool: '/usr/bin/tar',
    argv: ['tar', '--use-compress-program=touch @M', '-cf', '@S/o.tar', '@S/f'],
    what: 'tar --use-compress-program',
    proves: true,
  },
  { tool: '/usr/bin/tar', argv: ['tar', '-xf', '@S/a.tar', '--to-command=touch @M'], what: 'tar --to-command' },
  // zip
  {
    tool: '/usr/bin/zip',
    argv: ['zip', '-q', '@S/z.zip', '@S/f', '-T', '-TT', 'touch @M'],
    what: 'zip -TT',
    proves: true,
  },
  {
    tool: '/usr/bin/zip',
    argv: ['zip', '-q', '@S/z.zip', '@S/f', '-T', '--unzip-command', 'touch @M'],
    what: 'zip --unzip-command',
    proves: true,
  },
  // rsync (stand-in)
  {
    tool: `${STANDIN_DIR}/rsync`,
    argv: ['rsync', '-e', 'sh -c "touch @M"', 'x:y', '@S/z'],
    what: 'rsync -e',
    proves: true,
    ...standin('rsync'),
  },
  {
    tool: `${STANDIN_DIR}/rsync`,
    argv: ['rsync', '--rsh=sh -c "touch @M"', 'x:y', '@S/z'],
    what: 'rsync --rsh=',
    proves: true,
    ...standin('rsync'),
  },
  {
    tool: `${STANDIN_DIR}/rsync`,
    argv: ['rsync', '--rsync-path=touch @M', 'x:y', '@S/z'],
    what: 'rsync --rsync-path',
    proves: true,
    ...standin('rsync'),
  },
  // ssh and friends
  {
    tool: '/usr/bin/ssh',
    argv: ['ssh', '-o', 'ProxyCommand=touch @M', '-o', 'BatchMode=yes', 'x', 'true'],
    what: 'ssh -o ProxyCommand=',
    proves: true,
  },
  {
    tool: '/usr/bin/ssh',
    argv: ['ssh', '-oProxyCommand=touch @M', '-oBatchMode=yes', 'x', 'true'],
    what: 'ssh -oProxyCommand= (attached)',
    proves: true,
  },
  {
    tool: '/usr/bin/ssh',
    argv: ['ssh', '-o', 'ProxyCommand touch @M', '-o', 'BatchMode=yes', 'x', 'true'],
    what: 'ssh -o "ProxyCommand cmd" (space form)',
    proves: true,
  },
  {
    tool: '/usr/bin/ssh',
    argv: ['ssh', '-F', '@S/ssh_config', '-o', 'BatchMode=yes', 'x', 'true'],
    what: 'ssh -F with a ProxyCommand',
    proves: true,
    fixture: { ssh_config: text('Host *\n  ProxyCommand touch @M\n') },
  },
  {
    tool: '/usr/bin/ssh',
    argv: ['ssh', '-o', 'PermitLocalCommand=yes', '-o', 'LocalCommand=touch @M', 'x'],
    what: 'ssh LocalCommand',
  },
  { tool: '/usr/bin/scp', argv: ['scp', '-S', '@D/evil', 'x:y', '@S/z'], what: 'scp -S program', proves: true },
  { tool: '/usr/bin/sftp', argv: ['sftp', '-S', '@D/evil', 'x'], what: 'sftp -S program' },
  // npm / npx
  {
    tool: '/usr/bin/npm',
    argv: ['npm', 'run', '-s', 'x'],
    what: 'npm run of a package.json script',
    proves: true,
    timeoutMs: 20_000,
    fixture: { 'work/package.json': text('{"scripts":{"x":"touch @M"}}') },
  },
  {
    tool: '/usr/bin/npm',
    argv: ['npm', 'test', '-s'],
    what: 'npm test',
    proves: true,
    timeoutMs: 20_000,
    fixture: { 'work/package.json': text('{"scripts":{"test":"touch @M"}}') },
  },
  {
    tool: '/usr/bin/npm',
    argv: ['npm', 'exec', '-c', 'touch @M'],
    what: 'npm exec -c',
    proves: true,
    timeoutMs: 20_000,
  },
  { tool: '/usr/bin/npx', argv: ['npx', '-c', 'touch @M'], what: 'npx -c', proves: true, timeoutMs: 20_000 },
  { tool: '/usr/bin/npx', argv: ['npx', '@D/evil'], what: 'npx of a path' },
  // interpreters
  { tool: '/usr/bin/python3', argv: ['python3', '-c', 'open("@M","w")'], what: 'python -c', proves: true },
  { tool: '/usr/bin/python3', argv: ['python3', '-copen("@M","w")'], what: 'python -c attached', proves: true },
  { tool: '/usr/bin/python3', argv: ['python3', '-I', '-c', 'open("@M","w")'], what: 'python -I -c', proves: true },
  {
    tool: '/usr/bin/python3',
    argv: ['python3', '-W', 'ignore', '-c', 'open("@M","w")'],
    what: 'python -W ignore -c',
    proves: true,
  },
  {
    tool: '/usr/bin/python3',
    argv: ['python3', '-m', 'evilmod'],
    what: 'python -m of a module in the cwd',
    proves: true,
    fixture: { 'work/evilmod.py': text('open("@M","w")\n') },
  },
  {
    tool: '/usr/bin/python3',
    argv: ['python3', '@S/x.py'],
    what: 'python script operand',
    proves: true,
    fixture: { 'x.py': text('open("@M","w")\n') },
  },
  { tool: '/usr/bin/perl', argv: ['perl', '-e', 'open F,">@M"'], what: 'perl -e', proves: true },
  { tool: '/usr/bin/perl', argv: ['perl', '-E', 'open F,">@M"'], what: 'perl -E', proves: true },
  { tool: '/usr/bin/perl', argv: ['perl', '-ne', 'open F,">@M"', '@S/f'], what: 'perl -ne', proves: true },
  {
    tool: '/usr/bin/perl',
    argv: ['perl', '@S/x.pl'],
    what: 'perl script operand',
    proves: true,
    fixture: { 'x.pl': text('open F,">@M";\n') },
  },
  {
    tool: `${STANDIN_DIR}/ruby`,
    argv: ['ruby', '-e', 'File.write("@M","")'],
    what: 'ruby -e',
    proves: true,
    ...standin('ruby'),
  },
  {
    tool: '/usr/bin/node',
    argv: ['node', '-e', 'require("fs").writeFileSync("@M","")'],
    what: 'node -e',
    proves: true,
  },
  {
    tool: '/usr/bin/node',
    argv: ['node', '--eval', 'require("fs").writeFileSync("@M","")'],
    what: 'node --eval',
    proves: true,
  },
  {
    tool: '/usr/bin/node',
    argv: ['node', '-p', 'require("fs").writeFileSync("@M","")'],
    what: 'node -p',
    proves: true,
  },
  {
    tool: '/usr/bin/node',
    argv: ['node', '--eval=require("fs").writeFileSync("@M","")'],
    what: 'node --eval=',
    proves: true,
  },
  {
    tool: '/usr/bin/node',
    argv: ['node', '-r', '@S/ev.js', '@S/empty.js'],
    what: 'node -r preload',
    proves: true,
    fixture: { 'ev.js': text('require("fs").writeFileSync("@M","")\n'), 'empty.js': text('\n') },
  },
  {
    tool: '/usr/bin/node',
    argv: ['node', '--import', '@S/ev.js', '@S/empty.js'],
    what: 'node --import',
    proves: true,
    fixture: { 'ev.js': text('require("fs").writeFileSync("@M","")\n'), 'empty.js': text('\n') },
  },
  {
    tool: '/usr/bin/node',
    argv: ['node', '@S/ev.js'],
    what: 'node script operand',
    proves: true,
    fixture: { 'ev.js': text('require("fs").writeFileSync("@M","")\n') },
  },
  // busybox (stand-in)
  {
    tool: `${STANDIN_DIR}/busybox`,
    argv: ['busybox', 'sh', '-c', 'touch @M'],
    what: 'busybox sh -c',
    proves: true,
    ...standin('busybox'),
  },
  {
    tool: `${STANDIN_DIR}/busybox`,
    argv: ['busybox', 'ash'],
    what: 'busybox ash',
    proves: true,
    ...standin('busybox'),
  },
  // xargs
  { tool: '/usr/bin/xargs', argv: ['xargs', 'touch', '@M'], what: 'xargs (runs once on empty input)', proves: true },
  {
    tool: '/usr/bin/xargs',
    argv: ['xargs', '-a', '@S/f', 'sh', '-c', 'touch @M'],
    what: 'xargs -a file sh -c',
    proves: true,
  },
  { tool: '/usr/bin/xargs', argv: ['xargs', '-0', 'touch', '@M'], what: 'xargs -0', proves: true },
  // process-attribute wrappers
  { tool: '/usr/bin/setsid', argv: ['setsid', '-w', 'touch', '@M'], what: 'setsid -w', innerOk: true, proves: true },
  { tool: '/usr/bin/setsid', argv: ['setsid', 'touch', '@M'], what: 'setsid', innerOk: true },
  {
    tool: '/usr/bin/flock',
    argv: ['flock', '@S/lk', 'touch', '@M'],
    what: 'flock file cmd',
    innerOk: true,
    proves: true,
  },
  { tool: '/usr/bin/flock', argv: ['flock', '@S/lk', '-c', 'touch @M'], what: 'flock -c', proves: true },
  { tool: '/usr/bin/chrt', argv: ['chrt', '-o', '0', 'touch', '@M'], what: 'chrt', innerOk: true, proves: true },
  { tool: '/usr/bin/ionice', argv: ['ionice', '-c', '3', 'touch', '@M'], what: 'ionice', innerOk: true, proves: true },
  { tool: '/usr/bin/ionice', argv: ['ionice', '-c3', 'sh', '-c', 'touch @M'], what: 'ionice -c3 sh -c', proves: true },
  {
    tool: '/usr/bin/taskset',
    argv: ['taskset', '-c', '0', 'touch', '@M'],
    what: 'taskset -c',
    innerOk: true,
    proves: true,
  },
  {
    tool: '/usr/bin/taskset',
    argv: ['taskset', '1', 'touch', '@M'],
    what: 'taskset mask',
    innerOk: true,
    proves: true,
  },
  { tool: '/usr/bin/unshare', argv: ['unshare', 'touch', '@M'], what: 'unshare', innerOk: true, proves: true },
  {
    tool: '/usr/bin/unshare',
    argv: ['unshare', '--fork', 'sh', '-c', 'touch @M'],
    what: 'unshare --fork sh -c',
    proves: true,
  },
  { tool: '/usr/bin/nsenter', argv: ['nsenter', '-t', '1', '-m', 'touch', '@M'], what: 'nsenter', approve: false },
  {
    tool: '/usr/bin/nsenter',
    argv: ['nsenter', '--target', '1', '--mount', '--pid', 'sh', '-c', 'touch @M'],
    what: 'nsenter sh -c',
    approve: false,
  },
  { tool: '/usr/sbin/chroot', argv: ['chroot', '/', 'touch', '@M'], what: 'chroot', innerOk: true, proves: true },
  {
    tool: '/usr/sbin/runuser',
    argv: ['runuser', '-u', 'root', '--', 'touch', '@M'],
    what: 'runuser',
    innerOk: true,
    proves: true,
  },
  { tool: '/usr/bin/script', argv: ['script', '-q', '-c', 'touch @M', '/dev/null'], what: 'script -c', proves: true },
  {
    tool: '/usr/bin/strace',
    argv: ['strace', '-o', '/dev/null', 'touch', '@M'],
    what: 'strace',
    innerOk: true,
    proves: true,
  },
  { tool: '/usr/bin/gdb', argv: ['gdb', '-batch', '-ex', '!touch @M'], what: 'gdb -ex shell', approve: false },
  {
    tool: '/usr/bin/make',
    argv: ['make', '-s', 'x'],
    what: 'make recipe',
    proves: true,
    fixture: { 'work/Makefile': text('x:\n\ttouch @M\n') },
  },
  { tool: '/usr/bin/make', argv: ['make', '-s', '--eval=y:;touch @M', 'y'], what: 'make --eval', proves: true },
  { tool: '/usr/bin/watch', argv: ['watch', '-n', '1', '-g', 'touch @M'], what: 'watch', approve: false },
  // privilege changes
  { tool: '/usr/bin/su', argv: ['su', '-c', 'touch @M', 'root'], what: 'su -c', proves: true },
  { tool: '/usr/bin/su', argv: ['su', 'root', '-s', '@D/evil'], what: 'su -s shell', proves: true },
  {
    tool: `${STANDIN_DIR}/sudo`,
    argv: ['sudo', 'touch', '@M'],
    what: 'sudo',
    innerOk: true,
    proves: true,
    ...standin('sudo'),
  },
  { tool: `${STANDIN_DIR}/sudo`, argv: ['sudo', '-s'], what: 'sudo -s', proves: true, ...standin('sudo') },
  {
    tool: `${STANDIN_DIR}/sudo`,
    argv: ['sudo', '-u', 'root', 'sh', '-c', 'touch @M'],
    what: 'sudo -u root sh -c',
    proves: true,
    ...standin('sudo'),
  },
  {
    tool: `${STANDIN_DIR}/doas`,
    argv: ['doas', 'touch', '@M'],
    what: 'doas',
    innerOk: true,
    proves: true,
    ...standin('doas'),
  },
  {
    tool: `${STANDIN_DIR}/pkexec`,
    argv: ['pkexec', 'touch', '@M'],
    what: 'pkexec',
    innerOk: true,
    proves: true,
    ...standin('pkexec'),
  },
  // real wrappers around an unlisted program
  {
    tool: '/usr/bin/env',
    argv: ['env', 'touch', '@M'],
    what: 'env around an unlisted program',
    innerOk: true,
    proves: true,
  },
  {
    tool: '/usr/bin/nice',
    argv: ['nice', '-n', '5', 'touch', '@M'],
    what: 'nice around an unlisted program',
    innerOk: true,
    proves: true,
  },
  {
    tool: '/usr/bin/nohup',
    argv: ['nohup', 'touch', '@M'],
    what: 'nohup around an unlisted program',
    innerOk: true,
    proves: true,
  },
  {
    tool: '/usr/bin/timeout',
    argv: ['timeout', '-k', '1', '5', 'touch', '@M'],
    what: 'timeout -k around an unlisted program',
    innerOk: true,
    proves: true,
  },
  {
    tool: '/usr/bin/stdbuf',
    argv: ['stdbuf', '-o', 'L', 'touch', '@M'],
    what: 'stdbuf -o L around an unlisted program',
    innerOk: true,
    proves: true,
  },
];

const cases: CorpusCase[] = ROUTES.map((r) => {
  const name = r.tool.split('/').pop()!;
  return {
    name: `${r.what}: ${r.argv.join(' ')} with ${name} allowlisted`,
    tags: ['escape', `escape:${name}`],
    argv: r.argv,
    fixture: r.fixture,
    path: r.path,
    allow: [r.tool, ...(r.allow ?? [])],
    expect: 'needs-decision',
    proves: r.proves,
    approve: r.approve,
    timeoutMs: r.timeoutMs,
    allowAlways: r.innerOk ? 'inner-ok' : 'exact',
  } satisfies CorpusCase;
});

// The same routes after allow-always of a benign form: the durable entry covers that argv, not the tool.
const BENIGN: Array<[string[], string[], string]> = [
  [['find', '.', '-maxdepth', '0'], ['find', '.', '-maxdepth', '0', '-exec', 'touch', '@M', ';'], 'find'],
  [['awk', '-F:', '{print $1}', '@S/f'], ['awk', 'BEGIN{system("touch @M")}'], 'awk'],
  [['sed', '-n', '1p', '@S/f'], ['sed', '-n', '1e touch @M', '@S/f'], 'sed'],
  [
    ['tar', '-cf', '@S/o.tar', '@S/f'],
    ['tar', '--checkpoint=1', '--checkpoint-action=exec=touch @M', '-cf', '/dev/null', '@S/f'],
    'tar',
  ],
  [['xargs', 'echo'], ['xargs', 'touch', '@M'], 'xargs'],
  [['python3', '--version'], ['python3', '-c', 'open("@M","w")'], 'python3'],
  [['perl', '-v'], ['perl', '-e', 'open F,">@M"'], 'perl'],
  [['node', '--version'], ['node', '-e', 'require("fs").writeFileSync("@M","")'], 'node'],
  [['vim', '--version'], ['vim', '-es', '-c', '!touch @M', '-c', 'qa!'], 'vim'],
  [['zip', '-q', '@S/z.zip', '@S/f'], ['zip', '-q', '@S/z.zip', '@S/f', '-T', '-TT', 'touch @M'], 'zip'],
  [['ssh', '-V'], ['ssh', '-o', 'ProxyCommand=touch @M', '-o', 'BatchMode=yes', 'x', 'true'], 'ssh'],
];
const BENIGN_WRAPPERS: Array<[string[], string[], string]> = [
  [['env'], ['env', 'touch', '@M'], 'env'],
  [['nice', 'ls'], ['nice', 'touch', '@M'], 'nice'],
  [['timeout', '5', 'ls'], ['timeout', '5', 'touch', '@M'], 'timeout'],
];
for (const [prior, attack, name] of BENIGN_WRAPPERS) {
  cases.push({
    name: `${name}: allow-always of "${prior.join(' ')}" does not cover "${attack.join(' ')}"`,
    tags: ['escape', `escape:${name}`, 'allow-always'],
    argv: attack,
    always: [prior],
    expect: 'needs-decision',
    allowAlways: 'inner-ok',
    proves: true,
  });
}
for (const [prior, attack, name] of BENIGN) {
  cases.push({
    name: `${name}: allow-always of "${prior.join(' ')}" does not cover "${attack.join(' ')}"`,
    tags: ['escape', `escape:${name}`, 'allow-always'],
    argv: attack,
    always: [prior],
    expect: 'needs-decision',
    proves: true,
  });
}

export default cases;
