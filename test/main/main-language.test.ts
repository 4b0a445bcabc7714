// Issue 17: the dashboard's manual language reaches main (the tray, prompts and native dialogs follow it) and is
// kept across starts, the way the theme is (test/main/appearance.test.ts).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AppNotices } from '../../main/app-notices';
import { DashboardService, type DashboardDeps } from '../../main/dashboard-service';
import { IPC_ARG_SCHEMAS } from '../../main/ipc/ipc-schemas';
import { LANGUAGE_FILE, setupMainLanguage } from '../../main/main-language';
import { trayMenu, type TrayActions } from '../../main/tray-model';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fixture(file?: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-language-'));
  dirs.push(dir);
  if (file !== undefined) writeFileSync(path.join(dir, LANGUAGE_FILE), file);
  const logs: string[] = [];
  let changes = 0;
  const notices = new AppNotices({ onChange: () => undefined });
  let system = ['de-AT', 'en-US'];
  const setup = () =>
    setupMainLanguage({
      userDataDir: dir,
      systemLanguages: () => system,
      log: (level, message) => logs.push(`${level}: ${message}`),
      notices,
      onChange: () => changes++,
    });
  return {
    dir,
    logs,
    notices,
    setup,
    changes: () => changes,
    setSystem: (languages: string[]) => (system = languages),
    saved: () => JSON.parse(readFileSync(path.join(dir, LANGUAGE_FILE), 'utf8')) as unknown,
  };
}

const actions = new Proxy({}, { get: () => () => undefined }) as TrayActions;
const quitLabel = (t: Parameters<typeof trayMenu>[2]) =>
  trayMenu(
    {
      gateway: 'stopped',
      port: 1,
      owner: { kind: 'none', description: '' },
      pendingApprovals: [],
      pendingPairings: [],
      startAtLogin: false,
    } as never,
    actions,
    t,
  ).find((i) => i.id === 'quit')?.label;

describe('setupMainLanguage: main follows the dashboard’s language across starts', () => {
  it('no file: the OS’s language; a choice applies at once (the tray redrawn) and is remembered for the next start', async () => {
    const f = fixture();
    const language = await f.setup();
    expect(language.locale()).toBe('de');
    expect(language.choice()).toBeNull();
    const { translate } = language;
    expect(translate('menu.quit')).toBe('Clawdesk beenden');
    expect(existsSync(path.join(f.dir, LANGUAGE_FILE))).toBe(false);

    await language.setLanguage('fr');
    // The same function, late-bound: whatever holds it (the tray, the prompts, the dialogs) now says French.
    expect(translate('menu.quit')).toBe('Quitter Clawdesk');
    expect(quitLabel(translate)).toBe('Quitter Clawdesk');
    expect(f.changes()).toBe(1);
    expect(f.saved()).toEqual({ language: 'fr' });
    if (process.platform !== 'win32') expect(statSync(path.join(f.dir, LANGUAGE_FILE)).mode & 0o077).toBe(0);

    // The next start: French, although the OS still says German.
    const again = await f.setup();
    expect(again.locale()).toBe('fr');
    expect(again.choice()).toBe('fr');
    expect(again.translate('decision.deny')).toBe('Refuser');
  });

  it('back to the OS’s language (null) is remembered too; the pseudo-locale is English here; the same choice again writes nothing', async () => {
    const f = fixture('{"language":"ja"}');
    const language = await f.setup();
    expect(language.translate('menu.quit')).toBe('Clawdesk を終了');
    await language.setLanguage(null);
    expect(language.locale()).toBe('de');
    expect(f.saved()).toEqual({ language: null });
    expect((await f.setup()).locale()).toBe('de');

    await language.setLanguage('en-XA');
    expect(language.locale()).toBe('en');
    expect(language.translate('menu.quit')).toBe('Quit Clawdesk');
    expect(f.saved()).toEqual({ language: 'en' });
    const changes = f.changes();
    writeFileSync(path.join(f.dir, LANGUAGE_FILE), '{"language":"en","touched":true}');
    await language.setLanguage('en');
    expect(f.changes()).toBe(changes);
    expect(JSON.parse(readFileSync(path.join(f.dir, LANGUAGE_FILE), 'utf8'))).toMatchObject({ touched: true });
  });

  it('a choice that is the OS’s language anyway redraws nothing, but is remembered (the OS may change)', async () => {
    const f = fixture();
    const language = await f.setup();
    await language.setLanguage('de');
    expect(f.changes()).toBe(0);
    expect(f.saved()).toEqual({ language: 'de' });
    f.setSystem(['ko']);
    expect((await f.setup()).locale()).toBe('de');
  });

  it('an unknown or malformed language is refused and changes nothing; IPC refuses it before main sees it', async () => {
    const f = fixture();
    const language = await f.setup();
    for (const bad of ['', 'de<script>', 'x'.repeat(40), 'de_DE', 42])
      await expect(language.setLanguage(bad as never), String(bad)).rejects.toThrow(/unknown language/);
    expect(language.locale()).toBe('de');
    expect(existsSync(path.join(f.dir, LANGUAGE_FILE))).toBe(false);
    expect(IPC_ARG_SCHEMAS.setLanguage.safeParse(['de<script>']).success).toBe(false);
    expect(IPC_ARG_SCHEMAS.setLanguage.safeParse([42]).success).toBe(false);
    expect(IPC_ARG_SCHEMAS.setLanguage.safeParse(['pt-BR']).success).toBe(true);
    expect(IPC_ARG_SCHEMAS.setLanguage.safeParse([null]).success).toBe(true);
  });

  it('a damaged file is moved aside and said so; the OS’s language applies until one is chosen again', async () => {
    for (const content of ['{"language":"klingon"}', '{not json', '{"language":5}']) {
      const f = fixture(content);
      const language = await f.setup();
      expect(language.locale(), content).toBe('de');
      expect(language.choice()).toBeNull();
      expect(f.notices.list().map((n) => n.id)).toEqual(['settings:language']);
      expect(f.logs.join('\n')).toMatch(/moved to .*following the OS/);
      expect(readdirSync(f.dir).some((name) => name !== LANGUAGE_FILE && name.startsWith(LANGUAGE_FILE))).toBe(true);
      await language.setLanguage('es');
      expect(f.saved()).toEqual({ language: 'es' });
    }
  });

  it('the dashboard’s IPC call reaches it (DashboardService.setLanguage)', async () => {
    const f = fixture();
    const language = await f.setup();
    const service = new DashboardService({ language } as unknown as DashboardDeps);
    await service.setLanguage('ru');
    expect(language.translate('menu.quit')).toBe('Выйти из Clawdesk');
    await service.setLanguage(null);
    expect(language.locale()).toBe('de');
  });
});
