import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateOpenclawInstall, satisfiesNodeRange, type OpenclawInstall } from '../../gateway/openclaw/install';
import { freePort } from '../helpers/free-port';
import { ensureOpenclawInstalled } from '../interop/openclaw-harness';
import { alive, cleanup, supervise, tempDir, until } from './openclaw-fixture';

/**
 * The supervisor against children that misbehave on purpose: a scripted `openclaw.mjs` (run by the interop cache's
 * real Node 26) that floods its output, never becomes ready, or crashes at once, and a port held by something else.
 * Cheap cases the real package cannot produce on demand; the lifecycle code under test is the same.
 */

let nodeBin: string;

beforeAll(() => {
  nodeBin = ensureOpenclawInstalled().nodeBin;
});

afterAll(async () => {
  await cleanup();
});

/** A fake install root whose openclaw.mjs runs `script` (and records its argv and env to `record.json`). */
function scriptedInstall(script: string): { install: OpenclawInstall; recordFile: string } {
  const root = tempDir('fake-install');
  const pkg = path.join(root, 'node_modules', 'openclaw');
  fs.mkdirSync(path.join(pkg, 'dist'), { recursive: true });
  fs.writeFileSync(
    path.join(pkg, 'package.json'),
    JSON.stringify({ name: 'openclaw', version: '0.0.0-scripted', engines: { node: '>=24.16.0 <25 || >=26.1.0' } }),
  );
  const recordFile = path.join(root, 'record.json');
  fs.writeFileSync(
    path.join(pkg, 'openclaw.mjs'),
    `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(recordFile)}, JSON.stringify({ argv: process.argv.slice(2), env: process.env }));\n${script}\n`,
  );
  const found = locateOpenclawInstall({ installPath: root, nodePath: nodeBin });
  if (!found.ok) throw new Error(found.reason);
  return { install: found.install, recordFile };
}

const FOREVER = 'setInterval(() => {}, 1 << 30);';

describe('locating an install', () => {
  it('checks the Node runtime against the package engines and names the fix', () => {
    expect(satisfiesNodeRange('v26.10.0', '>=24.16.0 <25 || >=26.1.0')).toBe(true);
    expect(satisfiesNodeRange('v24.16.0', '>=24.16.0 <25 || >=26.1.0')).toBe(true);
    expect(satisfiesNodeRange('v24.15.9', '>=24.16.0 <25 || >=26.1.0')).toBe(false);
    expect(satisfiesNodeRange('v25.2.0', '>=24.16.0 <25 || >=26.1.0')).toBe(false);
    expect(satisfiesNodeRange('v26.0.0', '>=24.16.0 <25 || >=26.1.0')).toBe(false);
    expect(satisfiesNodeRange('v22.0.0', 'not a range')).toBe(false);

    const { install } = scriptedInstall('');
    const wrong = locateOpenclawInstall({
      installPath: install.root,
      nodePath: process.execPath,
      nodeVersionOf: () => 'v20.19.0',
    });
    expect(wrong).toMatchObject({ ok: false, code: 'node-unsupported' });
    expect(!wrong.ok && wrong.reason).toContain('v20.19.0');
    const missing = locateOpenclawInstall({ installPath: tempDir('empty') });
    expect(missing).toMatchObject({ ok: false, code: 'install-missing' });
    expect(!missing.ok && missing.fix).toMatch(/npm install/);
    const noRuntime = locateOpenclawInstall({ installPath: install.root });
    expect(noRuntime).toMatchObject({ ok: false, code: 'node-missing' });
  });

  it("refuses Electron's own binary as the runtime", () => {
    const { install } = scriptedInstall('');
    const fakeElectron = path.join(tempDir('electron'), 'clawdesk');
    fs.writeFileSync(fakeElectron, '');
    const result = locateOpenclawInstall({
      installPath: install.root,
      nodePath: fakeElectron,
      self: { execPath: fakeElectron, electron: '45.0.0' },
      nodeVersionOf: () => 'v26.1.0',
    });
    expect(result).toMatchObject({ ok: false, code: 'node-unsupported' });
    expect(!result.ok && result.reason).toMatch(/Electron/);
  });
});

describe('the child it starts', () => {
  it('gets the embedding environment, no service-manager markers, and --allow-unconfigured only without a config', async () => {
    const { install, recordFile } = scriptedInstall(FOREVER);
    const home = tempDir('home');
    const port = await freePort();
    const base = {
      PATH: '/usr/bin:/bin',
      HOME: home,
      OPENCLAW_STATE_DIR: path.join(home, 'state'),
      INVOCATION_ID: 'abc',
      JOURNAL_STREAM: '8:1',
      ELECTRON_RUN_AS_NODE: '1',
      OPENCLAW_SKIP_CHANNELS: '1',
    };
    const supervisor = supervise({ install, env: base, port, readyTimeoutMs: 60_000 });
    void supervisor.start();
    const record = await until(
      'the child to record its start',
      () => fs.existsSync(recordFile) && JSON.parse(fs.readFileSync(recordFile, 'utf8')),
    );
    expect(record.argv).toEqual(['gateway', '--port', String(port), '--allow-unconfigured', '--bind', 'loopback']);
    expect(record.env).toMatchObject({
      OPENCLAW_DISABLE_BONJOUR: '1',
      OPENCLAW_NO_RESPAWN: '1',
      OPENCLAW_EXEC_SHELL_SNAPSHOT: '0',
    });
    for (const key of ['INVOCATION_ID', 'JOURNAL_STREAM', 'ELECTRON_RUN_AS_NODE', 'OPENCLAW_SKIP_CHANNELS'])
      expect(record.env[key]).toBeUndefined();
    expect(record.env.PATH.split(path.delimiter)[0]).toBe(path.dirname(nodeBin));
    // No config and no secret: the supervisor provides one, and uses it itself.
    expect(record.env.OPENCLAW_GATEWAY_TOKEN).toBeTruthy();
    expect(supervisor.credentials().token).toBe(record.env.OPENCLAW_GATEWAY_TOKEN);
    expect(supervisor.status().state).toBe('starting');
    await supervisor.stop();
    expect(supervisor.status().state).toBe('stopped');

    // With a config: no --allow-unconfigured, and the config's port and secret are used.
    fs.mkdirSync(path.join(home, 'state'), { recursive: true });
    const configured = await freePort();
    fs.writeFileSync(
      path.join(home, 'state', 'openclaw.json'),
      JSON.stringify({ gateway: { mode: 'local', port: configured, auth: { mode: 'token', token: 'from-config' } } }),
    );
    fs.rmSync(recordFile);
    const second = supervise({ install, env: base, controlPlaneOnly: true });
    void second.start();
    const again = await until(
      'the second child to record its start',
      () => fs.existsSync(recordFile) && JSON.parse(fs.readFileSync(recordFile, 'utf8')),
    );
    expect(again.argv).toEqual(['gateway', '--port', String(configured)]);
    expect(again.env.OPENCLAW_SKIP_CHANNELS).toBe('1');
    expect(again.env.OPENCLAW_GATEWAY_TOKEN).toBeUndefined();
    expect(second.credentials().token).toBe('from-config');
    await second.stop();
  });
});

