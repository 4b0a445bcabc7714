import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
const bundled = new Map<string, string>();

/**
 * Bundles a TypeScript entry (and the gateway modules it imports) into one CommonJS file, so tests can run real
 * child processes from a plain `npx vitest run` without a prior `tsc` build. keytar stays external (native).
 */
export function bundleScript(entry: string): string {
  const absolute = path.resolve(entry);
  const cached = bundled.get(absolute);
  if (cached) return cached;
  // One fixed place per entry (rebuilt each run, renamed into place) so test runs leave nothing behind in /tmp.
  const outDir = path.join(os.tmpdir(), 'clawdesk-test-bundles');
  mkdirSync(outDir, { recursive: true });
  // Readable by other users: the same-user tests run bundles as a second local account.
  chmodSync(outDir, 0o755);
  const name = `${path.basename(entry, '.ts')}-${createHash('sha256').update(absolute).digest('hex').slice(0, 12)}`;
  const outfile = path.join(outDir, `${name}.cjs`);
  const temp = path.join(outDir, `${name}.${process.pid}.tmp.cjs`);
  buildSync({
    entryPoints: [absolute],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: temp,
    external: ['keytar'],
    logLevel: 'silent',
  });
  chmodSync(temp, 0o644);
  renameSync(temp, outfile);
  bundled.set(absolute, outfile);
  return outfile;
}

/** Lets a bundle living in a temp dir still `require('keytar')` from the project. */
export const CHILD_NODE_PATH = path.join(PROJECT_ROOT, 'node_modules');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runChild(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    // A neutral cwd every account can enter (children may run as another local user).
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd ?? os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The last JSON line a child printed (children report results as one JSON object per line). */
export function lastJsonLine<T = any>(stdout: string): T {
  const lines = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'));
  if (lines.length === 0) throw new Error(`child printed no JSON:\n${stdout}`);
  return JSON.parse(lines[lines.length - 1]) as T;
}
