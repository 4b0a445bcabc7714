import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import { deriveAllowAlwaysEntries, evaluateAllowlist, isAllowAlwaysSource } from './allowlist';
import { EXEC_ASK, EXEC_SECURITY } from '../protocol/exec-vocabulary';
import { ExecApprovalsStore, isReservedKey, type AgentApprovals, type AllowlistEntry } from './approvals-file';
import {
  analyzeCommand,
  commandName,
  detectCarrier,
  inlineEvalFlags,
  POSIX_SHELLS,
  renderArgv,
  type CommandAnalysis,
} from './command-analysis';
import { isShellStartupKey } from './env-policy';
import {
  absolutePathEntries,
  hostFileProbe,
  pathFor,
  resolveExecutable,
  sameIdentity,
  type FileIdentity,
  type FileProbe,
  type ResolveContext,
} from './executable-resolution';
import {
  allowedDecisions,
  combineStricter,
  requiresApproval,
  resolveAllowlist,
  resolveExecPolicy,
  stricterSecurity,
  WILDCARD_AGENT,
  type ExecPolicy,
} from './policy';
import {
  applyEnvOverrides,
  consoleCodePage,
  decoderForCodePage,
  killProcessTree,
  runProcess,
  type RunProcessResult,
} from './process-runner';

/**
 * The node's side of `system.run.prepare` / `system.run` / `system.which`: plans, its own policy re-check (the
 * gateway's approval is necessary, never sufficient), execution and lifecycle events
 * (docs/protocol.md § The agent's exec flow; docs/exec-policy.md § Running (`system-run.ts`)).
 */

/** An error answered in `node.invoke.result` as `{code, message}`; nothing ran. */
export class NodeCommandError extends Error {
  constructor(
    readonly code: 'INVALID_REQUEST' | 'UNAVAILABLE',
    message: string,
  ) {
    super(message);
  }
}

export interface MutableFileOperand {
  argvIndex: number;
  path: string;
  sha256: string;
}

export interface SystemRunPlan {
  argv: string[];
  cwd: string | null;
  commandText: string;
  commandPreview?: string;
  agentId: string | null;
  sessionKey: string | null;
  /**
   * Absent when there is no script operand: the reference gateway drops a plan whose optional fields are present
   * but not well-formed (null included), and then refuses the approval request ("systemRunPlan is required").
   */
  mutableFileOperand?: MutableFileOperand;
}

// A NUL byte cannot reach a program (exec stops its argument there): refused before any plan or approval exists.
const argvSchema = z
  .array(z.string().refine((arg) => !arg.includes('\u0000'), 'command arguments must not contain NUL bytes'))
  .min(1, 'command must be a non-empty array of strings');
const nullableString = z.string().nullable().optional();
/** An agent id keys the approvals file: never one that names Object.prototype's own members. */
const agentIdSchema = z
  .string()
  .refine((id) => !isReservedKey(id), { message: 'agentId "__proto__", "prototype" and "constructor" are reserved' })
  .nullable()
  .optional();

const planSchema = z
  .object({
    argv: argvSchema,
    cwd: z.string().nullable().optional(),
    commandText: z.string().optional(),
    commandPreview: z.string().nullable().optional(),
    agentId: agentIdSchema,
    sessionKey: nullableString,
    mutableFileOperand: z
      .object({ argvIndex: z.number().int().min(0), path: z.string(), sha256: z.string() })
      .nullable()
      .optional(),
  })
  .passthrough();

export const systemRunPrepareParamsSchema = z
  .object({
    command: argvSchema,
    rawCommand: z.string().nullable().optional(),
    cwd: nullableString,
    agentId: agentIdSchema,
    sessionKey: nullableString,
    security: z.enum(EXEC_SECURITY).optional(),
    ask: z.enum(EXEC_ASK).optional(),
  })
  .passthrough();

