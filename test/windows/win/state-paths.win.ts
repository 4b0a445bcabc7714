import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  currentPathEnvironment,
  isPathInside,
  resolveConfigPath,
  resolveStateDir,
  samePath,
} from '../../../gateway/state/state-paths';
import { listCandidates, scanStateDirs } from '../../../gateway/state/state-scan';
import { PROFILE, WIN_USER, freshDir, writeStateDir } from './tier';

/**
 * State-dir resolution under real Windows Node: its process.env (case-insensitive names), os.homedir(), path.win32
 * as the default path API, and a Windows file system (here Wine's: case-insensitive, drive letters).
 */

/** Runs `fn` with process.env changed as given (undefined deletes), restoring it after. */
function withEnv<T>(changes: Record<string, string | undefined>, fn: () => T): T {
  const saved: Record<string, string | undefined> = {};
  for (const key of Object.keys(changes)) saved[key] = process.env[key];
  try {
    for (const [key, value] of Object.entries(changes)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    return fn();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

const CLEAR = {
  OPENCLAW_STATE_DIR: undefined,
  OPENCLAW_HOME: undefined,
  OPENCLAW_CONFIG_PATH: undefined,
  HOME: undefined,
};
const scratch = path.join(PROFILE, 'clawdesk-tier-paths');

after(() => {
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.rmSync(path.join(PROFILE, '.openclaw'), { recursive: true, force: true });
});

void describe('state-dir resolution under Windows Node', { timeout: 60_000 }, () => {
  void it('runs on win32 with a C:\\users\\<user> profile from USERPROFILE and os.homedir()', () => {
    assert.equal(process.platform, 'win32');
    assert.equal(path.sep, '\\');
    assert.match(PROFILE, /^C:\\users\\/i);
    assert.equal(path.basename(PROFILE).toLowerCase(), WIN_USER.toLowerCase());
    assert.ok(samePath('win32', process.env.USERPROFILE!, PROFILE));
  });

  void it('without HOME the state dir is %USERPROFILE%\\.openclaw, in Windows form', () => {
    fs.rmSync(path.join(PROFILE, '.openclaw'), { recursive: true, force: true });
    const resolved = withEnv(CLEAR, () => resolveStateDir(currentPathEnvironment()));
    assert.equal(resolved.stateDir, path.win32.join(PROFILE, '.openclaw'));
    assert.equal(resolved.source, 'default-missing');
    assert.ok(!resolved.stateDir.includes('/'), resolved.stateDir);
  });

  void it('a HOME exported as Git Bash does (another dir) wins over USERPROFILE, and so does a lower-case "home"', () => {
    const gitBashHome = path.join(scratch, 'gitbash-home');
    const viaHome = withEnv({ ...CLEAR, HOME: gitBashHome }, () => resolveStateDir(currentPathEnvironment()));
    assert.equal(viaHome.stateDir, path.join(gitBashHome, '.openclaw'));
    assert.equal(viaHome.home, gitBashHome);
    // Windows Node's process.env is case-insensitive: "home" IS "HOME". The resolver must see it either way.
    const lower = withEnv({ ...CLEAR, home: gitBashHome }, () => ({
      upper: process.env.HOME,
      resolved: resolveStateDir(currentPathEnvironment()),
    }));
    assert.equal(lower.upper, gitBashHome);
    assert.equal(lower.resolved.stateDir, path.join(gitBashHome, '.openclaw'));
  });

  void it('OPENCLAW_STATE_DIR with forward slashes, a trailing slash or a lower-case drive resolves to one Windows path', () => {
    const forms = [
      'E:/OpenClaw_Data',
      'E:/OpenClaw_Data/',
      'e:\\OpenClaw_Data',
      'E:\\OpenClaw_Data\\',
      'E:\\OpenClaw_Data\\.\\x\\..',
    ];
    const resolved = forms.map((form) =>
      withEnv({ ...CLEAR, OPENCLAW_STATE_DIR: form }, () => resolveStateDir(currentPathEnvironment()).stateDir),
    );
    for (const [i, dir] of resolved.entries()) {
      assert.ok(samePath('win32', dir, 'E:\\OpenClaw_Data'), `${forms[i]} -> ${dir}`);
      assert.ok(!dir.includes('/'), `${forms[i]} -> ${dir}`);
    }
    assert.equal(resolved[0], 'E:\\OpenClaw_Data');
    assert.equal(
      withEnv({ ...CLEAR, OPENCLAW_STATE_DIR: 'E:\\OpenClaw_Data' }, () =>
        resolveConfigPath(currentPathEnvironment(), 'E:\\OpenClaw_Data'),
      ),
      'E:\\OpenClaw_Data\\openclaw.json',
    );
  });

  void it('a drive-relative or tilde OPENCLAW_STATE_DIR expands against the profile, not the Linux cwd', () => {
    const tilde = withEnv(
      { ...CLEAR, OPENCLAW_STATE_DIR: '~\\OpenClaw_Data' },
      () => resolveStateDir(currentPathEnvironment()).stateDir,
    );
    assert.equal(tilde, path.join(PROFILE, 'OpenClaw_Data'));
    const tildeSlash = withEnv(
      { ...CLEAR, OPENCLAW_STATE_DIR: '~/OpenClaw_Data' },
      () => resolveStateDir(currentPathEnvironment()).stateDir,
    );
    assert.equal(tildeSlash, path.join(PROFILE, 'OpenClaw_Data'));
  });

  void it('finds a .OpenClaw dir by its case-insensitive name (the file system answers for .openclaw)', () => {
    fs.rmSync(path.join(PROFILE, '.openclaw'), { recursive: true, force: true });
    fs.mkdirSync(path.join(PROFILE, '.OpenClaw'));
    const resolved = withEnv(CLEAR, () => resolveStateDir(currentPathEnvironment()));
    assert.equal(resolved.source, 'default');
    assert.ok(samePath('win32', resolved.stateDir, path.join(PROFILE, '.OPENCLAW')));
    assert.ok(isPathInside('win32', PROFILE.toUpperCase(), path.join(resolved.stateDir, 'identity')));
    fs.rmSync(path.join(PROFILE, '.OpenClaw'), { recursive: true, force: true });
  });

  void it('%APPDATA% and %LOCALAPPDATA% leftovers and OneDrive are scan candidates; the dirs are compared case-insensitively', async () => {
    const appData = process.env.APPDATA!;
    const localAppData = process.env.LOCALAPPDATA!;
    assert.match(appData, /^C:\\users\\[^\\]+\\AppData\\Roaming$/i);
    assert.match(localAppData, /^C:\\users\\[^\\]+\\AppData\\Local$/i);
    const roaming = path.join(appData, 'OpenClaw');
    const local = path.join(localAppData, 'openclaw-desktop');
    writeStateDir(roaming);
    fs.mkdirSync(local, { recursive: true });
    const oneDrive = freshDir(path.join(scratch, 'OneDrive - Contoso'));
    writeStateDir(path.join(oneDrive, '.openclaw'));
    try {
      // A copy: currentPathEnvironment() hands out the live process.env, which withEnv restores.
      const pe = withEnv({ ...CLEAR, OneDrive: oneDrive }, () => ({
        ...currentPathEnvironment(),
        env: { ...process.env },
      }));
      const env = pe.env;
      const candidates = listCandidates({ ...pe, env });
      const reasons = (dir: string) => candidates.find((c) => samePath('win32', c.path, dir))?.reasons ?? [];
      assert.ok(reasons(roaming).includes('%APPDATA% leftover'), JSON.stringify(candidates));
      assert.ok(reasons(local).includes('%LOCALAPPDATA% leftover'), JSON.stringify(candidates));
      assert.ok(
        reasons(path.join(oneDrive, '.openclaw')).some((r) => r.startsWith('OneDrive')),
        JSON.stringify(candidates),
      );
      const scan = await scanStateDirs({ ...pe, env });
      const roamingDir = scan.dirs.find((d) => samePath('win32', d.path, roaming));
      assert.ok(roamingDir, JSON.stringify(scan.dirs.map((d) => d.path)));
      assert.ok(
        roamingDir.items.some((i) => i.item === 'exec-approvals'),
        JSON.stringify(roamingDir),
      );
      const inOneDrive = scan.dirs.find((d) => samePath('win32', d.path, path.join(oneDrive, '.OPENCLAW')));
      assert.equal(inOneDrive?.inOneDrive, true, JSON.stringify(scan.dirs));
      // One directory, not two, however its name is spelled.
      assert.equal(scan.dirs.filter((d) => samePath('win32', d.path, path.join(PROFILE, '.openclaw'))).length, 1);
    } finally {
      fs.rmSync(roaming, { recursive: true, force: true });
      fs.rmSync(local, { recursive: true, force: true });
    }
  });

  void it('a state dir over 260 characters is used as is (Node adds \\\\?\\ itself)', () => {
    const long = path.join(scratch, ...Array.from({ length: 26 }, (_, i) => `segment-${String(i).padStart(2, '0')}`));
    assert.ok(long.length > 260, String(long.length));
    const resolved = withEnv({ ...CLEAR, OPENCLAW_STATE_DIR: long }, () => resolveStateDir(currentPathEnvironment()));
    assert.equal(resolved.stateDir, long);
    writeStateDir(resolved.stateDir);
    assert.ok(fs.existsSync(path.join(long, 'exec-approvals.json')));
  });

  void it('os.tmpdir() and the profile are on C:', () => {
    assert.match(os.tmpdir(), /^C:\\/i);
  });
});
