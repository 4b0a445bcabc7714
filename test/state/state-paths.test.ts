import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidProfileError,
  PathEnvironment,
  currentPathEnvironment,
  isPathInside,
  resolveClawdeskDataDir,
  resolveConfigPath,
  resolveHomeDir,
  resolveStateDir,
  samePath,
} from '../../gateway/state/state-paths';

/** A fake filesystem given as a set of existing paths; lookups fold case like the target OS. */
function fakeEnv(
  platform: NodeJS.Platform,
  env: Record<string, string | undefined>,
  existing: string[] = [],
  extra: Partial<PathEnvironment> = {},
): PathEnvironment {
  const fold = (s: string) => (platform === 'win32' ? s.toLowerCase() : s);
  const set = new Set(existing.map(fold));
  return {
    env,
    platform,
    osHomedir: platform === 'win32' ? 'C:\\Users\\ada' : '/home/ada',
    cwd: platform === 'win32' ? 'C:\\work' : '/work',
    exists: (p) => set.has(fold(p)),
    ...extra,
  };
}

describe('resolveHomeDir', () => {
  it('prefers OPENCLAW_HOME, then HOME, then USERPROFILE, then the OS home', () => {
    expect(resolveHomeDir(fakeEnv('linux', { OPENCLAW_HOME: '/srv/oc', HOME: '/home/x' }))).toBe('/srv/oc');
    expect(resolveHomeDir(fakeEnv('linux', { HOME: '/home/x', USERPROFILE: '/home/y' }))).toBe('/home/x');
    expect(resolveHomeDir(fakeEnv('linux', { USERPROFILE: '/home/y' }))).toBe('/home/y');
    expect(resolveHomeDir(fakeEnv('linux', {}))).toBe('/home/ada');
  });

  it('falls back to cwd when there is no home at all', () => {
    expect(resolveHomeDir(fakeEnv('linux', {}, [], { osHomedir: '' }))).toBe('/work');
  });

  it('treats blank variables as unset', () => {
    expect(resolveHomeDir(fakeEnv('linux', { OPENCLAW_HOME: '  ', HOME: '' }))).toBe('/home/ada');
  });

  it('expands a leading ~ in OPENCLAW_HOME against the OS home', () => {
    expect(resolveHomeDir(fakeEnv('linux', { OPENCLAW_HOME: '~/alt', HOME: '/home/x' }))).toBe('/home/x/alt');
    expect(resolveHomeDir(fakeEnv('linux', { OPENCLAW_HOME: '~' }))).toBe('/home/ada');
    expect(resolveHomeDir(fakeEnv('win32', { OPENCLAW_HOME: '~\\alt' }))).toBe('C:\\Users\\ada\\alt');
  });

  it('on Windows, HOME from Git Bash wins over USERPROFILE', () => {
    const pe = fakeEnv('win32', { HOME: 'D:\\msys\\home\\ada', USERPROFILE: 'C:\\Users\\ada' });
    expect(resolveHomeDir(pe)).toBe('D:\\msys\\home\\ada');
  });

  it('on Windows, environment names are case-insensitive', () => {
    expect(resolveHomeDir(fakeEnv('win32', { UserProfile: 'C:\\Users\\Bob' }))).toBe('C:\\Users\\Bob');
  });
});

describe('resolveStateDir', () => {
  it('uses OPENCLAW_STATE_DIR, expanding ~ against the resolved home', () => {
    const r = resolveStateDir(fakeEnv('linux', { OPENCLAW_STATE_DIR: '~/state', OPENCLAW_HOME: '/srv/oc' }));
    expect(r).toEqual({ stateDir: '/srv/oc/state', source: 'env', home: '/srv/oc' });
  });

  it('resolves a relative OPENCLAW_STATE_DIR against cwd', () => {
    expect(resolveStateDir(fakeEnv('linux', { OPENCLAW_STATE_DIR: 'rel/st' })).stateDir).toBe('/work/rel/st');
  });

  it('takes <home>/.openclaw when it exists, even beside a legacy dir', () => {
    const r = resolveStateDir(fakeEnv('linux', {}, ['/home/ada/.openclaw', '/home/ada/.clawdbot']));
    expect(r).toEqual({ stateDir: '/home/ada/.openclaw', source: 'default', home: '/home/ada' });
  });

  it('falls back to .clawdbot when only it exists, but never to the retired names', () => {
    expect(resolveStateDir(fakeEnv('linux', {}, ['/home/ada/.clawdbot'])).source).toBe('legacy');
    const retired = resolveStateDir(fakeEnv('linux', {}, ['/home/ada/.moltbot', '/home/ada/.moldbot']));
    expect(retired).toEqual({ stateDir: '/home/ada/.openclaw', source: 'default-missing', home: '/home/ada' });
  });

  it("OPENCLAW_HOME is a home, not a state dir: nested .openclaw (docs/state-and-secrets.md § Where OpenClaw's state is)", () => {
    const r = resolveStateDir(fakeEnv('linux', { OPENCLAW_HOME: '/home/ada/.openclaw' }));
    expect(r.stateDir).toBe('/home/ada/.openclaw/.openclaw');
  });

  it('profiles map to <home>/.openclaw-<name>, but never override OPENCLAW_STATE_DIR', () => {
    expect(resolveStateDir(fakeEnv('linux', {}), { profile: 'dev' })).toEqual({
      stateDir: '/home/ada/.openclaw-dev',
      source: 'profile',
      home: '/home/ada',
    });
    expect(resolveStateDir(fakeEnv('linux', {}, ['/home/ada/.openclaw']), { profile: 'default' }).stateDir).toBe(
      '/home/ada/.openclaw',
    );
    expect(resolveStateDir(fakeEnv('linux', { OPENCLAW_STATE_DIR: '/x' }), { profile: 'dev' }).stateDir).toBe('/x');
  });

  it('rejects profile names that would escape the home', () => {
    expect(() => resolveStateDir(fakeEnv('linux', {}), { profile: '../evil' })).toThrow(InvalidProfileError);
    expect(() => resolveStateDir(fakeEnv('linux', {}), { profile: 'a/b' })).toThrow(/invalid profile name "a\/b"/);
  });

  it('Windows: E:\\ state dir, drive letters and backslashes', () => {
    const r = resolveStateDir(fakeEnv('win32', { OPENCLAW_STATE_DIR: 'E:/OpenClaw_Data' }));
    expect(r).toEqual({ stateDir: 'E:\\OpenClaw_Data', source: 'env', home: 'C:\\Users\\ada' });
  });

  it('Windows: UNC state dir is kept as a UNC path', () => {
    const r = resolveStateDir(fakeEnv('win32', { OPENCLAW_STATE_DIR: '\\\\nas\\share\\openclaw' }));
    expect(r.stateDir).toBe('\\\\nas\\share\\openclaw');
  });

  it('Windows: existence is checked case-insensitively and the default is under the user profile, not %APPDATA%', () => {
    const pe = fakeEnv('win32', { USERPROFILE: 'C:\\Users\\Ada', APPDATA: 'C:\\Users\\Ada\\AppData\\Roaming' }, [
      'c:\\users\\ada\\.OPENCLAW',
    ]);
    expect(resolveStateDir(pe)).toEqual({
      stateDir: 'C:\\Users\\Ada\\.openclaw',
      source: 'default',
      home: 'C:\\Users\\Ada',
    });
  });

  it('honours OPENCLAW_TEST_FAST by skipping existence checks', () => {
    const pe = fakeEnv('linux', { OPENCLAW_TEST_FAST: '1' }, ['/home/ada/.clawdbot']);
    expect(resolveStateDir(pe).stateDir).toBe('/home/ada/.openclaw');
  });
});

