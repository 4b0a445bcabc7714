// The feed check (main/update-feed.ts) and the channel file (main/update-settings.ts).
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFeed, readFeedFile } from '../../main/update-feed';
import { loadUpdateSettings } from '../../main/update-settings';
import { AppNotices } from '../../main/app-notices';

const linux = { platform: 'linux' as const };

describe('the update feed check', () => {
  it('GitHub Releases and https generic feeds pass', () => {
    expect(checkFeed({ provider: 'github', owner: 'clawdesk', repo: 'clawdesk' }, linux)).toMatchObject({
      provider: 'github',
    });
    expect(checkFeed({ provider: 'generic', url: 'https://updates.example.com/clawdesk/' }, linux)).toMatchObject({
      provider: 'generic',
    });
  });

  it('http is refused, loopback included, unless a test allows loopback; another host never', () => {
    const http = (url: string) => ({ provider: 'generic', url });
    expect(() => checkFeed(http('http://updates.example.com/'), linux)).toThrow(/must be https:\/\//);
    expect(() => checkFeed(http('http://127.0.0.1:8080/'), linux)).toThrow(/must be https:\/\//);
    expect(checkFeed(http('http://127.0.0.1:8080/'), { ...linux, allowLoopbackHttp: true })).toBeTruthy();
    expect(checkFeed(http('http://[::1]:8080/'), { ...linux, allowLoopbackHttp: true })).toBeTruthy();
    for (const host of ['localhost', '127.0.0.1.nip.io', 'example.com', '10.0.0.1'])
      expect(() => checkFeed(http(`http://${host}/`), { ...linux, allowLoopbackHttp: true })).toThrow(/https/);
    expect(() => checkFeed(http('file:///tmp/feed/'), linux)).toThrow(/must be https/);
    expect(() => checkFeed(http('https://user:pw@updates.example.com/'), linux)).toThrow(/credentials/);
    expect(() => checkFeed({ provider: 'github', owner: 'a', repo: 'b', protocol: 'http' }, linux)).toThrow(/https/);
  });

  it('no credentials in the app, no unknown providers, and Windows needs a publisher to check signatures against', () => {
    expect(() => checkFeed({ provider: 'github', owner: 'a', repo: 'b', token: 'ghp_x' }, linux)).toThrow(/token/);
    expect(() => checkFeed({ provider: 's3', bucket: 'x' }, linux)).toThrow(/not supported/);
    const github = { provider: 'github', owner: 'clawdesk', repo: 'clawdesk' };
    expect(() => checkFeed(github, { platform: 'win32' })).toThrow(/names no publisher/);
    expect(checkFeed({ ...github, publisherName: ['Clawdesk Ltd'] }, { platform: 'win32' })).toBeTruthy();
    expect(() => checkFeed({ ...github, publisherName: [] }, { platform: 'win32' })).toThrow(/names no publisher/);
  });

  it('reads app-update.yml as electron-builder writes it; a missing or broken one is refused with the reason', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-feed-'));
    const file = path.join(dir, 'app-update.yml');
    await expect(readFeedFile(file, linux)).rejects.toThrow(/is missing/);
    writeFileSync(
      file,
      'owner: clawdesk\nrepo: clawdesk\nprovider: github\nupdaterCacheDirName: clawdesk-desktop-updater\n',
    );
    expect(await readFeedFile(file, linux)).toEqual({
      owner: 'clawdesk',
      repo: 'clawdesk',
      provider: 'github',
      updaterCacheDirName: 'clawdesk-desktop-updater',
    });
    writeFileSync(file, 'provider: generic\nurl: https://x.example/\npublisherName:\n  - Clawdesk Ltd\n');
    expect(await readFeedFile(file, { platform: 'win32' })).toMatchObject({ publisherName: ['Clawdesk Ltd'] });
    writeFileSync(file, 'provider: [generic\n');
    await expect(readFeedFile(file, linux)).rejects.toThrow(/does not parse/);
  });
});

describe('the channel file (<userData>/update.json)', () => {
  const log = () => {
    const lines: string[] = [];
    return { lines, log: (level: string, message: string) => void lines.push(`${level} ${message}`) };
  };

  it('stable by default; a choice is written atomically and read back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-channel-'));
    const settings = await loadUpdateSettings(dir, log().log);
    expect(settings.channel()).toBe('stable');
    await settings.setChannel('beta');
    expect(JSON.parse(readFileSync(path.join(dir, 'update.json'), 'utf8'))).toEqual({ channel: 'beta' });
    expect(lstatSync(path.join(dir, 'update.json')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect((await loadUpdateSettings(dir, log().log)).channel()).toBe('beta');
    await expect(settings.setChannel('nightly' as 'beta')).rejects.toThrow(/unknown update channel/);
  });

  it('a damaged file is moved aside and stable applies (as appearance.json)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-channel-'));
    writeFileSync(path.join(dir, 'update.json'), '{"channel":"nightly"}');
    const { lines, log: write } = log();
    const notices = new AppNotices({ onChange: () => undefined });
    expect((await loadUpdateSettings(dir, write, notices)).channel()).toBe('stable');
    expect(notices.list()).toEqual([
      expect.objectContaining({
        id: 'settings:update',
        fix: 'Updates use the stable channel until you choose again.',
        message: expect.stringMatching(
          /^Clawdesk's update settings were damaged and moved to .*update\.json\.corrupt-/,
        ),
      }),
    ]);
    expect(existsSync(path.join(dir, 'update.json'))).toBe(false);
    expect(readdirSync(dir).some((name) => name.startsWith('update.json.corrupt-'))).toBe(true);
    expect(lines.join('\n')).toMatch(/"channel" must be stable or beta; moved to .*using the stable channel/);
  });

  it('a symbolic link in its place is never read or written through', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-channel-'));
    const elsewhere = path.join(dir, 'elsewhere.json');
    writeFileSync(elsewhere, '{"channel":"beta"}');
    symlinkSync(elsewhere, path.join(dir, 'update.json'));
    const { lines, log: write } = log();
    const settings = await loadUpdateSettings(dir, write);
    expect(settings.channel()).toBe('stable');
    expect(lines.join('\n')).toMatch(/is a symbolic link; moved to/);
    await settings.setChannel('beta');
    expect(lstatSync(path.join(dir, 'update.json')).isSymbolicLink()).toBe(false);
    expect(readFileSync(elsewhere, 'utf8')).toBe('{"channel":"beta"}');

    // A link that appears later is refused at write time.
    const again = path.join(dir, 'again');
    symlinkSync(elsewhere, path.join(again + '.json'));
    const later = await loadUpdateSettings(dir, write);
    rmSync(path.join(dir, 'update.json'));
    renameSync(again + '.json', path.join(dir, 'update.json'));
    await expect(later.setChannel('stable')).rejects.toThrow(/symbolic link/);
    expect(readFileSync(elsewhere, 'utf8')).toBe('{"channel":"beta"}');
  });
});
