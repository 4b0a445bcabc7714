import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import JSON5 from 'json5';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationBlockedError, migrateState, restoreBackup } from '../../gateway/state/state-migration';
import { TransactionVerifyError } from '../../gateway/state/state-transaction';
import {
  pairedDevice,
  populateStateDir,
  writeDeviceAuth,
  writeExecApprovals,
  writeIdentity,
  writeJson,
  writePaired,
} from '../fixtures/state/state-fixtures';
import { bundleScript, lastJsonLine, runChild } from '../helpers/child-process';
import { leftovers, snapshot } from './helpers/tree-snapshot';

let root: string;
let home: string;
let backups: string;
beforeEach(() => {
  root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'clawdesk-migrate-')));
  home = path.join(root, 'home');
  backups = path.join(root, 'backups');
  mkdirSync(home);
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const migrate = (from: string, to: string, extra: Record<string, unknown> = {}) =>
  migrateState({ from, to, home, backupRoot: backups, ...extra });

describe('migrating ~/.clawdbot into ~/.openclaw', () => {
  it('merges trust state, keeps the target identity, links the old dir, and a second run changes nothing', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    const shared = 'd'.repeat(64);
    const { identity: oldId } = populateStateDir(from, {
      label: 'old',
      configExtra: { logsDir: path.join(from, 'logs'), theme: 'dark', port: 1 },
      devices: [
        pairedDevice('a'.repeat(64)),
        pairedDevice(shared, {
          approvedAtMs: 5000,
          displayName: 'newer name',
          tokens: { operator: { token: 'shared-op', revokedAtMs: 6000 }, node: { token: 'node-tok' } },
        }),
      ],
    });
    const { identity: newId } = populateStateDir(to, {
      label: 'new',
      configExtra: { theme: 'light', port: 1 },
      devices: [
        pairedDevice('b'.repeat(64)),
        pairedDevice(shared, {
          approvedAtMs: 2000,
          displayName: 'older name',
          tokens: { operator: { token: 'shared-op' } },
        }),
      ],
    });
    writeExecApprovals(from, {
      defaults: { security: 'full', ask: 'always', askFallback: 'full', autoAllowSkills: true },
      agents: {
        main: {
          allowlist: [
            { id: '1', pattern: '/usr/bin/old' },
            { id: 'x', pattern: '/usr/bin/both' },
          ],
        },
        ops: { security: 'deny' },
      },
    });
    writeExecApprovals(to, {
      socket: { path: path.join(to, 'exec-approvals.sock'), token: 'sock-new' },
      defaults: { security: 'allowlist', ask: 'off', askFallback: 'deny' },
      agents: {
        main: {
          allowlist: [
            { id: '2', pattern: '/usr/bin/new' },
            { id: 'y', pattern: '/usr/bin/both' },
          ],
        },
      },
    });
    writeFileSync(path.join(from, 'agents', 'main', 'sessions', 'new-0.jsonl'), 'conflicting session\n');

    const result = await migrate(from, to);
    expect(result.outcome).toBe('migrated');

    // Devices united by deviceId; the newer approval's record wins; the revoked token stays revoked.
    const paired = readJson(path.join(to, 'devices', 'paired.json'));
    expect(Object.keys(paired).sort()).toEqual(['a'.repeat(64), 'b'.repeat(64), shared]);
    expect(paired[shared].displayName).toBe('newer name');
    expect(paired[shared].tokens.operator).toMatchObject({ token: 'shared-op', revokedAtMs: 6000 });
    expect(paired[shared].tokens.node.token).toBe('node-tok');

    // Exec approvals: allowlists united; defaults and per-agent policy: the stricter wins.
    const exec = readJson(path.join(to, 'exec-approvals.json'));
    expect(exec.defaults).toEqual({
      security: 'allowlist',
      ask: 'always',
      askFallback: 'deny',
      autoAllowSkills: false,
    });
    expect(exec.agents.main.allowlist.map((e: { pattern: string }) => e.pattern)).toEqual([
      '/usr/bin/new',
      '/usr/bin/both',
      '/usr/bin/old',
    ]);
    expect(exec.agents.ops.security).toBe('deny');
    expect(exec.socket.token).toBe('sock-new');

    // Config merged key by key; the conflict is reported, not silently resolved; paths into the old dir rewritten.
    const config = JSON5.parse(readFileSync(path.join(to, 'openclaw.json'), 'utf8'));
    expect(config.theme).toBe('light');
    expect(config.logsDir).toBe(path.join(to, 'logs'));
    expect(config.agents.defaults.workspace).toBe(path.join(to, 'workspace'));
    expect(result.plan.notes).toContainEqual({
      file: 'openclaw.json',
      kind: 'conflict',
      message: "theme: the two configs differ; kept the target's value",
    });

    // Identity: the target's kept, the source's archived (with its tokens).
    expect(readJson(path.join(to, 'identity', 'device.json')).deviceId).toBe(newId!.deviceId);
    expect(readJson(path.join(to, 'migrated-from-clawdbot', 'identity', 'device.json')).deviceId).toBe(oldId!.deviceId);
    expect(readJson(path.join(to, 'migrated-from-clawdbot', 'identity', 'device-auth.json')).deviceId).toBe(
      oldId!.deviceId,
    );
    expect(readJson(path.join(to, 'identity', 'device-auth.json')).deviceId).toBe(newId!.deviceId);

    // Files only in the source are copied; a clashing file is archived, the target's kept.
    expect(readFileSync(path.join(to, 'agents', 'main', 'sessions', 'old-0.jsonl'), 'utf8')).toBe('{"n":0}\n');
    expect(readFileSync(path.join(to, 'agents', 'main', 'sessions', 'new-0.jsonl'), 'utf8')).toBe('{"n":0}\n');
    expect(
      readFileSync(path.join(to, 'migrated-from-clawdbot', 'agents', 'main', 'sessions', 'new-0.jsonl'), 'utf8'),
    ).toBe('conflicting session\n');

    // The legacy location is now a link to the new one; secrets kept 0600.
    expect(lstatSync(from).isSymbolicLink()).toBe(true);
    expect(realpathSync(from)).toBe(to);
    expect(lstatSync(path.join(to, 'devices', 'paired.json')).mode & 0o777).toBe(0o600);
    expect(leftovers(home)).toEqual([]);

    // A backup with both original dirs exists.
    const [backup] = readdirSync(backups);
    expect(backup).toMatch(/^\d{8}-\d{6}-/);
    expect(existsSync(path.join(backups, backup, 'clawdesk-backup.json'))).toBe(true);

    // Second run: nothing to do, nothing changes.
    const before = snapshot(to, root);
    const again = await migrate(from, to);
    expect(again.outcome).toBe('nothing-to-do');
    expect(snapshot(to, root)).toEqual(before);
    expect(readdirSync(backups)).toHaveLength(1);
  });

  it('moves the whole dir when the target does not exist yet', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'only' });
    writeJson(path.join(from, 'clawdbot.json'), { gateway: { port: 1 } });
    rmSync(path.join(from, 'openclaw.json'));
    const before = snapshot(from, root) as Record<string, string>;
    await migrate(from, to);
    const after = snapshot(to, root) as Record<string, string>;
    expect(realpathSync(from)).toBe(to);
    // clawdbot.json becomes openclaw.json; everything else is byte-for-byte the same.
    const { ['clawdbot.json']: legacyConfig, ['exec-approvals.json']: _exec, ...rest } = before;
    expect(after['openclaw.json']).toBe(legacyConfig);
    expect(
      Object.fromEntries(Object.entries(after).filter(([k]) => k !== 'openclaw.json' && k !== 'exec-approvals.json')),
    ).toEqual(rest);
    // The approvals socket path pointed into the old dir: rewritten, nothing else changed.
    const exec = readJson(path.join(to, 'exec-approvals.json'));
    expect(exec.socket.path).toBe(path.join(to, 'exec-approvals.sock'));
    expect(exec.agents.main.allowlist[0].pattern).toBe('/usr/bin/only');
  });

  it('a dry run plans, prints and changes nothing', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'a' });
    populateStateDir(to, { label: 'b' });
    const before = [snapshot(from, root), snapshot(to, root)];
    const result = await migrate(from, to, { dryRun: true });
    expect(result.outcome).toBe('dry-run');
    expect(result.plan.status).toBe('ready');
    expect(result.plan.steps[0]).toBe(`back up ${from} and ${to} under ${backups}`);
    expect(result.plan.files).toContainEqual(expect.objectContaining({ rel: 'devices/paired.json', action: 'merge' }));
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
    expect(existsSync(backups)).toBe(false);
  });

  it('is restorable with one call, and the restore itself is backed up', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'a' });
    populateStateDir(to, { label: 'b' });
    const before = [snapshot(from, root), snapshot(to, root)];
    const { backupDir } = await migrate(from, to);
    writeFileSync(path.join(to, 'written-after.txt'), 'later');
    const restored = await restoreBackup(backupDir!);
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
    expect(lstatSync(from).isDirectory()).toBe(true);
    expect(readFileSync(path.join(restored.safetyBackupDir, 'to-0', 'written-after.txt'), 'utf8')).toBe('later');
    expect(leftovers(home)).toEqual([]);
  });

  it('rolls back when the swapped-in result does not match what was staged', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'a' });
    populateStateDir(to, { label: 'b' });
    const before = [snapshot(from, root), snapshot(to, root)];
    const tamper = (step: string) => {
      if (step === 'op1-installed') writeFileSync(path.join(to, 'devices', 'paired.json'), '{}');
    };
    await expect(migrate(from, to, { step: tamper })).rejects.toBeInstanceOf(TransactionVerifyError);
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
    expect(leftovers(home)).toEqual([]);
  });

  it('works with spaces and non-ASCII names', async () => {
    const from = path.join(root, 'Dossier été', '.clawdbot');
    const to = path.join(root, 'Données ユーザー', 'Open Claw');
    populateStateDir(from, { label: 'x' });
    await migrate(from, to);
    expect(realpathSync(from)).toBe(to);
    expect(Object.keys(readJson(path.join(to, 'devices', 'paired.json')))).toHaveLength(1);
  });
});

