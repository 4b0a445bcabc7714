import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CliIo, EXIT_USAGE, UsageError } from '../../gateway/cli/cli-io';
import { doctorCommand } from '../../gateway/cli/commands/doctor-command';
import { stateCommand } from '../../gateway/cli/commands/state-command';
import { deviceIdFromPublicKey, generateEd25519KeyPair } from '../../gateway/protocol/ed25519';
import { pairedDevice, populateStateDir, writeIdentity, writePaired } from '../fixtures/state/state-fixtures';
import { CHILD_NODE_PATH, bundleScript, runChild } from '../helpers/child-process';

let root: string;
let home: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-cli-')));
  home = path.join(root, 'home');
  mkdirSync(home);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/**
 * Runs a command in-process the way gateway/cli/main.ts dispatches it (its lazy require() cannot load .ts under
 * vitest; the import-identity test below goes through the real dispatcher in a child process).
 */
async function cli(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: { HOME: home, CLAWDESK_DATA_DIR: path.join(root, 'data'), ...env },
    waitForStopSignal: () => new Promise(() => undefined),
  };
  const [name, ...rest] = args;
  const command = name === 'doctor' ? doctorCommand : stateCommand;
  let code: number;
  try {
    code = await command(rest, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    stderr += `clawdesk ${name}: ${error.message}\n`;
    code = EXIT_USAGE;
  }
  return { code, stdout, stderr };
}

describe('clawdesk doctor', () => {
  it('--json: a stable shape, and exit 1 on an error-level finding', async () => {
    writeIdentity(path.join(home, '.openclaw'));
    writePaired(path.join(root, 'elsewhere'), [pairedDevice('a'.repeat(64))]);
    const { code, stdout } = await cli(['doctor', '--json', '--skip-keychain'], {
      OPENCLAW_STATE_DIR: path.join(root, 'elsewhere'),
    });
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(Object.keys(report)).toEqual([
      'version',
      'ok',
      'counts',
      'activeStateDir',
      'source',
      'configPath',
      'findings',
      'secrets',
    ]);
    expect(report).toMatchObject({
      version: 1,
      ok: false,
      activeStateDir: path.join(root, 'elsewhere'),
      source: 'env',
    });
    expect(Object.keys(report.findings[0])).toEqual(['code', 'severity', 'message', 'fix', 'paths']);
    expect(report.findings[0]).toMatchObject({ code: 'split-state', severity: 'error' });
  });

  it('prints plainly and exits 0 when nothing is wrong', async () => {
    populateStateDir(path.join(home, '.openclaw'), { label: 'a' });
    const { code, stdout } = await cli(['doctor', '--skip-keychain']);
    expect(code).toBe(0);
    expect(stdout).toBe(
      [
        `OpenClaw state dir: ${path.join(home, '.openclaw')} (default)`,
        `Config: ${path.join(home, '.openclaw', 'openclaw.json')}`,
        '',
        'INFO  Secret store not set up yet (keychain not probed).',
        '      fix: Nothing to do.',
        '',
        '0 errors, 0 warnings, 1 note.',
        '',
      ].join('\n'),
    );
  });

  it('honours --profile and rejects a bad one as a usage error', async () => {
    populateStateDir(path.join(home, '.openclaw-dev'), { label: 'a' });
    const { stdout } = await cli(['doctor', '--json', '--skip-keychain', '--profile', 'dev']);
    expect(JSON.parse(stdout)).toMatchObject({ activeStateDir: path.join(home, '.openclaw-dev'), source: 'profile' });
    const bad = await cli(['doctor', '--profile', '../x']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid profile name "../x"');
  });
});

describe('clawdesk state', () => {
  it('scan --json lists every candidate with what it holds', async () => {
    populateStateDir(path.join(home, '.openclaw'), { label: 'a' });
    populateStateDir(path.join(home, '.clawdbot'), { label: 'b' });
    const { code, stdout } = await cli(['state', 'scan', '--json']);
    expect(code).toBe(0);
    const scan = JSON.parse(stdout);
    expect(scan.version).toBe(1);
    expect(scan.dirs.map((d: { path: string }) => d.path)).toEqual([
      path.join(home, '.openclaw'),
      path.join(home, '.clawdbot'),
    ]);
    const human = await cli(['state', 'scan']);
    expect(human.stdout).toContain(`${path.join(home, '.clawdbot')}\n  why: legacy .clawdbot\n`);
    expect(human.stdout).toMatch(/paired-devices\s+devices\/paired\.json\s+\d+ B, .*, 1 entry/);
  });

  it('migrate --dry-run prints the plan and changes nothing; the real run prints how to undo it; restore undoes it', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'a' });
    populateStateDir(to, { label: 'b' });
    const dry = await cli(['state', 'migrate', '--from', from, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      `Plan: merge ${from} into ${to}\n  1. back up ${from} and ${to} under ${path.join(home, '.clawdesk-state-backups')}`,
    );
    expect(dry.stdout).toContain('  merge       devices/paired.json: devices united by deviceId');
    expect(dry.stdout.trimEnd().endsWith('Dry run: nothing was changed.')).toBe(true);
    expect(lstatSync(from).isDirectory()).toBe(true);

    const real = await cli(['state', 'migrate', '--from', from, '--to', to]);
    expect(real.code).toBe(0);
    const undo = /Undo with: clawdesk state restore (\S+)/.exec(real.stdout)![1];
    expect(lstatSync(from).isSymbolicLink()).toBe(true);

    const again = await cli(['state', 'migrate', '--from', from, '--to', to, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ version: 1, outcome: 'nothing-to-do' });

    const restored = await cli(['state', 'restore', undo]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(`Restored ${to} and ${from}`);
    expect(lstatSync(from).isDirectory()).toBe(true);
  });

  it('usage errors exit 2; refused migrations exit 1 and say nothing was changed', async () => {
    expect((await cli(['state', 'migrate'])).code).toBe(2);
    expect((await cli(['state', 'bogus'])).code).toBe(2);
    expect((await cli(['state', 'migrate', '--from', 'a', '--frob'])).code).toBe(2);
    writeFileSync(path.join(root, 'afile'), 'x');
    const refused = await cli([
      'state',
      'migrate',
      '--from',
      path.join(root, 'afile'),
      '--to',
      path.join(home, '.openclaw'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `clawdesk state migrate: nothing was changed.\n  - the source ${path.join(root, 'afile')} is a file, not a state directory\n`,
    );
    const json = await cli([
      'state',
      'migrate',
      '--json',
      '--from',
      path.join(root, 'afile'),
      '--to',
      path.join(home, '.openclaw'),
    ]);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: 1, outcome: 'blocked', code: 'MIGRATION_BLOCKED' });
    const notBackup = await cli(['state', 'restore', root]);
    expect(notBackup.code).toBe(1);
    expect(notBackup.stderr).toBe(`clawdesk state: ${root} is not a Clawdesk state backup (no clawdesk-backup.json)\n`);
  });
});

