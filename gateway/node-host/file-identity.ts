import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readJsonFile, serialize, writeJsonAtomic } from '../fs/atomic-file';
import { deviceSignerFromKeys, type DeviceSigner } from '../protocol/device-auth';

/**
 * A device identity kept in a 0600 JSON file: `{version:1, deviceId, publicKeyPem, privateKeyPem, createdAtMs}`.
 * The headless fallback for the CLI runner; the desktop app passes its keychain-backed identity instead.
 */
export async function loadOrCreateFileIdentity(filePath: string): Promise<DeviceSigner> {
  return serialize(filePath, async () => {
    const read = await readJsonFile<{ privateKeyPem: string }>(filePath, {
      parse: (v) => {
        const rec = v as { version?: number; privateKeyPem?: unknown };
        if (rec?.version !== 1 || typeof rec.privateKeyPem !== 'string')
          throw new Error('expected {version:1, privateKeyPem}');
        return { privateKeyPem: rec.privateKeyPem };
      },
    });
    if (read.kind === 'ok') {
      const privateKey = createPrivateKey(read.value.privateKeyPem);
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${filePath} does not hold an Ed25519 key`);
      return deviceSignerFromKeys(createPublicKey(privateKey), privateKey);
    }
    // Missing, or corrupt (moved aside by readJsonFile): a new identity, which the gateway will pair anew.
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const signer = deviceSignerFromKeys(publicKey, privateKey);
    await writeJsonAtomic(filePath, {
      version: 1,
      deviceId: signer.deviceId,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }),
      privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      createdAtMs: Date.now(),
    });
    return signer;
  });
}
