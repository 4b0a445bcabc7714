#!/usr/bin/env node
// `npm start` (after the build): finds the Electron binary (Electron 45 downloads it here, on first launch, not at
// `npm install`), checks what would make Electron abort before any of Clawdesk's code runs, and launches `electron .`.
//
// Linux: Chromium's sandbox needs either a setuid-root `chrome-sandbox` helper next to the binary, or unprivileged
// user namespaces. Ubuntu 24.04 restricts those through AppArmor (kernel.apparmor_restrict_unprivileged_userns = 1),
// and npm installs chrome-sandbox owned by you with mode 0755, so Electron exits with "The SUID sandbox helper binary
// was found, but is not configured correctly". This script detects that and prints the exact fix. It never turns
// the sandbox off (no --no-sandbox, no ELECTRON_DISABLE_SANDBOX).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The profile name used in the printed fix (and looked for in /etc/apparmor.d). */
export const DEV_APPARMOR_PROFILE = 'clawdesk-dev-electron';

function readTrimmed(file) {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Why unprivileged user namespaces are unavailable to `electronPath`, or undefined when they are available.
 * `procRoot` and `apparmorDir` are parameters so tests can point them at a prepared tree.
 */
export function userNamespaceRestriction({ electronPath, procRoot = '/proc', apparmorDir = '/etc/apparmor.d' }) {
  if (readTrimmed(path.join(procRoot, 'sys/user/max_user_namespaces')) === '0') return 'user.max_user_namespaces = 0';
  if (readTrimmed(path.join(procRoot, 'sys/kernel/unprivileged_userns_clone')) === '0')
    return 'kernel.unprivileged_userns_clone = 0';
  if (readTrimmed(path.join(procRoot, 'sys/kernel/apparmor_restrict_unprivileged_userns')) === '1') {
    // A loaded AppArmor profile for this very binary that grants `userns` lifts the restriction for it.
    if (appArmorProfileGrantsUserns(electronPath, apparmorDir)) return undefined;
    return 'kernel.apparmor_restrict_unprivileged_userns = 1 (Ubuntu 24.04 and later)';
  }
  return undefined;
}

function appArmorProfileGrantsUserns(electronPath, apparmorDir) {
  let names;
  try {
    names = readdirSync(apparmorDir);
  } catch {
    return false;
  }
  for (const name of names) {
    const text = readTrimmed(path.join(apparmorDir, name));
    if (text && text.includes(electronPath) && /^\s*userns\s*,/m.test(text)) return true;
  }
  return false;
}

/** Whether chrome-sandbox is set up as Chromium's SUID helper wants: owned by root, mode 4755. */
export function sandboxHelperState(sandboxPath) {
  let stat;
  try {
    stat = statSync(sandboxPath);
  } catch {
    return { ok: false, present: false, detail: `${sandboxPath} is missing` };
  }
  const mode = stat.mode & 0o7777;
  const ok = stat.uid === 0 && (mode & 0o4000) !== 0 && (mode & 0o755) === 0o755;
  return {
    ok,
    present: true,
    detail: `${sandboxPath} is owned by uid ${stat.uid} with mode ${mode.toString(8).padStart(4, '0')}`,
  };
}

const shellQuote = (value) => `'${String(value).replace(/'/g, `'\\''`)}'`;

/**
 * The Linux sandbox preflight. Returns { ok: true } or { ok: false, message } where message is the whole text to
 * print, fix included.
 */
export function checkLinuxSandbox({ electronPath, procRoot, apparmorDir }) {
  const sandboxPath = path.join(path.dirname(electronPath), 'chrome-sandbox');
  const helper = sandboxHelperState(sandboxPath);
  if (helper.ok) return { ok: true, via: 'suid-helper' };
  const restriction = userNamespaceRestriction({ electronPath, procRoot, apparmorDir });
  if (!restriction) return { ok: true, via: 'user-namespaces' };
  const profileFile = `/etc/apparmor.d/${DEV_APPARMOR_PROFILE}`;
  const message = [
    'Clawdesk: Electron cannot start its sandbox on this machine, so `npm start` stops here.',
    '',
    `  ${helper.detail} (the SUID helper needs owner root and mode 4755), and`,
    `  unprivileged user namespaces are restricted: ${restriction}.`,
    '',
    'Electron would exit with "The SUID sandbox helper binary was found, but is not configured correctly".',
    'Fix it one of two ways; both keep the sandbox on:',
    '',
    '  1. Let this Electron binary use user namespaces with an AppArmor profile (the installed Clawdesk .deb',
    '     ships the same kind of profile for /opt/Clawdesk):',
    '',
    `     sudo tee ${profileFile} >/dev/null <<'EOF'`,
    'abi <abi/4.0>,',
    'include <tunables/global>',
    `profile ${DEV_APPARMOR_PROFILE} "${electronPath}" flags=(unconfined) {`,
    '  userns,',
    '}',
    'EOF',
    `     sudo apparmor_parser -r ${profileFile}`,
    '',
    '  2. Or make the sandbox helper setuid root (npm reinstalling electron undoes this):',
    '',
    `     sudo chown root:root ${shellQuote(sandboxPath)}`,
    `     sudo chmod 4755 ${shellQuote(sandboxPath)}`,
    '',
    'Then run `npm start` again. Clawdesk never turns the sandbox off for you.',
    '',
  ].join('\n');
  return { ok: false, message };
}

/** The Electron binary, downloading it first when missing (what require('electron') does since Electron 45). */
export function resolveElectron(requireFrom = createRequire(path.join(root, 'package.json'))) {
  try {
    return { ok: true, path: requireFrom('electron') };
  } catch (error) {
    return {
      ok: false,
      message: [
        `Clawdesk: Electron's binary is not installed and could not be downloaded.`,
        `  ${(error && error.message) || String(error)}`,
        '',
        'Electron downloads its binary the first time it is started (this needs internet access to',
        'github.com). Without it, run the same gateway and exec runner headless: npx clawdesk gateway run',
        '',
      ].join('\n'),
    };
  }
}

export function main({
  argv = process.argv.slice(2),
  platform = process.platform,
  procRoot,
  apparmorDir,
  requireFrom,
} = {}) {
  const electron = resolveElectron(requireFrom);
  if (!electron.ok) {
    process.stderr.write(electron.message);
    return Promise.resolve(1);
  }
  if (platform === 'linux') {
    const check = checkLinuxSandbox({ electronPath: electron.path, procRoot, apparmorDir });
    if (!check.ok) {
      process.stderr.write(check.message);
      return Promise.resolve(78);
    }
  }
  return new Promise((resolve) => {
    const child = spawn(electron.path, ['.', ...argv], { cwd: root, stdio: 'inherit', windowsHide: false });
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGUSR2']) process.on(signal, () => child.kill(signal));
    child.on('error', (error) => {
      process.stderr.write(`Clawdesk: could not start ${electron.path}: ${error.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      if (code === null) process.stderr.write(`Electron exited with signal ${signal}\n`);
      resolve(code ?? 1);
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then((code) => process.exit(code));
}
