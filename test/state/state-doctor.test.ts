import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceIdentityStore } from '../../gateway/secrets/device-identity';
import { openSecretStore } from '../../gateway/secrets/secret-store';
import { DoctorOptions, runDoctor } from '../../gateway/state/state-doctor';
import { beginTransaction } from '../../gateway/state/state-transaction';
import { PathEnvironment, currentPathEnvironment } from '../../gateway/state/state-paths';
import { FakeKeytar } from '../secrets/fakes';
import {
  pairedDevice,
  populateStateDir,
  writeDeviceAuth,
  writeExecApprovals,
  writeIdentity,
  writePaired,
  writePending,
} from '../fixtures/state/state-fixtures';

let root: string;
let home: string;
let dataDir: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-doctor-')));
  home = path.join(root, 'home');
  dataDir = path.join(root, 'clawdesk-data');
  mkdirSync(home);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const pe = (env: Record<string, string> = {}, osHomedir = home): PathEnvironment => ({
  ...currentPathEnvironment(),
  env: { HOME: home, ...env },
  osHomedir,
  cwd: root,
});
const doctor = (env: Record<string, string> = {}, options: DoctorOptions = {}) =>
  runDoctor(pe(env), { probeKeychain: false, clawdeskDataDir: dataDir, ...options });
const codes = (report: Awaited<ReturnType<typeof doctor>>) => report.findings.map((f) => `${f.severity}:${f.code}`);

