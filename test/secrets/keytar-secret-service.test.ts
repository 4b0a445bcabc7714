import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHILD_NODE_PATH, bundleScript, lastJsonLine, runChild } from '../helpers/child-process';

/**
 * keytar against a real Secret Service: each case runs a child process in its own D-Bus session with
 * gnome-keyring-daemon, a private HOME/XDG dirs (so the user's keyring is never touched) and no DISPLAY
 * (so an unlock prompt cannot appear and wait).
 */

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const haveSecretService = hasCommand('dbus-run-session') && hasCommand('gnome-keyring-daemon');
if (!haveSecretService && process.env.CI) {
  throw new Error('CI must have dbus-run-session and gnome-keyring-daemon (libsecret-1-dev gnome-keyring dbus-x11)');
}

let script: string;
let root: string;

beforeAll(() => {
  script = bundleScript(path.join(__dirname, 'fixtures', 'keyring-child.ts'));
  root = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-keyring-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A private home with the XDG layout gnome-keyring and libsecret expect. */
function makeHome(name: string): { home: string; dataDir: string; env: NodeJS.ProcessEnv } {
  const home = path.join(root, name);
  mkdirSync(path.join(home, 'run'), { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    XDG_RUNTIME_DIR: path.join(home, 'run'),
    XDG_DATA_HOME: path.join(home, 'data'),
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    NODE_PATH: CHILD_NODE_PATH,
  };
  return { home, dataDir: path.join(home, 'clawdesk'), env };
}

type Keyring =
  { kind: 'unlocked'; password?: string } | { kind: 'locked' } | { kind: 'no-bus' } | { kind: 'bogus-bus' };

async function run(keyring: Keyring, env: NodeJS.ProcessEnv, request: Record<string, unknown>) {
  const arg = JSON.stringify(request);
  let result;
  if (keyring.kind === 'no-bus' || keyring.kind === 'bogus-bus') {
    const childEnv = { ...env };
    if (keyring.kind === 'bogus-bus')
      childEnv.DBUS_SESSION_BUS_ADDRESS = `unix:path=${path.join(String(env.HOME), 'no-such-bus')}`;
    result = await runChild(process.execPath, [script, arg], { env: childEnv });
  } else {
    // The newline matters: `printf ""` leaves the daemon without a login keyring ("Object does not exist at path
    // /org/freedesktop/secrets/collection/login"); an empty password *line* creates and unlocks it.
    const start =
      keyring.kind === 'unlocked'
        ? 'printf "%s\\n" "$KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --daemonize --components=secrets >/dev/null'
        : 'gnome-keyring-daemon --start --daemonize --components=secrets >/dev/null 2>&1';
    result = await runChild(
      'dbus-run-session',
      ['--', 'sh', '-c', `${start}; exec "$0" "$1" "$2"`, process.execPath, script, arg],
      {
        env: { ...env, KEYRING_PASSWORD: keyring.kind === 'unlocked' ? (keyring.password ?? '') : '' },
      },
    );
  }
  return lastJsonLine(result.stdout);
}

describe.skipIf(!haveSecretService)('keytar against a real Secret Service', () => {
  it('unlocked keyring: the canary passes, keytar is chosen, and the identity survives a new session', async () => {
    const { env, dataDir } = makeHome('unlocked');
    const first = await run({ kind: 'unlocked' }, env, { dir: dataDir, action: 'identity' });
    expect(first).toMatchObject({ ok: true, backend: 'keytar', weak: false });
    expect(first.deviceId).toMatch(/^[0-9a-f]{64}$/);

    const set = await run({ kind: 'unlocked' }, env, { dir: dataDir, action: 'set', name: 'probe', value: 'héllo' });
    expect(set).toMatchObject({ ok: true, backend: 'keytar', value: 'héllo' });

    const second = await run({ kind: 'unlocked' }, env, { dir: dataDir, action: 'identity' });
    expect(second).toEqual({ ok: true, backend: 'keytar', weak: false, deviceId: first.deviceId });

    // Only ciphertext on disk; the key lives in the keyring file, not beside the vault.
    const vault = readFileSync(path.join(dataDir, 'secrets.vault.json'), 'utf8');
    expect(vault).not.toContain('héllo');
    expect(vault).not.toContain('probe');
    expect(existsSync(path.join(dataDir, 'vault-key.plaintext.json'))).toBe(false);
    expect(statSync(path.join(dataDir, 'secrets.vault.json')).mode & 0o777).toBe(0o600);
    const record = JSON.parse(readFileSync(path.join(dataDir, 'secret-backend.json'), 'utf8'));
    expect(record).toMatchObject({ backend: 'keytar', weak: false });
    expect(record.attempts[0]).toEqual({
      backend: 'keytar',
      outcome: 'ok',
      detail: 'canary written, read back and deleted',
    });
  });

  it('no session bus: unavailable with the exact reason, and no silent fallback', async () => {
    const { env, dataDir } = makeHome('nobus');
    const out = await run({ kind: 'no-bus' }, env, { dir: dataDir, action: 'open' });
    expect(out).toEqual({
      ok: false,
      errorName: 'SecretStoreUnavailableError',
      code: 'unavailable',
      message:
        'No OS keychain is available. Clawdesk can keep its secrets under a key in a file readable only by you (0600) instead, ' +
        'but only if you accept that (allowPlaintextFallback). Tried: keytar: unavailable (canary write failed: Cannot autolaunch ' +
        'D-Bus without X11 $DISPLAY); safe-storage: skipped (only available inside the Electron app)',
    });
    expect(existsSync(path.join(dataDir, 'secrets.vault.json'))).toBe(false);
  });

  it("a bogus bus address is unavailable too; with the user's acceptance the weak file mode is used and recorded", async () => {
    const { env, dataDir } = makeHome('bogus');
    const refused = await run({ kind: 'bogus-bus' }, env, { dir: dataDir, action: 'open' });
    expect(refused).toMatchObject({ ok: false, code: 'unavailable' });
    expect(refused.message).toContain(
      'keytar: unavailable (canary write failed: Could not connect: No such file or directory)',
    );

    const accepted = await run({ kind: 'bogus-bus' }, env, {
      dir: dataDir,
      action: 'set',
      allowPlaintextFallback: true,
      name: 'a',
      value: 'b',
    });
    expect(accepted).toEqual({ ok: true, backend: 'plaintext-file', weak: true, value: 'b' });
    expect(statSync(path.join(dataDir, 'vault-key.plaintext.json')).mode & 0o777).toBe(0o600);
    const record = JSON.parse(readFileSync(path.join(dataDir, 'secret-backend.json'), 'utf8'));
    expect(record).toMatchObject({ backend: 'plaintext-file', weak: true });
    expect(typeof record.plaintextAcceptedAtMs).toBe('number');
  });

  it('locked keyring: writes fail while reads return nothing, so the canary reports "locked"', async () => {
    const { env, dataDir } = makeHome('locked-first');
    // Create a password-protected login keyring, then come back without unlocking it.
    await run({ kind: 'unlocked', password: 'correct horse' }, env, {
      dir: path.join(env.HOME!, 'scratch'),
      action: 'open',
    });
    const out = await run({ kind: 'locked' }, env, { dir: dataDir, action: 'open', allowPlaintextFallback: false });
    expect(out).toEqual({
      ok: false,
      errorName: 'SecretStoreLockedError',
      code: 'locked',
      message:
        'The OS keychain is locked. Unlock it and retry. Clawdesk can keep its secrets under a key in a file readable only by you ' +
        '(0600) instead, but only if you accept that (allowPlaintextFallback). Tried: keytar: locked (canary write failed: ' +
        'Cannot create an item in a locked collection); safe-storage: skipped (only available inside the Electron app)',
    });
  });

  it('an identity kept in the keychain is never re-minted while the keychain is locked, even with the weak mode accepted', async () => {
    const { env, dataDir } = makeHome('locked-later');
    const created = await run({ kind: 'unlocked', password: 'pw' }, env, { dir: dataDir, action: 'identity' });
    expect(created).toMatchObject({ ok: true, backend: 'keytar' });

    const locked = await run({ kind: 'locked' }, env, {
      dir: dataDir,
      action: 'identity',
      allowPlaintextFallback: true,
    });
    expect(locked.ok).toBe(false);
    expect(locked.errorName).toBe('IdentityUnavailableError');
    expect(locked.code).toBe('identity-unavailable');
    expect(locked.message).toBe(
      `Clawdesk's device identity ${created.deviceId.slice(0, 12)}… is kept in a secret store that is locked ` +
        "(Clawdesk's secrets are protected by the OS keychain, which is locked: canary write failed: Cannot create an item in a locked collection). " +
        'Clawdesk will not create a new identity, because every gateway would then ask to pair again. Unlock the keychain and retry.',
    );
    expect(existsSync(path.join(dataDir, 'vault-key.plaintext.json'))).toBe(false);

    const unlockedAgain = await run({ kind: 'unlocked', password: 'pw' }, env, { dir: dataDir, action: 'identity' });
    expect(unlockedAgain).toEqual({ ok: true, backend: 'keytar', weak: false, deviceId: created.deviceId });
  });

  it('a keychain that locks while Clawdesk runs: the open store keeps working, a new open says "locked"', async () => {
    const { env, dataDir } = makeHome('locks-while-running');
    const out = await run({ kind: 'unlocked', password: 'pw' }, env, { dir: dataDir, action: 'lock-while-running' });
    // The vault's data key was read once, at open: device tokens earned and read later do not need the keychain,
    // so no pairing or approval is lost when the screen locker locks the keyring.
    expect(out).toMatchObject({ ok: true, before: 'kept', after: 'written while locked' });
    expect(out.names).toEqual(expect.arrayContaining(['before', 'after']));
    // Opening anew (a restart, reloading the identity) cannot read the key: no new identity, and what to do.
    expect(out.reopened).toMatchObject({ ok: false, code: 'identity-unavailable' });
    expect(out.reopened.message).toMatch(/is kept in a secret store that is locked .*Unlock the keychain and retry\.$/);
  });

  it('a key accepted into the weak file moves into the keychain once one works, keeping the secrets', async () => {
    const { env, dataDir } = makeHome('upgrade');
    const weak = await run({ kind: 'no-bus' }, env, { dir: dataDir, action: 'identity', allowPlaintextFallback: true });
    expect(weak).toMatchObject({ ok: true, backend: 'plaintext-file', weak: true });

    const upgraded = await run({ kind: 'unlocked' }, env, { dir: dataDir, action: 'identity' });
    expect(upgraded).toEqual({ ok: true, backend: 'keytar', weak: false, deviceId: weak.deviceId });
    expect(existsSync(path.join(dataDir, 'vault-key.plaintext.json'))).toBe(false);
    expect(JSON.parse(readFileSync(path.join(dataDir, 'secret-backend.json'), 'utf8')).backend).toBe('keytar');
  });
});
