import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { APPEARANCE_FILE, setupAppearance, type NativeThemeLike } from '../../main/appearance';
import { IPC_ARG_SCHEMAS } from '../../main/ipc/ipc-schemas';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fixture(file?: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-appearance-'));
  dirs.push(dir);
  if (file !== undefined) writeFileSync(path.join(dir, APPEARANCE_FILE), file);
  const sources: string[] = [];
  let source: NativeThemeLike['themeSource'] = 'system';
  const nativeTheme: NativeThemeLike = {
    get themeSource() {
      return source;
    },
    set themeSource(value) {
      source = value;
      sources.push(value);
    },
  };
  const logs: string[] = [];
  return {
    dir,
    nativeTheme,
    sources,
    logs,
    log: (level: string, message: string) => logs.push(`${level}: ${message}`),
  };
}

describe('setupAppearance: nativeTheme follows the dashboard’s choice across starts', () => {
  it('no file: the OS setting; a choice is applied at once and remembered for the next start', async () => {
    const f = fixture();
    const appearance = await setupAppearance({ nativeTheme: f.nativeTheme, userDataDir: f.dir, log: f.log });
    expect(f.sources).toEqual(['system']);
    await appearance.setTheme('dark');
    expect(f.nativeTheme.themeSource).toBe('dark');
    expect(JSON.parse(readFileSync(path.join(f.dir, APPEARANCE_FILE), 'utf8'))).toEqual({ theme: 'dark' });
    if (process.platform !== 'win32') expect(statSync(path.join(f.dir, APPEARANCE_FILE)).mode & 0o077).toBe(0);

    const next = fixture();
    writeFileSync(path.join(next.dir, APPEARANCE_FILE), readFileSync(path.join(f.dir, APPEARANCE_FILE)));
    const again = await setupAppearance({ nativeTheme: next.nativeTheme, userDataDir: next.dir, log: next.log });
    expect(next.sources).toEqual(['dark']);
    expect(again.theme()).toBe('dark');
  });

  it('the same choice again writes nothing; an unknown one is refused and changes nothing', async () => {
    const f = fixture('{"theme":"light"}');
    const appearance = await setupAppearance({ nativeTheme: f.nativeTheme, userDataDir: f.dir, log: f.log });
    await appearance.setTheme('light');
    expect(f.sources).toEqual(['light']);
    await expect(appearance.setTheme('purple' as never)).rejects.toThrow('unknown theme "purple"');
    expect(f.nativeTheme.themeSource).toBe('light');
    expect(IPC_ARG_SCHEMAS.setTheme.safeParse(['purple']).success).toBe(false);
    expect(IPC_ARG_SCHEMAS.setTheme.safeParse(['dark']).success).toBe(true);
  });

  it('a damaged or foreign file is moved aside and said so; the OS setting applies', async () => {
    for (const content of ['{"theme":"purple"}', 'not json', '{"theme":{"__proto__":{}}}']) {
      const f = fixture(content);
      const appearance = await setupAppearance({ nativeTheme: f.nativeTheme, userDataDir: f.dir, log: f.log });
      expect(f.sources).toEqual(['system']);
      expect(appearance.theme()).toBe('system');
      expect(existsSync(path.join(f.dir, APPEARANCE_FILE))).toBe(false);
      const aside = readdirSync(f.dir).find((name) => name.startsWith(`${APPEARANCE_FILE}.corrupt-`));
      expect(aside, content).toBeDefined();
      expect(readFileSync(path.join(f.dir, aside!), 'utf8')).toBe(content);
      expect(f.logs.join('\n')).toMatch(/moved to .*following the OS/);
    }
  });
});
