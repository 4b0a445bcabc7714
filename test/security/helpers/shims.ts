import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeExecutable } from './scratch';

/**
 * A scratch world of logging shims for the shell differential: every program bash can start is a tiny `#!/bin/sh`
 * script that appends its own absolute path (hard-coded, so a payload changing the environment cannot hide it) to
 * the world's log and exits 0. Real /bin/bash runs by absolute path with only PATH and HOME set.
 *
 *   bin/    the PATH: shims for a vocabulary of common program names
 *   other/  not on PATH: evil, ls, id (reached only by path, glob, brace, assignment…)
 *   work/   the cwd: ./evil, ./ls shims, a script.sh that runs ./evil, a data file f
 *   home/   HOME: ~/evil, ~/ls
 */

export const VOCABULARY = [
  'ls',
  'cat',
  'grep',
  'echo',
  'printf',
  'env',
  'sh',
  'bash',
  'id',
  'touch',
  'rm',
  'git',
  'find',
  'xargs',
  'true',
  'false',
  'test',
  'sed',
  'awk',
  'sort',
  'head',
  'tail',
  'wc',
  'tr',
  'cut',
  'uniq',
  'date',
  'pwd',
  'whoami',
  'mkdir',
];

export interface ShimWorld {
  root: string;
  bin: string;
  other: string;
  work: string;
  home: string;
  log: string;
  /** Replaces @O @W @H @B in a payload. */
  expand(payload: string): string;
  /** Runs `/bin/bash -c payload` and returns the absolute paths of the programs it started. */
  run(payload: string, timeoutMs?: number): Promise<{ started: string[]; timedOut: boolean }>;
  cleanup(): void;
}

const FIXTURE: Record<string, string[]> = { other: ['evil', 'ls', 'id'], work: ['evil', 'ls'], home: ['evil', 'ls'] };

export function makeShimWorld(): ShimWorld {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-diff-')));
  const bin = path.join(root, 'bin');
  const other = path.join(root, 'other');
  const work = path.join(root, 'work');
  const home = path.join(root, 'home');
  const log = path.join(root, 'started.log');
  const sq = (v: string) => `'${v.replace(/'/g, `'"'"'`)}'`;
  const shim = (p: string) => writeExecutable(p, `#!/bin/sh\nprintf '%s\\n' ${sq(p)} >> ${sq(log)}\n`);
  for (const d of [bin, other, work, home]) mkdirSync(d, { recursive: true });
  for (const name of VOCABULARY) shim(path.join(bin, name));
  for (const [dir, names] of Object.entries(FIXTURE)) for (const n of names) shim(path.join(root, dir, n));
  const keep: Record<string, Set<string>> = {
    other: new Set(FIXTURE.other),
    work: new Set([...FIXTURE.work, 'script.sh', 'f']),
    home: new Set(FIXTURE.home),
  };
  writeFileSync(path.join(work, 'script.sh'), './evil\n');
  writeFileSync(path.join(work, 'f'), 'a\nb\n');

  /** Files a payload left behind (redirections) are removed, so each payload starts from the same world. */
  const reset = () => {
    for (const [dir, names] of Object.entries(keep)) {
      for (const entry of readdirSync(path.join(root, dir)))
        if (!names.has(entry)) rmSync(path.join(root, dir, entry), { recursive: true, force: true });
    }
    rmSync(log, { force: true });
  };

  const expand = (payload: string) =>
    payload.replace(
      /@([OWHB])(?![A-Za-z0-9_])/g,
      (_, t: string) => ({ O: other, W: work, H: home, B: bin })[t as 'O' | 'W' | 'H' | 'B'],
    );

  const run = (payload: string, timeoutMs = 3_000) =>
    new Promise<{ started: string[]; timedOut: boolean }>((resolve) => {
      reset();
      const child = spawn('/bin/bash', ['-c', payload], {
        cwd: work,
        env: { PATH: bin, HOME: home },
        stdio: 'ignore',
        detached: true,
      });
      let timedOut = false;
      const killGroup = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      };
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        // Background jobs of the payload are in its process group: nothing outlives the payload.
        killGroup();
        let started: string[];
        try {
          started = readFileSync(log, 'utf8').split('\n').filter(Boolean);
        } catch {
          started = [];
        }
        resolve({ started, timedOut });
      };
      child.once('exit', done);
      child.once('error', done);
    });

  return {
    root,
    bin,
    other,
    work,
    home,
    log,
    expand,
    run,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}
