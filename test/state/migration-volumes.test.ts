import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CliIo } from '../../gateway/cli/cli-io';
import { generateEd25519KeyPair } from '../../gateway/protocol/ed25519';
import { stateCommand } from '../../gateway/cli/commands/state-command';
import { MigrationProgress } from '../../gateway/state/state-progress';
import { migrateState, recoverInterruptedMigrations } from '../../gateway/state/state-migration';
import { pairedDevice, populateStateDir, writeExecApprovals } from '../fixtures/state/state-fixtures';
import { CHILD_NODE_PATH, bundleScript, lastJsonLine, runChild } from '../helpers/child-process';
import { ScratchVolume, mountScratchVolume } from './helpers/second-volume';
import { leftovers, snapshot } from './helpers/tree-snapshot';

/**
 * Issue 16: the two data paths of `state migrate`. Same file system: nothing but trust files is copied (files keep
 * their inode). Across file systems — a real second file system, a tmpfs mounted for these tests, where rename(2)
 * and link(2) fail with EXDEV — files are streamed, holes kept, and the source removed only after verification.
 * Progress (terminal bar, JSON lines) and Ctrl-C (a real SIGINT to a real CLI process) are tested here too.
 */

let volume: ScratchVolume;
let root: string;
let home: string;
let far: string;
beforeAll(() => {
  volume = mountScratchVolume(512);
});
afterAll(() => {
  volume.unmount();
});
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-vol-test-')));
  home = path.join(root, 'home');
  mkdirSync(home);
  far = mkdtempSync(path.join(volume.dir, 'far-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(far, { recursive: true, force: true });
});

const SPARSE = 32 * 1024 * 1024;
function makeSparse(file: string): void {
  const fd = openSync(file, 'w', 0o600);
  writeSync(fd, Buffer.from('head'), 0, 4, 0);
  writeSync(fd, Buffer.from('tail'), 0, 4, SPARSE - 4);
  closeSync(fd);
}
function writeBlob(file: string, bytes: number, seed: number): void {
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4096) data.writeUInt32LE((seed * 2654435761 + i) >>> 0, i);
  const fd = openSync(file, 'w', 0o644);
  writeSync(fd, data);
  closeSync(fd);
}
function fixture(sessions = 3, blobBytes = 64 * 1024): { from: string; to: string } {
  const from = path.join(home, '.clawdbot');
  const to = path.join(far, '.openclaw');
  populateStateDir(from, { label: 'old', sessions, devices: [pairedDevice('a'.repeat(64))] });
  populateStateDir(to, { label: 'new', devices: [pairedDevice('b'.repeat(64))] });
  writeExecApprovals(from, { agents: { main: { allowlist: [{ id: '1', pattern: '/usr/bin/old' }] } } });
  for (let i = 0; i < sessions; i++)
    writeBlob(path.join(from, 'agents', 'main', 'sessions', `blob-${i}.bin`), blobBytes, i);
  return { from, to };
}

/** Allocated bytes of every distinct inode under these roots (hard links counted once). */
function allocatedUnique(...roots: string[]): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (p: string) => {
    const st = lstatSync(p);
    const key = `${st.dev}:${st.ino}`;
    if (!seen.has(key)) {
      seen.add(key);
      total += st.blocks * 512;
    }
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  for (const r of roots) if (existsSync(r)) walk(r);
  return total;
}

describe('same file system: files keep their inode, only trust files are copied', () => {
  it('moves 200 sessions without copying them; the old trees are the backup; extra disk is a few directories', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'old', sessions: 2, devices: [pairedDevice('a'.repeat(64))] });
    populateStateDir(to, { label: 'new', devices: [pairedDevice('b'.repeat(64))] });
    for (let i = 0; i < 200; i++)
      writeBlob(path.join(from, 'agents', 'main', 'sessions', `blob-${i}.bin`), 64 * 1024, i);
    const inode = statSync(path.join(from, 'agents', 'main', 'sessions', 'blob-7.bin')).ino;
    const pairedInode = statSync(path.join(to, 'devices', 'paired.json')).ino;
    const before = allocatedUnique(home);
    const events: MigrationProgress[] = [];
    const result = await migrateState({ from, to, home, onProgress: (p) => events.push(p) });
    expect(result.plan.strategy).toBe('same-volume');
    expect(statSync(path.join(to, 'agents', 'main', 'sessions', 'blob-7.bin')).ino).toBe(inode);
    // The merged trust file is new; the old one is the backup's, untouched.
    expect(statSync(path.join(to, 'devices', 'paired.json')).ino).not.toBe(pairedInode);
    expect(statSync(path.join(result.backupDir!, 'to-0', 'devices', 'paired.json')).ino).toBe(pairedInode);
    expect(statSync(path.join(result.backupDir!, 'from-1', 'agents', 'main', 'sessions', 'blob-7.bin')).ino).toBe(
      inode,
    );
    const after = allocatedUnique(home);
    expect(after - before).toBeLessThan(Math.max(0.05 * before, 256 * 1024));
    expect(leftovers(home)).toEqual([]);
    const staging = events.filter((e) => e.phase === 'staging');
    expect(staging.at(-1)).toMatchObject({ strategy: 'same-volume', files: staging.at(-1)!.totalFiles });
    expect(staging.at(-1)!.totalFiles).toBeGreaterThanOrEqual(202);
    expect(events.at(-1)!.phase).toBe('done');
  });
});

