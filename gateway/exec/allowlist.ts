import { createHash, randomUUID } from 'node:crypto';
import type { AllowlistEntry } from './approvals-file';
import {
  commandName,
  isDispatcherName,
  renderArgv,
  type AnalyzedProgram,
  type CommandAnalysis,
} from './command-analysis';
import { expandTilde, type FileIdentity, type ResolveContext } from './executable-resolution';

export { analyzeCommand, type AnalyzedProgram, type CommandAnalysis } from './command-analysis';

/**
 * Allowlist matching on real executable files (docs/exec-policy.md § Matching (`allowlist.ts`)) and the entries "Always
 * allow" persists. A command is covered only when its analysis is complete and every program it runs (system wrappers
 * and shells aside) matches: an ordinary program by a path pattern over its real file, a dispatcher only by an
 * exact-argv entry. Windows rules are expressed with path.win32 semantics and apply by target platform, not by host.
 */

/**
 * Where an "Always allow" entry came from. A program's path entry says `clawdesk-allow-always`: OpenClaw 2026.9.6
 * reads an entry whose source is `allow-always` as its own generated kind, which it binds to argv + cwd, and treats
 * one without that binding as inactive — so an OpenClaw agent checking the node's allowlist would ask again for what
 * the person always allowed (docs/protocol.md). Exact-argv entries keep `allow-always` (OpenClaw's "command text").
 */
export const PATH_ALLOW_ALWAYS_SOURCE = 'clawdesk-allow-always';

export function isAllowAlwaysSource(source: string | undefined): boolean {
  return source === 'allow-always' || source === PATH_ALLOW_ALWAYS_SOURCE;
}

/** A program that must be allowed by the policy itself (the system's own wrappers and shells are not). */
export function needsAllowing(program: AnalyzedProgram): boolean {
  return program.role === 'program';
}

function isDispatcher(program: AnalyzedProgram, platform: NodeJS.Platform): boolean {
  return (
    isDispatcherName(commandName(program.argv[0], platform)) ||
    (!!program.realPath && isDispatcherName(commandName(program.realPath, platform)))
  );
}

/** The pin an allow-always entry keeps of its file. */
export function fileIdentityKey(identity: FileIdentity | null): string | undefined {
  return identity ? `${identity.dev}:${identity.ino}:${identity.size}:${identity.mtimeMs}` : undefined;
}

/** An entry pinned to a file covers that file only while it is the same file. */
function pinHolds(entry: AllowlistEntry, program: AnalyzedProgram): boolean {
  return !entry.fileIdentity || entry.fileIdentity === fileIdentityKey(program.identity);
}

/** The exact-argv key of one program: its real file and its arguments. */
export function exactProgramPattern(program: Pick<AnalyzedProgram, 'argv' | 'realPath'>): string | null {
  if (!program.realPath) return null;
  return exactCommandPattern(renderArgv([program.realPath, ...program.argv.slice(1)]));
}

/** `=command:<first 16 hex of sha256(commandText)>`: an entry bound to one exact command line. */
export function exactCommandPattern(commandText: string): string {
  return `=command:${createHash('sha256').update(commandText, 'utf8').digest('hex').slice(0, 16)}`;
}

function escapeRegex(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/** Glob → RegExp over '/'-separated paths: `**` any, `*` within a segment, `?` one character. */
export function globToRegExp(glob: string, caseInsensitive: boolean): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i];
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
      } else out += '[^/]*';
    } else if (ch === '?') out += '[^/]';
    else out += escapeRegex(ch);
  }
  return new RegExp(`^${out}$`, caseInsensitive ? 'i' : '');
}

function normalizeWindowsPath(p: string): string {
  let out = p.replace(/\\/g, '/');
  if (out.startsWith('//?/')) out = out.slice(4);
  return out;
}

