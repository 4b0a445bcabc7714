// The real electron-builder 26 `--linux dir` build, offline, with a stand-in Electron distribution (no Electron
// binary can be downloaded here). The stand-in is a shell script carrying Electron's fuse sentinel and an 8-fuse
// wire, so electron-builder's real @electron/fuses step runs on it. Asserts on what a user's package would hold.
//
// Recipe (the same by hand):
//   npm run build
//   node node_modules/electron-builder/cli.js --linux dir --publish never -c.electronDist=<stand-in dir> \
//     -c.electronVersion=45.4.1 -c.npmRebuild=false -c.directories.output=<out>
// npmRebuild is off because rebuilding keytar for Electron needs Electron's headers from the internet; the keytar
// here is built against the system Node, which is fine for a listing.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..');
const require = createRequire(__filename);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
/** npm marks what only the tooling needs "dev" in the lock; a dev dependency a runtime one also needs is not. */
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
const asar = require('@electron/asar') as {
  listPackage(file: string): string[];
  statFile(file: string, entry: string): { unpacked?: boolean };
};
const fuses = require('@electron/fuses') as {
  getCurrentFuseWire(file: string): Promise<Record<number, number>>;
  FuseV1Options: Record<string, number>;
};
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';

let out: string;
let listing: string[];
let archive: string;

function standInElectron(dir: string): void {
  mkdirSync(path.join(dir, 'resources'), { recursive: true });
  // Every fuse starts at the opposite of what the config asks for, so a fuse left alone would show.
  const inverse = Object.entries(pkg.build.electronFuses as Record<string, boolean>);
  const names: Record<string, number> = {
    runAsNode: 0,
    enableCookieEncryption: 1,
    enableNodeOptionsEnvironmentVariable: 2,
    enableNodeCliInspectArguments: 3,
    enableEmbeddedAsarIntegrityValidation: 4,
    onlyLoadAppFromAsar: 5,
    loadBrowserProcessSpecificV8Snapshot: 6,
    grantFileProtocolExtraPrivileges: 7,
  };
  const wire = Buffer.alloc(8, '0');
  for (const [name, value] of inverse) if (name in names) wire[names[name]] = value ? 0x30 : 0x31;
  writeFileSync(
    path.join(dir, 'electron'),
    Buffer.concat([
      Buffer.from('#!/bin/sh\nexit 0\n# '),
      Buffer.from(SENTINEL),
      Buffer.from([1, 8]),
      wire,
      Buffer.from('\n'),
    ]),
  );
  chmodSync(path.join(dir, 'electron'), 0o755);
  writeFileSync(path.join(dir, 'chrome-sandbox'), 'stand-in', { mode: 0o755 });
  writeFileSync(path.join(dir, 'chrome_crashpad_handler'), 'stand-in', { mode: 0o755 });
  writeFileSync(path.join(dir, 'version'), '45.4.1');
  writeFileSync(path.join(dir, 'LICENSE'), 'MIT');
  writeFileSync(path.join(dir, 'LICENSES.chromium.html'), '<html></html>');
}

