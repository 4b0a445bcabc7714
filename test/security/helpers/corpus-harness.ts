import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { ExecApprovalsStore } from '../../../gateway/exec/approvals-file';
import type { FileProbe } from '../../../gateway/exec/executable-resolution';
import { NodeCommandError, SystemRunner, type SystemRunResult } from '../../../gateway/exec/system-run';
import { DEFAULT_PATH, type CorpusCase, type FileSpec, type Outcome } from './corpus-types';
import { applyFixture, expand, makeScratch, removeScratch, standardFixture, type Scratch } from './scratch';

/**
 * Drives one corpus case through the public API, the way an agent would: `system.run.prepare`, then `system.run`
 * without an approval, then (unless it ran) with an approval. What each outcome means:
 *
 * - runs: prepare says no approval is needed and the unapproved run executes.
 * - needs-decision: prepare says requiresApproval; the unapproved run is refused and nothing ran; an approved run
 *   executes (allow-always, or allow-once where allow-always is refused); allow-always adds nothing but
 *   exact-command ("=command:…") entries.
 * - refused: refused unapproved, approved allow-always and approved allow-once; nothing ran; nothing persisted.
 *
 * In every outcome the evil marker (@M) must be absent after the unapproved run: nothing half-runs.
 */

export type Attempt = { ok: true; result: SystemRunResult } | { ok: false; error: NodeCommandError };

export async function attempt(p: Promise<SystemRunResult>): Promise<Attempt> {
  try {
    return { ok: true, result: await p };
  } catch (error) {
    // Anything but a NodeCommandError is a crash, not a refusal.
    if (!(error instanceof NodeCommandError)) throw error;
    return { ok: false, error };
  }
}

export async function storePatterns(store: ExecApprovalsStore): Promise<string[]> {
  const state = await store.read();
  const out: string[] = [];
  for (const agent of Object.values(state.file.agents)) for (const e of agent.allowlist ?? []) out.push(e.pattern);
  return out;
}

function withRealpaths(patterns: string[]): string[] {
  const out: string[] = [];
  for (const p of patterns) {
    out.push(p);
    if (path.isAbsolute(p) && !/[*?]/.test(p)) {
      try {
        const real = realpathSync(p);
        if (real !== p) out.push(real);
      } catch {
        // not there: the pattern stays as written
      }
    }
  }
  return out;
}

export interface LinuxHarness {
  s: Scratch;
  store: ExecApprovalsStore;
  runner: SystemRunner;
  /** Expands tokens in a string or argv. */
  x(v: string): string;
  xs(v: string[]): string[];
  marker(): boolean;
  goodMarker(): boolean;
  patterns(): Promise<string[]>;
  /** Waits for the runner's background bookkeeping writes (lastUsedAt), then removes the scratch dir. */
  cleanup(): Promise<void>;
}

export function gitInit(cwd: string, home: string): void {
  const env = { PATH: '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1' };
  for (const args of [
    ['init', '-q'],
    ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'init'],
  ]) {
    const r = spawnSync('/usr/bin/git', args, { cwd, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  }
}

export async function linuxHarness(
  c: Pick<CorpusCase, 'fixture' | 'gitRepo' | 'gatewayEnv' | 'path' | 'allow'>,
): Promise<LinuxHarness> {
  const s = makeScratch();
  standardFixture(s);
  applyFixture(s, c.fixture);
  if (c.gitRepo) gitInit(s.work, s.home);
  const x = (v: string) => expand(v, s);
  const gatewayEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.gatewayEnv ?? {})) gatewayEnv[k] = x(v);
  const store = new ExecApprovalsStore({ stateDir: s.state });
  const runner = new SystemRunner({
    store,
    platform: 'linux',
    baseEnv: { PATH: (c.path ?? DEFAULT_PATH).map(x).join(':'), HOME: s.home, LANG: 'C.UTF-8', ...gatewayEnv },
    defaultCwd: s.work,
    home: s.home,
  });
  if (c.allow?.length) {
    await store.set(
      { version: 1, agents: { '*': { allowlist: withRealpaths(c.allow.map(x)).map((pattern) => ({ pattern })) } } },
      undefined,
    );
  }
  return {
    s,
    store,
    runner,
    x,
    xs: (v) => v.map(x),
    marker: () => existsSync(s.marker),
    goodMarker: () => existsSync(s.good),
    patterns: () => storePatterns(store),
    cleanup: async () => {
      // recordUse() is fire-and-forget inside run(); the store serializes writes per file, so a no-op update
      // queued now settles after it. Without this the late write recreates <scratch>/state after removal.
      await store.update(() => false).catch(() => undefined);
      removeScratch(s);
      // A write queued meanwhile would recreate the dir: wait for the chain once more and sweep again.
      await store.update(() => false).catch(() => undefined);
      removeScratch(s);
    },
  };
}

