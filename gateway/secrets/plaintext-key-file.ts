import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJsonFile, writeJsonAtomic } from '../fs/atomic-file';
import { DATA_KEY_BYTES, KeyCustodian } from './key-custodian';
import { BackendAttempt, SecretVaultCorruptError } from './secret-errors';

export const PLAINTEXT_KEY_FILE = 'vault-key.plaintext.json';

interface PlaintextKeyFile {
  version: 1;
  keyId: string;
  key: string;
  note: string;
}

/**
 * The weak last resort: the data key in a 0600 file beside the vault. Anything running as the user can read it.
 * Only ever chosen when the caller passes the user's explicit acceptance; doctor reports it.
 */
export class PlaintextKeyFileCustodian implements KeyCustodian {
  readonly kind = 'plaintext-file' as const;
  readonly weak = true;
  readonly label = 'a file readable only by you (0600, not encrypted at rest)';
  private readonly keyFile: string;

  constructor(dir: string) {
    this.keyFile = path.join(dir, PLAINTEXT_KEY_FILE);
  }

  async probe(): Promise<BackendAttempt> {
    try {
      await fs.mkdir(path.dirname(this.keyFile), { recursive: true, mode: 0o700 });
      await fs.access(path.dirname(this.keyFile), fs.constants.W_OK);
      return { backend: 'plaintext-file', outcome: 'ok', detail: `key file ${this.keyFile}` };
    } catch (error) {
      return { backend: 'plaintext-file', outcome: 'unavailable', detail: (error as Error).message };
    }
  }

  async loadKey(keyId: string): Promise<Buffer | null> {
    const read = await readJsonFile<PlaintextKeyFile>(this.keyFile, { parse: parseKeyFile, maxBytes: 64 * 1024 });
    if (read.kind === 'missing') return null;
    if (read.kind === 'corrupt')
      throw new SecretVaultCorruptError(`${read.error}; moved aside to ${read.quarantinedTo}`);
    if (read.value.keyId !== keyId) return null;
    const key = Buffer.from(read.value.key, 'base64');
    return key.length === DATA_KEY_BYTES ? key : null;
  }

  async storeKey(keyId: string, key: Buffer): Promise<void> {
    await writeJsonAtomic(this.keyFile, {
      version: 1,
      keyId,
      key: key.toString('base64'),
      note: 'Clawdesk vault key kept outside the OS keychain because you accepted the weaker file mode.',
    } satisfies PlaintextKeyFile);
  }

  async deleteKey(keyId: string): Promise<void> {
    const read = await readJsonFile<PlaintextKeyFile>(this.keyFile, { parse: parseKeyFile, maxBytes: 64 * 1024 });
    if (read.kind === 'ok' && read.value.keyId === keyId) await fs.rm(this.keyFile, { force: true });
  }
}

function parseKeyFile(value: unknown): PlaintextKeyFile {
  const v = value as Partial<PlaintextKeyFile> | null;
  if (!v || v.version !== 1 || typeof v.keyId !== 'string' || typeof v.key !== 'string') {
    throw new Error('expected {version:1, keyId, key}');
  }
  return v as PlaintextKeyFile;
}