describe('doctor findings', () => {
  it('a single clean state dir is ok', async () => {
    populateStateDir(path.join(home, '.openclaw'), { label: 'a' });
    const report = await doctor();
    expect(report.ok).toBe(true);
    expect(codes(report)).toEqual(['info:secret-store']);
  });

  it('split state: identity in the default dir, pairing in OPENCLAW_STATE_DIR', async () => {
    const elsewhere = path.join(root, 'E', 'OpenClaw_Data');
    writeIdentity(path.join(home, '.openclaw'));
    writePaired(elsewhere, [pairedDevice('a'.repeat(64))]);
    const report = await doctor({ OPENCLAW_STATE_DIR: elsewhere });
    expect(report.ok).toBe(false);
    const split = report.findings.find((f) => f.code === 'split-state')!;
    expect(split).toMatchObject({
      severity: 'error',
      message: `Split state: the device identity is in ${path.join(home, '.openclaw')}, not in the active state dir ${elsewhere}.`,
      fix: `clawdesk state migrate --from ${path.join(home, '.openclaw')} --to ${elsewhere}`,
    });
  });

  it('exec approvals left in ~/.openclaw while OPENCLAW_STATE_DIR points elsewhere (#75204)', async () => {
    const elsewhere = path.join(root, 'state');
    populateStateDir(elsewhere, { label: 'a' });
    rmSync(path.join(elsewhere, 'exec-approvals.json'));
    writeExecApprovals(path.join(home, '.openclaw'), { agents: {} });
    const report = await doctor({ OPENCLAW_STATE_DIR: elsewhere });
    expect(report.findings.find((f) => f.code === 'split-exec-approvals')).toMatchObject({ severity: 'error' });
    // Both present: a warning, because which one applies depends on the OpenClaw version.
    writeExecApprovals(elsewhere, { agents: {} });
    const both = await doctor({ OPENCLAW_STATE_DIR: elsewhere });
    expect(codes(both)).toContain('warn:split-exec-approvals');
    expect(both.ok).toBe(true);
  });

  it('legacy and retired dirs', async () => {
    populateStateDir(path.join(home, '.openclaw'), { label: 'a' });
    mkdirSync(path.join(home, '.clawdbot'));
    writeFileSync(path.join(home, '.clawdbot', 'clawdbot.json'), '{}');
    mkdirSync(path.join(home, '.moltbot'));
    const report = await doctor();
    const legacy = report.findings.filter((f) => f.code === 'legacy-dir').map((f) => f.message);
    expect(legacy).toEqual([
      `Legacy state dir ${path.join(home, '.clawdbot')} exists beside the active ${path.join(home, '.openclaw')}.`,
      `Old state dir ${path.join(home, '.moltbot')}: OpenClaw no longer reads it, so anything in it is invisible.`,
    ]);
  });

  it('a symlinked home or a legacy link to the active dir is not "multiple state dirs" (#9136)', async () => {
    const realHome = path.join(root, 'real');
    populateStateDir(path.join(realHome, '.openclaw'), { label: 'a' });
    symlinkSync(path.join(realHome, '.openclaw'), path.join(realHome, '.clawdbot'));
    symlinkSync(realHome, path.join(root, 'linked'));
    const report = await runDoctor(pe({ HOME: path.join(root, 'linked') }, realHome), {
      probeKeychain: false,
      clawdeskDataDir: dataDir,
    });
    expect(codes(report).filter((c) => /multiple|legacy|split/.test(c))).toEqual([]);
  });

  it('an identity regenerated while the old pairing is kept (the "device token mismatch" loop)', async () => {
    const dir = path.join(home, '.openclaw');
    const current = writeIdentity(dir);
    const old = 'f'.repeat(64);
    writeDeviceAuth(dir, old, { operator: { token: 'stale' } });
    writePaired(dir, [pairedDevice(old)]);
    const report = await doctor();
    expect(codes(report)).toEqual(expect.arrayContaining(['error:identity-regenerated', 'warn:stale-pairing']));
    expect(report.findings.find((f) => f.code === 'identity-regenerated')!.message).toContain(
      `now ${current.deviceId.slice(0, 12)}…`,
    );
  });

  it('stale pending pairings', async () => {
    const dir = path.join(home, '.openclaw');
    populateStateDir(dir, { label: 'a' });
    writePending(dir, [{ requestId: 'r', deviceId: 'x', ts: 1 }]);
    const report = await doctor();
    expect(report.findings.find((f) => f.code === 'stale-pending-pairing')!.message).toBe(
      `1 pairing request(s) in ${path.join(dir, 'devices', 'pending.json')} are older than 5 minutes and can no longer be approved.`,
    );
  });

  it('loose permissions are reported, and --fix tightens them', async () => {
    const dir = path.join(home, '.openclaw');
    populateStateDir(dir, { label: 'a' });
    chmodSync(path.join(dir, 'identity', 'device.json'), 0o644);
    chmodSync(path.join(dir, 'devices', 'paired.json'), 0o640);
    const report = await doctor();
    expect(report.findings.filter((f) => f.code === 'loose-permissions').map((f) => f.severity)).toEqual([
      'error',
      'warn',
    ]);
    expect(report.ok).toBe(false);
    const fixed = await doctor({}, { fix: true });
    expect(fixed.ok).toBe(true);
    expect(statSync(path.join(dir, 'identity', 'device.json')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'devices', 'paired.json')).mode & 0o777).toBe(0o600);
    expect((await doctor()).findings.filter((f) => f.code === 'loose-permissions')).toEqual([]);
  });

  it('corrupt JSON is an error; --fix moves it aside to a side file and never deletes it', async () => {
    const dir = path.join(home, '.openclaw');
    populateStateDir(dir, { label: 'a' });
    writeFileSync(path.join(dir, 'nodes-broken.txt'), 'unrelated');
    mkdirSync(path.join(dir, 'nodes'));
    writeFileSync(path.join(dir, 'nodes', 'paired.json'), '{"n1": {"nodeId": "n1", "tok', { mode: 0o600 });
    const report = await doctor();
    expect(report.findings.find((f) => f.code === 'corrupt-json')).toMatchObject({
      severity: 'error',
      paths: [path.join(dir, 'nodes', 'paired.json')],
    });
    // Doctor without --fix is read-only.
    expect(readFileSync(path.join(dir, 'nodes', 'paired.json'), 'utf8')).toBe('{"n1": {"nodeId": "n1", "tok');
    const fixed = await doctor({}, { fix: true });
    expect(fixed.findings.find((f) => f.code === 'corrupt-json')!.fixed).toMatch(/^moved to .*paired\.json\.corrupt-/);
    const side = readdirSync(path.join(dir, 'nodes')).find((n) => n.startsWith('paired.json.corrupt-'))!;
    expect(readFileSync(path.join(dir, 'nodes', side), 'utf8')).toBe('{"n1": {"nodeId": "n1", "tok');
    const after = await doctor();
    expect(codes(after)).toContain('info:quarantined-files');
    expect(after.ok).toBe(true);
  });

  it('a nested state dir from OPENCLAW_HOME pointing at ~/.openclaw (#45765)', async () => {
    const report = await doctor({ OPENCLAW_HOME: path.join(home, '.openclaw') });
    expect(codes(report)).toContain('warn:nested-state-dir');
  });

  it('an interrupted migration is an error; --fix finishes or undoes it', async () => {
    const dir = path.join(home, '.openclaw');
    populateStateDir(dir, { label: 'a' });
    const staged = path.join(home, '.openclaw.staging-x');
    mkdirSync(staged);
    await beginTransaction({
      id: 'x',
      purpose: 'migrate',
      ops: [
        { path: dir, install: { kind: 'dir', staged }, aside: path.join(home, '.openclaw.old-x'), existedBefore: true },
      ],
    });
    // The journal names this process; pretend it belonged to a process that died.
    const journal = path.join(home, '..openclaw.clawdesk-migration.json');
    writeFileSync(journal, readFileSync(journal, 'utf8').replace(`"pid": ${process.pid}`, '"pid": 999999999'));
    const report = await doctor();
    expect(report.findings[0]).toMatchObject({ code: 'interrupted-migration', severity: 'error' });
    const fixed = await doctor({}, { fix: true });
    expect(fixed.findings[0].fixed).toMatch(/^discarded-staging/);
    expect(existsSync(staged)).toBe(false);
    expect(existsSync(journal)).toBe(false);
  });

  it('Windows: a Git Bash HOME that moves the state dir away from the profile', async () => {
    const winPe: PathEnvironment = {
      env: { HOME: 'C:\\msys64\\home\\ada', USERPROFILE: 'C:\\Users\\ada' },
      platform: 'win32',
      osHomedir: 'C:\\Users\\ada',
      cwd: 'C:\\',
      exists: (p) => p.toLowerCase() === 'c:\\users\\ada\\.openclaw',
    };
    const report = await runDoctor(winPe, { probeKeychain: false, clawdeskDataDir: dataDir });
    expect(report.findings.find((f) => f.code === 'home-moves-state-dir')!.message).toBe(
      'HOME=C:\\msys64\\home\\ada (set by Git Bash/MSYS?) makes OpenClaw use C:\\msys64\\home\\ada\\.openclaw; programs started without it use C:\\Users\\ada\\.openclaw.',
    );
  });
});

