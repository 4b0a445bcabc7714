// `npm start`'s launcher (scripts/start-electron.mjs): the Ubuntu 24.04 sandbox preflight on real files (this
// machine runs the tests as root, so the test can make a helper root-owned 4755 or hand it to another uid, exactly
// as npm or the printed fix would), and the launch itself with a stand-in Electron binary.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const launcher = path.join(root, 'scripts', 'start-electron.mjs');
type Check = { ok: boolean; via?: string; message?: string };
const mod = (await import(launcher)) as {
  checkLinuxSandbox(o: { electronPath: string; procRoot: string; apparmorDir: string }): Check;
  main(o: {
    argv?: string[];
    platform?: string;
    procRoot?: string;
    apparmorDir?: string;
    requireFrom?: (id: string) => string;
  }): Promise<number>;
};
// The suite runs as root (CI and this machine; the same-user tests need it too), so it can chown like sudo would.

let dir: string;
let electronPath: string;
let sandbox: string;
let procRoot: string;
let apparmorDir: string;
const sysctl = (name: string, value: string) => {
  mkdirSync(path.dirname(path.join(procRoot, 'sys', name)), { recursive: true });
  writeFileSync(path.join(procRoot, 'sys', name), `${value}\n`);
};

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-launch-'));
  electronPath = path.join(dir, 'node_modules', 'electron', 'dist', 'electron');
  sandbox = path.join(path.dirname(electronPath), 'chrome-sandbox');
  procRoot = path.join(dir, 'proc');
  apparmorDir = path.join(dir, 'apparmor.d');
  mkdirSync(path.dirname(electronPath), { recursive: true });
  mkdirSync(apparmorDir);
  // What npm leaves on disk: the binary and the helper, owned by the installing user, mode 0755.
  writeFileSync(electronPath, '#!/bin/sh\necho "ELECTRON $*"\nexit 7\n', { mode: 0o755 });
  writeFileSync(sandbox, 'helper', { mode: 0o755 });
  chownSync(sandbox, 1000, 1000);
  // Ubuntu 24.04's defaults.
  sysctl('user/max_user_namespaces', '63499');
  sysctl('kernel/apparmor_restrict_unprivileged_userns', '1');
});

describe('npm start on Linux: the sandbox preflight', () => {
  it('Ubuntu 24.04 (AppArmor restricts user namespaces, helper not setuid root): stops and prints both exact fixes', () => {
    const check = mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir });
    expect(check.ok).toBe(false);
    expect(check.message).toContain('kernel.apparmor_restrict_unprivileged_userns = 1');
    expect(check.message).toContain(`profile clawdesk-dev-electron "${electronPath}" flags=(unconfined) {`);
    expect(check.message).toContain(`sudo chown root:root '${sandbox}'`);
    expect(check.message).toContain(`sudo chmod 4755 '${sandbox}'`);
    expect(check.message).not.toMatch(/--no-sandbox|DISABLE_SANDBOX/);
  });

  it('running the printed chown/chmod fix (as root) makes the check pass: the fix is the right one', () => {
    const message = mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir }).message!;
    const commands = message
      .split('\n')
      .filter((l) => /^\s+sudo ch(own|mod) /.test(l))
      .map((l) => l.trim().replace(/^sudo /, ''));
    expect(commands).toHaveLength(2);
    for (const command of commands) execFileSync('/bin/sh', ['-c', command]);
    expect(mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir })).toEqual({ ok: true, via: 'suid-helper' });
  });

  it('the printed AppArmor profile, once in /etc/apparmor.d, is recognised; one without userns is not', () => {
    const message = mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir }).message!;
    const profile = message.slice(message.indexOf("<<'EOF'\n") + 8, message.indexOf('\nEOF\n'));
    expect(profile).toMatch(/^abi <abi\/4\.0>,/);
    writeFileSync(path.join(apparmorDir, 'clawdesk-dev-electron'), profile.replace('  userns,\n', ''));
    expect(mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir }).ok).toBe(false);
    writeFileSync(path.join(apparmorDir, 'clawdesk-dev-electron'), profile);
    expect(mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir })).toEqual({
      ok: true,
      via: 'user-namespaces',
    });
  });

  it('unrestricted user namespaces (Fedora, Debian, Ubuntu 22.04) need no setuid helper', () => {
    sysctl('kernel/apparmor_restrict_unprivileged_userns', '0');
    expect(mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir })).toEqual({
      ok: true,
      via: 'user-namespaces',
    });
  });

  it('user namespaces switched off another way are reported by name', () => {
    sysctl('kernel/apparmor_restrict_unprivileged_userns', '0');
    sysctl('kernel/unprivileged_userns_clone', '0');
    expect(mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir }).message).toContain(
      'kernel.unprivileged_userns_clone = 0',
    );
    sysctl('user/max_user_namespaces', '0');
    expect(mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir }).message).toContain(
      'user.max_user_namespaces = 0',
    );
  });

  it('a root-owned helper that is not setuid is still not enough', () => {
    chownSync(sandbox, 0, 0);
    chmodSync(sandbox, 0o755);
    expect(mod.checkLinuxSandbox({ electronPath, procRoot, apparmorDir }).ok).toBe(false);
  });
});

describe('npm start: the launch', () => {
  let stderr: string;
  beforeEach(() => {
    stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation(
      (chunk: string | Uint8Array) => ((stderr += String(chunk)), true),
    );
  });
  afterEach(() => vi.restoreAllMocks());

  it('when the check fails, Electron is not started and the exit code says so', async () => {
    const code = await mod.main({ platform: 'linux', procRoot, apparmorDir, requireFrom: () => electronPath });
    expect(code).toBe(78);
    expect(stderr).toContain('npm start` stops here');
  });

  it('when it passes, runs `electron .` in the project with the arguments and hands back its exit code', async () => {
    sysctl('kernel/apparmor_restrict_unprivileged_userns', '0');
    const out = path.join(dir, 'out.txt');
    writeFileSync(electronPath, `#!/bin/sh\necho "$PWD $*" > '${out}'\nexit 7\n`, { mode: 0o755 });
    const code = await mod.main({
      argv: ['--trace-warnings'],
      platform: 'linux',
      procRoot,
      apparmorDir,
      requireFrom: () => electronPath,
    });
    expect(code).toBe(7);
    expect(readFileSync(out, 'utf8').trim()).toBe(`${root} . --trace-warnings`);
  });

  it('no Electron binary and no download: says what to do instead, exit 1, nothing spawned', async () => {
    // What electron@45's index.js throws when its download fails (offline, or a proxy in the way).
    const requireFrom = () => {
      throw new Error(
        'Electron failed to install correctly. Please delete `node_modules/electron` and run "npx install-electron --no" manually.',
      );
    };
    expect(await mod.main({ platform: 'linux', procRoot, apparmorDir, requireFrom })).toBe(1);
    expect(stderr).toContain("Electron's binary is not installed and could not be downloaded");
    expect(stderr).toContain('Electron failed to install correctly');
    expect(stderr).toContain('npx clawdesk gateway run');
  });
});

describe('package.json: npm start goes through the launcher', () => {
  it('start builds, then runs scripts/start-electron.mjs', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toBe('npm run build && node scripts/start-electron.mjs');
  });
});
