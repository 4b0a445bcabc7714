import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { locateOpenclawInstall, type OpenclawInstall } from '../../gateway/openclaw/install';
import { OpenclawSupervisor, type OpenclawSupervisorOptions } from '../../gateway/openclaw/supervisor';
import {
  ensureOpenclawInstalled,
  openclawEnv,
  removeOpenclawTempDir,
  type OpenclawEnvironment,
} from '../interop/openclaw-harness';

/**
 * Real OpenClaw (the interop cache's openclaw@2026.9.6 and Node 26) under Clawdesk's supervisor, each in an
 * isolated temp dir with the loopback guard preloaded (the harness's environment).
 */

const dirs: string[] = [];
const supervisors: OpenclawSupervisor[] = [];

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `clawdesk-oc-${prefix}-`));
  dirs.push(dir);
  return dir;
}

/** The interop cache's install, found the way Clawdesk finds any install (its root, checked Node version). */
export function cachedInstall(): OpenclawInstall {
  const cache = ensureOpenclawInstalled();
  const found = locateOpenclawInstall({ installPath: cache.cacheDir });
  if (!found.ok) throw new Error(`the interop cache is not a usable install: ${found.reason}`);
  return found.install;
}

export function isolatedEnv(port: number, token: string, mutateConfig?: (config: any) => void): OpenclawEnvironment {
  const environment = openclawEnv({ tmpDir: tempDir('env'), port, authMode: 'token', token });
  if (mutateConfig) {
    const config = JSON.parse(fs.readFileSync(environment.configPath, 'utf8'));
    mutateConfig(config);
    fs.writeFileSync(environment.configPath, JSON.stringify(config, null, 2));
  }
  return environment;
}

export function supervise(
  options: Omit<OpenclawSupervisorOptions, 'logFile'> & { logFile?: string },
): OpenclawSupervisor {
  const supervisor = new OpenclawSupervisor({ logFile: path.join(tempDir('log'), 'openclaw-gateway.log'), ...options });
  supervisors.push(supervisor);
  return supervisor;
}

/** Polls `check` until it returns a truthy value. */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops every supervisor (and so every child) this file started, then removes the temp dirs. */
export async function cleanup(): Promise<void> {
  for (const supervisor of supervisors.splice(0)) await supervisor.dispose().catch(() => undefined);
  for (const dir of dirs.splice(0)) removeOpenclawTempDir(dir);
}
