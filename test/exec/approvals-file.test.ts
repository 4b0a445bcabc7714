import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ExecApprovalsError,
  ExecApprovalsStore,
  importLegacyExecApprovals,
  normalizeExecApprovals,
} from '../../gateway/exec/approvals-file';
import { CLAWDESK_EXEC_DEFAULTS, resolveExecPolicy } from '../../gateway/exec/policy';
import { bundleScript, lastJsonLine, runChild } from '../helpers/child-process';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-approvals-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('normalizeExecApprovals', () => {
  it('treats a wrong version as the empty policy', () => {
    expect(normalizeExecApprovals({ version: 2, defaults: { security: 'full' } })).toEqual({ version: 1, agents: {} });
    expect(normalizeExecApprovals(null)).toEqual({ version: 1, agents: {} });
  });

  it('coerces strings, drops junk, fills ids, dedupes and strips commandText', () => {
    const file = normalizeExecApprovals({
      version: 1,
      defaults: { security: 'bogus', ask: 'always', askFallback: 'full' },
      agents: {
        main: {
          security: 'allowlist',
          allowlist: [
            '/usr/bin/rg',
            { pattern: '/usr/bin/rg' },
            { pattern: '' },
            42,
            { pattern: '/bin/ls', commandText: 'ls' },
          ],
        },
      },
    });
    expect(file.defaults).toEqual({ ask: 'always', askFallback: 'full' });
    const list = file.agents.main.allowlist!;
    expect(list.map((e) => e.pattern)).toEqual(['/usr/bin/rg', '/bin/ls']);
    expect(list.every((e) => typeof e.id === 'string' && e.id.length > 0)).toBe(true);
    expect('commandText' in list[1]).toBe(false);
  });

  it('merges agents.default into agents.main', () => {
    const file = normalizeExecApprovals({
      version: 1,
      agents: { default: { ask: 'always', allowlist: ['/bin/a'] }, main: { ask: 'off', allowlist: ['/bin/b'] } },
    });
    expect(file.agents.default).toBeUndefined();
    expect(file.agents.main.ask).toBe('off');
    expect(file.agents.main.allowlist!.map((e) => e.pattern).sort()).toEqual(['/bin/a', '/bin/b']);
  });

  it('drops an entry whose argPattern does not compile instead of widening it', () => {
    const file = normalizeExecApprovals({
      version: 1,
      agents: { '*': { allowlist: [{ pattern: '/bin/x', argPattern: '(' }] } },
    });
    expect(file.agents['*'].allowlist).toEqual([]);
  });
});

describe('ExecApprovalsStore', () => {
  it('reports a missing file with hash "" and writes with CAS, 0600, and keeps the socket token private', async () => {
    const store = new ExecApprovalsStore({ stateDir: dir });
    const first = await store.snapshot();
    expect(first).toMatchObject({ exists: false, hash: '', path: path.join(dir, 'exec-approvals.json') });
    expect(first.file.socket?.path).toBe(path.join(dir, 'exec-approvals.sock'));

    const written = await store.set({ version: 1, defaults: { security: 'full' }, agents: {} }, undefined);
    const raw = readFileSync(store.filePath, 'utf8');
    expect(written.hash).toBe(createHash('sha256').update(raw).digest('hex'));
    expect(statSync(store.filePath).mode & 0o777).toBe(0o600);
    expect(JSON.parse(raw).socket.token).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(written.file.socket?.token).toBeUndefined();
    expect(written.exists).toBe(true);

    await expect(store.set({ version: 1, agents: {} }, undefined)).rejects.toMatchObject({
      code: 'BASE_HASH_REQUIRED',
    });
    await expect(store.set({ version: 1, agents: {} }, 'deadbeef')).rejects.toMatchObject({
      code: 'BASE_HASH_MISMATCH',
    });
    expect(readFileSync(store.filePath, 'utf8')).toBe(raw);

    const token = JSON.parse(raw).socket.token;
    const next = await store.set(
      { version: 1, socket: { token: 'attacker' }, agents: { '*': { ask: 'always' } } },
      written.hash,
    );
    expect(next.file.agents['*'].ask).toBe('always');
    expect(JSON.parse(readFileSync(store.filePath, 'utf8')).socket.token).toBe(token);
  });

  it('refuses a non-version-1 file on set and loses nothing', async () => {
    const store = new ExecApprovalsStore({ stateDir: dir });
    await expect(store.set({ version: 7 }, undefined)).rejects.toBeInstanceOf(ExecApprovalsError);
    expect(existsSync(store.filePath)).toBe(false);
  });

  it('refuses to write through a symlinked destination', async () => {
    const target = path.join(dir, 'elsewhere.json');
    writeFileSync(target, '{"version":1,"agents":{}}');
    symlinkSync(target, path.join(dir, 'exec-approvals.json'));
    const store = new ExecApprovalsStore({ stateDir: dir });
    await expect(store.read()).rejects.toMatchObject({ code: 'SYMLINK_REFUSED' });
    await expect(store.update(() => true)).rejects.toMatchObject({ code: 'SYMLINK_REFUSED' });
    expect(readFileSync(target, 'utf8')).toBe('{"version":1,"agents":{}}');
  });

  it('reads an unparsable file as the empty (strict) policy without touching it', async () => {
    writeFileSync(path.join(dir, 'exec-approvals.json'), '{nope');
    const store = new ExecApprovalsStore({ stateDir: dir });
    const state = await store.read();
    expect(state.file).toEqual({ version: 1, agents: {} });
    expect(state.exists).toBe(true);
    expect(readFileSync(store.filePath, 'utf8')).toBe('{nope');
  });
});

