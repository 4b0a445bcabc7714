import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PathEnvironment, currentPathEnvironment } from '../../gateway/state/state-paths';
import { listCandidates, scanStateDirs } from '../../gateway/state/state-scan';
import { populateStateDir, writeJson, writePending } from '../fixtures/state/state-fixtures';

function fakePe(
  platform: NodeJS.Platform,
  env: Record<string, string>,
  existing: string[],
  osHomedir: string,
  cwd: string,
): PathEnvironment {
  const fold = (s: string) => (platform === 'win32' ? s.toLowerCase() : s);
  const set = new Set(existing.map(fold));
  return { env, platform, osHomedir, cwd, exists: (p) => set.has(fold(p)) };
}

describe('listCandidates (per-OS layouts, no real files)', () => {
  it('Windows: E:\\ state dir, the profile dir, Git Bash HOME, %APPDATA% leftovers and OneDrive', () => {
    const pe = fakePe(
      'win32',
      {
        OPENCLAW_STATE_DIR: 'E:\\OpenClaw_Data',
        HOME: 'C:\\msys64\\home\\ada',
        USERPROFILE: 'C:\\Users\\Ada',
        APPDATA: 'C:\\Users\\Ada\\AppData\\Roaming',
        LOCALAPPDATA: 'C:\\Users\\Ada\\AppData\\Local',
        OneDrive: 'C:\\Users\\Ada\\OneDrive',
      },
      [
        'C:\\Users\\Ada\\.openclaw',
        'C:\\msys64\\home\\ada\\.clawdbot',
        'C:\\Users\\Ada\\AppData\\Roaming\\OpenClaw',
        'C:\\Users\\Ada\\OneDrive\\.openclaw',
      ],
      'C:\\Users\\Ada',
      'C:\\work',
    );
    const listDir = (dir: string) =>
      dir.endsWith('Roaming') ? ['OpenClaw', 'Code'] : dir.endsWith('Local') ? ['Temp'] : [];
    const candidates = listCandidates(pe, { listDir });
    expect(candidates.map((c) => [c.path, c.reasons])).toEqual([
      ['E:\\OpenClaw_Data', ['active (env)', 'env OPENCLAW_STATE_DIR']],
      ['C:\\msys64\\home\\ada\\.clawdbot', ['legacy .clawdbot']],
      ['C:\\Users\\Ada\\.openclaw', ['default under USERPROFILE']],
      ['C:\\Users\\Ada\\AppData\\Roaming\\OpenClaw', ['%APPDATA% leftover']],
      ['C:\\Users\\Ada\\OneDrive\\.openclaw', ['OneDrive (OneDrive)']],
    ]);
  });

  it("macOS: the app's identity dir under Application Support, and profiles", () => {
    const pe = fakePe(
      'darwin',
      { HOME: '/Users/ada' },
      ['/Users/ada/.openclaw', '/Users/ada/.openclaw-dev', '/Users/ada/Library/Application Support/OpenClaw'],
      '/Users/ada',
      '/',
    );
    const candidates = listCandidates(pe, {
      listDir: (d) => (d === '/Users/ada' ? ['.openclaw', '.openclaw-dev', 'Library'] : []),
    });
    expect(candidates.map((c) => c.path)).toEqual([
      '/Users/ada/.openclaw',
      '/Users/ada/.openclaw-dev',
      '/Users/ada/Library/Application Support/OpenClaw',
    ]);
    expect(candidates[1].reasons).toEqual(['profile dev']);
  });
});

