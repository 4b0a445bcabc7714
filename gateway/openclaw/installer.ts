import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { killProcessTree } from '../exec/process-runner';
import { writeJsonAtomic } from '../fs/atomic-file';
import { clawdeskOpenclawRoot, locateOpenclawInstall, nodePackageName, type OpenclawInstall } from './install';

/**
 * Installs OpenClaw into Clawdesk's own data dir (`<data dir>/openclaw`), the way OpenClaw's embedding guide asks: a
 * normal npm package tree (never flattened), plus a Node runtime from npm (`node-<os>-<arch>`) of a version the
 * package supports. Never global, never sudo: npm runs as this user with `--prefix` inside the data dir and
 * `--ignore-scripts`. What npm delivered is verified before it is used: the two packages are fetched first as
 * tarballs (`npm pack`, which checks them against the registry's integrity), their sha512 is computed again here and
 * compared with npm's report (and with a pinned value when one is given), the tree is installed from exactly those
 * files, and every other package in the lockfile must carry a sha512 integrity. The new tree is staged beside the
 * old one and swapped in by rename, so a failed or interrupted install leaves the previous one working.
 */

/** The versions this Clawdesk was tested with; a newer pin is a later, explicit step. */
export const PINNED_OPENCLAW_VERSION = '2026.9.6';
export const PINNED_NODE_RUNTIME_VERSION = '26.10.0';

/** Written last into an install Clawdesk made: only such a directory is ever replaced or removed. */
export const INSTALL_MARKER = 'clawdesk-install.json';

export type InstallPhase = 'fetch' | 'verify' | 'install' | 'check' | 'activate' | 'done';

export interface InstallProgress {
  phase: InstallPhase;
  /** 0..1 over the whole install (phases weighted by their usual share of the time). */
  fraction: number;
  message: string;
}

export interface InstallMarker {
  openclaw: { version: string; integrity: string };
  node: { package: string; version: string; integrity: string };
  /** Packages in the tree, all with a sha512 integrity in the lockfile. */
  packages: number;
  installedAt: string;
}

export interface InstallOptions {
  dataDir: string;
  /** npm spec or tarball path for the openclaw package (default `openclaw@<pinned>`). */
  openclawSpec?: string;
  /** npm spec or tarball path for the Node runtime package (default `node-<os>-<arch>@<pinned>`). */
  nodeSpec?: string;
  /** Known-good sha512 SRI strings; when given, what npm delivers must match them. */
  expectedIntegrity?: { openclaw?: string; node?: string };
  platform?: NodeJS.Platform;
  arch?: string;
  /** How to run npm (default `npm` / `npm.cmd` on PATH). */
  npm?: { command: string; args?: string[] };
  /** Extra environment for npm (e.g. `npm_config_cache`, `npm_config_prefer_offline`). */
  npmEnv?: NodeJS.ProcessEnv;
  onProgress?: (progress: InstallProgress) => void;
  /**
   * Cancels the install: npm (and everything it started) is killed and the staged tree removed, so the previous
   * install, if any, is untouched. Ignored once the swap (phase `activate`, two renames) has begun.
   */
  signal?: AbortSignal;
}