describe('clawdesk state migrate --max-size (issue 9 finding 10)', () => {
  it('refuses a source over the limit with the numbers, and rejects a bad size as a usage error', async () => {
    const from = path.join(home, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    const refused = await cli([
      'state',
      'migrate',
      '--from',
      from,
      '--to',
      path.join(home, '.openclaw'),
      '--max-size',
      '1K',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^clawdesk state migrate: nothing was changed\.\n {2}- the source .* holds .*, over the 1\.0 KiB limit .*raise the limit with --max-size\n$/,
    );
    const bad = await cli(['state', 'migrate', '--from', from, '--max-size', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--max-size must be a size such as 20G or 500M, got "lots"');
    expect(
      (
        await cli([
          'state',
          'migrate',
          '--from',
          from,
          '--to',
          path.join(home, '.openclaw'),
          '--max-size',
          '1G',
          '--dry-run',
        ])
      ).code,
    ).toBe(0);
  });
});

describe('clawdesk state import-identity (child process, no session bus)', () => {
  let cliScript: string;
  beforeAll(() => {
    cliScript = bundleScript(path.join(__dirname, 'fixtures', 'cli-child.ts'));
  });

  it('refuses the weak mode unless accepted, then imports keeping the deviceId and removes the key file', async () => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const file = path.join(root, 'device.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        deviceId: deviceIdFromPublicKey(publicKey),
        publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }),
        privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }),
        createdAtMs: 1,
      }),
    );
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      CLAWDESK_DATA_DIR: path.join(root, 'data'),
      NODE_PATH: CHILD_NODE_PATH,
      DBUS_SESSION_BUS_ADDRESS: `unix:path=${path.join(root, 'no-bus')}`,
    };
    const refused = await runChild(process.execPath, [cliScript, 'state', 'import-identity', file], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^clawdesk state: No OS keychain is available\. .*accept that \(allowPlaintextFallback\)\. Tried: keytar: unavailable/,
    );
    expect(existsSync(file)).toBe(true);

    const accepted = await runChild(
      process.execPath,
      [cliScript, 'state', 'import-identity', file, '--accept-plaintext', '--json'],
      { env },
    );
    expect(accepted.code).toBe(0);
    expect(JSON.parse(accepted.stdout)).toEqual({
      version: 1,
      outcome: 'imported',
      deviceId: deviceIdFromPublicKey(publicKey),
      format: 'openclaw',
      deviceIdCorrected: false,
      sourceRemoved: true,
    });
    expect(existsSync(file)).toBe(false);
    expect(JSON.parse(readFileSync(path.join(root, 'data', 'device-identity.json'), 'utf8')).deviceId).toBe(
      deviceIdFromPublicKey(publicKey),
    );
  });
});
