import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecApprovalsStore } from '../../gateway/exec/approvals-file';
import { NodeCommandError, SystemRunner } from '../../gateway/exec/system-run';

let dir: string;
let stateDir: string;
let work: string;
let events: Array<{ event: string; payload: Record<string, unknown> }>;
let store: ExecApprovalsStore;
let runner: SystemRunner;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-sysrun-'));
  stateDir = path.join(dir, 'state');
  work = path.join(dir, 'work');
  mkdirSync(work, { recursive: true });
  events = [];
  store = new ExecApprovalsStore({ stateDir });
  runner = new SystemRunner({ store, defaultCwd: work, emit: (event, payload) => events.push({ event, payload }) });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(promise: Promise<unknown>): Promise<NodeCommandError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(NodeCommandError);
    return error as NodeCommandError;
  }
  throw new Error('expected a refusal');
}

const touch = (name: string) => ['/bin/sh', '-lc', `touch ${name}`];

/** What the gateway's approval flow does: the node prepares the plan (and pins its files), then runs it approved. */
async function approvedRun(params: Record<string, unknown> & { command: string[] }) {
  await runner.prepare({
    command: params.command,
    cwd: params.cwd as string | undefined,
    agentId: params.agentId as string | undefined,
  });
  return runner.run({ approved: true, ...params });
}