describe('bad children', () => {
  it('a child that floods its output costs bounded memory; the log rotates within its cap', async () => {
    // 64 MiB as fast as the pipe takes it, then it stays (never ready).
    const { install } = scriptedInstall(`const chunk = Buffer.alloc(64 * 1024, 'x'); let left = 1024;
      const pump = () => { while (left > 0) { left--; if (!process.stdout.write(chunk)) return process.stdout.once('drain', pump); } };
      pump(); ${FOREVER}`);
    const logFile = path.join(tempDir('flood-log'), 'gw.log');
    const supervisor = supervise({
      install,
      env: { PATH: '/usr/bin:/bin', HOME: tempDir('home') },
      port: await freePort(),
      logFile,
      logMaxFileBytes: 1024 * 1024,
      logKeepFiles: 2,
      logTailBytes: 16 * 1024,
    });
    const rssBefore = process.memoryUsage().rss;
    void supervisor.start();
    let maxHeld = 0;
    await until(
      'the whole flood to be received',
      () => {
        maxHeld = Math.max(maxHeld, supervisor.outputStats().heldBytes);
        return supervisor.outputStats().receivedBytes >= 64 * 1024 * 1024;
      },
      120_000,
      20,
    );
    const stats = supervisor.outputStats();
    expect(maxHeld).toBeLessThanOrEqual(16 * 1024 + 1024 * 1024 + 64 * 1024);
    expect(stats.rotations).toBeGreaterThan(0);
    expect(supervisor.outputTail().length).toBeLessThanOrEqual(16 * 1024);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(48 * 1024 * 1024);
    const files = fs.readdirSync(path.dirname(logFile));
    expect(files.sort()).toEqual(['gw.log', 'gw.log.1', 'gw.log.2'].filter((f) => files.includes(f)));
    expect(files.length).toBeLessThanOrEqual(3);
    for (const f of files)
      expect(fs.statSync(path.join(path.dirname(logFile), f)).size).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
    const pid = supervisor.childPid();
    await supervisor.stop();
    expect(alive(pid)).toBe(false);
  });

  it('a child that never becomes ready is stopped and reported, not restarted', async () => {
    const { install } = scriptedInstall(FOREVER);
    const supervisor = supervise({
      install,
      env: { PATH: '/usr/bin:/bin', HOME: tempDir('home') },
      port: await freePort(),
      readyTimeoutMs: 1_500,
    });
    await supervisor.start();
    expect(supervisor.status()).toMatchObject({ state: 'failed', code: 'not-ready' });
    expect(supervisor.status().fix).toContain('log');
    expect(supervisor.counters.spawns).toBe(1);
    expect(supervisor.busy()).toBe(false);
  });

  it('a child that keeps crashing is restarted with doubling delays, then given up on (no restart loop)', async () => {
    const { install } = scriptedInstall('process.exit(3);');
    const supervisor = supervise({
      install,
      env: { PATH: '/usr/bin:/bin', HOME: tempDir('home') },
      port: await freePort(),
      restart: { initialDelayMs: 50, maxDelayMs: 1_000, maxRestarts: 3, windowMs: 60_000 },
    });
    const delays: number[] = [];
    supervisor.on('status', (s) => s.state === 'backoff' && delays.push(s.retryInMs));
    await supervisor.start();
    expect(supervisor.status()).toMatchObject({ state: 'failed', code: 'crash-loop' });
    expect(supervisor.status().reason).toContain('exit code 3');
    expect(delays).toEqual([50, 100, 200]);
    expect(supervisor.counters.spawns).toBe(4);
    expect(supervisor.busy()).toBe(false);
  });

  it('a port held by another program is a failure that names it, and nothing is spawned', async () => {
    const { install } = scriptedInstall(FOREVER);
    const sockets = new Set<net.Socket>();
    // Not a gateway: answers any request with a plain HTTP 400.
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
      socket.once('data', () =>
        socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const supervisor = supervise({ install, env: { PATH: '/usr/bin:/bin', HOME: tempDir('home') }, port });
      await supervisor.start();
      const status = supervisor.status();
      expect(status).toMatchObject({ state: 'failed', code: 'port-busy', pid: process.pid });
      expect(status.reason).toContain(`PID ${process.pid}`);
      expect(status.fix).toMatch(/another port/);
      expect(supervisor.counters.spawns).toBe(0);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