function hasWildcard(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/** Does one path pattern match a real executable file (+ args for argPattern on Windows)? */
export function patternMatches(
  entry: Pick<AllowlistEntry, 'pattern' | 'argPattern'>,
  resolvedPath: string,
  args: readonly string[],
  ctx: Pick<ResolveContext, 'platform' | 'home' | 'probe'>,
): boolean {
  const windows = ctx.platform === 'win32';
  let pattern = entry.pattern.trim();
  if (pattern === '*') return argPatternOk(entry, args, windows);
  if (pattern.startsWith('=')) return false;
  // Basename-only patterns ("rg") are ignored: a name is not a place (docs/exec-policy.md § Matching (`allowlist.ts`)).
  if (!pattern.includes('/') && !pattern.includes('\\') && !pattern.startsWith('~')) return false;
  pattern = expandTilde(pattern, ctx.home, ctx.platform);
  // Only the real file is matched: a link's own path could be retargeted after the decision.
  const targets = [resolvedPath];
  const patterns = [pattern];
  if (!hasWildcard(pattern)) {
    const realPattern = ctx.probe?.realpath(pattern);
    if (realPattern && realPattern !== pattern) patterns.push(realPattern);
  }
  const norm = windows ? normalizeWindowsPath : (p: string) => p;
  const matched = patterns.some((p) => {
    const re = globToRegExp(norm(p), windows);
    return targets.some((t) => re.test(norm(t)));
  });
  return matched && argPatternOk(entry, args, windows);
}

function argPatternOk(entry: Pick<AllowlistEntry, 'argPattern'>, args: readonly string[], windows: boolean): boolean {
  // argPattern is a Windows-only refinement; elsewhere it neither narrows nor widens
  // (docs/exec-policy.md § Matching (`allowlist.ts`)).
  if (!windows || !entry.argPattern) return true;
  try {
    return new RegExp(entry.argPattern).test(args.map((a) => `${a}\u0000`).join(''));
  } catch {
    return false;
  }
}

export interface AllowlistEvaluation {
  satisfied: boolean;
  /** Every match came from an allow-always decision. */
  durableAllowAlways: boolean;
  /** The entries that matched, per program (for lastUsed bookkeeping). */
  matches: Array<{ entry: AllowlistEntry; program: AnalyzedProgram }>;
}

const unsatisfied = (): AllowlistEvaluation => ({ satisfied: false, durableAllowAlways: false, matches: [] });

export function evaluateAllowlist(
  analysis: CommandAnalysis,
  entries: readonly AllowlistEntry[],
  ctx: Pick<ResolveContext, 'platform' | 'home' | 'probe'>,
): AllowlistEvaluation {
  if (!analysis.ok) return unsatisfied();
  const matches: AllowlistEvaluation['matches'] = [];
  for (const program of analysis.programs) {
    if (!needsAllowing(program)) continue;
    if (!program.realPath) return unsatisfied();
    const exact = exactProgramPattern(program);
    let entry = entries.find((e) => e.pattern === exact && pinHolds(e, program));
    if (!entry && !isDispatcher(program, ctx.platform)) {
      entry = entries.find(
        (e) => pinHolds(e, program) && patternMatches(e, program.realPath as string, program.argv.slice(1), ctx),
      );
    }
    if (!entry) return unsatisfied();
    matches.push({ entry, program });
  }
  // A command that runs no program of its own (only builtins) is not something the allowlist speaks for.
  if (!matches.length) return unsatisfied();
  return { satisfied: true, durableAllowAlways: matches.every((m) => isAllowAlwaysSource(m.entry.source)), matches };
}

/**
 * The entries "Always allow" adds (docs/exec-policy.md § Matching (`allowlist.ts`)): the real file of every program the
 * command runs, or, for a dispatcher, an entry bound to that program's exact argv; never a wrapper or a shell. An
 * incomplete analysis gets nothing: what Clawdesk cannot read needs a decision every time.
 */
export function deriveAllowAlwaysEntries(
  analysis: CommandAnalysis,
  platform: NodeJS.Platform,
  now = Date.now(),
): AllowlistEntry[] {
  if (!analysis.ok) return [];
  const out: AllowlistEntry[] = [];
  for (const program of analysis.programs) {
    if (!needsAllowing(program)) continue;
    if (!program.realPath) return [];
    const exact = isDispatcher(program, platform);
    const pattern = exact ? (exactProgramPattern(program) as string) : program.realPath;
    if (out.some((e) => e.pattern === pattern)) continue;
    out.push({
      id: randomUUID(),
      pattern,
      source: exact ? 'allow-always' : PATH_ALLOW_ALWAYS_SOURCE,
      lastUsedAt: now,
      lastUsedCommand: analysis.commandText,
      lastResolvedPath: program.realPath,
      ...(fileIdentityKey(program.identity) ? { fileIdentity: fileIdentityKey(program.identity) } : {}),
    });
  }
  return out;
}
