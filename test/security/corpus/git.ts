import { evil, text, type CorpusCase } from '../helpers/corpus-types';

/**
 * Finding 8: after allow-always on `git status`, git's code-running options and environment ran anything.
 * Every case runs in a real repository (@W) with git allowlisted both ways: allow-always of `git status`, and a
 * user-written pattern for /usr/bin/git.
 */

const COMMIT = ['-c', 'user.name=t', '-c', 'user.email=t@t'];

const ATTACKS: Array<{
  argv: string[];
  what: string;
  proves?: boolean;
  fixture?: CorpusCase['fixture'];
  gatewayEnv?: Record<string, string>;
}> = [
  { argv: ['git', '-c', 'alias.x=!touch @M', 'x'], what: "-c alias.x='!cmd' x", proves: true },
  { argv: ['git', '-c', 'alias.x=!sh -c "touch @M"', 'x'], what: 'shell alias via sh -c', proves: true },
  { argv: ['git', '-c', 'alias.st=!touch @M', 'st'], what: 'alias named like a harmless abbreviation', proves: true },
  { argv: ['git', '-c', 'core.fsmonitor=touch @M', 'status'], what: '-c core.fsmonitor=cmd status', proves: true },
  {
    argv: ['git', '-ccore.fsmonitor=touch @M', 'status'],
    what: '-c attached to its value (git 2.39 refuses it, a later git may not)',
  },
  {
    argv: ['git', '--config-env=core.fsmonitor=EVILCMD', 'status'],
    what: '--config-env takes the value from the environment',
    proves: true,
    gatewayEnv: { EVILCMD: 'touch @M' },
  },
  {
    argv: ['git', '-c', 'include.path=@S/evil.gitconfig', 'status'],
    what: '-c include.path of a config with fsmonitor',
    proves: true,
    fixture: { 'evil.gitconfig': text('[core]\n\tfsmonitor = touch @M\n') },
  },
  { argv: ['git', '-c', 'core.pager=touch @M', '-p', 'log'], what: '-c core.pager' },
  {
    argv: ['git', '-c', 'core.sshCommand=touch @M', 'ls-remote', 'ssh://host/repo'],
    what: '-c core.sshCommand',
    proves: true,
  },
  {
    argv: ['git', '-c', 'core.hooksPath=@S/hooks', ...COMMIT, 'commit', '-q', '--allow-empty', '-m', 'x'],
    what: '-c core.hooksPath',
    proves: true,
    fixture: { 'hooks/pre-commit': evil() },
  },
  {
    argv: ['git', '-c', 'core.editor=touch @M', ...COMMIT, 'commit', '-q', '--allow-empty'],
    what: '-c core.editor',
    proves: true,
  },
  {
    argv: ['git', '-c', 'gpg.program=touch @M', ...COMMIT, 'commit', '-q', '-S', '--allow-empty', '-m', 'x'],
    what: '-c gpg.program',
  },
  { argv: ['git', '-c', 'diff.external=touch @M', 'diff', '--ext-diff', 'HEAD'], what: '-c diff.external' },
  {
    argv: ['git', '-c', 'credential.helper=!touch @M', 'fetch', 'https://127.0.0.1:9/x'],
    what: '-c credential.helper',
  },
  {
    argv: ['git', '-c', 'protocol.ext.allow=always', 'ls-remote', 'ext::sh -c touch% @M'],
    what: 'ext:: transport',
    proves: true,
  },
  { argv: ['git', 'ls-remote', '--upload-pack=touch @M;', '.'], what: '--upload-pack', proves: true },
  { argv: ['git', 'fetch', '--upload-pack=touch @M;', '.'], what: 'fetch --upload-pack', proves: true },
  { argv: ['git', 'clone', '-u', 'touch @M;', '.', '@S/clone'], what: 'clone -u', proves: true },
  {
    argv: ['git', '--exec-path=@S/gx', 'zz'],
    what: '--exec-path with a planted git-zz',
    proves: true,
    fixture: { 'gx/git-zz': evil() },
  },
  { argv: ['git', 'grep', '--open-files-in-pager=touch @M', 'x'], what: 'grep --open-files-in-pager' },
  { argv: ['git', 'difftool', '-y', '-x', 'touch @M', 'HEAD'], what: 'difftool --extcmd' },
  { argv: ['git', 'rebase', '--exec', 'touch @M', 'HEAD'], what: 'rebase --exec' },
  { argv: ['git', 'bisect', 'run', 'touch', '@M'], what: 'bisect run' },
  { argv: ['git', 'submodule', 'foreach', 'touch @M'], what: 'submodule foreach' },
];