describe('scanStateDirs on real directories', () => {
  let root: string;
  beforeEach(() => {
    root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-scan-')));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const pe = (env: Record<string, string>, osHomedir: string): PathEnvironment => ({
    ...currentPathEnvironment(),
    env,
    osHomedir,
    cwd: root,
  });

  it('reports what each dir holds, with counts, identities and expired requests', async () => {
    const home = path.join(root, 'home');
    const { identity } = populateStateDir(path.join(home, '.openclaw'), { label: 'a', sessions: 3 });
    writePending(path.join(home, '.openclaw'), [
      { requestId: 'r1', deviceId: 'x', ts: 1_000 },
      { requestId: 'r2', deviceId: 'y', ts: 9_999_000 },
    ]);
    mkdirSync(path.join(home, '.moltbot'));
    writeFileSync(path.join(home, '.moltbot', 'moltbot.json'), '{}');
    const scan = await scanStateDirs(pe({ HOME: home }, home), { now: () => 10_000_000 });
    expect(scan.active).toMatchObject({ stateDir: path.join(home, '.openclaw'), source: 'default' });
    const active = scan.dirs[0];
    expect(active.usedBy).toEqual(['openclaw-cli', 'embedded-gateway', 'exec-approvals-baseline']);
    const item = (name: string) => active.items.find((i) => i.item === name)!;
    expect(item('identity')).toMatchObject({
      status: 'ok',
      deviceId: identity!.deviceId,
      derivedDeviceId: identity!.deviceId,
      mode: 0o600,
    });
    expect(item('paired-devices').entries).toBe(1);
    expect(item('pending-devices')).toMatchObject({ entries: 2, expiredEntries: 1 });
    expect(item('agents')).toMatchObject({ entries: 3 });
    expect(item('exec-approvals').entries).toBe(1);
    expect(scan.dirs.find((d) => d.path.endsWith('.moltbot'))!.reasons).toEqual([
      'retired .moltbot (OpenClaw no longer reads it)',
    ]);
  });

  it('a symlinked home is one directory, not two (compared by realpath)', async () => {
    const real = path.join(root, 'real-home');
    populateStateDir(path.join(real, '.openclaw'), { label: 'a' });
    symlinkSync(real, path.join(root, 'link-home'));
    const scan = await scanStateDirs(pe({ HOME: path.join(root, 'link-home') }, real));
    const viaLink = scan.dirs.find((d) => d.path === path.join(root, 'link-home', '.openclaw'))!;
    const viaReal = scan.dirs.find((d) => d.path === path.join(real, '.openclaw'))!;
    expect(viaReal.aliasOf).toBe(viaLink.path);
    expect(viaReal.usedBy).toContain('openclaw-cli');
  });

  it('flags corrupt files, circular links and a state dir that is a file, without touching them', async () => {
    const home = path.join(root, 'home');
    populateStateDir(path.join(home, '.openclaw'), { label: 'a' });
    writeFileSync(path.join(home, '.openclaw', 'devices', 'paired.json'), '{"trunc');
    symlinkSync(path.join(home, '.moldbot'), path.join(home, '.clawdbot'));
    symlinkSync(path.join(home, '.clawdbot'), path.join(home, '.moldbot'));
    writeFileSync(path.join(root, 'statefile'), 'x');
    const scan = await scanStateDirs(pe({ HOME: home }, home));
    const paired = scan.dirs[0].items.find((i) => i.item === 'paired-devices')!;
    expect(paired.status).toBe('corrupt');
    expect(paired.error).toMatch(/paired\.json is not valid JSON/);
    expect(scan.dirs.find((d) => d.path.endsWith('.clawdbot'))).toMatchObject({ kind: 'symlink-loop', isLink: true });

    const asFile = await scanStateDirs(pe({ HOME: home, OPENCLAW_STATE_DIR: path.join(root, 'statefile') }, home));
    expect(asFile.dirs[0]).toMatchObject({
      kind: 'file',
      error: `${path.join(root, 'statefile')} is a file, not a directory`,
    });
  });

  it('finds a state dir named only in the config, and marks OneDrive paths', async () => {
    const home = path.join(root, 'home');
    const elsewhere = path.join(root, 'OneDrive - Contoso', 'old', '.clawdbot');
    mkdirSync(path.join(elsewhere, 'workspace'), { recursive: true });
    mkdirSync(path.join(home, '.openclaw'), { recursive: true });
    writeJson(
      path.join(home, '.openclaw', 'openclaw.json'),
      `{ agents: { defaults: { workspace: ${JSON.stringify(path.join(elsewhere, 'workspace'))} } } }`,
    );
    const scan = await scanStateDirs(pe({ HOME: home }, home));
    const named = scan.dirs.find((d) => d.path === elsewhere)!;
    expect(named.reasons).toEqual(['named in config at agents.defaults.workspace']);
    expect(named.inOneDrive).toBe(true);
    expect(named.items.map((i) => i.item)).toEqual(['workspace']);
  });
});