/** Records prior "Always allow" decisions by running each argv approved allow-always. */
export async function recordAlways(h: { runner: SystemRunner }, argvs: string[][], cwd: string): Promise<void> {
  for (const argv of argvs) {
    // As an agent does: prepare (the node pins what the plan runs), a person decides, then the run of that plan.
    const { plan } = (await h.runner.prepare({ command: argv, cwd })) as { plan: Record<string, any> };
    const got = await attempt(
      h.runner.run({
        command: plan.argv,
        systemRunPlan: plan,
        cwd: plan.cwd,
        approved: true,
        approvalDecision: 'allow-always',
        runId: randomUUID(),
        timeoutMs: 10_000,
      }),
    );
    if (!got.ok) throw new Error(`setup: allow-always of ${JSON.stringify(argv)} was refused: ${got.error.message}`);
  }
}

/** A fake Windows file system for win32 cases: the listed files exist; lookups fold case. */
export function windowsProbe(files: string[]): FileProbe {
  const set = new Map(files.map((f, i) => [f.toLowerCase(), i]));
  // identity(): what pins a file (the lead's FileProbe grows it); stable per fake file.
  const identity = (p: string) => {
    const i = set.get(p.toLowerCase());
    return i === undefined
      ? null
      : { dev: 1, ino: 1000 + i, size: 4096, mtimeMs: 1_700_000_000_000, uid: 0, mode: 0o100755 };
  };
  return {
    stat: (p: string) => (set.has(p.toLowerCase()) ? { isFile: true, executable: true } : null),
    realpath: (p: string) => (set.has(p.toLowerCase()) ? p : null),
    identity,
  };
}

export const WINDOWS_FILES = [
  'C:\\Windows\\System32\\cmd.exe',
  'C:\\Windows\\System32\\whoami.exe',
  'C:\\Windows\\System32\\findstr.exe',
  'C:\\Windows\\System32\\where.exe',
  'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
  'C:\\Program Files\\PowerShell\\7\\pwsh.exe',
  'C:\\Tools\\rg.exe',
  'C:\\Tools\\git.exe',
  'C:\\Tools\\build.cmd',
  'C:\\Tools\\deploy.bat',
  'C:\\Users\\Ada\\evil.exe',
  'C:\\Users\\Ada\\Downloads\\whoami.exe',
];

export const WINDOWS_PATH =
  'C:\\Windows\\System32;C:\\Tools;C:\\Windows\\System32\\WindowsPowerShell\\v1.0;C:\\Program Files\\PowerShell\\7';

function describe(a: Attempt | undefined): string {
  if (!a) return 'not tried';
  return a.ok
    ? `ran (exit ${a.result.exitCode}${a.result.error ? `, ${a.result.error}` : ''})`
    : `refused: ${a.error.message}`;
}

