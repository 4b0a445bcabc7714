import path from 'node:path';
import { z } from 'zod';
import { readJsonFile, serialize, writeJsonAtomic } from '../fs/atomic-file';
import type { SecretStore } from '../secrets/secret-store';
import { formatSshTarget, parseSshTarget } from './ssh-target';
import { assertGatewayUrlAllowed, normalizeTlsFingerprint, TransportPolicyError } from './transport-policy';

/**
 * The gateways on other machines Clawdesk knows (docs/remote-gateways.md): `gateways.json` in Clawdesk's data dir
 * holds names, addresses, pins and choices; the shared token or password of each lives in the secret vault
 * (gateway/secrets/), never in this file. One gateway is the primary. Every change is written atomically, and a
 * change that cannot be made leaves the file and the vault as they were.
 */

export const SAVED_GATEWAYS_FILE = 'gateways.json';
export const DEFAULT_REMOTE_GATEWAY_PORT = 18789;
/** The name under which `openclaw.json`'s `gateway.mode: "remote"` block is shown; not a name one can save. */
export const OPENCLAW_CONFIG_GATEWAY_NAME = 'openclaw-config';

export type GatewayAuthKind = 'token' | 'password' | 'device-token' | 'none';
export type SshHostKeyPolicy = 'strict' | 'openssh';

const GATEWAY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const savedGatewaySchema = z.object({
  name: z.string().regex(GATEWAY_NAME),
  transport: z.enum(['direct', 'ssh']),
  /** direct: the gateway's ws(s):// URL. */
  url: z.string().optional(),
  /** ssh: `user@host[:port]`; the tunnel forwards a local port to 127.0.0.1:remotePort on that host. */
  sshTarget: z.string().optional(),
  remotePort: z.number().int().min(1).max(65535).optional(),
  /** ssh: the local end's port when it must be fixed (openclaw.json's `remote.url`); otherwise any free port. */
  localPort: z.number().int().min(1).max(65535).optional(),
  sshHostKeyPolicy: z.enum(['strict', 'openssh']).optional(),
  sshIdentity: z.string().optional(),
  /** ssh: the known_hosts file that alone pins the host key (default: the person's ~/.ssh/known_hosts). */
  sshKnownHostsFile: z.string().optional(),
  /** wss://: the certificate's SHA-256, lowercase hex. */
  tlsFingerprint: z
    .string()
    .regex(/^[a-f0-9]{64}$/)
    .optional(),
  /** wss:// without a pin: the person chose the system's CA store instead. */
  systemTrust: z.boolean().optional(),
  allowInsecurePrivateWs: z.boolean().optional(),
  auth: z.enum(['token', 'password', 'device-token', 'none']),
  /** Whether Clawdesk's exec runner serves this gateway too (the approval client always connects). */
  runner: z.boolean(),
  addedAtMs: z.number(),
});
export type SavedGateway = z.infer<typeof savedGatewaySchema>;

const fileSchema = z.object({
  version: z.literal(1),
  primary: z.string().optional(),
  gateways: z.array(savedGatewaySchema),
});
export type SavedGatewaysFile = z.infer<typeof fileSchema>;

export class SavedGatewaysError extends Error {}

/** What `add` takes: the entry as a person describes it, plus the secret its auth kind needs. */
export interface NewGateway {
  name: string;
  url?: string;
  sshTarget?: string;
  remotePort?: number;
  sshHostKeyPolicy?: SshHostKeyPolicy;
  sshIdentity?: string;
  sshKnownHostsFile?: string;
  tlsFingerprint?: string;
  systemTrust?: boolean;
  allowInsecurePrivateWs?: boolean;
  auth: GatewayAuthKind;
  /** The shared token or password, for those auth kinds. */
  secret?: string;
  runner?: boolean;
}

export function gatewaySecretName(name: string, kind: 'token' | 'password'): string {
  return `remote-gateway/${name.toLowerCase()}/${kind}`;
}