/** A version Clawdesk may be pinned to: plain semver, so a setting can never become a tag, a URL or a path. */
export const OPENCLAW_VERSION_PATTERN = /^\d{1,6}\.\d{1,6}\.\d{1,6}(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?$/;

export function isPinnableOpenclawVersion(version: string): boolean {
  return version.length <= 64 && OPENCLAW_VERSION_PATTERN.test(version);
}

export class OpenclawInstallError extends Error {
  constructor(
    readonly code:
      | 'npm-failed'
      | 'integrity-mismatch'
      | 'integrity-missing'
      | 'unsupported-result'
      | 'not-ours'
      | 'symlink-refused'
      | 'cancelled',
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

function npmCommand(options: InstallOptions): { command: string; args: string[] } {
  if (options.npm) return { command: options.npm.command, args: options.npm.args ?? [] };
  return { command: process.platform === 'win32' ? 'npm.cmd' : 'npm', args: [] };
}

function npmEnv(options: InstallOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.npmEnv };
  // Whatever the person's npmrc says: this install is local, never global, and runs no package scripts.
  env.npm_config_global = 'false';
  env.npm_config_location = 'project';
  env.npm_config_ignore_scripts = 'true';
  env.npm_config_audit = 'false';
  env.npm_config_fund = 'false';
  env.npm_config_update_notifier = 'false';
  delete env.npm_config_prefix;
  return env;
}

function cancelledError(): OpenclawInstallError {
  return new OpenclawInstallError(
    'cancelled',
    'the OpenClaw install was cancelled',
    'Nothing changed: the previous install (if any) is still the one in use. Install again when you are ready.',
  );
}

function throwIfCancelled(options: InstallOptions): void {
  if (options.signal?.aborted) throw cancelledError();
}

function runNpm(
  options: InstallOptions,
  args: string[],
  cwd: string,
  onStderrLine?: (line: string) => void,
): Promise<string> {
  throwIfCancelled(options);
  const npm = npmCommand(options);
  return new Promise((resolve, reject) => {
    const child = spawn(npm.command, [...npm.args, ...args], {
      cwd,
      env: npmEnv(options),
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
      shell: process.platform === 'win32' && !options.npm,
      // Its own process group on POSIX, so a cancel reaches the registry fetchers npm starts too.
      detached: process.platform !== 'win32',
    });
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      if (child.pid) killProcessTree(child.pid);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let stdout = '';
    let stderrTail = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < 4 * 1024 * 1024) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      const text = partial + d.toString();
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onStderrLine?.(line);
      stderrTail = (stderrTail + d.toString()).slice(-4_000);
    });
    child.once('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(
        new OpenclawInstallError(
          'npm-failed',
          `cannot run ${npm.command}: ${error.message}`,
          'Install Node.js with npm for your user (no administrator rights needed), or point Clawdesk at an existing OpenClaw install.',
        ),
      );
    });
    child.once('exit', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (cancelled) return reject(cancelledError());
      if (code === 0) return resolve(stdout);
      reject(
        new OpenclawInstallError(
          'npm-failed',
          `npm ${args[0]} failed (${signal ?? `exit ${code}`}): ${stderrTail.trim().split('\n').slice(-5).join(' | ')}`,
          'Check the network connection to the npm registry and try again; the previous install (if any) is unchanged.',
        ),
      );
    });
  });
}

