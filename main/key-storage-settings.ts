import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, serialize, writeJsonAtomic } from '../gateway/fs/atomic-file';

export const KEY_STORAGE_SETTINGS_FILE = 'key-storage.json';

/**
 * The user's decisions about where Clawdesk's device key may be kept. Not a secret: it says where a key may go,
 * never holds one. Decisions are per Clawdesk data dir (one per OpenClaw state dir / profile), so accepting a key
 * file for one profile does not quietly apply to another.
 */
const settingsSchema = z.object({
  version: z.literal(1),
  plaintextKeyFile: z.record(z.string(), z.object({ acceptedAtMs: z.number().int().nonnegative() })),
});

type Settings = z.infer<typeof settingsSchema>;

const empty = (): Settings => ({ version: 1, plaintextKeyFile: {} });

export interface KeyStorageSettingsOptions {
  now?: () => number;
  /** The file could not be read, or did not parse and was moved aside: its decisions are not applied (fail closed). */
  onProblem?(message: string, movedTo?: string): void;
}

export class KeyStorageSettings {
  private settings: Settings = empty();

  constructor(
    readonly file: string,
    private readonly options: KeyStorageSettingsOptions = {},
  ) {}

  /** Reads the file; missing, unreadable or corrupt means nothing was accepted. Never throws: the app must start. */
  async load(): Promise<void> {
    try {
      this.settings = await this.read();
    } catch (error) {
      this.options.onProblem?.(`${this.file} cannot be read (${(error as Error).message}); no key file is accepted`);
      this.settings = empty();
    }
  }

  plaintextKeyFileAccepted(dataDir: string): boolean {
    return Object.hasOwn(this.settings.plaintextKeyFile, path.resolve(dataDir));
  }

  /**
   * Records the user's acceptance of a 0600 key file for `dataDir`; applied only once it is on disk. A file that
   * cannot be read makes this fail rather than overwrite decisions it holds for other profiles.
   */
  acceptPlaintextKeyFile(dataDir: string): Promise<void> {
    return serialize(this.file, async () => {
      const current = await this.read();
      const next: Settings = {
        ...current,
        plaintextKeyFile: {
          ...current.plaintextKeyFile,
          [path.resolve(dataDir)]: { acceptedAtMs: (this.options.now ?? Date.now)() },
        },
      };
      await writeJsonAtomic(this.file, next);
      this.settings = next;
    });
  }

  private async read(): Promise<Settings> {
    const result = await readJsonFile(this.file, {
      parse: (value) => settingsSchema.parse(value),
      maxBytes: 64 * 1024,
    });
    if (result.kind === 'ok') return result.value;
    if (result.kind === 'corrupt') {
      this.options.onProblem?.(
        `${result.error}; moved to ${result.quarantinedTo || '(left in place)'}; no key file is accepted until you choose again`,
        result.quarantinedTo || undefined,
      );
    }
    return empty();
  }
}
