import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MigrationProgressView } from '../../common/ipc-contract';
import { DashboardService, type DashboardDeps } from '../../main/dashboard-service';
import { migrateIntoActive } from '../../main/desktop-sources';
import type { PathEnvironment } from '../../gateway/state/state-paths';
import { scanStateDirs } from '../../gateway/state/state-scan';
import { populateStateDir } from '../fixtures/state/state-fixtures';
import { leftovers, snapshot } from './helpers/tree-snapshot';

/**
 * The dashboard's migration: progress (getMigrationProgress, announced by the `migration` topic) and cancel, through
 * the DashboardService and the app's migrateIntoActive, on real directories.
 */

let root: string;
let home: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-dash-migrate-')));
  home = path.join(root, 'home');
  mkdirSync(home);
  populateStateDir(path.join(home, '.clawdbot'), { label: 'old', sessions: 40 });
  populateStateDir(path.join(home, '.openclaw'), { label: 'new' });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const pe = (): PathEnvironment => ({
  env: { HOME: home },
  platform: process.platform,
  osHomedir: home,
  cwd: root,
  exists: (p) => {
    try {
      realpathSync(p);
      return true;
    } catch {
      return false;
    }
  },
});

function service(onProgress: (view: MigrationProgressView | null, service: DashboardService) => void) {
  const topics: string[][] = [];
  // Only what a migration touches; the rest of the dashboard's dependencies are never called here.
  const deps: Pick<DashboardDeps, 'state' | 'notify'> = {
    state: {
      scan: async () => ({ dirs: [], findings: [] }),
      migrate: async (dryRun, hooks) => migrateIntoActive(await scanStateDirs(pe()), dryRun, hooks),
    },
    notify: (t) => {
      topics.push(t);
      if (t.includes('migration') && !t.includes('state'))
        void svc.getMigrationProgress().then((v) => onProgress(v, svc));
    },
  };
  const svc: DashboardService = new DashboardService(deps as DashboardDeps);
  return { svc, topics };
}

describe('the dashboard follows and cancels a migration', () => {
  it('reports progress while it runs (phases, files, bytes), none after; cancel then has nothing to stop', async () => {
    const seen: MigrationProgressView[] = [];
    const { svc, topics } = service((v) => v && seen.push(v));
    expect(await svc.getMigrationProgress()).toBeNull();
    const view = await svc.migrateState(false);
    expect(view.applied).toBe(true);
    expect(seen.map((p) => p.phase)).toEqual(expect.arrayContaining(['staging', 'committing']));
    const staged = seen.filter((p) => p.phase === 'staging').pop()!;
    expect(staged.totalFiles).toBeGreaterThanOrEqual(40);
    expect(staged.files).toBe(staged.totalFiles);
    expect(staged.bytes).toBe(staged.totalBytes);
    expect(seen.find((p) => p.phase === 'staging')?.cancellable).toBe(true);
    expect(seen.find((p) => p.phase === 'committing')?.cancellable).toBe(false);
    expect(topics.at(-1)).toEqual(['state', 'migration']);
    expect(await svc.getMigrationProgress()).toBeNull();
    expect(await svc.cancelMigration()).toBe(false);
  });

  it('cancel from the first progress report rolls everything back: nothing changed, nothing left', async () => {
    const before = {
      old: snapshot(path.join(home, '.clawdbot'), root),
      new: snapshot(path.join(home, '.openclaw'), root),
    };
    const answers: boolean[] = [];
    let asked = false;
    const { svc } = service((v, s) => {
      if (!v || asked) return;
      asked = true;
      void s.cancelMigration().then((ok) => answers.push(ok));
    });
    const view = await svc.migrateState(false);
    expect(answers).toEqual([true]);
    expect(view.applied).toBe(false);
    expect(view.steps).toEqual([{ action: 'cancelled', detail: expect.stringMatching(/rolled back/) }]);
    expect({
      old: snapshot(path.join(home, '.clawdbot'), root),
      new: snapshot(path.join(home, '.openclaw'), root),
    }).toEqual(before);
    expect(leftovers(home)).toEqual([]);
  });
});