/**
 * The address device tokens are filed under: the URL for a direct gateway; for a tunnelled one the SSH host and the
 * remote port (the local end of the tunnel changes from run to run and must not decide whose token is sent).
 */
export function gatewayTokenKey(gateway: Pick<SavedGateway, 'transport' | 'url' | 'sshTarget' | 'remotePort'>) {
  if (gateway.transport === 'direct') return gateway.url ?? '';
  const target = parseSshTarget(gateway.sshTarget ?? '');
  const host = target ? (target.host.includes(':') ? `[${target.host}]` : target.host) : 'invalid';
  return `ssh://${host}:${target?.port ?? 22}/${gateway.remotePort ?? DEFAULT_REMOTE_GATEWAY_PORT}`;
}

/** Checks a new entry and returns it as stored; throws SavedGatewaysError (with the reason) for bad input. */
export function validateNewGateway(input: NewGateway, env: NodeJS.ProcessEnv, now = Date.now()): SavedGateway {
  if (!GATEWAY_NAME.test(input.name))
    throw new SavedGatewaysError(
      `invalid gateway name "${input.name}": use letters, digits, ".", "_" or "-" (up to 64, starting with a letter or digit)`,
    );
  if (input.name.toLowerCase() === OPENCLAW_CONFIG_GATEWAY_NAME)
    throw new SavedGatewaysError(`"${OPENCLAW_CONFIG_GATEWAY_NAME}" names the gateway openclaw.json configures`);
  if (Boolean(input.url) === Boolean(input.sshTarget))
    throw new SavedGatewaysError('give either a wss:// URL or an SSH target (--ssh user@host), not both');
  if ((input.auth === 'token' || input.auth === 'password') && !input.secret)
    throw new SavedGatewaysError(`auth "${input.auth}" needs the ${input.auth} (--${input.auth})`);
  if ((input.auth === 'device-token' || input.auth === 'none') && input.secret)
    throw new SavedGatewaysError(`auth "${input.auth}" takes no shared secret`);
  const base = {
    name: input.name,
    auth: input.auth,
    runner: input.runner ?? false,
    addedAtMs: now,
    ...(input.allowInsecurePrivateWs ? { allowInsecurePrivateWs: true } : {}),
  };
  if (input.sshTarget) {
    const target = parseSshTarget(input.sshTarget);
    if (!target) throw new SavedGatewaysError(`invalid SSH target "${input.sshTarget}": expected user@host[:port]`);
    if (input.tlsFingerprint || input.systemTrust)
      throw new SavedGatewaysError('an SSH tunnel carries the gateway connection itself; TLS options do not apply');
    if (input.remotePort !== undefined && !(Number.isInteger(input.remotePort) && input.remotePort > 0))
      throw new SavedGatewaysError(`invalid remote port "${input.remotePort}"`);
    return {
      ...base,
      transport: 'ssh',
      sshTarget: formatSshTarget(target),
      remotePort: input.remotePort ?? DEFAULT_REMOTE_GATEWAY_PORT,
      sshHostKeyPolicy: input.sshHostKeyPolicy ?? 'strict',
      ...(input.sshIdentity ? { sshIdentity: path.resolve(input.sshIdentity) } : {}),
      ...(input.sshKnownHostsFile ? { sshKnownHostsFile: path.resolve(input.sshKnownHostsFile) } : {}),
    };
  }
  let url: URL;
  try {
    url = assertGatewayUrlAllowed(input.url!, { allowInsecurePrivateWs: input.allowInsecurePrivateWs, env });
  } catch (error) {
    if (error instanceof TransportPolicyError) throw new SavedGatewaysError(error.message);
    throw error;
  }
  if (input.remotePort !== undefined || input.sshHostKeyPolicy || input.sshIdentity || input.sshKnownHostsFile)
    throw new SavedGatewaysError('SSH options need an SSH target (--ssh user@host)');
  const fingerprint = input.tlsFingerprint ? normalizeTlsFingerprint(input.tlsFingerprint) : undefined;
  if (input.tlsFingerprint && !fingerprint)
    throw new SavedGatewaysError(
      `invalid TLS fingerprint "${input.tlsFingerprint}": expected a SHA-256 fingerprint (64 hex digits, colons allowed)`,
    );
  if (url.protocol === 'ws:' && (fingerprint || input.systemTrust))
    throw new SavedGatewaysError('a TLS fingerprint needs a wss:// URL');
  if (url.protocol === 'wss:' && !fingerprint && !input.systemTrust)
    throw new SavedGatewaysError('a wss:// gateway needs its certificate pinned (--tls-fingerprint) or --system-trust');
  if (fingerprint && input.systemTrust)
    throw new SavedGatewaysError('pin a fingerprint or use --system-trust, not both');
  return {
    ...base,
    transport: 'direct',
    // URL's own serialization: lowercases the scheme and host, keeps the port and path.
    url: url.href.replace(/\/$/, ''),
    ...(fingerprint ? { tlsFingerprint: fingerprint } : {}),
    ...(input.systemTrust ? { systemTrust: true } : {}),
  };
}

