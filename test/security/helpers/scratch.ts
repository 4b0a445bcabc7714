import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FileSpec } from './corpus-types';

/** A per-case scratch directory with the tokens of corpus-types.ts. */
export interface Scratch {
  root: string;
  work: string;
  home: string;
  state: string;
  marker: string;
  good: string;
  evilDir: string;
}

export function makeScratch(prefix = 'clawdesk-sec-'): Scratch {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
  const s: Scratch = {
    root,
    work: path.join(root, 'work'),
    home: path.join(root, 'home'),
    state: path.join(root, 'state'),
    marker: path.join(root, 'PWNED'),
    good: path.join(root, 'GOOD'),
    evilDir: path.join(root, 'evil'),
  };
  for (const d of [s.work, s.home, s.evilDir]) mkdirSync(d, { recursive: true });
  return s;
}

export function removeScratch(s: Scratch): void {
  rmSync(s.root, { recursive: true, force: true });
}

/** Replaces @S @W @H @M @G @D @E (not followed by a word character). */
export function expand(value: string, s: Scratch): string {
  return value.replace(/@([SWHMGDE])(?![A-Za-z0-9_])/g, (_, t: string) => {
    switch (t) {
      case 'S':
        return s.root;
      case 'W':
        return s.work;
      case 'H':
        return s.home;
      case 'M':
        return s.marker;
      case 'G':
        return s.good;
      case 'D':
        return s.evilDir;
      default:
        return path.join(s.evilDir, 'ls');
    }
  });
}

const sq = (v: string) => `'${v.replace(/'/g, `'"'"'`)}'`;

/** `#!/bin/sh` script that appends "$0 $*" to `log`. Uses builtins only (no PATH lookups). */
export function loggingScript(log: string): string {
  return `#!/bin/sh\nprintf '%s\\n' "$0 $*" >> ${sq(log)}\n`;
}

export function writeExecutable(p: string, content: string, mode = 0o755): void {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  chmodSync(p, mode);
}

export const STANDARD_EVIL = ['ls', 'cat', 'grep', 'echo', 'printf', 'sh', 'bash', 'git', 'touch', 'evil'];

/** The files every Linux case starts with (see corpus-types.ts). */
export function standardFixture(s: Scratch): void {
  for (const name of STANDARD_EVIL) writeExecutable(path.join(s.evilDir, name), loggingScript(s.marker));
  writeFileSync(path.join(s.root, 'evil.sh'), `${path.join(s.evilDir, 'ls')}\n`, { mode: 0o644 });
  writeFileSync(path.join(s.root, 'f'), 'hello\nx\n');
}

export function applyFixture(s: Scratch, fixture: Record<string, FileSpec> | undefined): void {
  // Directories first, links last, so a spec can link to a file another spec creates.
  const entries = Object.entries(fixture ?? {});
  const order = (spec: FileSpec) => (spec.kind === 'dir' ? 0 : spec.kind === 'link' ? 2 : 1);
  entries.sort((a, b) => order(a[1]) - order(b[1]));
  for (const [rel, spec] of entries) {
    const p = path.resolve(s.root, expand(rel, s));
    mkdirSync(path.dirname(p), { recursive: true });
    switch (spec.kind) {
      case 'dir':
        mkdirSync(p, { recursive: true });
        if (spec.mode !== undefined) chmodSync(p, spec.mode);
        break;
      case 'evil':
        writeExecutable(p, loggingScript(s.marker), spec.mode ?? 0o755);
        break;
      case 'good':
        writeExecutable(p, loggingScript(s.good), spec.mode ?? 0o755);
        break;
      case 'text':
        writeFileSync(p, expand(spec.content, s));
        chmodSync(p, spec.mode ?? 0o644);
        break;
      case 'copy':
        copyFileSync(spec.from, p);
        chmodSync(p, spec.mode ?? 0o755);
        break;
      case 'link':
        rmSync(p, { force: true });
        symlinkSync(expand(spec.target, s), p);
        break;
    }
  }
}