describe('across file systems (a mounted tmpfs)', () => {
  it('streams the source, keeps holes, verifies, then removes the source; the backup links to the copies', async () => {
    const { from, to } = fixture(3);
    makeSparse(path.join(from, 'agents', 'main', 'big.bin'));
    expect(statSync(from).dev).not.toBe(statSync(to).dev);
    const beforeFrom = snapshot(from, root);
    const events: MigrationProgress[] = [];
    const result = await migrateState({ from, to, home, onProgress: (p) => events.push(p) });
    expect(result.outcome).toBe('migrated');
    expect(result.plan.strategy).toBe('cross-volume');
    expect(realpathSync(from)).toBe(realpathSync(to));
    // Every source file arrived with its bytes; the sparse one is still sparse on the other file system.
    for (let i = 0; i < 3; i++) {
      const rel = path.join('agents', 'main', 'sessions', `blob-${i}.bin`);
      expect(readFileSync(path.join(to, rel)).equals(readFileSync(path.join(result.backupDir!, 'from-1', rel)))).toBe(
        true,
      );
      // The backup's copy is the migrated copy (one inode), not a second copy of the data.
      expect(statSync(path.join(result.backupDir!, 'from-1', rel)).ino).toBe(statSync(path.join(to, rel)).ino);
    }
    const big = path.join(to, 'agents', 'main', 'big.bin');
    expect(statSync(big).size).toBe(SPARSE);
    expect(statSync(big).blocks * 512).toBeLessThan(1024 * 1024);
    expect(
      readFileSync(big)
        .subarray(SPARSE - 4)
        .toString(),
    ).toBe('tail');
    // The backup restores the source exactly: its trust files are real copies, not links into the live dir.
    expect(snapshot(path.join(result.backupDir!, 'from-1'), root)).toEqual(beforeFrom);
    expect(statSync(path.join(result.backupDir!, 'from-1', 'devices', 'paired.json')).ino).not.toBe(
      statSync(path.join(to, 'devices', 'paired.json')).ino,
    );
    // The source's old tree is gone from its file system (no aside left), and nothing is half-done anywhere.
    expect(leftovers(home)).toEqual([]);
    expect(leftovers(far)).toEqual([]);
    expect(events.some((e) => e.phase === 'staging' && e.strategy === 'cross-volume')).toBe(true);
  });

  it('a target file system that fills up during the copy rolls everything back and says so', async () => {
    // A 2 MiB file system and a statfs that claims room: the copy itself hits ENOSPC.
    const small = mountScratchVolume(2);
    try {
      const from = path.join(home, '.clawdbot');
      const to = path.join(small.dir, '.openclaw');
      populateStateDir(from, { label: 'old', sessions: 2, devices: [pairedDevice('a'.repeat(64))] });
      populateStateDir(to, { label: 'new', devices: [pairedDevice('b'.repeat(64))] });
      for (let i = 0; i < 8; i++)
        writeBlob(path.join(from, 'agents', 'main', 'sessions', `blob-${i}.bin`), 512 * 1024, i);
      const before = [snapshot(from, root), snapshot(to, root)];
      const error = await migrateState({ from, to, home, freeBytes: async () => 1e12 }).catch((e) => e);
      expect(error.message).toMatch(
        /a file system ran out of space while the merged state was being built \(ENOSPC.*\); everything was rolled back, nothing was changed: free space at/,
      );
      expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
      expect([...leftovers(home), ...leftovers(small.dir)]).toEqual([]);
    } finally {
      small.unmount();
    }
  });

  it('a file that cannot be read is named before anything is written (as an unprivileged user)', async () => {
    const { from, to } = fixture(2);
    // Root reads through mode bits: the trees go to an unprivileged account, which runs the migration.
    const NOBODY = 65534;
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, root, far]);
    chmodSync(path.join(from, 'agents', 'main', 'sessions', 'blob-1.bin'), 0o000);
    const before = [snapshot(from, root), snapshot(to, root)];
    const script = bundleScript(path.join(__dirname, 'fixtures', 'migrate-child.ts'));
    const result = await runChild(
      'setpriv',
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        '--clear-groups',
        process.execPath,
        script,
        JSON.stringify({ mode: 'migrate', from, to, home, backupRoot: path.join(root, 'backups') }),
      ],
      { env: { PATH: process.env.PATH, HOME: home } },
    );
    expect(lastJsonLine(result.stdout).error).toMatch(
      /1 file\(s\) in .* cannot be read \(agents\/main\/sessions\/blob-1\.bin\); nothing was changed: make them readable/,
    );
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
    expect(leftovers(home)).toEqual([]);
    expect(leftovers(far)).toEqual([]);
  });

  it('a target file system without room is refused before anything is written, with the numbers', async () => {
    const { from, to } = fixture(2);
    const before = [snapshot(from, root), snapshot(to, root)];
    const error = await migrateState({
      from,
      to,
      home,
      freeBytes: async (dir) => (dir.startsWith(volume.dir) ? 4096 : 1e12),
    }).catch((e) => e);
    expect(error.message).toMatch(
      /not enough free space at .*clawdesk-vol-.*: the backup and the staged copy need about .*, 4\.0 KiB is free/,
    );
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
  });

  it('killed -9 at every step boundary, it recovers wholly old or wholly new', async () => {
    const script = bundleScript(path.join(__dirname, 'fixtures', 'migrate-child.ts'));
    // Every run uses the same paths and keys, so "old" and "new" compare by plain snapshots.
    const keys = { old: generateEd25519KeyPair(), new: generateEd25519KeyPair() };
    const build = (_n: number) => {
      const base = path.join(root, 'k');
      const tBase = path.join(far, 'k');
      rmSync(base, { recursive: true, force: true });
      rmSync(tBase, { recursive: true, force: true });
      const h = path.join(base, 'home');
      mkdirSync(h, { recursive: true });
      const f = path.join(h, '.clawdbot');
      const t = path.join(tBase, '.openclaw');
      populateStateDir(f, { label: 'old', keyPair: keys.old, sessions: 3, devices: [pairedDevice('a'.repeat(64))] });
      populateStateDir(t, { label: 'new', keyPair: keys.new, sessions: 1, devices: [pairedDevice('b'.repeat(64))] });
      return { h, f, t, backupRoot: path.join(tBase, 'backups') };
    };
    const run = (fx: ReturnType<typeof build>, killAt?: { step: string; occurrence: number }) =>
      new Promise<{ stdout: string; signal: NodeJS.Signals | null }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            script,
            JSON.stringify({ mode: 'migrate', from: fx.f, to: fx.t, home: fx.h, backupRoot: fx.backupRoot, killAt }),
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let stdout = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.on('error', reject);
        child.on('close', (_code, signal) => resolve({ stdout, signal }));
      });
    const ref = build(0);
    const old = { f: snapshot(ref.f, root), t: snapshot(ref.t, root) };
    const clean = await run(ref);
    const steps = clean.stdout
      .split('\n')
      .filter((l) => l.startsWith('step '))
      .map((l) => l.slice(5));
    expect(steps).toContain('committing');
    const fresh = { f: snapshot(ref.f, root), t: snapshot(ref.t, root) };
    const outcomes: string[] = [];
    for (const [index, name] of steps.entries()) {
      const occurrence = steps.slice(0, index + 1).filter((s) => s === name).length;
      const fx = build(index + 1);
      const killed = await run(fx, { step: name, occurrence });
      expect(killed.signal, `${name}#${occurrence}`).toBe('SIGKILL');
      await recoverInterruptedMigrations([fx.t, fx.f]);
      const now = { f: snapshot(fx.f, root), t: snapshot(fx.t, root) };
      const state = isDeepStrictEqual(now, old) ? 'old' : isDeepStrictEqual(now, fresh) ? 'new' : 'mixed';
      expect(state, `kill at ${name}#${occurrence}`).not.toBe('mixed');
      expect([...leftovers(fx.h), ...leftovers(path.dirname(fx.t))], `kill at ${name}#${occurrence}`).toEqual([]);
      expect(
        existsSync(fx.backupRoot) ? readdirSync(fx.backupRoot).filter((n) => n.startsWith('.partial-')) : [],
      ).toEqual([]);
      outcomes.push(`${name}:${state}`);
    }
    const commit = steps.indexOf('committing');
    expect(outcomes.slice(0, commit).every((o) => o.endsWith(':old'))).toBe(true);
    expect(outcomes.slice(commit).every((o) => o.endsWith(':new'))).toBe(true);
  }, 60_000);
});