/** Runs one case end to end and asserts its outcome. */
export async function runCorpusCase(c: CorpusCase): Promise<void> {
  if (c.platform === 'win32') return runWindowsCase(c);
  const h = await linuxHarness(c);
  try {
    const cwd = h.x(c.cwd ?? '@W');
    if (c.always?.length) await recordAlways(h, c.always.map(h.xs), cwd);
    if (h.marker()) throw new Error('setup ran the evil marker already');
    const argv = h.xs(c.argv);
    const env = c.env ? Object.fromEntries(Object.entries(c.env).map(([k, v]) => [k, h.x(v)])) : undefined;
    const timeoutMs = c.timeoutMs ?? 10_000;
    await check(c, {
      prepare: () => h.runner.prepare({ command: argv, cwd }),
      run: (extra) => h.runner.run({ command: argv, cwd, env, timeoutMs, ...extra }),
      marker: h.marker,
      patterns: h.patterns,
      spawnsForReal: true,
      outerExecutable: () => resolveOuter(argv[0], cwd, (c.path ?? DEFAULT_PATH).map(h.x)),
    });
  } finally {
    await h.cleanup();
  }
}

async function runWindowsCase(c: CorpusCase): Promise<void> {
  const s = makeScratch('clawdesk-sec-win-');
  try {
    const store = new ExecApprovalsStore({ stateDir: s.state });
    const files = [...WINDOWS_FILES, ...Object.keys(c.fixture ?? {})];
    const runner = new SystemRunner({
      store,
      platform: 'win32',
      probe: windowsProbe(files),
      baseEnv: {
        Path: c.path ? c.path.join(';') : WINDOWS_PATH,
        PATHEXT: '.COM;.EXE;.BAT;.CMD',
        USERPROFILE: 'C:\\Users\\Ada',
        SystemRoot: 'C:\\Windows',
        ...c.gatewayEnv,
      },
      defaultCwd: 'C:\\work',
      home: 'C:\\Users\\Ada',
    });
    if (c.allow?.length)
      await store.set(
        { version: 1, agents: { '*': { allowlist: c.allow.map((pattern) => ({ pattern })) } } },
        undefined,
      );
    if (c.always?.length) await recordAlways({ runner }, c.always, 'C:\\work');
    await check(c, {
      prepare: () => runner.prepare({ command: c.argv }),
      run: (extra) => runner.run({ command: c.argv, env: c.env, timeoutMs: 5_000, ...extra }),
      marker: () => false,
      patterns: () => storePatterns(store),
      spawnsForReal: false,
      outerExecutable: () => null,
    });
    await store.update(() => false).catch(() => undefined);
  } finally {
    removeScratch(s);
  }
}

const SHELL_NAMES = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'ash',
  'fish',
  'csh',
  'tcsh',
  'yash',
  'busybox',
  'cmd.exe',
  'powershell.exe',
  'pwsh.exe',
]);

/** Where argv[0] resolves with the case's PATH (absolute entries only), and its realpath. */
export function resolveOuter(
  argv0: string,
  cwd: string,
  pathEntries: string[],
): { resolved: string; real: string } | null {
  const candidates = argv0.includes('/')
    ? [path.resolve(cwd, argv0)]
    : pathEntries.filter((d) => path.isAbsolute(d)).map((d) => path.join(d, argv0));
  for (const c of candidates) {
    try {
      return { resolved: c, real: realpathSync(c) };
    } catch {
      // next
    }
  }
  return null;
}

interface Driver {
  prepare(): Promise<Record<string, unknown>>;
  run(extra?: Record<string, unknown>): Promise<SystemRunResult>;
  marker(): boolean;
  patterns(): Promise<string[]>;
  /** Linux: the command really runs; win32: spawning the Windows path fails on this host (the policy is what counts). */
  spawnsForReal: boolean;
  outerExecutable(): { resolved: string; real: string } | null;
}

