/**
 * The public record of Clawdesk's device identity (deviceId and public key, never the private key) sits in this
 * file of the secrets dir. Its own module because two sides read it: device-identity.ts writes and loads it,
 * and inspectSecretStore (secret-store.ts) reports the deviceId it names, while device-identity.ts depends on
 * secret-store.ts for the key.
 */
export const IDENTITY_RECORD_FILE = 'device-identity.json';
