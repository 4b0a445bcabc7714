import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecApprovalsStore } from '../../gateway/exec/approvals-file';
import { NodeCommandError, SystemRunner } from '../../gateway/exec/system-run';

/**
 * Issue 9's reproductions against the real runner, real files and real child processes. Each "evil" program
 * writes a marker; a bypass is a marker that appears.
 */

let dir: string;
let work: string;
let evilDir: string;
let marker: string;
let store: ExecApprovalsStore;
let runner: SystemRunner;
const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

function evilProgram(at: string): string {
  writeFileSync(at, `#!/bin/sh\necho evil > '${marker}'\n`);
  chmodSync(at, 0o755);
  return at;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(NodeCommandError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

async function allowAlways(command: string[], cwd = work): Promise<void> {
  await runner.prepare({ command, cwd });
  await runner.run({
    command,
    cwd,
    approved: true,
    approvalDecision: 'allow-always',
    runId: `always-${Math.random()}`,
  });
}

beforeEach(() => {
  dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-bypass-')));
  work = path.join(dir, 'work');
  evilDir = path.join(dir, 'evil');
  mkdirSync(work);
  mkdirSync(evilDir);
  marker = path.join(dir, 'MARKER');
  store = new ExecApprovalsStore({ stateDir: path.join(dir, 'state') });
  runner = new SystemRunner({ store, defaultCwd: work, baseEnv: { PATH: SYSTEM_PATH, HOME: dir } });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('issue 9: exec-policy bypasses stay closed', () => {
  it.each(['sh', 'bash', 'env', 'nice', 'timeout', 'nohup', 'stdbuf'])(
    'finding 1: a fake %s wrapping an allowlisted ls is an unknown program, not a wrapper',
    async (name) => {
      await allowAlways(['ls']);
      const fake = evilProgram(path.join(evilDir, name));
      const args =
        name === 'timeout'
          ? ['5', 'ls']
          : name === 'stdbuf'
            ? ['-oL', 'ls']
            : name === 'sh' || name === 'bash'
              ? ['-c', 'ls']
              : ['ls'];
      expect(await refusal(runner.run({ command: [fake, ...args], cwd: work }))).toBe(
        'SYSTEM_RUN_DENIED: approval required',
      );
      expect(existsSync(marker)).toBe(false);
      // The real system wrapper still reads through to ls.
      const real = name === 'sh' ? '/bin/sh' : name === 'bash' ? 'bash' : name;
      expect((await runner.run({ command: [real, ...args], cwd: work })).success).toBe(true);
    },
  );

  it('finding 1: a fake shell behind a real system wrapper is still an unknown program (review attack)', async () => {
    await allowAlways(['ls']);
    const fake = evilProgram(path.join(evilDir, 'sh'));
    for (const command of [
      ['env', fake, '-c', 'ls'],
      ['nice', '-n', '5', 'timeout', '5', fake, '-c', 'ls'],
      ['/bin/sh', '-c', `${fake} -c ls`],
      ['/bin/sh', '-c', 'command -p ls'],
    ]) {
      expect(await refusal(runner.run({ command, cwd: work })), command.join(' ')).toBe(
        'SYSTEM_RUN_DENIED: approval required',
      );
    }
    expect(existsSync(marker)).toBe(false);
  });

  it.each(['--rcfile', '--init-file'])(
    'finding 2: bash %s -c ls does not run a file named ls from the cwd',
    async (option) => {
      await allowAlways(['ls']);
      writeFileSync(path.join(work, 'ls'), `echo evil > '${marker}'\n`, { mode: 0o644 });
      expect(await refusal(runner.run({ command: ['bash', option, '-c', 'ls'], cwd: work }))).toBe(
        'SYSTEM_RUN_DENIED: approval required',
      );
      expect(existsSync(marker)).toBe(false);
    },
  );

  it('finding 6: printf -v PATH and brace expansion cannot reach /evil/ls', async () => {
    await allowAlways(['printf', 'x']);
    await allowAlways(['ls']);
    evilProgram(path.join(evilDir, 'ls'));
    for (const payload of [`printf -v PATH %s ${evilDir}; ls`, `{${evilDir}/ls,x}`, `${evilDir}/ls`]) {
      expect(await refusal(runner.run({ command: ['bash', '-c', payload], cwd: work })), payload).toBe(
        'SYSTEM_RUN_DENIED: approval required',
      );
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('finding 7: allow-always stores the real file, so retargeting a link runs nothing', async () => {
    const real = path.join(dir, 'tool-v1');
    writeFileSync(real, '#!/bin/sh\necho v1\n', { mode: 0o755 });
    const link = path.join(dir, 'tool');
    symlinkSync(real, link);
    await allowAlways([link]);
    const file = JSON.parse(
      (await import('node:fs')).readFileSync(path.join(dir, 'state', 'exec-approvals.json'), 'utf8'),
    );
    expect(file.agents['*'].allowlist.map((e: { pattern: string }) => e.pattern)).toEqual([real]);
    expect((await runner.run({ command: [link], cwd: work })).stdout).toBe('v1\n');
    unlinkSync(link);
    symlinkSync(evilProgram(path.join(evilDir, 'other')), link);
    expect(await refusal(runner.run({ command: [link], cwd: work }))).toBe('SYSTEM_RUN_DENIED: approval required');
    expect(existsSync(marker)).toBe(false);
  });

  it('finding 7: an allow-once approval is for the file that was prepared; a retarget or a rewrite needs a new one', async () => {
    const real = path.join(dir, 'tool-v1');
    writeFileSync(real, '#!/bin/sh\necho v1\n', { mode: 0o755 });
    const link = path.join(dir, 'tool');
    symlinkSync(real, link);
    await runner.prepare({ command: [link], cwd: work });
    unlinkSync(link);
    symlinkSync(evilProgram(path.join(evilDir, 'other')), link);
    expect(
      await refusal(
        runner.run({ command: [link], cwd: work, approved: true, approvalDecision: 'allow-once', runId: 'once-1' }),
      ),
    ).toMatch(/^SYSTEM_RUN_DENIED: .* changed since approval$/);
    expect(existsSync(marker)).toBe(false);
    // Same path, new content: also a different program.
    const inPlace = path.join(dir, 'in-place');
    writeFileSync(inPlace, '#!/bin/sh\necho ok\n', { mode: 0o755 });
    await runner.prepare({ command: [inPlace], cwd: work });
    writeFileSync(inPlace, `#!/bin/sh\necho evil > '${marker}'\n# longer than before\n`, { mode: 0o755 });
    expect(
      await refusal(
        runner.run({ command: [inPlace], cwd: work, approved: true, approvalDecision: 'allow-once', runId: 'once-2' }),
      ),
    ).toMatch(/changed since approval/);
    expect(existsSync(marker)).toBe(false);
  });

  it('finding 8: allow-always on git status covers exactly git status', async () => {
    await allowAlways(['git', '--version']);
    expect((await runner.run({ command: ['git', '--version'], cwd: work })).success).toBe(true);
    for (const argv of [
      ['git', '-c', `alias.x=!echo evil > '${marker}'`, 'x'],
      ['git', '-c', `core.fsmonitor=echo evil > '${marker}'`, '--version'],
      ['git', '--version', '--build-options'],
    ]) {
      expect(await refusal(runner.run({ command: argv, cwd: work }))).toBe('SYSTEM_RUN_DENIED: approval required');
    }
    for (const env of [
      { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.pager', GIT_CONFIG_VALUE_0: 'sh' },
      { GIT_CONFIG_PARAMETERS: "'alias.x'='!id'" },
    ]) {
      expect(await refusal(runner.run({ command: ['git', '--version'], cwd: work, env }))).toMatch(
        /^SYSTEM_RUN_DENIED: environment override rejected/,
      );
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('finding 9: a relative PATH entry never reaches a shell payload', async () => {
    runner = new SystemRunner({ store, defaultCwd: work, baseEnv: { PATH: `.:${SYSTEM_PATH}:relative`, HOME: dir } });
    await allowAlways(['ls']);
    evilProgram(path.join(work, 'ls'));
    const out = await runner.run({ command: ['sh', '-c', 'ls'], cwd: work });
    expect(out.success).toBe(true);
    expect(out.stdout).toContain('ls');
    expect(existsSync(marker)).toBe(false);
  });

  it("shell start-up hooks in Clawdesk's own environment never reach a command", async () => {
    const hook = evilProgram(path.join(evilDir, 'hook.sh'));
    runner = new SystemRunner({
      store,
      defaultCwd: work,
      baseEnv: { PATH: SYSTEM_PATH, HOME: dir, BASH_ENV: hook, 'BASH_FUNC_ls%%': `() { echo evil > '${marker}'; }` },
    });
    await allowAlways(['ls']);
    expect((await runner.run({ command: ['bash', '-c', 'ls'], cwd: work })).success).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it('finding 5: agentId "__proto__" is refused and pollutes nothing', async () => {
    for (const agentId of ['__proto__', 'constructor', 'prototype']) {
      expect(await refusal(runner.prepare({ command: ['ls'], cwd: work, agentId }))).toMatch(/reserved/);
      expect(
        await refusal(
          runner.run({
            command: ['ls'],
            cwd: work,
            agentId,
            approved: true,
            approvalDecision: 'allow-always',
            runId: 'p',
          }),
        ),
      ).toMatch(/reserved/);
    }
    expect(({} as Record<string, unknown>).allowlist).toBeUndefined();
  });

  it('what cannot be read is never eligible for allow-always', async () => {
    const command = ['bash', '-c', `ls > '${path.join(work, 'out')}'`];
    const prepared = (await runner.prepare({ command, cwd: work })) as {
      execPolicy: { allowedDecisions: string[] };
      allowAlwaysCoverage: { patterns: string[] };
    };
    expect(prepared.execPolicy.allowedDecisions).toEqual(['allow-once', 'deny']);
    expect(prepared.allowAlwaysCoverage.patterns).toEqual([]);
    await runner.run({ command, cwd: work, approved: true, approvalDecision: 'allow-always', runId: 'a1' });
    expect(await refusal(runner.run({ command, cwd: work }))).toBe('SYSTEM_RUN_DENIED: approval required');
  });
});