describe('ExecApprovalsStore.ensureExists (the file a running host always has)', () => {
  it('writes Clawdesk defaults with a socket path and token, 0600, in a state dir it creates 0700', async () => {
    const stateDir = path.join(dir, 'fresh', 'state');
    const store = new ExecApprovalsStore({ stateDir });
    expect(await store.ensureExists(CLAWDESK_EXEC_DEFAULTS)).toEqual({ created: true });

    const raw = readFileSync(store.filePath, 'utf8');
    const file = JSON.parse(raw);
    expect(file).toEqual({
      version: 1,
      socket: { path: path.join(stateDir, 'exec-approvals.sock'), token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) },
      defaults: { security: 'allowlist', ask: 'on-miss', askFallback: 'deny', autoAllowSkills: false },
      agents: {},
    });
    expect(statSync(store.filePath).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    // Only the file: no temp file left behind.
    expect(readdirSync(stateDir)).toEqual(['exec-approvals.json']);

    const snap = await store.snapshot();
    expect(snap).toMatchObject({ exists: true, hash: createHash('sha256').update(raw).digest('hex') });
    expect(snap.file.socket?.token).toBeUndefined();
    // What it wrote is what the policy resolves to anyway: materializing changes nothing about decisions.
    expect(resolveExecPolicy((await store.read()).file, 'main')).toEqual(CLAWDESK_EXEC_DEFAULTS);
    expect(resolveExecPolicy({ version: 1, agents: {} }, 'main')).toEqual(CLAWDESK_EXEC_DEFAULTS);
  });

  it('removes a temp copy a killed earlier attempt left behind (it held a socket token)', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const orphan = path.join(dir, `.exec-approvals.json.${deadPid}.0123456789ab.tmp`);
    writeFileSync(orphan, '{"version":1,"socket":{"token":"leaked"}}', { mode: 0o600 });
    const store = new ExecApprovalsStore({ stateDir: dir });
    expect(await store.ensureExists(CLAWDESK_EXEC_DEFAULTS)).toEqual({ created: true });
    expect(readdirSync(dir)).toEqual(['exec-approvals.json']);
  });

  it('never replaces an existing file, whatever it holds', async () => {
    const store = new ExecApprovalsStore({ stateDir: dir });
    for (const content of ['{"version":1,"defaults":{"security":"full"},"agents":{}}', '{nope', '']) {
      writeFileSync(store.filePath, content);
      expect(await store.ensureExists(CLAWDESK_EXEC_DEFAULTS)).toEqual({ created: false, existing: 'file' });
      expect(readFileSync(store.filePath, 'utf8')).toBe(content);
    }
    // Twice in a row: the second finds the first's file.
    rmSync(store.filePath);
    await store.ensureExists(CLAWDESK_EXEC_DEFAULTS);
    const first = readFileSync(store.filePath, 'utf8');
    expect(await store.ensureExists({ security: 'full', ask: 'off' })).toEqual({ created: false, existing: 'file' });
    expect(readFileSync(store.filePath, 'utf8')).toBe(first);
  });

  it('concurrent callers (separate stores, same file) create it exactly once', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () => new ExecApprovalsStore({ stateDir: dir }).ensureExists(CLAWDESK_EXEC_DEFAULTS)),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(JSON.parse(readFileSync(path.join(dir, 'exec-approvals.json'), 'utf8')).defaults.security).toBe('allowlist');
    expect(readdirSync(dir)).toEqual(['exec-approvals.json']);
  });

  it('separate processes racing on a missing file: exactly one creates it, the rest find it complete', async () => {
    const child = bundleScript(path.join(__dirname, 'fixtures', 'ensure-approvals-child.ts'));
    const startAt = Date.now() + 400;
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => runChild(process.execPath, [child, dir, String(startAt)])),
    );
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    const results = runs.map((r) => lastJsonLine(r.stdout));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.filter((r) => !r.created)).toEqual(Array(3).fill({ created: false, existing: 'file' }));
    expect(JSON.parse(readFileSync(path.join(dir, 'exec-approvals.json'), 'utf8')).defaults).toMatchObject({
      security: 'allowlist',
      ask: 'on-miss',
      askFallback: 'deny',
    });
    expect(readdirSync(dir)).toEqual(['exec-approvals.json']);
  });

  it('does not follow a symlink at the path, dangling or not', async () => {
    const store = new ExecApprovalsStore({ stateDir: dir });
    const missingTarget = path.join(dir, 'nowhere.json');
    symlinkSync(missingTarget, store.filePath);
    expect(await store.ensureExists(CLAWDESK_EXEC_DEFAULTS)).toEqual({ created: false, existing: 'symlink' });
    expect(existsSync(missingTarget)).toBe(false);
    expect(lstatSync(store.filePath).isSymbolicLink()).toBe(true);

    rmSync(store.filePath);
    const target = path.join(dir, 'elsewhere.json');
    writeFileSync(target, 'theirs');
    symlinkSync(target, store.filePath);
    expect(await store.ensureExists(CLAWDESK_EXEC_DEFAULTS)).toEqual({ created: false, existing: 'symlink' });
    expect(readFileSync(target, 'utf8')).toBe('theirs');
  });

  it('leaves the missing-file API as it was: hash "" and a first set without a base hash', async () => {
    const store = new ExecApprovalsStore({ stateDir: dir });
    await store.ensureExists(CLAWDESK_EXEC_DEFAULTS);
    rmSync(store.filePath);
    expect(await store.snapshot()).toMatchObject({ exists: false, hash: '' });
    expect((await store.set({ version: 1, agents: { '*': { ask: 'always' } } }, undefined)).exists).toBe(true);
  });
});