export const systemRunParamsSchema = z
  .object({
    command: argvSchema,
    rawCommand: z.string().nullable().optional(),
    systemRunPlan: planSchema.nullable().optional(),
    cwd: nullableString,
    env: z.record(z.string(), z.unknown()).nullable().optional(),
    timeoutMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3600_000)
      .nullable()
      .optional(),
    needsScreenRecording: z.boolean().optional(),
    agentId: agentIdSchema,
    sessionKey: nullableString,
    approved: z.boolean().optional(),
    approvalDecision: z.enum(['allow-once', 'allow-always']).nullable().optional(),
    /** "ask-fallback": nobody answered the approval; checked in run() so an unknown source gets a precise error. */
    approvalSource: z.string().nullable().optional(),
    runId: nullableString,
    suppressNotifyOnExit: z.boolean().optional(),
    security: z.enum(EXEC_SECURITY).optional(),
    ask: z.enum(EXEC_ASK).optional(),
  })
  .passthrough();

export const systemWhichParamsSchema = z.object({ bins: z.array(z.string()).max(256) }).passthrough();

export type SystemRunParams = z.infer<typeof systemRunParamsSchema>;

export interface SystemRunResult {
  exitCode?: number | null;
  timedOut: boolean;
  success: boolean;
  stdout: string;
  stderr: string;
  error: string | null;
  /** Clawdesk's additions: the output was cut at the cap, and what stopped the run early, if anything. */
  truncated: boolean;
  stoppedBy: RunProcessResult['stoppedBy'];
}

export type ExecLifecycleEvent = 'exec.started' | 'exec.finished' | 'exec.denied';

export interface SystemRunnerOptions {
  store: ExecApprovalsStore;
  platform?: NodeJS.Platform;
  /** The environment commands inherit (overrides are merged on top); defaults to process.env. */
  baseEnv?: Record<string, string | undefined>;
  /** Working directory when a request names none. */
  defaultCwd?: string;
  home?: string;
  probe?: FileProbe;
  maxOutputChars?: number;
  emit?: (event: ExecLifecycleEvent, payload: Record<string, unknown>) => void;
}

const EVENT_OUTPUT_TAIL = 20_000;
/** How long a prepared plan's file identities are remembered for its approval, and how many. */
export const PLAN_PIN_TTL_MS = 2 * 3600_000;
export const MAX_PLAN_PINS = 4096;

interface PlanPin {
  /** Real file and identity of every program the plan runs, at the time it was prepared. */
  programs: Array<{ realPath: string | null; identity: FileIdentity | null }>;
  expiresAtMs: number;
}

/** What decides which files a plan runs: its argv and cwd (the gateway binds agent and session). */
function planDigest(plan: Pick<SystemRunPlan, 'argv' | 'cwd'>): string {
  return createHash('sha256')
    .update(JSON.stringify([plan.argv, plan.cwd ?? null]))
    .digest('hex');
}

function pinOf(analysis: CommandAnalysis, now: number): PlanPin {
  return {
    programs: analysis.programs.map((p) => ({ realPath: p.realPath, identity: p.identity })),
    expiresAtMs: now + PLAN_PIN_TTL_MS,
  };
}

/** The program whose file is not the one that was approved, or null when all are the same files. */
function changedSincePin(pin: PlanPin, analysis: CommandAnalysis): string | null {
  if (pin.programs.length !== analysis.programs.length) return analysis.programs[0]?.argv[0] ?? 'the command';
  for (let i = 0; i < pin.programs.length; i++) {
    const then = pin.programs[i];
    const now = analysis.programs[i];
    if (then.realPath === null && now.realPath === null) continue; // nothing there then or now: nothing can run
    if (then.realPath !== now.realPath || !sameIdentity(then.identity, now.identity))
      return now.realPath ?? now.argv[0];
  }
  return null;
}

/** Clawdesk's environment for a command: shell start-up hooks removed, PATH reduced to its absolute entries. */
export function commandBaseEnv(
  base: Record<string, string | undefined>,
  platform: NodeJS.Platform,
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(base)) if (!isShellStartupKey(key)) env[key] = value;
  const pathKey =
    Object.keys(env).find((k) => (platform === 'win32' ? k.toUpperCase() === 'PATH' : k === 'PATH')) ?? 'PATH';
  env[pathKey] = absolutePathEntries(base, platform);
  return env;
}