export async function sha512Integrity(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

async function assertNotSymlink(p: string): Promise<void> {
  const st = await fsp.lstat(p).catch(() => undefined);
  if (st?.isSymbolicLink())
    throw new OpenclawInstallError(
      'symlink-refused',
      `${p} is a symbolic link; Clawdesk does not install or remove through links`,
      `Remove the link ${p} yourself, then try again.`,
    );
}

export async function readInstallMarker(root: string): Promise<InstallMarker | undefined> {
  try {
    return JSON.parse(await fsp.readFile(path.join(root, INSTALL_MARKER), 'utf8')) as InstallMarker;
  } catch {
    return undefined;
  }
}

/** Fetches one package as a tarball through npm and checks what arrived; returns the file and its integrity. */
async function fetchVerified(
  options: InstallOptions,
  spec: string,
  into: string,
  expected: string | undefined,
): Promise<{ file: string; integrity: string; name: string; version: string }> {
  const out = await runNpm(options, ['pack', spec, '--json', '--pack-destination', into], into);
  let report: Array<{ filename?: string; integrity?: string; name?: string; version?: string }>;
  try {
    report = JSON.parse(out.slice(out.indexOf('[')));
  } catch {
    throw new OpenclawInstallError(
      'integrity-missing',
      `npm pack ${spec} gave no readable report`,
      'Update npm, then try again.',
    );
  }
  const entry = report[0];
  if (!entry?.filename || !entry.integrity?.startsWith('sha512-') || !entry.name || !entry.version)
    throw new OpenclawInstallError(
      'integrity-missing',
      `npm reported no sha512 integrity for ${spec}`,
      'Update npm, then try again.',
    );
  // npm names scoped tarballs scope-name-version.tgz; the report's filename is what it wrote.
  const file = path.join(into, path.basename(entry.filename.replace(/^@/, '').replace(/\//g, '-')));
  const actual = await sha512Integrity(file);
  if (actual !== entry.integrity || (expected && actual !== expected))
    throw new OpenclawInstallError(
      'integrity-mismatch',
      `${entry.name}@${entry.version}: the downloaded file's sha512 (${actual.slice(0, 24)}…) does not match ${expected && actual !== expected ? 'the pinned value' : "npm's report"}`,
      'Do not use this download. Clear npm’s cache (`npm cache clean --force`) and try again; if it repeats, report it.',
    );
  return { file, integrity: actual, name: entry.name, version: entry.version };
}

/**
 * Installs (or replaces) Clawdesk's OpenClaw and returns it as located afterwards. On any failure nothing of the
 * new tree stays behind and a previous install is untouched.
 */
export async function installOpenclaw(options: InstallOptions): Promise<OpenclawInstall> {
  const platform = options.platform ?? process.platform;
  const arch = options.arch ?? process.arch;
  const progress = (phase: InstallPhase, fraction: number, message: string) =>
    options.onProgress?.({ phase, fraction: Math.min(1, Math.max(0, fraction)), message });
  const root = clawdeskOpenclawRoot(options.dataDir);
  await fsp.mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  await assertNotSymlink(root);
  if (fs.existsSync(root) && !(await readInstallMarker(root)))
    throw new OpenclawInstallError(
      'not-ours',
      `${root} exists but was not installed by Clawdesk`,
      `Move ${root} away (or point Clawdesk at it as an existing install), then try again.`,
    );
  const staging = path.join(options.dataDir, `openclaw.install-${randomBytes(6).toString('hex')}`);
  const tarballs = path.join(staging, '.tarballs');
  await fsp.mkdir(tarballs, { recursive: true, mode: 0o700 });
  try {
    throwIfCancelled(options);
    const openclawSpec = options.openclawSpec ?? `openclaw@${PINNED_OPENCLAW_VERSION}`;
    const nodeSpec = options.nodeSpec ?? `${nodePackageName(platform, arch)}@${PINNED_NODE_RUNTIME_VERSION}`;
    progress('fetch', 0.02, `downloading ${openclawSpec}`);
    const openclaw = await fetchVerified(options, openclawSpec, tarballs, options.expectedIntegrity?.openclaw);
    progress('fetch', 0.15, `downloading ${nodeSpec}`);
    const node = await fetchVerified(options, nodeSpec, tarballs, options.expectedIntegrity?.node);
    if (openclaw.name !== 'openclaw' || node.name !== nodePackageName(platform, arch))
      throw new OpenclawInstallError(
        'unsupported-result',
        `expected openclaw and ${nodePackageName(platform, arch)}, npm delivered ${openclaw.name} and ${node.name}`,
        'Check the package names given to the installer.',
      );
    progress('verify', 0.3, `verified ${openclaw.name}@${openclaw.version} and ${node.name}@${node.version} (sha512)`);

    // Its own package.json so npm never walks up into another project.
    await fsp.writeFile(
      path.join(staging, 'package.json'),
      `${JSON.stringify({ name: 'clawdesk-openclaw', private: true }, null, 2)}\n`,
    );
    let fetched = 0;
    progress('install', 0.32, 'installing the dependency tree');
    await runNpm(
      options,
      [
        'install',
        '--prefix',
        staging,
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        '--loglevel=http',
        openclaw.file,
        node.file,
      ],
      staging,
      (line) => {
        if (!/\bhttp fetch GET 200\b/.test(line)) return;
        fetched++;
        // The tree's size is unknown until npm is done: approach the end of the phase without reaching it.
        progress('install', 0.32 + 0.55 * (1 - 1 / (1 + fetched / 50)), `fetched ${fetched} packages`);
      },
    );

    throwIfCancelled(options);
    progress('check', 0.9, 'checking the installed tree');
    const lock = JSON.parse(await fsp.readFile(path.join(staging, 'package-lock.json'), 'utf8'));
    const entries = Object.entries<any>(lock.packages ?? {}).filter(([key]) => key.startsWith('node_modules/'));
    for (const [key, entry] of entries) {
      if (entry.link || entry.bundled || entry.inBundle) continue;
      if (typeof entry.integrity !== 'string' || !/(^|\s)sha512-/.test(entry.integrity))
        throw new OpenclawInstallError(
          'integrity-missing',
          `${key} has no sha512 integrity in the lockfile`,
          'Try again; if it repeats, the registry served a package without a checksum.',
        );
    }
    for (const [name, fetchedPkg] of [
      ['openclaw', openclaw],
      [node.name, node],
    ] as const) {
      const entry = lock.packages?.[`node_modules/${name}`];
      if (entry?.integrity !== fetchedPkg.integrity || entry?.version !== fetchedPkg.version)
        throw new OpenclawInstallError(
          'integrity-mismatch',
          `the installed ${name} is not the verified ${fetchedPkg.version} download`,
          'Try again; the previous install (if any) is unchanged.',
        );
    }
    await fsp.rm(tarballs, { recursive: true, force: true });
    const located = locateOpenclawInstall({ installPath: staging, platform, arch });
    if (!located.ok) throw new OpenclawInstallError('unsupported-result', located.reason, located.fix);
    const marker: InstallMarker = {
      openclaw: { version: openclaw.version, integrity: openclaw.integrity },
      node: { package: node.name, version: node.version, integrity: node.integrity },
      packages: entries.length,
      installedAt: new Date().toISOString(),
    };
    await writeJsonAtomic(path.join(staging, INSTALL_MARKER), marker, { mode: 0o644 });

    // The last point a cancel applies: from here on it is two renames, done or rolled back together.
    throwIfCancelled(options);
    progress('activate', 0.96, `activating ${root}`);
    let old: string | undefined;
    if (fs.existsSync(root)) {
      old = path.join(options.dataDir, `openclaw.old-${randomBytes(6).toString('hex')}`);
      await fsp.rename(root, old);
    }
    try {
      await fsp.rename(staging, root);
    } catch (error) {
      if (old) await fsp.rename(old, root).catch(() => undefined);
      throw error;
    }
    if (old) await fsp.rm(old, { recursive: true, force: true });
    const final = locateOpenclawInstall({ installPath: root, platform, arch });
    if (!final.ok) throw new OpenclawInstallError('unsupported-result', final.reason, final.fix);
    progress('done', 1, `OpenClaw ${openclaw.version} with Node ${node.version} installed in ${root}`);
    return { ...final.install, source: 'clawdesk-data-dir' };
  } finally {
    await fsp.rm(staging, { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Removes Clawdesk's OpenClaw install (and any leftover staging dirs). Only a directory with Clawdesk's marker is
 * removed; OpenClaw's own state dir (`~/.openclaw`) is never touched. Returns false when there was nothing to remove.
 */
export async function uninstallOpenclaw(dataDir: string): Promise<boolean> {
  const root = clawdeskOpenclawRoot(dataDir);
  for (const name of await fsp.readdir(dataDir).catch(() => [] as string[]))
    if (/^openclaw\.(install|old)-[0-9a-f]{12}$/.test(name))
      await fsp.rm(path.join(dataDir, name), { recursive: true, force: true });
  await assertNotSymlink(root);
  if (!fs.existsSync(root)) return false;
  if (!(await readInstallMarker(root)))
    throw new OpenclawInstallError(
      'not-ours',
      `${root} was not installed by Clawdesk; it is left alone`,
      `Remove ${root} yourself if you no longer need it.`,
    );
  // Renamed first: a half-removed tree is never mistaken for an install.
  const doomed = path.join(dataDir, `openclaw.old-${randomBytes(6).toString('hex')}`);
  await fsp.rename(root, doomed);
  await fsp.rm(doomed, { recursive: true, force: true });
  return true;
}
