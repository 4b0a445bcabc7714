/**
 * The shape of a standing evasion-corpus case (issue 9, "Tests that keep it closed").
 *
 * Paths and arguments are written with tokens the harness replaces per case (each case gets a fresh scratch dir):
 *   @S  scratch root            @W  working directory (cwd of the command, inside @S)
 *   @H  HOME of the runner      @M  the evil marker file: any evil program appends to it
 *   @G  the good marker file    @D  a directory of evil programs (@S/evil)  @E  @D/ls, an evil program named ls
 * A token is only replaced when no letter, digit or underscore follows it.
 *
 * Every Linux case starts with these in place: @D/{ls,cat,grep,echo,printf,sh,bash,git,touch,evil} (executable
 * scripts that append to @M), @S/evil.sh (a 0644 shell file that runs @E), @S/f (a text file "hello\nx\n"),
 * @W and @H (empty directories).
 */

export type Outcome = 'runs' | 'needs-decision' | 'refused';

export type FileSpec =
  /** An executable `#!/bin/sh` script that appends its name and args to @M. */
  | { kind: 'evil'; mode?: number }
  /** An executable `#!/bin/sh` script that appends to @G. */
  | { kind: 'good'; mode?: number }
  | { kind: 'text'; content: string; mode?: number }
  | { kind: 'link'; target: string }
  | { kind: 'copy'; from: string; mode?: number }
  | { kind: 'dir'; mode?: number };

export interface CorpusCase {
  /** What the case tries; the test title adds "issue 9 finding N" and the expected outcome. */
  name: string;
  /** The issue 9 finding(s) the case keeps closed. */
  finding?: number | number[];
  /** Free-form grouping: 'wrapper', 'escape:find', 'env', ... */
  tags?: string[];
  platform?: 'linux' | 'win32';
  argv: string[];
  /** The request's cwd; '@W' by default. */
  cwd?: string;
  /** Paths relative to @S (or absolute Windows paths for win32 cases, which only feed the fake probe). */
  fixture?: Record<string, FileSpec>;
  /** `git init` in @W (with a committed empty tree) before the case. */
  gitRepo?: boolean;
  /** `env` of the system.run request (overrides). */
  env?: Record<string, string>;
  /** Extra variables in the runner's own environment (the gateway's environment). */
  gatewayEnv?: Record<string, string>;
  /** The runner's PATH entries; DEFAULT_PATH (absolute system dirs) when absent. */
  path?: string[];
  /** User-written allowlist patterns (wildcard agent). Non-wildcard absolute patterns also get their realpath added. */
  allow?: string[];
  /** Prior "Always allow" decisions: each argv is run once, approved allow-always, before the case. */
  always?: string[][];
  expect: Outcome;
  /** Other outcomes that are also correct under the rule; `why` says why. */
  accept?: Outcome[];
  why?: string;
  /** With an approval the case's evil program really runs (@M appears): the attack is real on this machine. */
  proves?: boolean;
  /** Set false for commands not worth running even approved (namespaces, hangs). Default true. */
  approve?: boolean;
  timeoutMs?: number;
  /**
   * What an approved allow-always may store for a needs-decision case. 'exact' (default): nothing but exact-command
   * entries — the command is outside what can be analysed. 'inner-ok': the command is analysable but names a program
   * that is not allowlisted, so a path pattern for that program is fine — never one for the outer executable (the
   * wrapper, dispatcher or shell the case goes through) nor for anything named like a shell. 'path-ok': the outer
   * executable is itself the unlisted program; any path pattern but a shell's is fine.
   */
  allowAlways?: 'exact' | 'inner-ok' | 'path-ok';
  /** For `runs`: a string the command's stdout must contain. */
  stdout?: string;
}

/** The default PATH of the runner in Linux cases: absolute, root-owned system directories only. */
export const DEFAULT_PATH = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];

export const evil = (mode?: number): FileSpec => ({ kind: 'evil', mode });
export const good = (mode?: number): FileSpec => ({ kind: 'good', mode });
export const text = (content: string, mode?: number): FileSpec => ({ kind: 'text', content, mode });
export const link = (target: string): FileSpec => ({ kind: 'link', target });
export const copy = (from: string, mode?: number): FileSpec => ({ kind: 'copy', from, mode });
export const dir = (mode?: number): FileSpec => ({ kind: 'dir', mode });

export function findings(c: CorpusCase): number[] {
  return c.finding === undefined ? [] : Array.isArray(c.finding) ? c.finding : [c.finding];
}

export function caseTitle(c: CorpusCase): string {
  const f = findings(c);
  const prefix = f.length ? `issue 9 finding ${f.join('+')}: ` : '';
  const alt = c.accept?.length ? ` (or ${c.accept.join('/')})` : '';
  return `${prefix}${c.name} → ${c.expect}${alt}`;
}
