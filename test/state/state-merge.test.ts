import { describe, expect, it } from 'vitest';
import type { ExecApprovalsFile, PairedDevice, RoleToken } from '../../gateway/state/state-files';
import {
  MergeNote,
  checkExecApprovalsInvariants,
  checkPairedInvariants,
  mergeConfig,
  mergeExecApprovals,
  mergePairedDevices,
  mergeRoleToken,
  rewriteStatePaths,
} from '../../gateway/state/state-merge';

const token = (t: Partial<RoleToken> & { token: string }): RoleToken => ({
  role: 'operator',
  scopes: [],
  createdAtMs: 0,
  ...t,
});

describe('mergeRoleToken: the newest decision wins, nothing revoked comes back', () => {
  it('the same token revoked on one side stays revoked', () => {
    const merged = mergeRoleToken(
      token({ token: 'a', createdAtMs: 1, lastUsedAtMs: 50 }),
      token({ token: 'a', createdAtMs: 1, revokedAtMs: 9 }),
    );
    expect(merged).toMatchObject({ token: 'a', revokedAtMs: 9, lastUsedAtMs: 50 });
  });

  it('a token issued after the other side revoked the role wins, unrevoked (re-approval)', () => {
    expect(
      mergeRoleToken(token({ token: 'old', createdAtMs: 1, revokedAtMs: 5 }), token({ token: 'new', createdAtMs: 10 })),
    ).toEqual(token({ token: 'new', createdAtMs: 10 }));
  });

  it('a revocation newer than the other token revokes it', () => {
    expect(
      mergeRoleToken(token({ token: 'x', createdAtMs: 10, revokedAtMs: 30 }), token({ token: 'y', createdAtMs: 20 })),
    ).toMatchObject({ token: 'y', revokedAtMs: 30 });
  });

  it('a rotation counts as the issue time', () => {
    expect(
      mergeRoleToken(token({ token: 'x', createdAtMs: 1, rotatedAtMs: 100 }), token({ token: 'y', createdAtMs: 50 }))!
        .token,
    ).toBe('x');
  });
});

describe('mergePairedDevices', () => {
  const device = (
    id: string,
    approvedAtMs: number,
    tokens: Record<string, RoleToken>,
    extra: Record<string, unknown> = {},
  ): PairedDevice => ({ deviceId: id, publicKey: 'k', approvedAtMs, tokens, ...extra });

  it('unites by deviceId, keeps the newer record, unites roles, and passes the invariants', () => {
    const notes: MergeNote[] = [];
    const target = {
      d1: device('d1', 10, { operator: token({ token: 'op', revokedAtMs: 20 }) }, { displayName: 'old' }),
      d2: device('d2', 1, {}),
    };
    const source = {
      d1: device(
        'd1',
        30,
        { operator: token({ token: 'op' }), node: token({ token: 'n', role: 'node' }) },
        { displayName: 'new' },
      ),
      d3: device('d3', 1, {}),
    };
    const merged = mergePairedDevices(target, source, notes);
    expect(Object.keys(merged)).toEqual(['d1', 'd2', 'd3']);
    expect(merged.d1.displayName).toBe('new');
    expect(merged.d1.tokens!.operator.revokedAtMs).toBe(20);
    expect(merged.d1.tokens!.node.token).toBe('n');
    expect(notes).toContainEqual({
      file: 'devices/paired.json',
      kind: 'kept-revoked',
      message: 'device d1: the operator token stays revoked',
    });
    expect(checkPairedInvariants([target, source], merged)).toEqual([]);
  });

  it('the invariant check catches a lost device and a revived token', () => {
    const input = { d1: device('d1', 1, { operator: token({ token: 'op', revokedAtMs: 5 }) }) };
    expect(checkPairedInvariants([input], {})).toEqual(['device d1 was lost']);
    expect(checkPairedInvariants([input], { d1: device('d1', 1, { operator: token({ token: 'op' }) }) })).toEqual([
      'device d1: revoked operator token was revived',
    ]);
  });
});

