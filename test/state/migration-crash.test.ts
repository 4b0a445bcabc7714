import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair } from '../../gateway/protocol/ed25519';
import { migrateState, recoverInterruptedMigrations } from '../../gateway/state/state-migration';
import { pairedDevice, populateStateDir, writeExecApprovals } from '../fixtures/state/state-fixtures';
import { bundleScript } from '../helpers/child-process';
import { leftovers, snapshot } from './helpers/tree-snapshot';

/**
 * kill -9 a real migration process at every step boundary and at random instants, then check that after recovery
 * (what the next start or a rerun does) the state is wholly the old state or wholly the new one, with no debris,
 * and that a rerun completes the migration.
 */

const keys = { old: generateEd25519KeyPair(), new: generateEd25519KeyPair() };
let script: string;
let base: string;
let expected: { oldFrom: unknown; oldTo: unknown; newFrom: unknown; newTo: unknown };
let steps: string[] = [];
let cleanRunMs = 0;
let counter = 0;

interface Fixture {
  root: string;
  home: string;
  from: string;
  to: string;
  backupRoot: string;
}

function buildFixture(): Fixture {
  const root = path.join(base, `r${counter++}`);
  const home = path.join(root, 'home');
  mkdirSync(home, { recursive: true });
  const from = path.join(home, '.clawdbot');
  const to = path.join(home, '.openclaw');
  const shared = 'd'.repeat(64);
  populateStateDir(from, {
    label: 'old',
    keyPair: keys.old,
    sessions: 3,
    configExtra: { logsDir: path.join(from, 'logs') },
    devices: [
      pairedDevice('a'.repeat(64)),
      pairedDevice(shared, { approvedAtMs: 5000, tokens: { operator: { token: 's', revokedAtMs: 6000 } } }),
    ],
  });
  populateStateDir(to, {
    label: 'new',
    keyPair: keys.new,
    sessions: 3,
    devices: [pairedDevice('b'.repeat(64)), pairedDevice(shared)],
  });
  writeExecApprovals(from, {
    defaults: { security: 'full', ask: 'always' },
    agents: { main: { allowlist: [{ id: '1', pattern: '/usr/bin/old' }] } },
  });
  return { root, home, from, to, backupRoot: path.join(root, 'backups') };
}

function runChild(
  fx: Fixture,
  mode: 'migrate' | 'recover',
  kill?: { step?: { step: string; occurrence: number }; afterMs?: number },
) {
  return new Promise<{ signal: NodeJS.Signals | null; stdout: string; code: number | null }>((resolve, reject) => {
    const request = { mode, from: fx.from, to: fx.to, home: fx.home, backupRoot: fx.backupRoot, killAt: kill?.step };
    const child = spawn(process.execPath, [script, JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (kill?.afterMs !== undefined && !timer && stdout.includes('ready\n')) {
        timer = setTimeout(() => child.kill('SIGKILL'), kill.afterMs);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 && !signal) reject(new Error(`child failed (${code}): ${stdout}\n${stderr}`));
      else resolve({ signal, stdout, code });
    });
  });
}

function state(fx: Fixture): 'old' | 'new' | 'mixed' {
  const f = snapshot(fx.from, fx.root);
  const t = snapshot(fx.to, fx.root);
  if (isDeepStrictEqual(f, expected.oldFrom) && isDeepStrictEqual(t, expected.oldTo)) return 'old';
  if (isDeepStrictEqual(f, expected.newFrom) && isDeepStrictEqual(t, expected.newTo)) return 'new';
  return 'mixed';
}

function debris(fx: Fixture): string[] {
  const partial = existsSync(fx.backupRoot) ? readdirSync(fx.backupRoot).filter((n) => n.startsWith('.partial-')) : [];
  return [...leftovers(fx.home), ...partial];
}

