/**
 * Environment variables that change which program runs or make a program load code: never taken from a requester,
 * and (for the shell-startup ones) not passed from Clawdesk's own environment into a command either.
 */

/** Keys whose override changes which program runs or what it loads. */
export function isDangerousEnvKey(key: string, platform: NodeJS.Platform = process.platform): boolean {
  const upper = key.toUpperCase();
  if (upper === 'PATH' || (platform === 'win32' && upper === 'PATHEXT')) return true;
  if (/^(LD_|DYLD_|GIT_CONFIG|BASH_FUNC_|PYTHON|PERL|RUBY|NPM_CONFIG_|GCONV_|LUA_|MALLOC_)/.test(upper)) return true;
  if (
    /^(GIT_)(SSH|SSH_COMMAND|EXEC_PATH|ASKPASS|PAGER|EDITOR|DIR|WORK_TREE|INDEX_FILE|OBJECT_DIRECTORY|ALTERNATE_OBJECT_DIRECTORIES|TEMPLATE_DIR|EXTERNAL_DIFF|PROXY_COMMAND|SEQUENCE_EDITOR|CEILING_DIRECTORIES|NAMESPACE|ATTR_SOURCE)$/.test(
      upper,
    )
  )
    return true;
  return DANGEROUS_ENV_KEYS.has(upper) || DANGEROUS_ENV_KEYS.has(key);
}

const DANGEROUS_ENV_KEYS = new Set([
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'NODE_PRESERVE_SYMLINKS',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'PERL5DB',
  'RUBYOPT',
  'RUBYLIB',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'IFS',
  'CDPATH',
  'GLOBIGNORE',
  'PROMPT_COMMAND',
  'HOSTALIASES',
  'LOCALDOMAIN',
  'RESOLV_HOST_CONF',
  'EDITOR',
  'VISUAL',
  'PAGER',
  'MANPAGER',
  'LESSOPEN',
  'LESSCLOSE',
  'LESSKEY',
  'BROWSER',
  'SUDO_ASKPASS',
  'SSH_ASKPASS',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
  'JDK_JAVA_OPTIONS',
  'CLASSPATH',
  'OPENSSL_CONF',
  'OPENSSL_ENGINES',
  'ZDOTDIR',
  'COMSPEC',
  'PSMODULEPATH',
  'SHELL',
  'HOME',
  'TMPDIR',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'DOTNET_STARTUP_HOOKS',
  'CORECLR_PROFILER',
  'CORECLR_ENABLE_PROFILING',
  'COR_PROFILER',
  'LUA_INIT',
  'TCLLIBPATH',
  'R_PROFILE',
  'R_PROFILE_USER',
  'PHPRC',
  'PHP_INI_SCAN_DIR',
  'GEM_PATH',
  'GEM_HOME',
  'BUNDLE_GEMFILE',
  'MAKEFLAGS',
  'MFLAGS',
  'GNUMAKEFLAGS',
  'TAR_OPTIONS',
  'RSYNC_RSH',
  'RSYNC_CONNECT_PROG',
  'CVS_RSH',
  'SSH_AUTH_SOCK',
  'GPG_AGENT_INFO',
  'GNUPGHOME',
  'PROMPT',
  'PS1',
  'PS2',
  'HISTFILE',
  'INPUTRC',
  'TERMINFO',
  'TERMINFO_DIRS',
  'LOCPATH',
  'NLSPATH',
  'ZDOTDIR',
  'NPM_CONFIG_SCRIPT_SHELL',
  'YARN_RC_FILENAME',
  'COMPOSER_HOME',
  'CARGO_HOME',
  'RUSTC_WRAPPER',
  'CC',
  'CXX',
  'LD',
]);

/** Shell start-up hooks removed from every command's environment: a shell must not run code the analyser never saw. */
export function isShellStartupKey(key: string): boolean {
  return /^BASH_FUNC_/.test(key) || key.includes('%') || SHELL_STARTUP_KEYS.has(key);
}

const SHELL_STARTUP_KEYS = new Set([
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'IFS',
  'CDPATH',
  'GLOBIGNORE',
  'PROMPT_COMMAND',
]);