beforeAll(async () => {
  for (const built of ['dist/main/index.js', 'dist/preload/preload.js', 'dist/renderer/index.html']) {
    if (!existsSync(path.join(root, built)))
      throw new Error(`${built} is missing: run \`npm run build\` first (npm test does)`);
  }
  const work = mkdtempSync(path.join(os.tmpdir(), 'clawdesk-eb-'));
  standInElectron(path.join(work, 'electron'));
  out = path.join(work, 'out');
  await promisify(execFile)(
    process.execPath,
    [
      path.join(root, 'node_modules', 'electron-builder', 'cli.js'),
      '--linux',
      'dir',
      '--publish',
      'never',
      `-c.electronDist=${path.join(work, 'electron')}`,
      `-c.electronVersion=${pkg.devDependencies.electron.replace(/^[^\d]*/, '')}`,
      '-c.npmRebuild=false',
      `-c.directories.output=${out}`,
    ],
    {
      cwd: root,
      env: { ...process.env, ELECTRON_BUILDER_CACHE: path.join(work, 'cache') },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  archive = path.join(out, 'linux-unpacked', 'resources', 'app.asar');
  listing = asar.listPackage(archive);
}, 240_000);

describe('electron-builder --linux dir (offline, stand-in Electron)', () => {
  it('packs the compiled app: dist/main, dist/gateway, dist/common, dist/preload, dist/renderer and package.json', () => {
    for (const entry of [
      '/dist/main/index.js',
      '/dist/main/tray-host.js',
      '/dist/gateway/server/gateway-server.js',
      '/dist/common/ipc-contract.js',
      '/dist/preload/preload.js',
      '/dist/renderer/index.html',
      '/package.json',
    ]) {
      expect(listing, entry).toContain(entry);
    }
  });

  it('packs every runtime dependency (unbash included) and keytar, none of the dev tooling', () => {
    for (const name of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies ?? {})]) {
      expect(listing, name).toContain(`/node_modules/${name}/package.json`);
    }
    expect(Object.keys(pkg.dependencies)).toContain('unbash');
    const devOnly = Object.keys(pkg.devDependencies).filter((dev) => lock.packages[`node_modules/${dev}`]?.dev);
    // intl-messageformat (the tray's translations) needs the ICU parser the renderer's tests use too.
    expect(devOnly).not.toContain('@formatjs/icu-messageformat-parser');
    expect(devOnly).toEqual(expect.arrayContaining(['electron', 'electron-builder', 'vitest', 'typescript']));
    for (const dev of devOnly) expect(listing, dev).not.toContain(`/node_modules/${dev}/package.json`);
  });

  it("keytar's native module is unpacked next to the archive (a .node cannot load from inside an asar)", () => {
    const node = listing.find((f) => f.endsWith('/keytar.node'));
    expect(node).toBe('/node_modules/keytar/build/Release/keytar.node');
    expect(asar.statFile(archive, node!.slice(1)).unpacked).toBe(true);
    expect(statSync(path.join(`${archive}.unpacked`, node!)).size).toBeGreaterThan(10_000);
  });

  it("no sources, source maps or tests: not the project's, not the dependencies'", () => {
    const offenders = listing.filter(
      (f) =>
        /\.(map|ts|mts|cts|tsx)$/.test(f) ||
        /\/(test|tests|__tests__|benchmarks)(\/|$)/.test(f) ||
        /\.test\.[cm]?js$/.test(f),
    );
    expect(offenders).toEqual([]);
    for (const folder of [
      '/main',
      '/gateway',
      '/preload',
      '/renderer',
      '/common',
      '/test',
      '/bench',
      '/scripts',
      '/build',
      '/dist/test',
      '/dist/bench',
    ]) {
      expect(
        listing.filter((f) => f === folder || f.startsWith(`${folder}/`)),
        folder,
      ).toEqual([]);
    }
  });

  it('the fuses were flipped on the packaged binary as configured, and it carries the configured name', async () => {
    const binary = path.join(out, 'linux-unpacked', pkg.build.linux.executableName);
    const wire = await fuses.getCurrentFuseWire(binary);
    const on = (name: string) => String.fromCharCode(wire[fuses.FuseV1Options[name]]) === '1';
    expect(on('RunAsNode')).toBe(false);
    expect(on('EnableNodeOptionsEnvironmentVariable')).toBe(false);
    expect(on('EnableNodeCliInspectArguments')).toBe(false);
    expect(on('EnableEmbeddedAsarIntegrityValidation')).toBe(true);
    expect(on('OnlyLoadAppFromAsar')).toBe(true);
    expect(existsSync(path.join(out, 'linux-unpacked', 'chrome-sandbox'))).toBe(true);
  });
});
