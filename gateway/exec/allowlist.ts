import { createHash, randomUUID } from 'node:crypto';
import type { AllowlistEntry } from './approvals-file';
import {
  commandName,
  detectCarrier,
  isCarrier,
  isDangerousEnvKey,
  parseShellChain,
  renderArgv,
  unwrapWrappers,
} from './command-analysis';
import { expandTilde, resolveExecutable, type ResolveContext } from './executable-resolution';

/**
 * Allowlist matching on resolved executable paths (spec 4.2) and the entries "Always allow" persists.
 * Windows rules are expressed with path.win32 semantics and apply by target platform, not by host.
 */

export interface CommandSegment {
  /** argv after unwrapping env/nice/nohup/timeout/stdbuf. */
  argv: string[];
  resolvedPath: string | null;
}

export interface CommandAnalysis {
  /** Every segment is a simple command we could read. */
  ok: boolean;
  reason?: string;
  segments: CommandSegment[];
  /** Canonical text of the whole argv, the key of exact-command entries. */
  commandText: string;
  /** The shell payload when the argv is a shell carrier. */
  shellPayload?: string;
}

function analyzeSimple(argv: string[], ctx: ResolveContext): { ok: true; segment: CommandSegment } | { ok: false; reason: string } {
  const unwrapped = unwrapWrappers(argv, ctx.platform);
  if (!unwrapped.ok) return { ok: false, reason: unwrapped.reason };
  const badKey = unwrapped.envKeys.find((k) => isDangerousEnvKey(k, ctx.platform));
  if (badKey) return { ok: false, reason: `environment override of ${badKey} is not allowed` };
  return { ok: true, segment: { argv: unwrapped.argv, resolvedPath: resolveExecutable(unwrapped.argv[0], ctx) } };
}

/** Reads an argv into the simple commands it runs. */
export function analyzeCommand(argv: readonly string[], ctx: ResolveContext): CommandAnalysis {
  const commandText = renderArgv(argv);
  const fail = (reason: string, segments: CommandSegment[] = [], shellPayload?: string): CommandAnalysis => ({
    ok: false,
    reason,
    segments,
    commandText,
    shellPayload,
  });
  if (!argv.length) return fail('empty command');
  const outer = analyzeSimple([...argv], ctx);
  if (!outer.ok) return fail(outer.reason);
  const carrier = detectCarrier(outer.segment.argv, ctx.platform);
  if (!carrier) return { ok: true, segments: [outer.segment], commandText };
  switch (carrier.kind) {
    case 'cmd':
      return fail('cmd.exe /c needs approval under the allowlist', [outer.segment], carrier.payload);
    case 'powershell':
      return fail('powershell -Command needs approval under the allowlist', [outer.segment], carrier.payload);
    case 'inline-eval':
      return fail(`${carrier.interpreter} inline code needs approval under the allowlist`, [outer.segment]);
    case 'posix-shell': {
      const parsed = parseShellChain(carrier.payload);
      if (!parsed.ok) return fail(parsed.reason, [outer.segment], carrier.payload);
      const segments: CommandSegment[] = [];
      for (const words of parsed.segments) {
        // Leading NAME=value words act like `env NAME=value`.
        const inner = analyzeSimple(words[0].includes('=') && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]) ? ['env', ...words] : words, ctx);
        if (!inner.ok) return fail(inner.reason, segments, carrier.payload);
        // A shell inside a shell is read again, once: `sh -c "bash -c 'x'"` is still just x.
        const nested = detectCarrier(inner.segment.argv, ctx.platform);
        if (nested) {
          if (nested.kind !== 'posix-shell') return fail(`${nested.kind} inside a shell needs approval`, segments, carrier.payload);
          const again = analyzeCommand(inner.segment.argv, ctx);
          if (!again.ok) return fail(again.reason ?? 'nested shell', segments, carrier.payload);
          segments.push(...again.segments);
          continue;
        }
        segments.push(inner.segment);
      }
      return { ok: true, segments, commandText, shellPayload: carrier.payload };
    }
  }
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

