// The update channel the person chose, in `<userData>/update.json`.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeJsonAtomic } from '../gateway/fs/atomic-file';
import { damagedSettings, type NoticeSink } from './app-notices';
import type { MainLog } from './main-log';

export const UPDATE_CHANNELS = ['stable', 'beta'] as const;
export type UpdateChannel = (typeof UPDATE_CHANNELS)[number];
export const UPDATE_SETTINGS_FILE = 'update.json';

export const isUpdateChannel = (value: unknown): value is UpdateChannel =>
  typeof value === 'string' && (UPDATE_CHANNELS as readonly string[]).includes(value);

export interface UpdateSettings {
  channel(): UpdateChannel;
  setChannel(channel: UpdateChannel): Promise<void>;
}

/**
 * Read once at start, as main/appearance.ts reads its file: a damaged file is moved aside (and said so in the log)
 * and the default (stable) applies; a link in its place is moved aside too, never read or written through. Writes
 * are atomic (temp file, fsync, rename) and refuse a link at the name.
 */
export async function loadUpdateSettings(
  userDataDir: string,
  log: MainLog,
  notices?: NoticeSink,
): Promise<UpdateSettings> {
  const file = path.join(userDataDir, UPDATE_SETTINGS_FILE);
  const link = await fs.lstat(file).then(
    (stat) => stat.isSymbolicLink(),
    () => false,
  );
  if (link) {
    const aside = `${file}.link-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await fs.rename(file, aside).catch(() => undefined);
    log('warn', `${file} is a symbolic link; moved to ${aside}, using the stable channel`);
  }
  const read = link
    ? undefined
    : await readJsonFile<{ channel: UpdateChannel }>(file, {
        maxBytes: 4096,
        parse: (value) => {
          const channel = (value as { channel?: unknown } | null)?.channel;
          if (!isUpdateChannel(channel)) throw new Error('"channel" must be stable or beta');
          return { channel };
        },
      }).catch((error: unknown) => {
        log('warn', `could not read ${file}: ${(error as Error).message}`);
        return undefined;
      });
  if (read?.kind === 'corrupt') {
    log('warn', `${read.error}; moved to ${read.quarantinedTo}, using the stable channel`);
    notices?.report(damagedSettings('update', read.quarantinedTo));
  }
  let current: UpdateChannel = read?.kind === 'ok' ? read.value.channel : 'stable';
  return {
    channel: () => current,
    async setChannel(channel) {
      if (!isUpdateChannel(channel)) throw new Error(`unknown update channel "${String(channel)}"`);
      await writeJsonAtomic(file, { channel }, { refuseSymlink: true });
      current = channel;
    },
  };
}