async function check(c: CorpusCase, d: Driver): Promise<void> {
  const before = await d.patterns();
  let prep: Record<string, any> | undefined;
  let prepError: unknown;
  try {
    prep = await d.prepare();
  } catch (error) {
    if (!(error instanceof NodeCommandError)) throw error;
    prepError = error;
  }
  const unapproved = await attempt(d.run());
  const markerAfterUnapproved = d.marker();
  let approvedAlways: Attempt | undefined;
  let approvedOnce: Attempt | undefined;
  let afterApproval: string[] = before;
  let observed: Outcome;
  if (unapproved.ok) observed = 'runs';
  else if (c.approve === false) observed = 'needs-decision';
  else {
    const mid = await d.patterns();
    const viaPlan = prep?.plan
      ? { command: prep.plan.argv, systemRunPlan: prep.plan, cwd: prep.plan.cwd ?? undefined }
      : {};
    approvedAlways = await attempt(
      d.run({ ...viaPlan, approved: true, approvalDecision: 'allow-always', runId: randomUUID() }),
    );
    afterApproval = await d.patterns();
    if (approvedAlways.ok) observed = 'needs-decision';
    else {
      approvedOnce = await attempt(
        d.run({ ...viaPlan, approved: true, approvalDecision: 'allow-once', runId: randomUUID() }),
      );
      observed = approvedOnce.ok ? 'needs-decision' : 'refused';
    }
    expect(mid, 'a refused run must not change the allowlist').toEqual(before);
  }
  const story = [
    `prepare: ${prepError ? `refused: ${(prepError as Error).message}` : `requiresApproval=${prep?.execPolicy?.requiresApproval}`}`,
    `unapproved: ${describe(unapproved)}`,
    `approved allow-always: ${describe(approvedAlways)}`,
    `approved allow-once: ${describe(approvedOnce)}`,
  ].join('; ');
  const acceptable = [c.expect, ...(c.accept ?? [])];
  expect(acceptable, `observed "${observed}" — ${story}`).toContain(observed);
  expect(markerAfterUnapproved, `an evil program ran without a decision — ${story}`).toBe(false);

  switch (observed) {
    case 'runs': {
      expect(prepError, `prepare refused a command that runs — ${story}`).toBeUndefined();
      expect(prep?.execPolicy?.requiresApproval, `prepare asks for a command that runs unasked — ${story}`).toBe(false);
      const result = (unapproved as { ok: true; result: SystemRunResult }).result;
      if (d.spawnsForReal) {
        expect(result.error, story).toBeNull();
        if (c.stdout !== undefined) expect(result.stdout, story).toContain(c.stdout);
      }
      break;
    }
    case 'needs-decision': {
      expect(prepError, `prepare must produce a plan a person can approve — ${story}`).toBeUndefined();
      expect(prep?.execPolicy?.requiresApproval, `prepare must report requiresApproval — ${story}`).toBe(true);
      // What prepare offers for allow-always, and what an approved allow-always really stored.
      const coverage = prep?.allowAlwaysCoverage as { patterns?: string[]; exactCommandOnly?: boolean } | undefined;
      const offered = (coverage?.patterns ?? []).filter((p) => !p.startsWith('='));
      const added = afterApproval.filter((p) => !before.includes(p) && !p.startsWith('='));
      if ((c.allowAlways ?? 'exact') === 'exact') {
        expect(
          offered,
          `prepare offers allow-always path patterns for a command that needs a decision every time — ${story}`,
        ).toEqual([]);
        expect(
          added,
          `allow-always stored a path pattern for a command that needs a decision every time — ${story}`,
        ).toEqual([]);
      } else {
        const outer = c.allowAlways === 'path-ok' ? null : d.outerExecutable();
        const wrapperOrShell = (p: string) =>
          (outer !== null && (p === outer.resolved || p === outer.real)) ||
          SHELL_NAMES.has(path.basename(p).toLowerCase());
        expect(
          offered.filter(wrapperOrShell),
          `prepare offers allow-always for the wrapper/shell itself — ${story}`,
        ).toEqual([]);
        expect(
          added.filter(wrapperOrShell),
          `allow-always stored a pattern for the wrapper/shell itself — ${story}`,
        ).toEqual([]);
      }
      if (c.proves && c.approve !== false && d.spawnsForReal) {
        expect(
          d.marker(),
          `corpus defect: approved, the evil program did not run, so the case proves nothing — ${story}`,
        ).toBe(true);
      }
      break;
    }
    case 'refused': {
      expect(d.marker(), `a refused command ran — ${story}`).toBe(false);
      expect(await d.patterns(), `a refused command changed the allowlist — ${story}`).toEqual(before);
      break;
    }
  }
}

export function readLog(p: string): string[] {
  try {
    return readFileSync(p, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

export type { FileSpec };