export interface SavedGatewayStoreOptions {
  /** Clawdesk's data dir (gateway/state/state-paths.ts resolveClawdeskDataDir). */
  dataDir: string;
  /** Opened on the first change that needs a secret; reading the list never needs the keychain. */
  openSecrets: () => Promise<SecretStore>;
  env?: NodeJS.ProcessEnv;
  now?: () => number;
}

export class SavedGatewayStore {
  readonly filePath: string;
  private secrets?: Promise<SecretStore>;

  constructor(private readonly options: SavedGatewayStoreOptions) {
    this.filePath = path.join(options.dataDir, SAVED_GATEWAYS_FILE);
  }

  private secretStore(): Promise<SecretStore> {
    this.secrets ??= this.options.openSecrets().catch((error) => {
      this.secrets = undefined;
      throw error;
    });
    return this.secrets;
  }

  /** The list; an empty one when the file does not exist yet. A damaged file is moved aside and reported. */
  async read(): Promise<SavedGatewaysFile> {
    const result = await readJsonFile(this.filePath, { parse: (value) => fileSchema.parse(value) });
    if (result.kind === 'missing') return { version: 1, gateways: [] };
    if (result.kind === 'corrupt')
      throw new SavedGatewaysError(
        `${result.error}${result.quarantinedTo ? `; it was moved to ${result.quarantinedTo} and nothing was changed` : ''}`,
      );
    return result.value;
  }

  async get(name: string): Promise<SavedGateway> {
    return findOrThrow(await this.read(), name);
  }

  /** The shared token or password of a saved gateway, from the vault. */
  async secretOf(gateway: SavedGateway): Promise<string | undefined> {
    if (gateway.auth !== 'token' && gateway.auth !== 'password') return undefined;
    return (await (await this.secretStore()).get(gatewaySecretName(gateway.name, gateway.auth))) ?? undefined;
  }

  private change<T>(task: (file: SavedGatewaysFile) => Promise<{ file: SavedGatewaysFile; result: T }>): Promise<T> {
    return serialize(this.filePath, async () => {
      const { file, result } = await task(await this.read());
      await writeJsonAtomic(this.filePath, file, { refuseSymlink: true });
      return result;
    });
  }

  /** Adds a gateway (the first one becomes the primary). Its secret goes to the vault before the entry is written. */
  add(input: NewGateway): Promise<SavedGateway> {
    return this.change(async (file) => {
      const entry = validateNewGateway(input, this.options.env ?? process.env, (this.options.now ?? Date.now)());
      if (file.gateways.some((g) => g.name.toLowerCase() === entry.name.toLowerCase()))
        throw new SavedGatewaysError(
          `a gateway named "${entry.name}" already exists; remove it first or pick another name`,
        );
      if (input.secret && (entry.auth === 'token' || entry.auth === 'password'))
        await (await this.secretStore()).set(gatewaySecretName(entry.name, entry.auth), input.secret);
      return {
        file: { ...file, primary: file.primary ?? entry.name, gateways: [...file.gateways, entry] },
        result: entry,
      };
    });
  }