export function parseParams<T>(schema: z.ZodType<T>, params: unknown): T {
  const parsed = schema.safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new NodeCommandError('INVALID_REQUEST', `invalid params: ${where}${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export class SystemRunner {
  private readonly platform: NodeJS.Platform;
  private readonly baseEnv: Record<string, string | undefined>;
  private readonly defaultCwd: string;
  private readonly home: string;
  private readonly probe: FileProbe;
  /** allow-once run ids already used here: a replay through a confused gateway still runs nothing twice. */
  private readonly consumedOnce = new Set<string>();
  /** Process-group leaders of commands still running, so stopping the node stops them too. */
  private readonly running = new Set<number>();
  /** What each prepared plan runs, by file identity: an approval is for those files, not for whatever is there later. */
  private readonly pins = new Map<string, PlanPin>();

  constructor(private readonly options: SystemRunnerOptions) {
    this.platform = options.platform ?? process.platform;
    this.baseEnv = commandBaseEnv(options.baseEnv ?? process.env, this.platform);
    this.defaultCwd = options.defaultCwd ?? os.homedir();
    this.home = options.home ?? os.homedir();
    this.probe = options.probe ?? hostFileProbe;
  }

  private resolveCtx(cwd: string | null): ResolveContext {
    return {
      platform: this.platform,
      env: this.baseEnv,
      cwd: cwd ?? this.defaultCwd,
      home: this.home,
      probe: this.probe,
    };
  }

  /**
   * `rawCommand` must be the canonical rendering of argv, or the payload of a shell carrier
   * (docs/protocol.md § The agent's exec flow).
   */
  checkRawCommand(argv: readonly string[], rawCommand: string | null | undefined): void {
    if (rawCommand === undefined || rawCommand === null) return;
    if (rawCommand === renderArgv(argv)) return;
    const carrier = detectCarrier(argv, this.platform);
    if (carrier && 'payload' in carrier && rawCommand === carrier.payload) return;
    throw new NodeCommandError('INVALID_REQUEST', 'RAW_COMMAND_MISMATCH: rawCommand does not match command');
  }

  private resolveCwd(cwd: string | null | undefined): string | null {
    if (cwd === undefined || cwd === null || cwd === '') return null;
    const p = pathFor(this.platform);
    const absolute = p.resolve(this.defaultCwd, cwd);
    let real: string;
    try {
      real = realpathSync.native(absolute);
      if (!statSync(real).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new NodeCommandError(
        'INVALID_REQUEST',
        `CWD_NOT_FOUND: working directory ${cwd} does not exist or is not a directory`,
      );
    }
    return real;
  }

  /** Builds the approval plan: resolved executable, real cwd, canonical text, hash of a script operand. */
  buildPlan(input: {
    command: string[];
    rawCommand?: string | null;
    cwd?: string | null;
    agentId?: string | null;
    sessionKey?: string | null;
  }): SystemRunPlan {
    this.checkRawCommand(input.command, input.rawCommand);
    const cwd = this.resolveCwd(input.cwd);
    const resolved = resolveExecutable(input.command[0], this.resolveCtx(cwd));
    if (!resolved) {
      throw new NodeCommandError(
        'INVALID_REQUEST',
        `EXECUTABLE_NOT_FOUND: "${input.command[0]}" was not found on this node's PATH`,
      );
    }
    const argv = [resolved, ...input.command.slice(1)];
    const carrier = detectCarrier(argv, this.platform);
    // The text names the resolved executable (what the approver is really allowing), so the agent's later
    // `system.run {command: plan.argv, rawCommand: plan.commandText}` matches its own rendering
    // (docs/protocol.md § The agent's exec flow). A blank shell payload (`sh -c ""`) would leave no text, and a plan
    // without one is discarded upstream.
    const commandText = carrier && 'payload' in carrier && carrier.payload.trim() ? carrier.payload : renderArgv(argv);
    const plan: SystemRunPlan = {
      argv,
      cwd,
      commandText,
      commandPreview: commandText.length > 240 ? `${commandText.slice(0, 239)}…` : commandText,
      agentId: input.agentId ?? null,
      sessionKey: input.sessionKey ?? null,
    };
    const operand = this.scriptOperand(argv, cwd);
    if (operand) plan.mutableFileOperand = operand;
    return plan;
  }

  /** `python x.py`, `bash run.sh`, `node app.js`: the script's content is part of what was approved. */
  private scriptOperand(argv: string[], cwd: string | null): MutableFileOperand | null {
    const name = commandName(argv[0], this.platform);
    const interpreter = POSIX_SHELLS.has(name) || inlineEvalFlags(name) !== undefined;
    if (!interpreter || detectCarrier(argv, this.platform)) return null;
    for (let i = 1; i < argv.length; i++) {
      if (argv[i].startsWith('-')) continue;
      const p = pathFor(this.platform).resolve(cwd ?? this.defaultCwd, argv[i]);
      try {
        const real = realpathSync.native(p);
        if (!statSync(real).isFile()) return null;
        return { argvIndex: i, path: real, sha256: createHash('sha256').update(readFileSync(real)).digest('hex') };
      } catch {
        return null;
      }
    }
    return null;
  }

  private async policyFor(
    agentId: string | null | undefined,
    requested: Partial<ExecPolicy>,
  ): Promise<{ policy: ExecPolicy; allowlist: AllowlistEntry[] }> {
    const state = await this.options.store.read();
    const key = agentId || WILDCARD_AGENT;
    if (isReservedKey(key)) throw new NodeCommandError('INVALID_REQUEST', `agentId "${key}" is reserved`);
    const policy = combineStricter(resolveExecPolicy(state.file, key), requested);
    return { policy, allowlist: resolveAllowlist(state.file, key) };
  }

  async prepare(rawParams: unknown): Promise<Record<string, unknown>> {
    const params = parseParams(systemRunPrepareParamsSchema, rawParams);
    const plan = this.buildPlan(params);
    const { policy, allowlist } = await this.policyFor(params.agentId, { security: params.security, ask: params.ask });
    const analysis = analyzeCommand(plan.argv, this.resolveCtx(plan.cwd));
    const evaluation = evaluateAllowlist(analysis, allowlist, this.resolveCtx(plan.cwd));
    const coverage = this.allowAlwaysEligible(analysis, plan) ? deriveAllowAlwaysEntries(analysis, this.platform) : [];
    this.remember(plan, analysis);
    const decisions = allowedDecisions(policy.ask).filter((d) => d !== 'allow-always' || coverage.length > 0);
    const needsApproval = requiresApproval({
      policy,
      analysisOk: analysis.ok || evaluation.satisfied,
      allowlistSatisfied: evaluation.satisfied,
      durableAllowAlways: evaluation.durableAllowAlways,
    });
    return {
      plan,
      execPolicy: {
        // The policy as it applies to this plan (docs/protocol.md § What prepare's `execPolicy` says): a plan the
        // allowlist already lets run unasked is reported as `full`, since OpenClaw's agent re-judges a node's
        // allowlist with PATH emptied and would otherwise ask again. Advisory only: run() decides again from the file.
        security: policy.security === 'allowlist' && evaluation.satisfied && !needsApproval ? 'full' : policy.security,
        policySecurity: policy.security,
        ask: policy.ask,
        askFallback: policy.askFallback,
        allowlistSatisfied: evaluation.satisfied,
        analysisOk: analysis.ok,
        requiresApproval: needsApproval,
        allowedDecisions: decisions,
        ...(analysis.reason ? { analysisReason: analysis.reason } : {}),
      },
      allowAlwaysCoverage: {
        patterns: coverage.map((e) => e.pattern),
        exactCommandOnly: coverage.length > 0 && coverage.every((e) => e.pattern.startsWith('=')),
        ...(coverage.length
          ? {}
          : { unavailable: analysis.reason ?? 'a script operand can change after the decision' }),
      },
    };
  }

  /** Allow-always only for what is fully read and cannot change under the decision (a script file can). */
  private allowAlwaysEligible(analysis: CommandAnalysis, plan: SystemRunPlan): boolean {
    return analysis.ok && !plan.mutableFileOperand;
  }

  /** Pins the plan's files; a later prepare of the same plan never replaces a live pin (the first files are approved). */
  private remember(plan: SystemRunPlan, analysis: CommandAnalysis): void {
    const now = Date.now();
    for (const [key, pin] of this.pins) if (pin.expiresAtMs <= now) this.pins.delete(key);
    const digest = planDigest(plan);
    const existing = this.pins.get(digest);
    if (existing && changedSincePin(existing, analysis) === null) {
      existing.expiresAtMs = now + PLAN_PIN_TTL_MS;
      return;
    }
    if (existing) return;
    if (this.pins.size >= MAX_PLAN_PINS) this.pins.delete(this.pins.keys().next().value as string);
    this.pins.set(digest, pinOf(analysis, now));
  }

  which(rawParams: unknown): { bins: Record<string, string> } {
    const params = parseParams(systemWhichParamsSchema, rawParams);
    const bins: Record<string, string> = {};
    for (const name of params.bins) {
      const found = resolveExecutable(name, this.resolveCtx(null));
      if (found) bins[name] = found;
    }
    return { bins };
  }

  async run(rawParams: unknown): Promise<SystemRunResult> {
    const params = parseParams(systemRunParamsSchema, rawParams);
    const sessionKey = params.sessionKey ?? params.systemRunPlan?.sessionKey ?? 'node';
    const agentId = params.agentId ?? params.systemRunPlan?.agentId ?? null;
    const runId = params.runId ?? null;
    // Nobody answered the approval (the gateway checked that and lets it through once): this node's askFallback
    // decides, with nobody to ask. Any other source is one this node does not honour.
    const fallbackRun = params.approvalSource === 'ask-fallback';
    const baseEvent = {
      sessionKey,
      runId,
      host: 'node',
      command: renderArgv(params.command),
      ...(fallbackRun ? { approvalSource: 'ask-fallback' } : {}),
    };
    const deny = (message: string, code: 'INVALID_REQUEST' | 'UNAVAILABLE' = 'UNAVAILABLE'): never => {
      this.options.emit?.('exec.denied', {
        ...baseEvent,
        reason: message,
        suppressNotifyOnExit: params.suppressNotifyOnExit,
      });
      throw new NodeCommandError(code, message);
    };
    if (params.approvalSource != null && !fallbackRun)
      deny('approvalSource invalid: only "ask-fallback" is known here', 'INVALID_REQUEST');
    if (fallbackRun && (params.approved !== undefined || params.approvalDecision != null))
      deny('approvalSource cannot be combined with an explicit approval', 'INVALID_REQUEST');
    if (fallbackRun && (!params.systemRunPlan || !runId))
      deny('SYSTEM_RUN_DENIED: ask-fallback needs the prepared execution plan');

    let plan: SystemRunPlan;
    try {
      if (params.systemRunPlan) {
        const supplied = params.systemRunPlan;
        const rebuilt = this.buildPlan({
          command: params.command,
          rawCommand: params.rawCommand,
          cwd: params.cwd ?? supplied.cwd ?? null,
          agentId,
          sessionKey,
        });
        if (JSON.stringify(rebuilt.argv) !== JSON.stringify(supplied.argv))
          deny('SYSTEM_RUN_DENIED: execution plan mismatch');
        if ((rebuilt.cwd ?? null) !== (supplied.cwd ?? null))
          deny('SYSTEM_RUN_DENIED: approval cwd changed since approval');
        const approvedOperand = supplied.mutableFileOperand ?? null;
        if (approvedOperand) {
          let current: string | null = null;
          try {
            current = createHash('sha256').update(readFileSync(approvedOperand.path)).digest('hex');
          } catch {
            current = null;
          }
          if (current !== approvedOperand.sha256 || rebuilt.mutableFileOperand?.path !== approvedOperand.path) {
            deny('SYSTEM_RUN_DENIED: script operand changed since approval');
          }
        } else if (rebuilt.mutableFileOperand && params.approved) {
          deny('SYSTEM_RUN_DENIED: execution plan mismatch');
        }
        plan = rebuilt;
      } else {
        plan = this.buildPlan({
          command: params.command,
          rawCommand: params.rawCommand,
          cwd: params.cwd,
          agentId,
          sessionKey,
        });
      }
    } catch (error) {
      if (error instanceof NodeCommandError) {
        if (!/^SYSTEM_RUN_/.test(error.message)) deny(error.message, error.code);
        throw error;
      }
      throw error;
    }

    const resolved = await this.policyFor(agentId, { security: params.security, ask: params.ask });
    const allowlist = resolved.allowlist;
    if (resolved.policy.security === 'deny') deny('SYSTEM_RUN_DISABLED: security=deny');
    const policy: ExecPolicy = fallbackRun
      ? {
          ...resolved.policy,
          security: stricterSecurity(resolved.policy.security, resolved.policy.askFallback),
          ask: 'off',
        }
      : resolved.policy;
    if (policy.security === 'deny') deny('SYSTEM_RUN_DENIED: nobody answered the approval, and askFallback=deny');

    const ctx = this.resolveCtx(plan.cwd);
    const approved = params.approved === true;
    // Read every time, whatever the policy: what is spawned is the analysed real file, never a name looked up again.
    const analysis = analyzeCommand(plan.argv, ctx);
    if (!analysis.spawnArgv)
      deny(`EXECUTABLE_NOT_FOUND: "${plan.argv[0]}" was not found on this node's PATH`, 'INVALID_REQUEST');
    const spawnArgv = analysis.spawnArgv as string[];
    const evaluation =
      policy.security === 'allowlist'
        ? evaluateAllowlist(analysis, allowlist, ctx)
        : { satisfied: false, durableAllowAlways: false, matches: [] };
    const singleUse = (approved && params.approvalDecision !== 'allow-always') || fallbackRun;
    if (singleUse && runId && this.consumedOnce.has(runId)) deny('SYSTEM_RUN_DENIED: approval already used');
    const needsApproval = requiresApproval({
      policy,
      analysisOk: analysis.ok || evaluation.satisfied,
      allowlistSatisfied: evaluation.satisfied,
      durableAllowAlways: evaluation.durableAllowAlways,
    });
    if (needsApproval && !approved) deny('SYSTEM_RUN_DENIED: approval required');
    if (policy.security === 'allowlist' && !approved && !evaluation.satisfied) {
      const why = analysis.reason ? ` (${analysis.reason})` : '';
      deny(
        fallbackRun
          ? `SYSTEM_RUN_DENIED: nobody answered the approval, and askFallback=allowlist does not cover this command${why}`
          : `SYSTEM_RUN_DENIED: allowlist miss${why}`,
      );
    }
    if (needsApproval || (policy.security === 'allowlist' && !evaluation.satisfied)) {
      // Only the approval lets this run: it was for the files this node prepared: a retargeted link or a replaced binary needs a new one.
      const pin = this.pins.get(planDigest(plan));
      if (!pin || pin.expiresAtMs <= Date.now())
        deny('SYSTEM_RUN_DENIED: this node prepared no plan for the approved command (prepare it again)');
      const changed = changedSincePin(pin as PlanPin, analysis);
      if (changed) {
        this.pins.delete(planDigest(plan));
        deny(`SYSTEM_RUN_DENIED: ${changed} changed since approval`);
      }
    }

    const carrier = detectCarrier(plan.argv, this.platform);
    const shellCarrier = carrier !== null && carrier.kind !== 'inline-eval';
    const envCheck = applyEnvOverrides(this.baseEnv, params.env ?? undefined, {
      platform: this.platform,
      shellCarrier,
    });
    if (!envCheck.ok) deny(envCheck.message);
    const env = (envCheck as { ok: true; env: Record<string, string> }).env;

    if (singleUse && runId) this.consumedOnce.add(runId);
    if (approved && params.approvalDecision === 'allow-always' && this.allowAlwaysEligible(analysis, plan))
      await this.persistAllowAlways(agentId, analysis);
    else if (evaluation.satisfied && !approved)
      void this.recordUse(agentId, evaluation, analysis).catch(() => undefined);

    this.options.emit?.('exec.started', { ...baseEvent });
    let pid: number | undefined;
    const result: RunProcessResult = await runProcess({
      argv: spawnArgv,
      argv0: plan.argv[0],
      cwd: plan.cwd ?? this.defaultCwd,
      env,
      timeoutMs: params.timeoutMs ?? undefined,
      maxOutputChars: this.options.maxOutputChars,
      platform: this.platform,
      decode: this.platform === 'win32' ? decoderForCodePage(consoleCodePage(this.platform)) : undefined,
      onStarted: (started) => {
        pid = started;
        if (started) this.running.add(started);
      },
    });
    if (pid) this.running.delete(pid);
    const output = `${result.stdout}${result.stderr}`;
    this.options.emit?.('exec.finished', {
      ...baseEvent,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      success: result.success,
      output: output.length > EVENT_OUTPUT_TAIL ? output.slice(-EVENT_OUTPUT_TAIL) : output,
      truncated: result.truncated,
      stoppedBy: result.stoppedBy,
      suppressNotifyOnExit: params.suppressNotifyOnExit,
    });
    return {
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      success: result.success,
      stdout: result.stdout,
      stderr: result.stderr,
      error: result.error,
      truncated: result.truncated,
      stoppedBy: result.stoppedBy,
    };
  }

  /** Kills every command still running (their whole process trees). */
  killRunning(): void {
    for (const pid of this.running) killProcessTree(pid, this.platform);
    this.running.clear();
  }

  /**
   * allow-always: the node writes the entries itself, into the agent's list ("*" when none)
   * (docs/protocol.md § The agent's exec flow).
   */
  private async persistAllowAlways(agentId: string | null, analysis: CommandAnalysis): Promise<void> {
    const entries = deriveAllowAlwaysEntries(analysis, this.platform);
    const key = agentId || WILDCARD_AGENT;
    if (!entries.length) return;
    await this.options.store.update((file) => {
      const agent: AgentApprovals = Object.hasOwn(file.agents, key) ? file.agents[key] : (file.agents[key] = {});
      const list = (agent.allowlist ??= []);
      let changed = false;
      for (const entry of entries) {
        const existing = list.find((e) => e.pattern === entry.pattern && !e.argPattern);
        if (!existing) {
          list.push(entry);
          changed = true;
        } else if (isAllowAlwaysSource(existing.source) && existing.fileIdentity !== entry.fileIdentity) {
          // A new decision about a changed file re-pins the entry it made before.
          existing.fileIdentity = entry.fileIdentity;
          existing.lastResolvedPath = entry.lastResolvedPath;
          changed = true;
        }
      }
      return changed;
    });
  }

  private async recordUse(
    agentId: string | null,
    evaluation: ReturnType<typeof evaluateAllowlist>,
    analysis: CommandAnalysis,
  ): Promise<void> {
    const ids = new Map<string, string | undefined>();
    for (const m of evaluation.matches) ids.set(m.entry.id, m.program.realPath ?? undefined);
    if (!ids.size) return;
    const now = Date.now();
    await this.options.store.update((file) => {
      let changed = false;
      for (const key of [agentId || WILDCARD_AGENT, WILDCARD_AGENT]) {
        if (!Object.hasOwn(file.agents, key)) continue;
        for (const entry of file.agents[key].allowlist ?? []) {
          if (!ids.has(entry.id)) continue;
          entry.lastUsedAt = now;
          entry.lastUsedCommand = analysis.commandText;
          const resolved = ids.get(entry.id);
          if (resolved) entry.lastResolvedPath = resolved;
          changed = true;
        }
      }
      return changed;
    });
  }
}