/** After a kill: recover (as the next start does), check old-or-new and no debris, then a rerun must finish the job. */
async function expectRecoverable(fx: Fixture, label: string): Promise<'old' | 'new'> {
  await recoverInterruptedMigrations([fx.to, fx.from]);
  const after = state(fx);
  expect(after, `${label}: state after recovery`).not.toBe('mixed');
  expect(debris(fx), `${label}: debris after recovery`).toEqual([]);
  const rerun = await migrateState({ from: fx.from, to: fx.to, home: fx.home, backupRoot: fx.backupRoot });
  expect(rerun.outcome, label).toBe(after === 'old' ? 'migrated' : 'nothing-to-do');
  expect(state(fx), `${label}: state after rerun`).toBe('new');
  expect(debris(fx)).toEqual([]);
  return after as 'old' | 'new';
}

beforeAll(async () => {
  script = bundleScript(path.join(__dirname, 'fixtures', 'migrate-child.ts'));
  base = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-crash-')));
  const ref = buildFixture();
  const oldFrom = snapshot(ref.from, ref.root);
  const oldTo = snapshot(ref.to, ref.root);
  // A clean run in a child: the reference result, the step names in order, and how long a migration takes.
  const clean = await runChild(ref, 'migrate');
  steps = clean.stdout
    .split('\n')
    .filter((l) => l.startsWith('step '))
    .map((l) => l.slice(5));
  cleanRunMs = JSON.parse(clean.stdout.trim().split('\n').pop()!).ms;
  expected = { oldFrom, oldTo, newFrom: snapshot(ref.from, ref.root), newTo: snapshot(ref.to, ref.root) };
});

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

describe('migration under kill -9', () => {
  it('the clean run goes through every commit step', () => {
    expect(steps).toEqual([
      'journal-written',
      'backup-published',
      'staging-built',
      'staging-synced',
      'committing',
      'op0-aside',
      'op0-installed',
      'op1-aside',
      'op1-installed',
      'committed',
      'aside-removed',
      'aside-removed',
    ]);
    expect(expected.newFrom).toEqual({ link: '<ROOT>/home/.openclaw' });
  });

  it('killed at each step boundary, and again during recovery, it ends wholly old or wholly new', async () => {
    const recoverySteps = ['op0-aside', 'op0-installed', 'op1-aside', 'op1-installed', 'aside-removed', 'rolling-back'];
    const outcomes: string[] = [];
    for (const [index, name] of steps.entries()) {
      const occurrence = steps.slice(0, index + 1).filter((s) => s === name).length;
      const fx = buildFixture();
      const killed = await runChild(fx, 'migrate', { step: { step: name, occurrence } });
      expect(killed.signal, `kill at ${name}#${occurrence}`).toBe('SIGKILL');
      if (index >= steps.indexOf('committing')) {
        // Past the commit point recovery has work to do: crash it too, somewhere in the middle.
        const again = await runChild(fx, 'recover', {
          step: { step: recoverySteps[index % recoverySteps.length], occurrence: 1 },
        });
        expect(again.signal === 'SIGKILL' || again.code === 0).toBe(true);
      }
      outcomes.push(`${name}:${await expectRecoverable(fx, `kill at ${name}#${occurrence}`)}`);
    }
    // Before the commit point the old state survives; from it on, the migration is finished by recovery.
    expect(outcomes.slice(0, 4).every((o) => o.endsWith(':old'))).toBe(true);
    expect(outcomes.slice(4).every((o) => o.endsWith(':new'))).toBe(true);
  }, 90_000);

  it(
    'killed at random instants, it ends wholly old or wholly new',
    async () => {
      const seen = new Set<string>();
      const iterations = Number(process.env.CLAWDESK_CRASH_ITERATIONS ?? 14);
      for (let i = 0; i < iterations; i++) {
        const fx = buildFixture();
        // Spread the kills over the whole run, a little past its end too.
        const afterMs = Math.random() * (cleanRunMs * 1.3 + 5);
        await runChild(fx, 'migrate', { afterMs });
        seen.add(await expectRecoverable(fx, `random kill #${i} after ${afterMs.toFixed(1)} ms`));
      }
      expect(seen.size).toBeGreaterThan(0);
    },
    30_000 + 3_000 * Number(process.env.CLAWDESK_CRASH_ITERATIONS ?? 14),
  );
});
