import path from 'node:path';
import { readJsonFile, writeJsonAtomic } from '../gateway/fs/atomic-file';
import { THEME_CHOICES, type ThemeChoice } from '../common/ipc-contract';
import { damagedSettings, type NoticeSink } from './app-notices';

/** The slice of Electron's nativeTheme this feature drives. */
export interface NativeThemeLike {
  themeSource: ThemeChoice;
}

export interface AppearanceDeps {
  nativeTheme: NativeThemeLike;
  userDataDir: string;
  log: (level: 'info' | 'warn', message: string) => void;
  notices?: NoticeSink;
}

export interface Appearance {
  theme(): ThemeChoice;
  setTheme(choice: ThemeChoice): Promise<void>;
}

export const APPEARANCE_FILE = 'appearance.json';

const isThemeChoice = (value: unknown): value is ThemeChoice =>
  typeof value === 'string' && (THEME_CHOICES as readonly string[]).includes(value);

/**
 * The light/dark choice for what Electron draws itself (message boxes, menus, title bars, a window's background
 * before its page paints): nativeTheme.themeSource, remembered in `<userData>/appearance.json` and applied at
 * start, before any window opens. The pages keep their own copy for the first paint (renderer/theme.ts) and
 * report a change here. A damaged file is moved aside (and said so in the log); the OS setting then applies.
 */
export async function setupAppearance(deps: AppearanceDeps): Promise<Appearance> {
  const file = path.join(deps.userDataDir, APPEARANCE_FILE);
  const read = await readJsonFile<{ theme: ThemeChoice }>(file, {
    maxBytes: 4096,
    parse: (value) => {
      const theme = (value as { theme?: unknown } | null)?.theme;
      if (!isThemeChoice(theme)) throw new Error('"theme" must be system, light or dark');
      return { theme };
    },
  }).catch((error: unknown) => {
    deps.log('warn', `could not read ${file}: ${(error as Error).message}`);
    return undefined;
  });
  if (read?.kind === 'corrupt') {
    deps.log('warn', `${read.error}; moved to ${read.quarantinedTo}, following the OS`);
    deps.notices?.report(damagedSettings('appearance', read.quarantinedTo));
  }
  let current: ThemeChoice = read?.kind === 'ok' ? read.value.theme : 'system';
  deps.nativeTheme.themeSource = current;
  return {
    theme: () => current,
    async setTheme(choice) {
      if (!isThemeChoice(choice)) throw new Error(`unknown theme "${String(choice)}"`);
      if (choice === current) return;
      deps.nativeTheme.themeSource = choice;
      current = choice;
      await writeJsonAtomic(file, { theme: choice });
    },
  };
}