describe('system.run.prepare', () => {
  it('plans with the resolved executable, real cwd and the shell payload as text', async () => {
    const out = (await runner.prepare({
      command: ['sh', '-lc', 'ls -la'],
      rawCommand: 'ls -la',
      cwd: work,
      agentId: 'main',
      sessionKey: 's1',
    })) as any;
    expect(out.plan.argv[0]).toMatch(/\/sh$/);
    expect(path.isAbsolute(out.plan.argv[0])).toBe(true);
    expect(out.plan).toMatchObject({
      cwd: realpathSync(work),
      commandText: 'ls -la',
      agentId: 'main',
      sessionKey: 's1',
    });
    expect(out.execPolicy).toMatchObject({
      security: 'allowlist',
      ask: 'on-miss',
      askFallback: 'deny',
      requiresApproval: true,
    });
  });

  /**
   * The real openclaw gateway normalizes `systemRunPlan` and discards the whole plan when an optional field is
   * present but malformed, then refuses the approval with "systemRunPlan is required for host=node" (interop
   * notes §6): argv a non-empty array of strings (an empty argument is a real argument), commandText non-empty, mutableFileOperand absent or complete,
   * policySnapshot absent or complete.
   */
  function upstreamPlanProblems(plan: Record<string, any>): string[] {
    const problems: string[] = [];
    if (
      !Array.isArray(plan.argv) ||
      plan.argv.length === 0 ||
      !plan.argv.every((a: unknown) => typeof a === 'string') ||
      !plan.argv[0]
    )
      problems.push('argv');
    if (typeof plan.commandText !== 'string' || !plan.commandText.trim()) problems.push('commandText');
    if ('mutableFileOperand' in plan) {
      const m = plan.mutableFileOperand;
      const ok =
        m &&
        typeof m === 'object' &&
        Number.isInteger(m.argvIndex) &&
        m.argvIndex >= 0 &&
        typeof m.path === 'string' &&
        m.path &&
        typeof m.sha256 === 'string' &&
        m.sha256;
      if (!ok) problems.push('mutableFileOperand');
    }
    if ('policySnapshot' in plan) {
      const p = plan.policySnapshot;
      const ok =
        p &&
        typeof p === 'object' &&
        typeof p.security === 'string' &&
        typeof p.ask === 'string' &&
        typeof p.askFallback === 'string' &&
        typeof p.autoAllowSkills === 'boolean' &&
        Array.isArray(p.allowlistRules);
      if (!ok) problems.push('policySnapshot');
    }
    return problems;
  }

  it('plans the real openclaw gateway accepts: no mutableFileOperand key without an operand, never an empty commandText', async () => {
    const plain = (await runner.prepare({
      command: ['uname', '-s'],
      rawCommand: 'uname -s',
      agentId: 'main',
      sessionKey: 's1',
    })) as any;
    expect('mutableFileOperand' in plain.plan).toBe(false);
    expect(upstreamPlanProblems(plain.plan)).toEqual([]);
    // Through JSON too (what actually crosses the wire): no `"mutableFileOperand":null`.
    expect(JSON.stringify(plain.plan)).not.toContain('mutableFileOperand');

    writeFileSync(path.join(work, 'job.sh'), 'echo hi\n');
    const script = (await runner.prepare({ command: ['sh', 'job.sh'], cwd: work })) as any;
    expect(script.plan.mutableFileOperand.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(upstreamPlanProblems(script.plan)).toEqual([]);

    const blank = (await runner.prepare({ command: ['sh', '-c', ''], cwd: work })) as any;
    expect(blank.plan.commandText.trim()).not.toBe('');
    expect(upstreamPlanProblems(blank.plan)).toEqual([]);
  });

  it('renders commandText with the resolved executable, so the agent can run plan.argv with rawCommand = plan.commandText', async () => {
    await store.set({ version: 1, agents: { '*': { security: 'full', ask: 'off' } } }, undefined);
    const { plan } = (await runner.prepare({
      command: ['uname', '-s'],
      rawCommand: 'uname -s',
      agentId: 'main',
      sessionKey: 's1',
    })) as any;
    expect(path.isAbsolute(plan.argv[0])).toBe(true);
    expect(plan.commandText).toBe(`${plan.argv[0]} -s`);
    // Step 4 of the agent's flow (docs/protocol.md § The agent's exec flow), exactly as the real agent (and the interop
    // suite) sends it.
    const ran = await runner.run({
      command: plan.argv,
      rawCommand: plan.commandText,
      systemRunPlan: plan,
      cwd: plan.cwd,
      agentId: 'main',
      sessionKey: 's1',
    });
    expect(ran).toMatchObject({ exitCode: 0, success: true });
    expect(ran.stdout.trim()).toBe(os.type());
    // Still bound: a rawCommand naming something else is refused.
    expect(
      (await refusal(runner.run({ command: plan.argv, rawCommand: 'uname -a', systemRunPlan: plan }))).message,
    ).toMatch(/^RAW_COMMAND_MISMATCH/);
  });

  it('hashes a script operand', async () => {
    writeFileSync(path.join(work, 'job.sh'), 'echo hi\n');
    const out = (await runner.prepare({ command: ['sh', 'job.sh'], cwd: work })) as any;
    expect(out.plan.mutableFileOperand).toMatchObject({ argvIndex: 1, path: realpathSync(path.join(work, 'job.sh')) });
  });

  it('refuses a rawCommand that does not match, a missing executable, a missing cwd', async () => {
    expect((await refusal(runner.prepare({ command: ['ls'], rawCommand: 'rm -rf /' }))).message).toMatch(
      /^RAW_COMMAND_MISMATCH/,
    );
    expect((await refusal(runner.prepare({ command: ['definitely-not-a-command-xyz'] }))).message).toMatch(
      /^EXECUTABLE_NOT_FOUND/,
    );
    expect((await refusal(runner.prepare({ command: ['ls'], cwd: path.join(dir, 'gone') }))).message).toMatch(
      /^CWD_NOT_FOUND/,
    );
    expect((await refusal(runner.prepare({ command: [] }))).code).toBe('INVALID_REQUEST');
    expect((await refusal(runner.prepare({ command: 'ls' }))).code).toBe('INVALID_REQUEST');
  });
});

describe('system.run under the node policy', () => {
  it('asks under the defaults and runs once approved', async () => {
    const err = await refusal(runner.run({ command: touch('a'), cwd: work }));
    expect(err.message).toBe('SYSTEM_RUN_DENIED: approval required');
    expect(existsSync(path.join(work, 'a'))).toBe(false);
    expect(events.map((e) => e.event)).toEqual(['exec.denied']);

    const ok = await approvedRun({ command: touch('a'), cwd: work, approvalDecision: 'allow-once', runId: 'r1' });
    expect(ok).toMatchObject({ exitCode: 0, success: true, timedOut: false, error: null });
    expect(existsSync(path.join(work, 'a'))).toBe(true);
    expect(events.map((e) => e.event)).toEqual(['exec.denied', 'exec.started', 'exec.finished']);
    expect(events[2].payload).toMatchObject({ runId: 'r1', host: 'node', exitCode: 0, success: true });

    // The same allow-once run id is not honoured twice on this node.
    expect(
      (await refusal(approvedRun({ command: touch('b'), cwd: work, approvalDecision: 'allow-once', runId: 'r1' })))
        .message,
    ).toMatch(/already used/);
    expect(existsSync(path.join(work, 'b'))).toBe(false);
  });

  it('security=deny denies even an approved run', async () => {
    await store.set({ version: 1, agents: { '*': { security: 'deny' } } }, undefined);
    expect((await refusal(runner.run({ command: touch('x'), cwd: work, approved: true }))).message).toBe(
      'SYSTEM_RUN_DISABLED: security=deny',
    );
    expect(existsSync(path.join(work, 'x'))).toBe(false);
  });

  it('ask=off + allowlist refuses a miss without asking; full runs anything', async () => {
    await store.set({ version: 1, agents: { '*': { security: 'allowlist', ask: 'off' } } }, undefined);
    expect((await refusal(runner.run({ command: touch('x'), cwd: work }))).message).toMatch(
      /^SYSTEM_RUN_DENIED: allowlist miss/,
    );
    const snap = await store.snapshot();
    await store.set({ version: 1, agents: { '*': { security: 'full', ask: 'off' } } }, snap.hash);
    expect((await runner.run({ command: touch('x'), cwd: work })).success).toBe(true);
    // The gateway's stricter request wins over the file.
    expect((await refusal(runner.run({ command: touch('y'), cwd: work, ask: 'always' }))).message).toBe(
      'SYSTEM_RUN_DENIED: approval required',
    );
  });

  it('allow-always on bash -lc persists the inner program, not bash, and the same command then runs unasked', async () => {
    const cmd = ['bash', '-lc', 'touch one'];
    await approvedRun({ command: cmd, cwd: work, approvalDecision: 'allow-always', runId: 'r-always' });
    const file = JSON.parse(readFileSync(path.join(stateDir, 'exec-approvals.json'), 'utf8'));
    const patterns = file.agents['*'].allowlist.map((e: any) => e.pattern);
    expect(patterns).toHaveLength(1);
    expect(patterns[0]).toMatch(/\/touch$/);
    expect(patterns.some((p: string) => /\/(ba)?sh$/.test(p))).toBe(false);
    rmSync(path.join(work, 'one'));
    expect((await runner.run({ command: cmd, cwd: work })).success).toBe(true);
    expect(existsSync(path.join(work, 'one'))).toBe(true);
    // bash itself stays unapproved.
    expect((await refusal(runner.run({ command: ['bash', '-lc', 'rm -f one'], cwd: work }))).message).toBe(
      'SYSTEM_RUN_DENIED: approval required',
    );
    expect((await refusal(runner.run({ command: ['bash', '-lc', 'touch two > /dev/null'], cwd: work }))).message).toBe(
      'SYSTEM_RUN_DENIED: approval required',
    );
    expect(existsSync(path.join(work, 'one'))).toBe(true);
  });

  describe('nobody answered (approvalSource "ask-fallback"): this node\'s own askFallback decides', () => {
    const touchPath = () => realpathSync('/usr/bin/touch');
    /** The prepared plan the agent replays after its wait for a decision came back empty. */
    async function fallbackRun(command: string[], runId: string, extra: Record<string, unknown> = {}) {
      const { plan } = (await runner.prepare({ command, cwd: work, agentId: 'main', sessionKey: 's1' })) as any;
      return runner.run({
        command: plan.argv,
        systemRunPlan: plan,
        cwd: work,
        agentId: 'main',
        sessionKey: 's1',
        approvalSource: 'ask-fallback',
        runId,
        ...extra,
      });
    }
    const policy = (askFallback: string, allowlist: string[] = [], security = 'allowlist') =>
      store.set(
        {
          version: 1,
          agents: {
            main: {
              security,
              ask: 'always',
              askFallback,
              allowlist: allowlist.map((pattern) => ({ pattern })),
            },
          },
        },
        undefined,
      );

    it('deny (the default): nothing runs, and the refusal names askFallback', async () => {
      await policy('deny', [touchPath()]);
      const err = await refusal(fallbackRun([touchPath(), 'fd'], 'f-deny'));
      expect(err.message).toBe('SYSTEM_RUN_DENIED: nobody answered the approval, and askFallback=deny');
      expect(existsSync(path.join(work, 'fd'))).toBe(false);
    });

    it('allowlist: an allowlisted command runs once even under ask=always; a miss does not run', async () => {
      await policy('allowlist', [touchPath()]);
      expect(await fallbackRun([touchPath(), 'hit'], 'f-hit')).toMatchObject({ exitCode: 0, success: true });
      expect(existsSync(path.join(work, 'hit'))).toBe(true);
      // The same fallback twice is one run too many.
      expect((await refusal(fallbackRun([touchPath(), 'hit2'], 'f-hit'))).message).toMatch(/already used/);
      const miss = await refusal(fallbackRun(['/bin/mkdir', 'miss'], 'f-miss'));
      expect(miss.message).toMatch(
        /^SYSTEM_RUN_DENIED: nobody answered the approval, and askFallback=allowlist does not cover/,
      );
      expect(existsSync(path.join(work, 'miss'))).toBe(false);
      expect(existsSync(path.join(work, 'hit2'))).toBe(false);
    });

    it('full: runs what was asked under security=full; a stricter security still wins', async () => {
      // askFallback never loosens security: under allowlist, askFallback=full is allowlist.
      await policy('full', [], 'allowlist');
      expect((await refusal(fallbackRun([touchPath(), 'fa'], 'f-fa'))).message).toMatch(/askFallback=allowlist/);
      await store.set(
        { version: 1, agents: { main: { security: 'full', ask: 'always', askFallback: 'full' } } },
        (await store.snapshot()).hash,
      );
      expect((await fallbackRun([touchPath(), 'ff'], 'f-full')).success).toBe(true);
      await store.set(
        { version: 1, agents: { main: { security: 'deny', ask: 'always', askFallback: 'full' } } },
        (await store.snapshot()).hash,
      );
      expect((await refusal(fallbackRun([touchPath(), 'fs'], 'f-sd'))).message).toBe(
        'SYSTEM_RUN_DISABLED: security=deny',
      );
    });

    it('is refused without the plan, beside an explicit approval, and under any other source', async () => {
      await policy('full');
      const plain = { command: [touchPath(), 'z'], cwd: work, agentId: 'main', sessionKey: 's1', runId: 'r' };
      expect((await refusal(runner.run({ ...plain, approvalSource: 'ask-fallback' }))).message).toBe(
        'SYSTEM_RUN_DENIED: ask-fallback needs the prepared execution plan',
      );
      expect((await refusal(fallbackRun([touchPath(), 'z'], 'r2', { approved: true }))).message).toBe(
        'approvalSource cannot be combined with an explicit approval',
      );
      expect((await refusal(runner.run({ ...plain, approvalSource: 'auto-review' }))).message).toBe(
        'approvalSource invalid: only "ask-fallback" is known here',
      );
      expect(existsSync(path.join(work, 'z'))).toBe(false);
    });
  });

  it('refuses a NUL byte in an argument before any plan exists', async () => {
    const err = await refusal(runner.prepare({ command: ['sh', '-lc', 'basename a\u0000b'], cwd: work }));
    expect(err.message).toBe('invalid params: command.2: command arguments must not contain NUL bytes');
    expect((await refusal(runner.run({ command: ['/bin/echo', 'a\u0000b'], cwd: work }))).message).toMatch(/NUL bytes/);
    expect(events).toEqual([]);
  });

  it('prepare reports a plan the allowlist already covers as security full; the run still decides from the file', async () => {
    const reported = async (command: string[]) =>
      ((await runner.prepare({ command, cwd: work })) as any).execPolicy as Record<string, unknown>;
    expect(await reported(['sh', '-lc', 'touch a'])).toMatchObject({
      security: 'allowlist',
      policySecurity: 'allowlist',
      requiresApproval: true,
    });
    await approvedRun({ command: ['sh', '-lc', 'touch a'], cwd: work, approvalDecision: 'allow-always' });
    // Same program, other arguments: covered, so an OpenClaw agent need not ask (docs/protocol.md).
    expect(await reported(['sh', '-lc', 'touch b'])).toMatchObject({
      security: 'full',
      policySecurity: 'allowlist',
      allowlistSatisfied: true,
      requiresApproval: false,
    });
    // Another program is not covered and is reported as it is; run() refuses it unapproved whatever prepare said.
    expect(await reported(['sh', '-lc', 'rm -f a'])).toMatchObject({ security: 'allowlist', requiresApproval: true });
    expect(
      (await refusal(runner.run({ command: ['sh', '-lc', 'rm -f a'], cwd: work, security: 'full' }))).message,
    ).toBe('SYSTEM_RUN_DENIED: approval required');
    expect(existsSync(path.join(work, 'a'))).toBe(true);
    // Removing the entry after prepare: the unapproved run is refused.
    await store.update((file) => {
      file.agents['*'].allowlist = [];
      return true;
    });
    expect((await refusal(runner.run({ command: ['sh', '-lc', 'touch b'], cwd: work }))).message).toBe(
      'SYSTEM_RUN_DENIED: approval required',
    );
    expect(existsSync(path.join(work, 'b'))).toBe(false);
  });

  it('allow-always on inline code binds to the exact argv', async () => {
    const cmd = [process.execPath, '-e', 'require("fs").writeFileSync("n1","")'];
    await approvedRun({ command: cmd, cwd: work, approvalDecision: 'allow-always' });
    const file = JSON.parse(readFileSync(path.join(stateDir, 'exec-approvals.json'), 'utf8'));
    expect(file.agents['*'].allowlist.map((e: any) => e.pattern)).toEqual([expect.stringMatching(/^=command:/)]);
    expect((await runner.run({ command: cmd, cwd: work })).success).toBe(true);
    expect(
      (
        await refusal(
          runner.run({ command: [process.execPath, '-e', 'require("fs").writeFileSync("n2","")'], cwd: work }),
        )
      ).message,
    ).toBe('SYSTEM_RUN_DENIED: approval required');
    expect(existsSync(path.join(work, 'n2'))).toBe(false);
  });

  it('refuses an environment override of PATH and runs nothing', async () => {
    const err = await refusal(
      approvedRun({
        command: [process.execPath, '-e', 'require("fs").writeFileSync("e","")'],
        cwd: work,
        env: { PATH: '/tmp/evil' },
      }),
    );
    expect(err.message).toMatch(/^SYSTEM_RUN_DENIED: environment override rejected/);
    expect(existsSync(path.join(work, 'e'))).toBe(false);
    const ok = await approvedRun({
      command: [process.execPath, '-e', 'process.stdout.write(process.env.GREETING)'],
      cwd: work,
      env: { GREETING: 'hi' },
    });
    expect(ok.stdout).toBe('hi');
  });

  it('refuses a plan whose cwd or script operand changed since approval', async () => {
    writeFileSync(path.join(work, 'job.sh'), 'touch ran\n');
    const { plan } = (await runner.prepare({ command: ['sh', 'job.sh'], cwd: work })) as any;
    writeFileSync(path.join(work, 'job.sh'), 'rm -rf "$HOME"\n');
    expect(
      (await refusal(runner.run({ command: ['sh', 'job.sh'], cwd: work, systemRunPlan: plan, approved: true })))
        .message,
    ).toMatch(/script operand changed/);
    const other = path.join(dir, 'other');
    mkdirSync(other);
    writeFileSync(path.join(other, 'job.sh'), 'touch ran\n');
    expect(
      (await refusal(runner.run({ command: ['sh', 'job.sh'], cwd: other, systemRunPlan: plan, approved: true })))
        .message,
    ).toMatch(/cwd changed|operand changed/);
    expect(existsSync(path.join(work, 'ran')) || existsSync(path.join(other, 'ran'))).toBe(false);
    // The plan's argv differing from the command is a mismatch.
    const p2 = (await runner.prepare({ command: ['ls'], cwd: work })) as any;
    expect(
      (await refusal(runner.run({ command: ['touch', 'z'], cwd: work, systemRunPlan: p2.plan, approved: true })))
        .message,
    ).toBe('SYSTEM_RUN_DENIED: execution plan mismatch');
  });

  it('reports a timeout', async () => {
    const r = await approvedRun({
      command: [process.execPath, '-e', 'setInterval(()=>{},1000)'],
      cwd: work,
      timeoutMs: 300,
    });
    expect(r).toMatchObject({ timedOut: true, success: false, truncated: false, stoppedBy: 'timeout' });
  });

  it('which resolves names on PATH', () => {
    const out = runner.which({ bins: ['sh', 'no-such-bin-xyz'] });
    expect(Object.keys(out.bins)).toEqual(['sh']);
  });
});