describe('bad input is refused with a clear message and nothing is lost', () => {
  const expectBlocked = async (from: string, to: string, message: string | RegExp) => {
    const error = await migrate(from, to).catch((e) => e);
    expect(error).toBeInstanceOf(MigrationBlockedError);
    expect(error.message).toMatch(message);
  };

  it('a target inside its source', async () => {
    const from = path.join(home, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    await expectBlocked(
      from,
      path.join(from, 'nested'),
      `the target ${path.join(from, 'nested')} is inside the source ${from}`,
    );
    await expectBlocked(path.join(from, 'agents'), from, 'is inside the target');
  });

  it('a source that is a file, missing, or a circular link', async () => {
    writeFileSync(path.join(home, 'state-file'), 'x');
    await expectBlocked(
      path.join(home, 'state-file'),
      path.join(home, '.openclaw'),
      'is a file, not a state directory',
    );
    await expectBlocked(path.join(home, 'nope'), path.join(home, '.openclaw'), 'does not exist');
    symlinkSync(path.join(home, 'loop-b'), path.join(home, 'loop-a'));
    symlinkSync(path.join(home, 'loop-a'), path.join(home, 'loop-b'));
    await expectBlocked(path.join(home, 'loop-a'), path.join(home, '.openclaw'), 'circular chain of symbolic links');
  });

  it('a target that is a file', async () => {
    populateStateDir(path.join(home, '.clawdbot'), { label: 'x' });
    writeFileSync(path.join(home, '.openclaw'), 'not a dir');
    await expectBlocked(path.join(home, '.clawdbot'), path.join(home, '.openclaw'), 'is a file, not a directory');
  });

  it.each([
    ['truncated', '{"aaaa": {"deviceId": "aaaa", "tok', /is not valid JSON/],
    ['empty', '', /is not valid JSON: it is empty/],
    ['wrong shape', '[1, 2]', /has the wrong shape: device \(array entry\) must be an object/],
  ])('%s JSON in the source', async (_label, content, message) => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x' });
    populateStateDir(to, { label: 'y' });
    writeFileSync(path.join(from, 'devices', 'paired.json'), content);
    const before = [snapshot(from, root), snapshot(to, root)];
    await expectBlocked(from, to, message);
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
  });

  it('an enormous JSON file is not parsed', async () => {
    const from = path.join(home, '.clawdbot');
    populateStateDir(from, { label: 'x' });
    writeFileSync(path.join(from, 'exec-approvals.json'), `{"version":1,"pad":"${'x'.repeat(17 * 1024 * 1024)}"}`);
    await expectBlocked(from, path.join(home, '.openclaw'), /over the 16777216-byte limit/);
  });

  it('a path that would be too long at the target (or in its staging or backup) is refused before anything is written', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x', sessions: 1 });
    populateStateDir(to, { label: 'y', sessions: 1 });
    // Nested names bringing the source's deepest path to 4,070 bytes: it exists, but the staging's is longer (a
    // directory both have is merged file by file through the staging).
    let deep = path.join(from, 'agents', 'main', 'sessions');
    while (Buffer.byteLength(deep) < 4070 - 210) deep = path.join(deep, 'd'.repeat(200));
    deep = path.join(deep, 'x'.repeat(4070 - Buffer.byteLength(deep) - 1));
    mkdirSync(path.dirname(deep), { recursive: true });
    writeFileSync(deep, 'transcript');
    // A link beside it: its directories are merged file by file (through the staging), not moved whole.
    symlinkSync('x', path.join(path.dirname(deep), 'latest'));
    const before = [snapshot(from, root), snapshot(to, root)];
    await expectBlocked(
      from,
      to,
      /would be a path of \d+ bytes at .*, over the 4095-byte limit of this system; nothing was changed: shorten/,
    );
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
    expect(readdirSync(home).sort()).toEqual(['.clawdbot', '.openclaw']);
    // The same depth in a directory only the source has, holding files only, moves whole: it migrates.
    rmSync(path.join(path.dirname(deep), 'latest'));
    const scout = path.join(from, 'agents', 'scout');
    mkdirSync(scout);
    execFileSync('mv', [path.join(from, 'agents', 'main', 'sessions', 'd'.repeat(200)), scout]);
    const result = await migrate(from, to);
    expect(result.outcome).toBe('migrated');
    const movedDeep = path.join(
      to,
      'agents',
      'scout',
      path.relative(path.join(from, 'agents', 'main', 'sessions'), deep),
    );
    expect(readFileSync(movedDeep, 'utf8')).toBe('transcript');
  });

  it('an unreadable directory inside the source', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    populateStateDir(from, { label: 'x' });
    const before = [snapshot(from, root), snapshot(to, root)];
    if (process.getuid?.() !== 0) {
      chmodSync(path.join(from, 'credentials'), 0o000);
      try {
        await expectBlocked(from, to, /cannot read everything in/);
      } finally {
        chmodSync(path.join(from, 'credentials'), 0o700);
      }
      return;
    }
    // Root reads through mode bits: hand the tree to an unprivileged account and migrate as that account.
    const NOBODY = 65534;
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, root]);
    chmodSync(path.join(from, 'credentials'), 0o000);
    const script = bundleScript(path.join(__dirname, 'fixtures', 'migrate-child.ts'));
    const result = await runChild(
      'setpriv',
      [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        '--clear-groups',
        process.execPath,
        script,
        JSON.stringify({ mode: 'migrate', from, to, home, backupRoot: backups }),
      ],
      {
        env: { PATH: process.env.PATH, HOME: home },
      },
    );
    chmodSync(path.join(from, 'credentials'), 0o700);
    expect(lastJsonLine(result.stdout).error).toMatch(/cannot read everything in/);
    expect([snapshot(from, root), snapshot(to, root)]).toEqual(before);
  });
});