/** Does one path pattern match a resolved executable (+ args for argPattern on Windows)? */
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
  // Basename-only patterns ("rg") are ignored: a name is not a place (spec 4.2).
  if (!pattern.includes('/') && !pattern.includes('\\') && !pattern.startsWith('~')) return false;
  pattern = expandTilde(pattern, ctx.home, ctx.platform);
  const targets = [resolvedPath];
  const real = ctx.probe?.realpath(resolvedPath);
  if (real && real !== resolvedPath) targets.push(real);
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
  // argPattern is a Windows-only refinement (spec 4.2); elsewhere it neither narrows nor widens.
  if (!windows || !entry.argPattern) return true;
  try {
    return new RegExp(entry.argPattern).test(args.map((a) => `${a}\u0000`).join(''));
  } catch {
    return false;
  }
}

export interface AllowlistEvaluation {
  satisfied: boolean;
  /** Every match came from an allow-always decision (or an exact-command entry). */
  durableAllowAlways: boolean;
  /** The entries that matched, per segment (for lastUsed bookkeeping). */
  matches: Array<{ entry: AllowlistEntry; segment: CommandSegment }>;
  /** The exact-command entry that matched the whole line, if any. */
  exactEntry?: AllowlistEntry;
}

export function evaluateAllowlist(
  analysis: CommandAnalysis,
  entries: readonly AllowlistEntry[],
  ctx: Pick<ResolveContext, 'platform' | 'home' | 'probe'>,
): AllowlistEvaluation {
  const exact = exactCommandPattern(analysis.commandText);
  const exactEntry = entries.find((e) => e.pattern === exact);
  if (exactEntry) return { satisfied: true, durableAllowAlways: true, matches: [], exactEntry };
  if (!analysis.ok || !analysis.segments.length) return { satisfied: false, durableAllowAlways: false, matches: [] };
  const matches: AllowlistEvaluation['matches'] = [];
  for (const segment of analysis.segments) {
    if (!segment.resolvedPath) return { satisfied: false, durableAllowAlways: false, matches: [] };
    const entry = entries.find((e) => patternMatches(e, segment.resolvedPath as string, segment.argv.slice(1), ctx));
    if (!entry) return { satisfied: false, durableAllowAlways: false, matches: [] };
    matches.push({ entry, segment });
  }
  return { satisfied: true, durableAllowAlways: matches.every((m) => m.entry.source === 'allow-always'), matches };
}

/**
 * The entries "Always allow" adds (spec 4.2, pitfalls 12 and 13): the resolved path of every simple command,
 * wrappers unwrapped and shells read through; never a shell, interpreter or dispatcher. When no such pattern
 * exists (inline code, redirections, unresolvable names), one entry bound to this exact command line.
 */
export function deriveAllowAlwaysEntries(analysis: CommandAnalysis, platform: NodeJS.Platform, now = Date.now()): AllowlistEntry[] {
  const exact = (): AllowlistEntry[] => [
    { id: randomUUID(), pattern: exactCommandPattern(analysis.commandText), source: 'allow-always', lastUsedAt: now, lastUsedCommand: analysis.commandText },
  ];
  if (!analysis.ok || !analysis.segments.length) return exact();
  const out: AllowlistEntry[] = [];
  for (const segment of analysis.segments) {
    if (!segment.resolvedPath) return exact();
    if (isCarrier(commandName(segment.resolvedPath, platform)) || isCarrier(commandName(segment.argv[0], platform))) return exact();
    if (!out.some((e) => e.pattern === segment.resolvedPath)) {
      out.push({
        id: randomUUID(),
        pattern: segment.resolvedPath,
        source: 'allow-always',
        lastUsedAt: now,
        lastUsedCommand: analysis.commandText,
        lastResolvedPath: segment.resolvedPath,
      });
    }
  }
  return out;
}
