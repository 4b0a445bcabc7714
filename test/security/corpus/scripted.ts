import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { attempt, linuxHarness, recordAlways, type LinuxHarness } from '../helpers/corpus-harness';
import type { CorpusCase, Outcome } from '../helpers/corpus-types';
import { loggingScript, writeExecutable } from '../helpers/scratch';

/**
 * Cases that need steps between the decision and the run: symlink retargets and file swaps (finding 7), tampered
 * plans (finding 3 and plan mismatch). Each starts from a scratch dir with @S/real/good (appends to @G) and
 * @S/real/evil (appends to @M), and @S/bin/tool → @S/real/good.
 */

export interface ScriptedCase {
  name: string;
  finding?: number | number[];
  tags?: string[];
  /** 'pinned': after the change, the approved run either is refused or runs exactly what was approved. */
  expect: Outcome | 'pinned';
  setup?: Pick<CorpusCase, 'fixture' | 'allow' | 'path'>;
  run(h: LinuxHarness): Promise<void>;
}

function retarget(linkPath: string, target: string): void {
  const tmp = `${linkPath}.tmp-${process.pid}`;
  symlinkSync(target, tmp);
  renameSync(tmp, linkPath);
}

/** Replaces a file with a new one (new inode) holding different content, keeping the mode. */
function swapFile(p: string, content: string): void {
  const tmp = `${p}.tmp-${process.pid}`;
  writeExecutable(tmp, content);
  renameSync(tmp, p);
}

async function expectNeedsDecision(h: LinuxHarness, argv: string[], story: string): Promise<void> {
  const prep = (await h.runner.prepare({ command: argv, cwd: h.s.work })) as any;
  expect(prep.execPolicy.requiresApproval, `${story}: prepare must ask again`).toBe(true);
  const got = await attempt(h.runner.run({ command: argv, cwd: h.s.work, timeoutMs: 10_000 }));
  expect(got.ok, `${story}: ran without a new decision`).toBe(false);
  expect(h.marker(), `${story}: the evil program ran without a decision`).toBe(false);
}

async function expectRuns(h: LinuxHarness, argv: string[], story: string): Promise<void> {
  const got = await attempt(h.runner.run({ command: argv, cwd: h.s.work, timeoutMs: 10_000 }));
  expect(got.ok ? null : got.error.message, `${story}: must run unasked`).toBeNull();
}

async function prepared(h: LinuxHarness, argv: string[]): Promise<any> {
  return ((await h.runner.prepare({ command: argv, cwd: h.s.work })) as any).plan;
}

/** After a change, the approved plan must be refused, or run exactly the approved file (never the new one). */
async function expectPinned(h: LinuxHarness, plan: any, story: string): Promise<void> {
  const got = await attempt(
    h.runner.run({
      command: plan.argv,
      rawCommand: plan.commandText,
      systemRunPlan: plan,
      cwd: plan.cwd,
      approved: true,
      approvalDecision: 'allow-once',
      runId: randomUUID(),
      timeoutMs: 10_000,
    }),
  );
  expect(
    h.marker(),
    `${story}: the approved plan ran a different program (${got.ok ? 'ran' : got.error.message})`,
  ).toBe(false);
  if (got.ok) expect(h.goodMarker(), `${story}: ran, but not the approved program`).toBe(true);
}

const tool = (h: LinuxHarness) => path.join(h.s.root, 'bin/tool');