describe('identity and token rules during a merge', () => {
  it('takes the source identity and its tokens when the target has none', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    const id = writeIdentity(from);
    writeDeviceAuth(from, id.deviceId, { operator: { token: 'keep-me' } });
    mkdirSync(to);
    writePaired(to, [pairedDevice('c'.repeat(64))]);
    await migrate(from, to);
    expect(readJson(path.join(to, 'identity', 'device.json')).deviceId).toBe(id.deviceId);
    expect(readJson(path.join(to, 'identity', 'device-auth.json')).tokens.operator.token).toBe('keep-me');
  });

  it('a token revoked after the other dir issued its token keeps the role revoked', async () => {
    const from = path.join(home, '.clawdbot');
    const to = path.join(home, '.openclaw');
    const dev = 'e'.repeat(64);
    mkdirSync(from);
    mkdirSync(to);
    writePaired(from, [
      pairedDevice(dev, {
        approvedAtMs: 100,
        tokens: { operator: { token: 'old', createdAtMs: 100, revokedAtMs: 900 } },
      }),
    ]);
    writePaired(to, [
      pairedDevice(dev, { approvedAtMs: 500, tokens: { operator: { token: 'newer', createdAtMs: 500 } } }),
    ]);
    await migrate(from, to);
    const merged = readJson(path.join(to, 'devices', 'paired.json'))[dev];
    expect(merged.tokens.operator).toMatchObject({ token: 'newer', revokedAtMs: 900 });
  });
});