const cases: CorpusCase[] = [];
for (const a of ATTACKS) {
  cases.push({
    name: `git ${a.argv.slice(1).join(' ')} after allow-always of git status (${a.what})`,
    finding: 8,
    tags: ['git', 'escape:git'],
    argv: a.argv,
    gitRepo: true,
    fixture: a.fixture,
    gatewayEnv: a.gatewayEnv,
    always: [['git', 'status']],
    expect: 'needs-decision',
    proves: a.proves,
  });
}
for (const a of ATTACKS.slice(0, 8)) {
  cases.push({
    name: `git ${a.argv.slice(1).join(' ')} with /usr/bin/git allowlisted by pattern (${a.what})`,
    finding: 8,
    tags: ['git', 'escape:git'],
    argv: a.argv,
    gitRepo: true,
    fixture: a.fixture,
    gatewayEnv: a.gatewayEnv,
    allow: ['/usr/bin/git'],
    expect: 'needs-decision',
    proves: a.proves,
  });
}

// The environment: refused outright, approved or not.
const ENV_ATTACKS: Array<[string, Record<string, string>]> = [
  [
    'GIT_CONFIG_COUNT/KEY_0/VALUE_0 → core.fsmonitor',
    { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.fsmonitor', GIT_CONFIG_VALUE_0: 'touch @M' },
  ],
  [
    'GIT_CONFIG_COUNT/KEY_0/VALUE_0 → alias (with git x)',
    { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'alias.x', GIT_CONFIG_VALUE_0: '!touch @M' },
  ],
  ['GIT_CONFIG_PARAMETERS', { GIT_CONFIG_PARAMETERS: "'core.fsmonitor'='touch @M'" }],
  ['GIT_CONFIG_GLOBAL', { GIT_CONFIG_GLOBAL: '@S/evil.gitconfig' }],
  ['GIT_SSH_COMMAND', { GIT_SSH_COMMAND: 'touch @M' }],
  ['GIT_EXEC_PATH', { GIT_EXEC_PATH: '@S/gx' }],
  ['GIT_DIR of another repository', { GIT_DIR: '@S/other/.git' }],
];
for (const [what, env] of ENV_ATTACKS) {
  cases.push({
    name: `git status with env ${what}, after allow-always of git status`,
    finding: 8,
    tags: ['git', 'env', 'refused'],
    argv: what.includes('alias') ? ['git', 'x'] : ['git', 'status'],
    env,
    gitRepo: true,
    fixture: { 'evil.gitconfig': text('[core]\n\tfsmonitor = touch @M\n') },
    always: [['git', 'status']],
    expect: 'refused',
  });
}

// The same variables carried inside the command.
cases.push(
  {
    name: 'env GIT_CONFIG_PARAMETERS=… git status with env and git allowlisted',
    finding: 8,
    tags: ['git', 'env'],
    argv: ['/usr/bin/env', "GIT_CONFIG_PARAMETERS='core.fsmonitor'='touch @M'", 'git', 'status'],
    gitRepo: true,
    allow: ['/usr/bin/env', '/usr/bin/git'],
    expect: 'needs-decision',
    accept: ['refused'],
    proves: true,
  },
  {
    name: 'sh -c "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsmonitor GIT_CONFIG_VALUE_0=… git status"',
    finding: [6, 8],
    tags: ['git', 'env', 'shell'],
    argv: [
      '/bin/sh',
      '-c',
      "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.fsmonitor GIT_CONFIG_VALUE_0='touch @M' git status",
    ],
    gitRepo: true,
    always: [['git', 'status']],
    expect: 'needs-decision',
    accept: ['refused'],
    proves: true,
  },
  {
    name: 'sh -c "GIT_SSH_COMMAND=… git ls-remote ssh://…"',
    finding: [6, 8],
    tags: ['git', 'env', 'shell'],
    argv: ['/bin/sh', '-c', "GIT_SSH_COMMAND='touch @M' git ls-remote ssh://host/repo"],
    gitRepo: true,
    allow: ['/usr/bin/git'],
    expect: 'needs-decision',
    accept: ['refused'],
    proves: true,
  },
);

// What must keep working.
cases.push(
  {
    name: 'git status after allow-always of git status runs again unasked',
    finding: 8,
    tags: ['git', 'positive'],
    argv: ['git', 'status'],
    gitRepo: true,
    always: [['git', 'status']],
    expect: 'runs',
  },
  {
    name: 'git status with /usr/bin/git allowlisted by pattern',
    finding: 8,
    tags: ['git', 'positive'],
    argv: ['git', 'status'],
    gitRepo: true,
    allow: ['/usr/bin/git'],
    expect: 'runs',
    accept: ['needs-decision'],
    why: 'a dispatcher may need an exact argv or an argument pattern rather than a bare path pattern',
  },
);

export default cases;