export const SCRIPTED: ScriptedCase[] = [
  {
    name: 'allow-always on a symlink, then the link is retargeted to an evil program',
    finding: 7,
    tags: ['symlink', 'allow-always'],
    expect: 'needs-decision',
    async run(h) {
      await recordAlways(h, [[tool(h)]], h.s.work);
      expect(await h.patterns(), 'allow-always must store the real path, not the link').not.toContain(tool(h));
      retarget(tool(h), path.join(h.s.root, 'real/evil'));
      await expectNeedsDecision(h, [tool(h)], 'retargeted after allow-always');
    },
  },
  {
    name: 'allow-always on a symlink found on PATH, then retargeted',
    finding: 7,
    tags: ['symlink', 'allow-always', 'path'],
    expect: 'needs-decision',
    setup: { path: ['@S/bin', '/usr/bin', '/bin'] },
    async run(h) {
      await recordAlways(h, [['tool']], h.s.work);
      retarget(tool(h), path.join(h.s.root, 'real/evil'));
      await expectNeedsDecision(h, ['tool'], 'retargeted after allow-always via PATH');
    },
  },
  {
    name: 'allow-always on a program reached through a directory symlink, then the directory link is retargeted',
    finding: 7,
    tags: ['symlink', 'allow-always'],
    expect: 'needs-decision',
    async run(h) {
      const dirLink = path.join(h.s.root, 'binlink');
      symlinkSync(path.join(h.s.root, 'bin'), dirLink);
      await recordAlways(h, [[path.join(dirLink, 'tool')]], h.s.work);
      retarget(dirLink, path.join(h.s.root, 'real2'));
      await expectNeedsDecision(h, [path.join(dirLink, 'tool')], 'directory link retargeted after allow-always');
    },
  },
  {
    name: 'allow-always on a symlink to /usr/bin/ls, then retargeted to an evil ls',
    finding: 7,
    tags: ['symlink', 'allow-always'],
    expect: 'needs-decision',
    async run(h) {
      const l = path.join(h.s.root, 'links/ls');
      mkdirSync(path.join(h.s.root, 'links'), { recursive: true });
      symlinkSync('/usr/bin/ls', l);
      await recordAlways(h, [[l]], h.s.work);
      retarget(l, path.join(h.s.evilDir, 'ls'));
      await expectNeedsDecision(h, [l], 'link to ls retargeted');
    },
  },
  {
    name: 'allow-always inside a shell payload (sh -c tool, tool a link on PATH), then retargeted',
    finding: [6, 7],
    tags: ['symlink', 'allow-always', 'shell'],
    expect: 'needs-decision',
    setup: { path: ['@S/bin', '/usr/bin', '/bin'] },
    async run(h) {
      await recordAlways(h, [['/bin/sh', '-c', 'tool']], h.s.work);
      retarget(tool(h), path.join(h.s.root, 'real/evil'));
      await expectNeedsDecision(h, ['/bin/sh', '-c', 'tool'], 'retargeted after allow-always of sh -c tool');
    },
  },
  {
    name: 'allow-always on a regular file, then the file is replaced (new inode, new content)',
    finding: 7,
    tags: ['pin', 'allow-always'],
    expect: 'needs-decision',
    async run(h) {
      const p = path.join(h.s.root, 'real/good');
      await recordAlways(h, [[p]], h.s.work);
      swapFile(p, loggingScript(h.s.marker));
      await expectNeedsDecision(h, [p], 'file replaced after allow-always');
    },
  },
  {
    name: 'allow-always on a regular file, then rewritten in place (same inode, new size and mtime)',
    finding: 7,
    tags: ['pin', 'allow-always'],
    expect: 'needs-decision',
    async run(h) {
      const p = path.join(h.s.root, 'real/good');
      await recordAlways(h, [[p]], h.s.work);
      writeFileSync(p, `${loggingScript(h.s.marker)}# changed\n`);
      await expectNeedsDecision(h, [p], 'file rewritten after allow-always');
    },
  },
  {
    name: 'allow-once plan for a symlink, link retargeted before the run',
    finding: 7,
    tags: ['symlink', 'allow-once'],
    expect: 'pinned',
    async run(h) {
      const plan = await prepared(h, [tool(h)]);
      retarget(tool(h), path.join(h.s.root, 'real/evil'));
      await expectPinned(h, plan, 'retargeted after allow-once');
    },
  },
  {
    name: 'allow-once plan for a regular file, file replaced before the run',
    finding: 7,
    tags: ['pin', 'allow-once'],
    expect: 'pinned',
    async run(h) {
      const p = path.join(h.s.root, 'real/good');
      const plan = await prepared(h, [p]);
      swapFile(p, loggingScript(h.s.marker));
      await expectPinned(h, plan, 'replaced after allow-once');
    },
  },
  {
    name: 'allow-once plan for sh -c tool (tool a link on PATH), retargeted before the run',
    finding: [6, 7],
    tags: ['symlink', 'allow-once', 'shell'],
    expect: 'pinned',
    setup: { path: ['@S/bin', '/usr/bin', '/bin'] },
    async run(h) {
      const plan = await prepared(h, ['/bin/sh', '-c', 'tool']);
      retarget(tool(h), path.join(h.s.root, 'real/evil'));
      await expectPinned(h, plan, 'payload program retargeted after allow-once');
    },
  },
  {
    name: 'user pattern for the real file runs the link; after a retarget it needs a decision',
    finding: 7,
    tags: ['symlink', 'positive'],
    expect: 'needs-decision',
    setup: { allow: ['@S/real/good'] },
    async run(h) {
      await expectRuns(h, [tool(h)], 'link to an allowlisted real file');
      expect(h.goodMarker()).toBe(true);
      retarget(tool(h), path.join(h.s.root, 'real/evil'));
      await expectNeedsDecision(h, [tool(h)], 'retargeted away from the allowlisted file');
    },
  },
  {
    name: 'check/spawn race: a link flipping between an allowlisted and an evil file never runs the evil one',
    finding: 7,
    tags: ['symlink', 'race'],
    expect: 'runs',
    setup: { allow: ['@S/real/good'] },
    async run(h) {
      const l = tool(h);
      const flipper = spawn(
        '/bin/bash',
        [
          '-c',
          'while :; do ln -sfn "$1" "$3.n" && mv -fT "$3.n" "$3"; ln -sfn "$2" "$3.n" && mv -fT "$3.n" "$3"; done',
          'flip',
          path.join(h.s.root, 'real/good'),
          path.join(h.s.root, 'real/evil'),
          l,
        ],
        { stdio: 'ignore', env: { PATH: '/usr/bin:/bin' } },
      );
      try {
        const deadline = Date.now() + 4_000;
        let tries = 0;
        while (Date.now() < deadline && tries < 300 && !h.marker()) {
          tries++;
          await attempt(h.runner.run({ command: [l], cwd: h.s.work, timeoutMs: 5_000 }));
        }
        expect(tries).toBeGreaterThan(20);
      } finally {
        flipper.kill('SIGKILL');
      }
      expect(h.marker(), 'the evil target ran in the check/spawn window').toBe(false);
    },
  },
  // Plans (finding 3 and plan mismatch): refused even approved.
  {
    name: 'a plan whose argv[0] says /usr/bin/ls while the command is touch',
    finding: 3,
    tags: ['plan', 'refused'],
    expect: 'refused',
    async run(h) {
      const plan = await prepared(h, ['/usr/bin/touch', h.s.marker]);
      const tampered = { ...plan, argv: ['/usr/bin/ls', '-la'], commandText: '/usr/bin/ls -la' };
      const got = await attempt(
        h.runner.run({
          command: ['/usr/bin/touch', h.s.marker],
          systemRunPlan: tampered,
          cwd: plan.cwd,
          approved: true,
          approvalDecision: 'allow-once',
          runId: randomUUID(),
        }),
      );
      expect(got.ok, 'a plan for another argv ran').toBe(false);
      expect(h.marker()).toBe(false);
    },
  },
  {
    name: 'a plan approved for one cwd, run in another',
    tags: ['plan', 'refused'],
    expect: 'refused',
    async run(h) {
      const plan = await prepared(h, ['/usr/bin/touch', 'x']);
      const other = path.join(h.s.root, 'other');
      mkdirSync(other, { recursive: true });
      const got = await attempt(
        h.runner.run({
          command: plan.argv,
          systemRunPlan: plan,
          cwd: other,
          approved: true,
          approvalDecision: 'allow-once',
          runId: randomUUID(),
        }),
      );
      expect(got.ok).toBe(false);
    },
  },
  {
    name: 'a plan whose script operand changed since approval',
    tags: ['plan', 'refused'],
    expect: 'refused',
    async run(h) {
      const script = path.join(h.s.work, 'job.sh');
      writeFileSync(script, 'true\n');
      const plan = await prepared(h, ['/bin/sh', 'job.sh']);
      writeFileSync(script, `touch ${h.s.marker}\n`);
      const got = await attempt(
        h.runner.run({
          command: plan.argv,
          systemRunPlan: plan,
          cwd: plan.cwd,
          approved: true,
          approvalDecision: 'allow-once',
          runId: randomUUID(),
        }),
      );
      expect(got.ok).toBe(false);
      expect(h.marker()).toBe(false);
    },
  },
  {
    name: 'a rawCommand that describes another command',
    finding: 3,
    tags: ['plan', 'refused'],
    expect: 'refused',
    async run(h) {
      const plan = await prepared(h, ['/usr/bin/touch', h.s.marker]);
      const got = await attempt(
        h.runner.run({
          command: plan.argv,
          rawCommand: 'ls -la',
          systemRunPlan: plan,
          cwd: plan.cwd,
          approved: true,
          approvalDecision: 'allow-once',
          runId: randomUUID(),
        }),
      );
      expect(got.ok).toBe(false);
      expect(h.marker()).toBe(false);
    },
  },
  {
    name: 'an allow-once run id used twice',
    tags: ['plan', 'refused'],
    expect: 'refused',
    async run(h) {
      const runId = randomUUID();
      const plan = await prepared(h, ['/usr/bin/touch', 'x']);
      const first = await attempt(
        h.runner.run({
          command: plan.argv,
          systemRunPlan: plan,
          cwd: plan.cwd,
          approved: true,
          approvalDecision: 'allow-once',
          runId,
        }),
      );
      expect(first.ok ? null : first.error.message).toBeNull();
      const evilPlan = await prepared(h, ['/usr/bin/touch', h.s.marker]);
      const again = await attempt(
        h.runner.run({
          command: evilPlan.argv,
          systemRunPlan: evilPlan,
          cwd: evilPlan.cwd,
          approved: true,
          approvalDecision: 'allow-once',
          runId,
        }),
      );
      expect(again.ok).toBe(false);
      expect(h.marker()).toBe(false);
    },
  },
];

export async function runScripted(c: ScriptedCase): Promise<void> {
  const h = await linuxHarness(c.setup ?? {});
  try {
    writeExecutable(path.join(h.s.root, 'real/good'), loggingScript(h.s.good));
    writeExecutable(path.join(h.s.root, 'real/evil'), loggingScript(h.s.marker));
    writeExecutable(path.join(h.s.root, 'real2/tool'), loggingScript(h.s.marker));
    mkdirSync(path.join(h.s.root, 'bin'), { recursive: true });
    symlinkSync(path.join(h.s.root, 'real/good'), tool(h));
    await c.run(h);
  } finally {
    await h.cleanup();
  }
}
