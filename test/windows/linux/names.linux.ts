import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';

/**
 * A state dir made on Linux (here: in the Wine profile's C: drive, by Linux Node) holding names Windows cannot
 * hold, migrated, scanned and checked by doctor under Windows Node: the migration refuses before anything moves and
 * names each path (in Windows form) with why and the fix; scan and doctor report the same names.
 */

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suites through npm run test:windows`);
  return value;
};
const WINE = need('CLAWDESK_TIER_WINE');
const NODE_EXE = need('CLAWDESK_TIER_NODE_EXE');
const LOGS = need('CLAWDESK_TIER_LOGS');
const CLI = need('CLAWDESK_TIER_CLI');
const USER = need('CLAWDESK_TIER_WIN_USER');
const PREFIX = need('CLAWDESK_TIER_PREFIX');
const E_DRIVE = need('CLAWDESK_TIER_E_DRIVE');

const linuxSource = path.join(PREFIX, 'drive_c', 'users', USER, '.openclaw-names');
const winSource = `C:\\users\\${USER}\\.openclaw-names`;
const winTarget = 'E:\\OpenClaw_Names';
const linuxTarget = path.join(E_DRIVE, 'OpenClaw_Names');
const winSessions = `${winSource}\\agents\\main\\sessions`;

/** Names Wine opens like ordinary files (Windows would not), names it lists but cannot open, and a case pair. */
const OPENABLE_UNDER_WINE = ['aux.json', 'CON', 'com1.log', 'trail.', 'space ', 'a:b'];
const UNOPENABLE = ['lt<x', 'pipe|x', 'what?'];

function writeHostileSource(): void {
  fs.rmSync(linuxSource, { recursive: true, force: true });
  const sessions = path.join(linuxSource, 'agents', 'main', 'sessions');
  fs.mkdirSync(sessions, { recursive: true });
  fs.mkdirSync(path.join(linuxSource, 'devices'));
  fs.writeFileSync(path.join(linuxSource, 'openclaw.json'), JSON.stringify({ gateway: { port: 18789 } }));
  fs.writeFileSync(path.join(linuxSource, 'devices', 'paired.json'), '{}');
  fs.writeFileSync(path.join(sessions, 'fine.jsonl'), '{"ok":true}\n');
  for (const name of [...OPENABLE_UNDER_WINE, ...UNOPENABLE, 'Notes.md', 'notes.md'])
    fs.writeFileSync(path.join(sessions, name), name);
}

function tree(dir: string): Record<string, string> | 'missing' {
  if (!fs.existsSync(dir)) return 'missing';
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(dir, r));
      if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else
        out[r] = createHash('sha256')
          .update(fs.readFileSync(path.join(dir, r)))
          .digest('hex')
          .slice(0, 16);
    }
  };
  walk('');
  return out;
}

let runs = 0;
function windowsCli(
  args: string[],
  extraEnv: Record<string, string> = {},
): { code: number | null; text: string; stdout: string } {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'WINEPREFIX', 'WINEDEBUG', 'WINEDLLOVERRIDES', 'LANG'])
    if (process.env[key]) env[key] = process.env[key]!;
  Object.assign(env, extraEnv);
  fs.mkdirSync(LOGS, { recursive: true });
  const name = `names-${++runs}`;
  const outFile = path.join(LOGS, `${name}.out`);
  const errFile = path.join(LOGS, `${name}.err`);
  // node.exe's stdout must be a file under Wine (a pipe gives EBADF).
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  try {
    const r = spawnSync(WINE, [NODE_EXE, CLI, ...args], { env, stdio: ['ignore', out, err], timeout: 120_000 });
    if (r.error) throw r.error;
    const stdout = fs.readFileSync(outFile, 'utf8');
    return { code: r.status, stdout, text: `${stdout}${fs.readFileSync(errFile, 'utf8')}` };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
  }
}

after(() => {
  fs.rmSync(linuxSource, { recursive: true, force: true });
  fs.rmSync(linuxTarget, { recursive: true, force: true });
});

void describe(
  'names Windows cannot hold, in a state dir made on Linux, under Windows Node',
  { timeout: 300_000 },
  () => {
    void it('state migrate C: -> E: refuses before anything moves, naming each path with why and the fix', () => {
      writeHostileSource();
      fs.rmSync(linuxTarget, { recursive: true, force: true });
      const before = {
        source: tree(linuxSource),
        e: fs.readdirSync(E_DRIVE).sort(),
        c: fs.readdirSync(path.dirname(linuxSource)).sort(),
      };
      const run = windowsCli(['state', 'migrate', '--from', winSource, '--to', winTarget]);
      assert.notEqual(run.code, 0, run.text);
      for (const name of OPENABLE_UNDER_WINE)
        assert.ok(run.text.includes(`${winSessions}\\${name}`), `${name} not named:\n${run.text}`);
      for (const name of UNOPENABLE)
        assert.ok(run.text.includes(`${winSessions}\\${name}`), `${name} not named:\n${run.text}`);
      assert.match(run.text, /device name Windows reserves/);
      assert.match(run.text, /ends with a dot/);
      assert.match(run.text, /ends with a space/);
      assert.match(run.text, /cannot be opened by that name here/);
      assert.match(run.text, /notes\.md.*differs from "agents\/main\/sessions\/Notes\.md" only by case/);
      assert.match(run.text, /the target is on Windows/);
      assert.match(run.text, /fix: rename/);
      assert.deepEqual(
        {
          source: tree(linuxSource),
          e: fs.readdirSync(E_DRIVE).sort(),
          c: fs.readdirSync(path.dirname(linuxSource)).sort(),
        },
        before,
        'something changed although the migration was refused',
      );
    });

    void it('state scan and doctor report the same names, as breaking the dir where it is (Windows reads them wrong or not at all)', () => {
      writeHostileSource();
      const env = { OPENCLAW_STATE_DIR: winSource };
      const scan = windowsCli(['state', 'scan', '--json'], env);
      assert.equal(scan.code, 0, scan.text);
      const dir = (
        JSON.parse(scan.stdout) as {
          dirs: Array<{
            path: string;
            names?: { problems: Array<{ rel: string; kind: string; appliesHere: boolean }> };
          }>;
        }
      ).dirs[0];
      const byRel = new Map((dir.names?.problems ?? []).map((p) => [p.rel, p]));
      for (const name of UNOPENABLE)
        assert.equal(byRel.get(`agents/main/sessions/${name}`)?.kind, 'unopenable-name', scan.stdout);
      assert.equal(byRel.get('agents/main/sessions/notes.md')?.kind, 'case-collision', scan.stdout);
      assert.equal(byRel.get('agents/main/sessions/aux.json')?.kind, 'reserved-name', scan.stdout);
      assert.equal(byRel.get('agents/main/sessions/fine.jsonl'), undefined);
      for (const p of byRel.values()) assert.equal(p.appliesHere, true, `${p.rel} should break the dir on Windows`);

      const doctor = windowsCli(['doctor', '--json', '--skip-keychain'], env);
      const report = JSON.parse(doctor.stdout) as {
        findings: Array<{ code: string; severity: string; paths: string[]; message: string }>;
      };
      const finding = report.findings.find((f) => f.code === 'unusable-names');
      assert.ok(finding, doctor.text);
      assert.equal(finding.severity, 'warn');
      assert.ok(finding.paths.includes(`${winSessions}\\lt<x`), finding.paths.join('\n'));
      assert.ok(finding.paths.includes(`${winSessions}\\notes.md`), finding.paths.join('\n'));
    });
  },
);