describe('importLegacyExecApprovals', () => {
  it('imports ~/.openclaw/exec-approvals.json into a relocated state dir and reports it', async () => {
    const home = path.join(dir, 'home');
    const stateDir = path.join(dir, 'state');
    mkdirSync(path.join(home, '.openclaw'), { recursive: true });
    const legacy = path.join(home, '.openclaw', 'exec-approvals.json');
    writeFileSync(
      legacy,
      JSON.stringify({ version: 1, agents: { main: { security: 'full', allowlist: ['/bin/ls'] } } }),
    );
    const report = await importLegacyExecApprovals({ stateDir, home });
    expect(report).toMatchObject({ kind: 'imported', legacyPath: legacy });
    const state = await new ExecApprovalsStore({ stateDir }).read();
    expect(state.file.agents.main.security).toBe('full');
    expect(state.file.agents.main.allowlist![0].pattern).toBe('/bin/ls');
    expect(existsSync(legacy)).toBe(true);
    // Running again with the same content is quiet.
    expect(await importLegacyExecApprovals({ stateDir, home })).toEqual({ kind: 'none' });
  });

  it('reports a conflicting legacy file instead of leaving a silent second policy', async () => {
    const home = path.join(dir, 'home');
    const stateDir = path.join(dir, 'state');
    mkdirSync(path.join(home, '.openclaw'), { recursive: true });
    writeFileSync(
      path.join(home, '.openclaw', 'exec-approvals.json'),
      JSON.stringify({ version: 1, agents: { '*': { security: 'full' } } }),
    );
    await new ExecApprovalsStore({ stateDir }).set({ version: 1, agents: { '*': { security: 'deny' } } }, undefined);
    const report = await importLegacyExecApprovals({ stateDir, home });
    expect(report.kind).toBe('conflict');
    expect((await new ExecApprovalsStore({ stateDir }).read()).file.agents['*'].security).toBe('deny');
  });

  it('does nothing when the state dir is ~/.openclaw itself', async () => {
    const home = path.join(dir, 'home');
    mkdirSync(path.join(home, '.openclaw'), { recursive: true });
    writeFileSync(path.join(home, '.openclaw', 'exec-approvals.json'), '{"version":1,"agents":{}}');
    expect(await importLegacyExecApprovals({ stateDir: path.join(home, '.openclaw'), home })).toEqual({ kind: 'none' });
  });
});