describe('progress', () => {
  const io = () => {
    const out = { stdout: '', stderr: '' };
    const value: CliIo = {
      stdout: (t) => (out.stdout += t),
      stderr: (t) => (out.stderr += t),
      env: { HOME: home },
      waitForStopSignal: () => new Promise(() => undefined),
    };
    return { out, io: value };
  };

  it('--json prints JSON lines: progress (files, bytes, rate, ETA), then the result', async () => {
    const { from, to } = fixture(3);
    const { out, io: cliIo } = io();
    expect(await stateCommand(['migrate', '--from', from, '--to', to, '--json'], cliIo)).toBe(0);
    const lines = out.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const progress = lines.filter((l) => l.type === 'progress');
    expect(progress.length).toBeGreaterThan(2);
    for (const p of progress)
      expect(Object.keys(p).sort()).toEqual(
        [
          'bytes',
          'bytesPerSecond',
          'elapsedMs',
          'etaMs',
          'files',
          'phase',
          'strategy',
          'totalBytes',
          'totalFiles',
          'type',
          'version',
        ].sort(),
      );
    const staged = progress.filter((p) => p.phase === 'staging').at(-1);
    expect(staged.files).toBe(staged.totalFiles);
    expect(staged.bytes).toBe(staged.totalBytes);
    expect(lines.at(-1)).toMatchObject({ version: 1, type: 'result', outcome: 'migrated' });
  });

  it('on a terminal, stderr shows a bar with files, bytes, rate and ETA (a real pty via script(1))', async () => {
    const { from, to } = fixture(3);
    const cli = bundleScript(path.join(__dirname, 'fixtures', 'cli-child.ts'));
    const command = [process.execPath, cli, 'state', 'migrate', '--from', from, '--to', to]
      .map((a) => `'${a}'`)
      .join(' ');
    const result = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        env: { PATH: process.env.PATH, HOME: home, NODE_PATH: CHILD_NODE_PATH, TERM: 'dumb' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    expect(result.code, result.out).toBe(0);
    expect(result.out).toMatch(
      /staging\s+\[#+\]\s+100%\s+\d+\/\d+ files\s+[\d.]+ (KiB|MiB)\/[\d.]+ (KiB|MiB)\s+[\d.]+ (B|KiB|MiB|GiB)\/s\s+ETA \d+s/,
    );
    expect(result.out).toContain('\r');
    expect(result.out).toContain(`Migrated ${from} into ${to}.`);
  });
});

describe('Ctrl-C', () => {
  it('SIGINT to a real CLI process mid-copy rolls everything back and exits 130', async () => {
    const { from, to } = fixture(150, 1024 * 1024);
    const before = [snapshot(from, root), snapshot(to, root)];
    const cli = bundleScript(path.join(__dirname, 'fixtures', 'cli-child.ts'));
    const result = await new Promise<{ code: number | null; lines: string[]; sent: boolean }>((resolve, reject) => {
      const child = spawn(process.execPath, [cli, 'state', 'migrate', '--from', from, '--to', to, '--json'], {
        env: { PATH: process.env.PATH, HOME: home, NODE_PATH: CHILD_NODE_PATH },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let buffer = '';
      let sent = false;
      const lines: string[] = [];
      child.stdout.on('data', (d: Buffer) => {
        buffer += d;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          lines.push(line);
          // The first report of the copy phase: the copy of 150 MiB has just begun.
          if (!sent && line.includes('"phase":"staging"')) {
            sent = true;
            child.kill('SIGINT');
          }
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, lines, sent }));
    });
    expect(result.sent).toBe(true);
    expect(JSON.parse(result.lines.at(-1)!)).toMatchObject({
      type: 'result',
      outcome: 'cancelled',
      code: 'MIGRATION_CANCELLED',
    });
    expect(result.code).toBe(130);
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
    expect(leftovers(home)).toEqual([]);
    expect(leftovers(far)).toEqual([]);
    expect(readdirSync(far)).toEqual(['.openclaw']);
  }, 30_000);
});