  /** Removes a gateway and then its secrets. The primary cannot be removed while other gateways remain. */
  async remove(name: string): Promise<SavedGateway> {
    const removed = await this.change(async (file) => {
      const entry = findOrThrow(file, name);
      const others = file.gateways.filter((g) => g !== entry);
      if (file.primary === entry.name && others.length > 0)
        throw new SavedGatewaysError(
          `"${entry.name}" is the primary gateway; make another one primary first (clawdesk gateways use ${others[0].name})`,
        );
      const { primary: _dropped, ...rest } = file;
      return {
        file: { ...rest, ...(others.length ? { primary: file.primary } : {}), gateways: others },
        result: entry,
      };
    });
    const store = await this.secretStore().catch(() => undefined);
    for (const kind of ['token', 'password'] as const) await store?.delete(gatewaySecretName(removed.name, kind));
    return removed;
  }

  use(name: string): Promise<SavedGateway> {
    return this.change(async (file) => {
      const entry = findOrThrow(file, name);
      return { file: { ...file, primary: entry.name }, result: entry };
    });
  }

  setRunner(name: string, enabled: boolean): Promise<SavedGateway> {
    return this.update(name, (entry) => ({ ...entry, runner: enabled }));
  }

  /** Replaces a gateway's pin: only ever on the person's explicit word (`clawdesk gateways pin`). */
  pin(name: string, fingerprint: string): Promise<SavedGateway> {
    const normalized = normalizeTlsFingerprint(fingerprint);
    if (!normalized) throw new SavedGatewaysError(`invalid TLS fingerprint "${fingerprint}"`);
    return this.update(name, (entry) => {
      if (entry.transport !== 'direct' || !entry.url?.startsWith('wss:'))
        throw new SavedGatewaysError(`"${entry.name}" is not a wss:// gateway; there is no certificate to pin`);
      const { systemTrust: _none, ...rest } = entry;
      return { ...rest, tlsFingerprint: normalized };
    });
  }

  private update(name: string, edit: (entry: SavedGateway) => SavedGateway): Promise<SavedGateway> {
    return this.change(async (file) => {
      const entry = findOrThrow(file, name);
      const updated = savedGatewaySchema.parse(edit(entry));
      return { file: { ...file, gateways: file.gateways.map((g) => (g === entry ? updated : g)) }, result: updated };
    });
  }
}

function findOrThrow(file: SavedGatewaysFile, name: string): SavedGateway {
  const entry = file.gateways.find((g) => g.name.toLowerCase() === name.toLowerCase());
  if (!entry) {
    const known = file.gateways.map((g) => g.name);
    throw new SavedGatewaysError(
      `no saved gateway named "${name}"${known.length ? ` (saved: ${known.join(', ')})` : ' (none saved yet)'}`,
    );
  }
  return entry;
}

/**
 * A name `gateways add` and the app's add form accept for a gateway found on the network: from its advertised host
 * (else its display name), lower-case, unique among `taken` (which it joins).
 */
export function suggestGatewayName(
  g: { lanHost?: string; host?: string; displayName?: string },
  taken: Set<string>,
): string {
  const base =
    [g.lanHost, g.host, g.displayName]
      .map((v) =>
        (v ?? '')
          .replace(/\.local$/i, '')
          .split('.')[0]
          .toLowerCase()
          .replace(/[^a-z0-9_-]+/g, '-')
          .replace(/^[-_]+|-+$/g, '')
          .slice(0, 48),
      )
      .find((v) => v && v !== OPENCLAW_CONFIG_GATEWAY_NAME) ?? 'gateway';
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}
