import { pathFor } from './executable-resolution';

/** How an argv is written down: canonical, deterministic text, and the name a program is known by. */

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Canonical text for an argv: words joined by spaces, POSIX single-quoted where needed. Deterministic. */
export function renderArgv(argv: readonly string[]): string {
  return argv.map(quoteWord).join(' ');
}

export function quoteWord(word: string): string {
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** Basename without a Windows executable extension, lowercased on Windows: "C:\\x\\Bash.EXE" → "bash". */
export function commandName(executable: string, platform: NodeJS.Platform): string {
  const base = pathFor(platform).basename(platform === 'win32' ? executable.replace(/\//g, '\\') : executable);
  if (platform !== 'win32') return base;
  return base.toLowerCase().replace(/\.(exe|com|cmd|bat)$/, '');
}