describe('resolveConfigPath', () => {
  it('uses OPENCLAW_CONFIG_PATH with ~ expansion', () => {
    const pe = fakeEnv('linux', { OPENCLAW_CONFIG_PATH: '~/cfg/oc.json5' });
    expect(resolveConfigPath(pe, '/home/ada/.openclaw')).toBe('/home/ada/cfg/oc.json5');
  });

  it('prefers openclaw.json, then legacy clawdbot.json, then the new name', () => {
    const st = '/home/ada/.openclaw';
    expect(resolveConfigPath(fakeEnv('linux', {}, [`${st}/openclaw.json`, `${st}/clawdbot.json`]), st)).toBe(
      `${st}/openclaw.json`,
    );
    expect(resolveConfigPath(fakeEnv('linux', {}, [`${st}/clawdbot.json`]), st)).toBe(`${st}/clawdbot.json`);
    expect(resolveConfigPath(fakeEnv('linux', {}), st)).toBe(`${st}/openclaw.json`);
  });

  it('Windows: joins with backslashes', () => {
    expect(resolveConfigPath(fakeEnv('win32', {}), 'E:\\OpenClaw_Data')).toBe('E:\\OpenClaw_Data\\openclaw.json');
  });
});

describe('resolveClawdeskDataDir', () => {
  it('lives inside the resolved state dir (per profile), unless CLAWDESK_DATA_DIR says otherwise', () => {
    expect(resolveClawdeskDataDir(fakeEnv('linux', {}, ['/home/ada/.openclaw']))).toBe('/home/ada/.openclaw/clawdesk');
    expect(resolveClawdeskDataDir(fakeEnv('linux', {}), { profile: 'dev' })).toBe('/home/ada/.openclaw-dev/clawdesk');
    expect(resolveClawdeskDataDir(fakeEnv('win32', { OPENCLAW_STATE_DIR: 'E:\\OpenClaw_Data' }))).toBe(
      'E:\\OpenClaw_Data\\clawdesk',
    );
    expect(resolveClawdeskDataDir(fakeEnv('linux', { CLAWDESK_DATA_DIR: '~/cd' }))).toBe('/home/ada/cd');
  });
});

describe('path comparison', () => {
  it('folds case on Windows and macOS only', () => {
    expect(samePath('win32', 'C:\\Users\\Ada\\.openclaw', 'c:/users/ada/.OpenClaw/')).toBe(true);
    expect(samePath('linux', '/home/Ada', '/home/ada')).toBe(false);
    expect(samePath('darwin', '/Users/Ada', '/users/ada')).toBe(true);
  });

  it('detects a target inside its source without false positives on shared prefixes', () => {
    expect(isPathInside('linux', '/a/b', '/a/b/c')).toBe(true);
    expect(isPathInside('linux', '/a/b', '/a/bc')).toBe(false);
    expect(isPathInside('linux', '/a/b', '/a/b/..c')).toBe(true);
    expect(isPathInside('win32', 'C:\\A', 'c:\\a\\x')).toBe(true);
    expect(isPathInside('win32', 'C:\\A', 'D:\\A\\x')).toBe(false);
  });
});

describe('currentPathEnvironment on real files', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds a legacy dir on disk, with spaces and non-ASCII names in the home', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk paths é-'));
    mkdirSync(path.join(dir, '.clawdbot'));
    writeFileSync(path.join(dir, '.clawdbot', 'clawdbot.json'), '{}');
    const pe = { ...currentPathEnvironment(), env: { HOME: dir } };
    const r = resolveStateDir(pe);
    expect(r).toEqual({ stateDir: path.join(dir, '.clawdbot'), source: 'legacy', home: dir });
    expect(resolveConfigPath(pe, r.stateDir)).toBe(path.join(dir, '.clawdbot', 'clawdbot.json'));
  });
});
