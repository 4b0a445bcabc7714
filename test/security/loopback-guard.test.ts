import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** The tests' own loopback guard (scripts/loopback-guard.cjs), as the real openclaw processes run under it. */
const guard = path.resolve(__dirname, '../../scripts/loopback-guard.cjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clawdesk-guard-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Connects to host:9 under the guard; prints the error (or "connected"). */
function tryConnect(host: string, env: NodeJS.ProcessEnv = {}) {
  const log = path.join(dir, `egress-${host.replace(/\W/g, '_')}-${Object.keys(env).length}.log`);
  const script = `
    const s = require('node:net').connect({ host: ${JSON.stringify(host)}, port: 9 });
    s.setTimeout(300, () => { console.log('no guard error'); s.destroy(); });
    s.on('connect', () => { console.log('connected'); s.destroy(); });
    s.on('error', (e) => console.log(e.message));`;
  const result = spawnSync(process.execPath, ['-e', script], {
    env: { PATH: process.env.PATH, NODE_OPTIONS: `--require ${guard}`, PEER_EGRESS_LOG: log, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { out: result.stdout.trim(), logged: fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '' };
}

describe('the loopback guard', () => {
  it('refuses and logs a connect beyond loopback', () => {
    const r = tryConnect('192.0.2.1');
    expect(r.out).toBe('connect ECONNREFUSED 192.0.2.1 (loopback guard)');
    expect(r.logged).toContain('BLOCKED net.connect 192.0.2.1');
  });

  it('lets loopback through untouched', () => {
    const r = tryConnect('127.0.0.1');
    expect(r.out).not.toContain('loopback guard');
    expect(r.logged).toBe('');
  });

  it('PEER_GUARD_ALLOW_HOSTS adds exactly the addresses it names, and nothing that merely looks like them', () => {
    const allowed = tryConnect('192.0.2.1', { PEER_GUARD_ALLOW_HOSTS: '192.0.2.1, not-an-ip' });
    expect(allowed.out).not.toContain('loopback guard');
    expect(allowed.logged).toBe('');
    const neighbour = tryConnect('192.0.2.10', { PEER_GUARD_ALLOW_HOSTS: '192.0.2.1' });
    expect(neighbour.out).toBe('connect ECONNREFUSED 192.0.2.10 (loopback guard)');
    const name = tryConnect('example.com', { PEER_GUARD_ALLOW_HOSTS: 'example.com' });
    expect(name.out).toContain('loopback guard');
  });
});