describe("doctor on Clawdesk's own secret store", () => {
  it('shows the recorded backend and warns about the weak file mode', async () => {
    await openSecretStore({ dir: dataDir, keytar: null, allowPlaintextFallback: true });
    const report = await doctor({}, { keytar: null, probeKeychain: true });
    const weak = report.findings.find((f) => f.code === 'secret-store-weak')!;
    expect(weak.severity).toBe('warn');
    expect(weak.message).toMatch(/^Clawdesk's secrets are protected only by a key in a 0600 file \(accepted \d{4}-/);
    expect(report.secrets).toMatchObject({ vault: 'present', backend: 'plaintext-file', weak: true });
  });

  it('a locked keychain holding the identity is an error, and nothing new is created', async () => {
    const keytar = new FakeKeytar();
    const identity = await new DeviceIdentityStore({
      dir: dataDir,
      openStore: () => openSecretStore({ dir: dataDir, keytar }),
    }).loadOrCreateIdentity();
    keytar.mode = 'locked';
    const report = await doctor({}, { keytar, probeKeychain: true });
    expect(report.ok).toBe(false);
    expect(report.findings.find((f) => f.code === 'secret-store-locked')!.message).toBe(
      `Clawdesk's secrets (including device identity ${identity.deviceId.slice(0, 12)}…) are in the OS keychain (keytar), which is locked: canary write failed: Cannot create an item in a locked collection.`,
    );
  });

  it('before first use: says which backend a first start would pick', async () => {
    const report = await doctor({}, { keytar: new FakeKeytar(), probeKeychain: true });
    expect(report.findings.find((f) => f.code === 'secret-store')!.message).toBe(
      'Secret store not set up yet; Clawdesk will use the OS keychain (keytar).',
    );
    expect(existsSync(path.join(dataDir, 'secrets.vault.json'))).toBe(false);
  });
});