describe('mergeExecApprovals: the stricter wins (deny<allowlist<full, off<on-miss<always)', () => {
  it('defaults field by field, with an absent autoAllowSkills meaning false', () => {
    const merged = mergeExecApprovals(
      { version: 1, defaults: { security: 'full', ask: 'off', askFallback: 'full' } },
      { version: 1, defaults: { security: 'allowlist', ask: 'always', askFallback: 'deny', autoAllowSkills: true } },
      [],
    );
    expect(merged.defaults).toEqual({
      security: 'allowlist',
      ask: 'always',
      askFallback: 'deny',
      autoAllowSkills: false,
    });
  });

  it("an agent that inherits on one side does not take the other side's looser explicit value", () => {
    const target: ExecApprovalsFile = {
      version: 1,
      defaults: { security: 'deny', ask: 'always' },
      agents: { main: {} },
    };
    const source: ExecApprovalsFile = {
      version: 1,
      defaults: { security: 'deny', ask: 'always' },
      agents: { main: { security: 'full', ask: 'off', autoAllowSkills: true }, ops: { security: 'deny' } },
    };
    const merged = mergeExecApprovals(target, source, []);
    expect(merged.agents!.main).toEqual({});
    expect(merged.agents!.ops).toEqual({ security: 'deny' });
    expect(checkExecApprovalsInvariants([target, source], merged)).toEqual([]);
  });

  it('an explicit stricter agent value survives; invalid enum values count as absent', () => {
    const merged = mergeExecApprovals(
      { version: 1, defaults: { security: 'full' }, agents: { main: { security: 'bogus' } } },
      { version: 1, agents: { main: { security: 'allowlist' } } },
      [],
    );
    expect(merged.agents!.main.security).toBe('allowlist');
  });

  it('allowlists are united, de-duplicated by pattern+argPattern, keeping the latest usage facts', () => {
    const merged = mergeExecApprovals(
      {
        version: 1,
        agents: {
          main: {
            allowlist: [
              { id: 't', pattern: '/bin/a', lastUsedAt: 1 },
              { id: 'w', pattern: 'C:\\x.exe', argPattern: '^a' },
            ],
          },
        },
      },
      {
        version: 1,
        agents: {
          main: {
            allowlist: [
              { id: 's', pattern: '/bin/a', lastUsedAt: 9, lastUsedCommand: 'a -x' },
              { id: 'w2', pattern: 'C:\\x.exe', argPattern: '^b' },
              '/bin/legacy' as never,
            ],
          },
        },
      },
      [],
    );
    expect(merged.agents!.main.allowlist).toEqual([
      { id: 't', pattern: '/bin/a', lastUsedAt: 9, lastUsedCommand: 'a -x', lastResolvedPath: undefined },
      { id: 'w', pattern: 'C:\\x.exe', argPattern: '^a' },
      { id: 'w2', pattern: 'C:\\x.exe', argPattern: '^b' },
      '/bin/legacy',
    ]);
  });

  it('the invariant check catches a loosened default', () => {
    expect(
      checkExecApprovalsInvariants([{ version: 1, defaults: { security: 'deny', ask: 'always' } }], {
        version: 1,
        defaults: { security: 'full', ask: 'off' },
      }),
    ).toEqual(['defaults.security was loosened', 'defaults.ask was loosened']);
  });
});

describe('config merge and path rewriting', () => {
  it('merges key by key, reports conflicts by key only (values may be secrets)', () => {
    const notes: MergeNote[] = [];
    const merged = mergeConfig(
      { gateway: { port: 1, auth: { token: 'T' } }, a: [1] },
      { gateway: { port: 2, bind: 'lan', auth: { token: 'S' } }, b: true },
      notes,
      'openclaw.json',
    );
    expect(merged).toEqual({ gateway: { port: 1, auth: { token: 'T' }, bind: 'lan' }, a: [1], b: true });
    expect(notes.map((n) => n.message)).toEqual([
      "gateway.port: the two configs differ; kept the target's value",
      "gateway.auth.token: the two configs differ; kept the target's value",
    ]);
    expect(JSON.stringify(notes)).not.toContain('"S"');
  });

  it('rewrites absolute and ~ paths into the old dir, on posix and Windows rules', () => {
    const posix = rewriteStatePaths(
      { w: '/home/a/.clawdbot/ws', t: '~/.clawdbot/logs', o: '/home/a/.clawdbotx', n: 3 },
      ['/home/a/.clawdbot'],
      '/home/a/.openclaw',
      'linux',
      '/home/a',
    );
    expect(posix.value).toEqual({
      w: '/home/a/.openclaw/ws',
      t: '/home/a/.openclaw/logs',
      o: '/home/a/.clawdbotx',
      n: 3,
    });
    expect(posix.rewritten).toEqual(['w', 't']);
    const win = rewriteStatePaths(
      { w: 'c:\\users\\ada\\.OPENCLAW\\workspace' },
      ['C:\\Users\\Ada\\.openclaw'],
      'E:\\OpenClaw_Data',
      'win32',
      'C:\\Users\\Ada',
    );
    expect(win.value).toEqual({ w: 'E:\\OpenClaw_Data\\workspace' });
  });
});
